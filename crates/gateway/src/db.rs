//! Runs one request's statements in one transaction, as the caller's role,
//! with PostgREST's transaction-scoped settings.

use std::error::Error;

use bytes::BytesMut;
use futures_util::future::OptionFuture;
use futures_util::FutureExt;
use tokio_postgres::types::{Format, IsNull, ToSql, Type};
use tokio_postgres::{GenericClient, Row};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::query::Statement;

/// A parameter sent in text format, so PostgreSQL parses it with the input
/// function of whatever type it inferred for the placeholder.
#[derive(Debug)]
struct TextParam(Option<String>);

impl ToSql for TextParam {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match &self.0 {
            None => Ok(IsNull::Yes),
            Some(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }

    tokio_postgres::types::to_sql_checked!();
}

/// What PostgREST exposes to SQL about the request (`request.*` settings).
#[derive(Debug, Clone)]
pub struct RequestSettings {
    pub search_path: String,
    pub method: String,
    pub path: String,
    /// Request headers as a JSON object with lowercase names.
    pub headers_json: String,
    /// The impersonated role's `alter role ... set` settings.
    pub role_settings: Vec<(String, String)>,
}

/// The single result row of an aggregated statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The JSON array (or value) text.
    pub body: Option<String>,
    pub rows: i64,
    /// The first element, for singular (`vnd.pgrst.object`) answers.
    pub first: Option<String>,
    /// `Prefer: count=exact` total.
    pub total: Option<i64>,
}

/// One unit of work for `execute`.
pub struct Work<'a> {
    pub read_only: bool,
    /// Answer 406 PGRST116 and roll back unless exactly one row results.
    pub singular: bool,
    /// The main statement; `None` for a no-op (empty PATCH body).
    pub main: Option<&'a Statement>,
    /// True when the main statement returns nothing (void functions).
    pub returns_nothing: bool,
    pub count: Option<&'a Statement>,
}

/// The request's transaction-scoped settings, after the role's own settings
/// (`$1`..`$2n`, applied before the role switch as PostgREST does, so
/// GRANT SET ON PARAMETER to the authenticator suffices). A select list is
/// evaluated left to right.
fn settings_sql(role_settings: usize) -> String {
    let mut calls: Vec<String> = (0..role_settings)
        .map(|i| format!("set_config(${}, ${}, true)", 2 * i + 1, 2 * i + 2))
        .collect();
    let first = 2 * role_settings + 1;
    for (offset, name) in [
        "search_path",
        "role",
        "request.jwt.claims",
        "request.jwt.claim.sub",
        "request.jwt.claim.role",
        "request.method",
        "request.path",
        "request.headers",
    ]
    .iter()
    .enumerate()
    {
        calls.push(format!("set_config('{name}', ${}, true)", first + offset));
    }
    format!("select {}", calls.join(", "))
}

fn params(statement: &Statement) -> Vec<TextParam> {
    statement.params.iter().cloned().map(TextParam).collect()
}

/// Distinct statement texts prepared on one connection before its cache is emptied.
/// Texts vary with a request's shape (filters, select lists, argument names), not
/// with its values (an `in` list is one array parameter), so a hundred cover an
/// application; the limit bounds what a client inventing shapes can make a
/// connection hold.
const STATEMENT_CACHE_LIMIT: usize = 128;

/// Longer texts are prepared for their one use and closed after it, never cached.
/// With `STATEMENT_CACHE_LIMIT` this bounds a connection's cached text to 256 KiB,
/// and so the backend memory its prepared statements hold: a statement's parse
/// and plan trees take about 70 times its text (~200 KB for 3 KB measured in
/// pg_backend_memory_contexts), so ~18 MB per connection at worst.
const CACHED_STATEMENT_MAX_BYTES: usize = 2 * 1024;

/// The connection's prepared statement for `sql`, prepared on first use. Like
/// PostgREST's prepared statements, this spares Postgres parsing and planning the
/// same text on every request. Parameters are declared `unknown`, so the server
/// infers each one's type from its place in the statement, and are sent as text.
async fn prepare(
    client: &deadpool_postgres::Client,
    sql: &str,
    param_count: usize,
) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
    let types = vec![Type::UNKNOWN; param_count];
    if sql.len() > CACHED_STATEMENT_MAX_BYTES {
        // Closed on the server when the returned statement is dropped.
        return client.prepare_typed(sql, &types).await;
    }
    if client.statement_cache.size() >= STATEMENT_CACHE_LIMIT {
        client.statement_cache.clear();
    }
    client.prepare_typed_cached(sql, &types).await
}

