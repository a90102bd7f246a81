//! Runs one request's statements in one transaction, as the caller's role,
//! with PostgREST's transaction-scoped settings.

use std::error::Error;

use bytes::BytesMut;
use tokio_postgres::types::{Format, IsNull, ToSql, Type};

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

/// Parameters typed `unknown`: the server infers each one's type from its
/// place in the statement, and `query_typed` skips the separate prepare
/// round trip (one unnamed Parse/Bind/Execute).
fn typed(params: &[TextParam]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    params
        .iter()
        .map(|p| (p as &(dyn ToSql + Sync), Type::UNKNOWN))
        .collect()
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
    let transaction = client
        .build_transaction()
        .read_only(work.read_only)
        .start()
        .await
        .map_err(db_error)?;
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
    // The settings and the main statement are pipelined: tokio-postgres sends
    // both when the joined future is first polled and the server runs them in
    // order, so the request costs one round trip here instead of two. If the
    // settings fail, the main statement only sees an aborted transaction, and
    // `try_join` answers with the settings' error, which arrives first.
    let apply_settings = async {
        transaction
            .query_typed(&settings_sql, &typed(&setting_params))
            .await
            .map_err(db_error)
    };
    let main_params = work.main.map(params).unwrap_or_default();
    let run_main = async {
        match work.main {
            None => Ok(None),
            Some(main) if work.returns_nothing => transaction
                .query_typed(main.sql.as_str(), &typed(&main_params))
                .await
                .map(|_| None)
                .map_err(db_error),
            Some(main) => transaction
                .query_typed_one(main.sql.as_str(), &typed(&main_params))
                .await
                .map(Some)
                .map_err(db_error),
        }
    };
    let (_, main_row) = futures_util::future::try_join(apply_settings, run_main).await?;

    let mut outcome = Outcome::default();
    if let Some(row) = main_row {
        outcome.body = row.get(0);
        outcome.rows = row.get(1);
        outcome.first = row.get(2);
    }
    if let Some(count) = work.count {
        let count_params = params(count);
        let row = transaction
            .query_typed_one(count.sql.as_str(), &typed(&count_params))
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
