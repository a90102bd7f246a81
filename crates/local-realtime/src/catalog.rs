//! What the database says: which tables the publication holds, a table's
//! key, replica identity and row security, what a role may select, and
//! whether a role with given claims can see one row (asked as that role).

use std::collections::HashSet;

use futures_util::FutureExt;
use serde_json::{Map, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;
use tokio_postgres::SimpleQueryMessage;

use crate::filter::Condition;
use crate::hub::{BoundTable, Identity};

/// A database error as a sentence (tokio-postgres's own Display says only "db error").
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => error.to_string(),
    }
}

/// A double-quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(table))
}

/// Tables of the publication matching a binding's schema and table (`*`
/// or absent: any), as Realtime resolves them when a channel subscribes.
pub async fn publication_tables(
    client: &impl GenericClient,
    publication: &str,
    schema: &str,
    table: &str,
) -> Result<Vec<(String, String)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "select schemaname::text, tablename::text from pg_catalog.pg_publication_tables
             where pubname = $1::text and ($2::text = '*' or schemaname = $2::text)
               and ($3::text = '*' or tablename = $3::text)
             order by 1, 2",
            &[&publication, &schema, &table],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Checks a binding's conditions against one table and casts their values
/// to the column types (an unknown column or a value that is not of the
/// column's type is refused, as Realtime refuses the subscription).
pub async fn bind_table(
    client: &impl GenericClient,
    schema: &str,
    table: &str,
    conditions: &[Condition],
) -> Result<BoundTable, String> {
    let mut bound = Vec::with_capacity(conditions.len());
    for condition in conditions {
        let column_type: Option<String> = client
            .query_opt(
                "select pg_catalog.format_type(a.atttypid, a.atttypmod)
                 from pg_catalog.pg_attribute a
                 where a.attrelid = pg_catalog.format('%I.%I', $1::text, $2::text)::regclass
                   and a.attname = $3::text and a.attnum > 0 and not a.attisdropped",
                &[&schema, &table, &condition.column],
            )
            .await
            .map_err(|e| describe(&e))?
            .map(|row| row.get(0));
        let column_type = column_type.ok_or_else(|| {
            format!(
                "invalid column for filter {}: {schema}.{table} has no such column",
                condition.column
            )
        })?;
        // The type comes from the catalog, never from the client.
        let cast = format!(
            "select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(v::{column_type})), '[]')
             from pg_catalog.unnest($1::text[]) v"
        );
        let values: Value = client
            .query_one(&cast, &[&condition.raw])
            .await
            .map_err(|e| {
                let detail = e.as_db_error().map(|d| d.message().to_owned());
                format!(
                    "invalid value for filter {}: {}",
                    condition.column,
                    detail.unwrap_or_else(|| e.to_string())
                )
            })?
            .get(0);
        let mut condition = condition.clone();
        condition.values = match values {
            Value::Array(values) => values,
            _ => Vec::new(),
        };
        bound.push(condition);
    }
    Ok(BoundTable {
        schema: schema.to_owned(),
        table: table.to_owned(),
        conditions: bound,
    })
}

/// The publication's tables right now (changes of other tables are dropped).
pub async fn published(
    client: &impl GenericClient,
    publication: &str,
) -> Result<HashSet<(String, String)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "select schemaname::text, tablename::text from pg_catalog.pg_publication_tables where pubname = $1::text",
            &[&publication],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// What delivery needs to know about a table.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub row_security: bool,
    pub full_identity: bool,
    /// Every column in order: (name, type name as realtime-js reads it, SQL type, part of the key).
    pub columns: Vec<(String, String, String, bool)>,
}

impl TableInfo {
    pub fn key(&self) -> impl Iterator<Item = &(String, String, String, bool)> {
        self.columns.iter().filter(|c| c.3)
    }
}