fn refs(params: &[TextParam]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

pub async fn execute(
    pool: &deadpool_postgres::Pool,
    caller: &Caller,
    settings: &RequestSettings,
    work: Work<'_>,
) -> Result<Outcome, ApiError> {
    let authenticated = caller.is_authenticated();
    let db_error = |e: tokio_postgres::Error| ApiError::from_db(&e, authenticated);
    let mut client = pool.get().await.map_err(|e| ApiError::pool(&e))?;
    let claims = serde_json::Value::Object(caller.claims.clone()).to_string();
    let setting_params: Vec<TextParam> = settings
        .role_settings
        .iter()
        .flat_map(|(name, value)| [name.clone(), value.clone()])
        .chain([
            settings.search_path.clone(),
            caller.role.clone(),
            claims,
            caller.sub().unwrap_or_default().to_owned(),
            caller.role.clone(),
            settings.method.clone(),
            settings.path.clone(),
            settings.headers_json.clone(),
        ])
        .map(|v| TextParam(Some(v)))
        .collect();
    let settings_sql = settings_sql(settings.role_settings.len());
    let main_params = work.main.map(params).unwrap_or_default();
    let count_params = work.count.map(params).unwrap_or_default();
    // Statements not yet prepared on this connection are prepared together: one
    // round trip the first time, none after.
    let (settings_statement, main_statement, count_statement) = futures_util::future::try_join3(
        prepare(&client, &settings_sql, setting_params.len()),
        OptionFuture::from(
            work.main
                .map(|main| prepare(&client, &main.sql, main_params.len())),
        )
        .map(Option::transpose),
        OptionFuture::from(
            work.count
                .map(|count| prepare(&client, &count.sql, count_params.len())),
        )
        .map(Option::transpose),
    )
    .await
    .map_err(db_error)?;
    let main = main_statement.as_ref().map(|statement| MainStatement {
        statement,
        params: &main_params,
        returns_nothing: work.returns_nothing,
    });
    let begin = if work.read_only {
        "start transaction read only"
    } else {
        "start transaction read write"
    };

    if !work.singular && work.count.is_none() {
        // Nothing to decide after the main statement, so the whole transaction
        // goes as one pipelined batch (see `apply_settings`): one round trip.
        // After a failed statement the server answers COMMIT by rolling back,
        // as the general path below does. All four answers are awaited, so the
        // connection is out of its transaction when it returns to the pool,
        // and the first failure in statement order is the one answered.
        let (began, applied, main_row, committed) = futures_util::future::join4(
            client.batch_execute(begin),
            apply_settings(&**client, &settings_statement, &setting_params),
            run_main(&**client, main.as_ref()),
            client.batch_execute("commit"),
        )
        .await;
        began.map_err(db_error)?;
        applied.map_err(db_error)?;
        let main_row = main_row.map_err(db_error)?;
        committed.map_err(db_error)?;
        return Ok(main_outcome(main_row));
    }

    // The count and the singular check need the main result before COMMIT or
    // ROLLBACK; the transaction rolls back if this returns early.
    let transaction = client
        .build_transaction()
        .read_only(work.read_only)
        .start()
        .await
        .map_err(db_error)?;
    let (_, main_row) = futures_util::future::try_join(
        apply_settings(&*transaction, &settings_statement, &setting_params),
        run_main(&*transaction, main.as_ref()),
    )
    .await
    .map_err(db_error)?;
    let mut outcome = main_outcome(main_row);
    if let Some(count) = &count_statement {
        let row = transaction
            .query_one(count, &refs(&count_params))
            .await
            .map_err(db_error)?;
        outcome.total = Some(row.get(0));
    }
    if work.singular && outcome.rows != 1 {
        transaction.rollback().await.map_err(db_error)?;
        return Err(ApiError::singularity(outcome.rows));
    }
    transaction.commit().await.map_err(db_error)?;
    Ok(outcome)
}

/// The prepared main statement with its parameters.
struct MainStatement<'a> {
    statement: &'a tokio_postgres::Statement,
    params: &'a [TextParam],
    /// True for void functions: no result row to read.
    returns_nothing: bool,
}

/// Applies the request settings. tokio-postgres sends a statement when its
/// future is first polled, and a join polls all of its futures at once, so
/// statements joined with this one reach the server back to back and run in
/// order, without a round trip each. If the settings fail, the statements
/// after them only see an aborted transaction.
async fn apply_settings<C: GenericClient>(
    client: &C,
    statement: &tokio_postgres::Statement,
    setting_params: &[TextParam],
) -> Result<(), tokio_postgres::Error> {
    client
        .query(statement, &refs(setting_params))
        .await
        .map(drop)
}

/// Runs the main statement; `None` when there is none or it returns nothing.
async fn run_main<C: GenericClient>(
    client: &C,
    main: Option<&MainStatement<'_>>,
) -> Result<Option<Row>, tokio_postgres::Error> {
    match main {
        None => Ok(None),
        Some(main) if main.returns_nothing => client
            .query(main.statement, &refs(main.params))
            .await
            .map(|_| None),
        Some(main) => client
            .query_one(main.statement, &refs(main.params))
            .await
            .map(Some),
    }
}

fn main_outcome(main_row: Option<Row>) -> Outcome {
    let mut outcome = Outcome::default();
    if let Some(row) = main_row {
        outcome.body = row.get(0);
        outcome.rows = row.get(1);
        outcome.first = row.get(2);
    }
    outcome
}