pub async fn table_info(
    client: &impl GenericClient,
    schema: &str,
    table: &str,
) -> Result<TableInfo, tokio_postgres::Error> {
    let row = client
        .query_one(
            "select c.relrowsecurity, c.relreplident = 'f',
               coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
                            a.attname, t.typname, pg_catalog.format_type(a.atttypid, a.atttypmod),
                            coalesce(a.attnum = any(i.indkey), false)) order by a.attnum)
                         from pg_catalog.pg_attribute a
                         join pg_catalog.pg_type t on t.oid = a.atttypid
                         left join pg_catalog.pg_index i on i.indrelid = c.oid and i.indisprimary
                         where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '[]')
             from pg_catalog.pg_class c
             where c.oid = pg_catalog.format('%I.%I', $1::text, $2::text)::regclass",
            &[&schema, &table],
        )
        .await?;
    let columns: Value = row.get(2);
    let columns = columns
        .as_array()
        .map(|columns| {
            columns
                .iter()
                .map(|c| {
                    let text = |i: usize| {
                        c.get(i)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let key = c.get(3).and_then(Value::as_bool).unwrap_or(false);
                    (text(0), text(1), text(2), key)
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(TableInfo {
        row_security: row.get(0),
        full_identity: row.get(1),
        columns,
    })
}

/// What one role may see of a table.
#[derive(Debug, Clone, Default)]
pub struct RoleAccess {
    pub select: bool,
    pub bypass_rls: bool,
    /// Columns the role may select.
    pub columns: HashSet<String>,
    /// The SELECT policies that apply to the role as one SQL condition
    /// (permissive ones OR'ed, restrictive ones AND'ed); `None` when no
    /// permissive policy applies, i.e. no row is visible.
    pub policy: Option<String>,
}

pub async fn role_access(
    client: &impl GenericClient,
    schema: &str,
    table: &str,
    role: &str,
) -> Result<RoleAccess, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "with applicable as (
               select p.polpermissive, '(' || coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), 'false') || ')' as qual
               from pg_catalog.pg_policy p
               where p.polrelid = pg_catalog.format('%I.%I', $1::text, $2::text)::regclass
                 and p.polcmd in ('r', '*')
                 and exists (select 1 from pg_catalog.unnest(p.polroles) pr
                             where pr = 0 or pg_catalog.pg_has_role($3::text, pr, 'member')))
             select pg_catalog.has_table_privilege(r.oid, c.oid, 'select') or exists (
                      select 1 from pg_catalog.pg_attribute a where a.attrelid = c.oid and a.attnum > 0
                        and not a.attisdropped and pg_catalog.has_column_privilege(r.oid, c.oid, a.attnum, 'select')),
                    r.rolbypassrls,
                    array(select a.attname::text from pg_catalog.pg_attribute a
                          where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                            and pg_catalog.has_column_privilege(r.oid, c.oid, a.attnum, 'select')),
                    (select string_agg(qual, ' or ') from applicable where polpermissive),
                    (select string_agg(qual, ' and ') from applicable where not polpermissive)
             from pg_catalog.pg_class c, pg_catalog.pg_roles r
             where c.oid = pg_catalog.format('%I.%I', $1::text, $2::text)::regclass and r.rolname = $3::text",
            &[&schema, &table, &role],
        )
        .await?;
    let Some(row) = row else {
        // A role the database does not know sees nothing.
        return Ok(RoleAccess::default());
    };
    let columns: Vec<String> = row.get(2);
    let permissive: Option<String> = row.get(3);
    let restrictive: Option<String> = row.get(4);
    Ok(RoleAccess {
        select: row.get(0),
        bypass_rls: row.get(1),
        columns: columns.into_iter().collect(),
        policy: permissive.map(|p| match restrictive {
            Some(r) => format!("({p}) and ({r})"),
            None => p,
        }),
    })
}

/// The row as `to_jsonb` renders it (the same text PostgREST would send),
/// limited to the columns the change carries. `values` are wal2json's.
pub async fn render_rows(
    client: &impl GenericClient,
    schema: &str,
    table: &str,
    timestamp: &str,
    new: &Map<String, Value>,
    old: &Map<String, Value>,
) -> Result<(String, Map<String, Value>, Map<String, Value>), tokio_postgres::Error> {
    let sql = format!(
        "select to_char($1::text::timestamptz at time zone 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
                pg_catalog.to_jsonb(pg_catalog.jsonb_populate_record(null::{t}, $2)),
                pg_catalog.to_jsonb(pg_catalog.jsonb_populate_record(null::{t}, $3))",
        t = qualified(schema, table)
    );
    let row = client
        .query_one(
            &sql,
            &[
                &timestamp,
                &Value::Object(new.clone()),
                &Value::Object(old.clone()),
            ],
        )
        .await?;
    let keep = |rendered: Value, present: &Map<String, Value>| -> Map<String, Value> {
        match rendered {
            Value::Object(fields) => fields
                .into_iter()
                .filter(|(name, _)| present.contains_key(name))
                .collect(),
            _ => Map::new(),
        }
    };
    Ok((row.get(0), keep(row.get(1), new), keep(row.get(2), old)))
}

/// What to ask for each identity: the row by primary key (inserts and
/// updates, as Realtime does), or the old row against the policies (deletes
/// of a table with `replica identity full`: the row is gone).
pub enum Probe<'a> {
    ByKey {
        table: &'a TableInfo,
        schema: &'a str,
        name: &'a str,
        row: &'a Map<String, Value>,
    },
    OldRow {
        schema: &'a str,
        name: &'a str,
        row: &'a Map<String, Value>,
    },
}

/// For each identity, whether it can see the row: each is asked in turn on
/// one connection after `set role` and `request.jwt.claims`, exactly as a
/// PostgREST request of that user would run. The statements are prepared
/// first and then sent back to back (pipelined), so each probe runs right
/// after its own switch. A role the login cannot take becomes `none` (the
/// login itself, which may select nothing), and an error (no privilege, a
/// policy that raises) counts as not visible. The session is reset to the
/// login role afterwards.
pub async fn visible_to(
    pooled: &deadpool_postgres::ClientWrapper,
    probe: &Probe<'_>,
    identities: &[(&Identity, Option<&str>)],
) -> Result<Vec<bool>, tokio_postgres::Error> {
    // Statements are prepared once per pooled connection.
    let client: &tokio_postgres::Client = pooled;
    let switch = pooled
        .prepare_cached(
            "select set_config('role', case when exists (
                      select 1 from pg_catalog.pg_roles r
                      where r.rolname = $1::text and pg_catalog.pg_has_role(session_user, r.oid, 'member'))
                    then $1::text else 'none' end, false),
                    set_config('request.jwt.claims', $2::text, false)",
        )
        .await?;
    let (by_key, params): (Option<String>, Vec<String>) = match probe {
        Probe::ByKey {
            table,
            schema,
            name,
            row,
        } => {
            let mut conditions = Vec::new();
            let mut params = Vec::new();
            for (index, (column, _, sql_type, _)) in table.key().enumerate() {
                conditions.push(format!(
                    "{} = ${}::text::{sql_type}",
                    quote_ident(column),
                    index + 1
                ));
                params.push(match row.get(column) {
                    Some(Value::String(text)) => text.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                });
            }
            if conditions.is_empty() {
                // Realtime answers "no primary key" for such tables: nothing to probe.
                return Ok(vec![false; identities.len()]);
            }
            let sql = format!(
                "select exists (select 1 from {} where {})",
                qualified(schema, name),
                conditions.join(" and ")
            );
            (Some(sql), params)
        }
        Probe::OldRow { row, .. } => (None, vec![Value::Object((*row).clone()).to_string()]),
    };
    // Key probes are prepared once (the table's policies were resolved when
    // they were created). Policy probes go as simple queries with the old
    // row inline: their function names must be resolved as the subscriber's
    // role, which only holds after the switch, and a simple query is parsed
    // when it runs, still in pipeline order.
    let by_key = match &by_key {
        Some(sql) => Some(pooled.prepare_cached(sql).await?),
        None => None,
    };
    let literal = |text: &str| format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"));
    let mut plan = Vec::with_capacity(identities.len());
    for (identity, policy) in identities {
        let sql = match (probe, policy) {
            (Probe::ByKey { .. }, _) => Some(None),
            // The policy text comes from pg_policy; the record is aliased
            // as the table so qualified column references resolve.
            (Probe::OldRow { schema, name, .. }, Some(policy)) => Some(Some(format!(
                "select exists (select 1 from pg_catalog.jsonb_populate_record(null::{}, {}::jsonb) as {} where {policy})",
                qualified(schema, name),
                literal(params.first().map(String::as_str).unwrap_or("{}")),
                quote_ident(name)
            ))),
            (Probe::OldRow { .. }, None) => None,
        };
        plan.push((*identity, sql));
    }
    let params: Vec<&(dyn ToSql + Sync)> =
        params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let mut steps = Vec::with_capacity(plan.len() * 2);
    for (identity, sql) in &plan {
        let Some(text) = sql else { continue };
        let switch = &switch;
        let params = &params;
        let by_key = &by_key;
        steps.push(
            async move {
                client
                    .execute(switch, &[&identity.role, &identity.claims])
                    .await
                    .map(|_| None)
            }
            .boxed(),
        );
        steps.push(
            async move {
                match (text, by_key) {
                    (Some(text), _) => {
                        let messages = client.simple_query(text).await?;
                        Ok(Some(messages.iter().any(|m| match m {
                            SimpleQueryMessage::Row(row) => row.get(0) == Some("t"),
                            _ => false,
                        })))
                    }
                    (None, Some(statement)) => client
                        .query_one(statement, params)
                        .await
                        .map(|row| Some(row.get::<_, bool>(0))),
                    (None, None) => Ok(Some(false)),
                }
            }
            .boxed(),
        );
    }
    let answers = futures_util::future::join_all(steps).await;
    client
        .batch_execute("reset role; select set_config('request.jwt.claims', '', false)")
        .await?;
    // Steps come in pairs (switch, probe); a failed switch fails its probe.
    let mut pairs = answers.chunks(2).map(|pair| match pair {
        [Ok(_), Ok(Some(visible))] => *visible,
        _ => false,
    });
    Ok(plan
        .iter()
        .map(|(_, sql)| sql.is_some() && pairs.next().unwrap_or(false))
        .collect())
}
