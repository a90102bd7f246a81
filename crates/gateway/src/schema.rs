//! The schema cache: tables, views, columns and functions of the exposed
//! schema, read from the catalog at start and on `NOTIFY pgrst, 'reload schema'`.
//! Only names found here ever reach SQL.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use tokio_postgres::AsyncMessage;

/// One column of a table or view.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Column {
    pub name: String,
    /// `format_type` of the column: a catalog name, safe to print into SQL.
    pub type_name: String,
    /// The column's default expression as the catalog prints it (used for
    /// `Prefer: missing=default`, as PostgREST does).
    #[serde(default)]
    pub default_sql: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// An input argument of a function.
#[derive(Debug, Clone, PartialEq)]
pub struct Argument {
    pub name: String,
    pub type_name: String,
    pub has_default: bool,
}

/// What a function returns, which decides the JSON shape of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnShape {
    /// `returns void`: 204 No Content.
    Void,
    /// A base type, json or jsonb: the value itself.
    Scalar,
    /// A row type or `record` (OUT parameters): an object.
    Row,
    /// `setof <base type>`: an array of values.
    ScalarSet,
    /// `setof <row>` or `returns table(...)`: an array of objects.
    RowSet,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub name: String,
    pub arguments: Vec<Argument>,
    pub returns: ReturnShape,
    /// VOLATILE functions get a read-write transaction when called with POST.
    pub volatile: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SchemaCache {
    pub schema: String,
    pub tables: HashMap<String, Table>,
    pub functions: HashMap<String, Vec<Function>>,
    /// `alter role ... set` settings per role. PostgreSQL applies them only
    /// at login, so (like PostgREST) we apply the impersonated role's ones
    /// in each transaction: Supabase's statement timeouts rely on it.
    pub role_settings: HashMap<String, Vec<(String, String)>>,
}

const TABLES_SQL: &str = r#"
select coalesce(json_agg(json_build_object(
  'name', c.relname,
  'columns', coalesce((
     select json_agg(json_build_object(
         'name', a.attname,
         'type_name', pg_catalog.format_type(a.atttypid, a.atttypmod),
         'default_sql', pg_catalog.pg_get_expr(d.adbin, d.adrelid)) order by a.attnum)
     from pg_catalog.pg_attribute a
     left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum and a.attgenerated = ''
     where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '[]'),
  'primary_key', coalesce((
     select json_agg(a.attname order by k.ord)
     from pg_catalog.pg_index i
     cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
     join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
     where i.indrelid = c.oid and i.indisprimary), '[]')
)), '[]')::text
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = $1 and c.relkind in ('r', 'v', 'm', 'f', 'p')
"#;

const FUNCTIONS_SQL: &str = r#"
select coalesce(json_agg(json_build_object(
  'name', p.proname,
  'volatility', p.provolatile::text,
  'returns_set', p.proretset,
  'return_kind', case
      when p.prorettype = 'pg_catalog.void'::pg_catalog.regtype then 'void'
      when t.typrelid <> 0 or p.prorettype = 'pg_catalog.record'::pg_catalog.regtype then 'row'
      else 'scalar' end,
  'default_count', p.pronargdefaults,
  'arguments', coalesce((
      select json_agg(json_build_object(
          'name', coalesce(a.name, ''),
          'type_name', pg_catalog.format_type(a.type_oid, null),
          'mode', coalesce(a.mode::text, 'i')) order by a.ord)
      from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames, p.proargmodes)
           with ordinality as a(type_oid, name, mode, ord)
      where a.type_oid is not null), '[]')
)), '[]')::text
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
join pg_catalog.pg_type t on t.oid = p.prorettype
where n.nspname = $1 and p.prokind = 'f'
"#;

/// Settings of every role, for this database or all databases (the
/// database-specific value wins, as at login).
const ROLE_SETTINGS_SQL: &str = r#"
select coalesce(json_agg(json_build_array(r.rolname, split_part(setting, '=', 1), substr(setting, strpos(setting, '=') + 1))
         order by r.rolname, s.setdatabase), '[]')::text
from pg_catalog.pg_db_role_setting s
join pg_catalog.pg_roles r on r.oid = s.setrole
cross join lateral unnest(s.setconfig) as setting
where s.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))
"#;

#[derive(Deserialize)]
struct RawArgument {
    name: String,
    type_name: String,
    mode: String,
}

#[derive(Deserialize)]
struct RawFunction {
    name: String,
    volatility: String,
    returns_set: bool,
    return_kind: String,
    default_count: usize,
    arguments: Vec<RawArgument>,
}

impl RawFunction {
    fn into_function(self) -> Function {
        // IN, INOUT and VARIADIC arguments are what a caller passes.
        let inputs: Vec<RawArgument> = self
            .arguments
            .into_iter()
            .filter(|a| matches!(a.mode.as_str(), "i" | "b" | "v"))
            .collect();
        let first_default = inputs.len().saturating_sub(self.default_count);
        let arguments = inputs
            .into_iter()
            .enumerate()
            .map(|(index, a)| Argument {
                name: a.name,
                type_name: a.type_name,
                has_default: index >= first_default,
            })
            .collect();
        let returns = match (self.return_kind.as_str(), self.returns_set) {
            ("void", _) => ReturnShape::Void,
            ("row", false) => ReturnShape::Row,
            ("row", true) => ReturnShape::RowSet,
            (_, false) => ReturnShape::Scalar,
            (_, true) => ReturnShape::ScalarSet,
        };
        Function {
            name: self.name,
            arguments,
            returns,
            volatile: self.volatility == "v",
        }
    }
}

/// Reads the cache for `schema` from the catalog.
pub async fn load(
    client: &tokio_postgres::Client,
    schema: &str,
) -> Result<SchemaCache, tokio_postgres::Error> {
    let tables_json: String = client.query_one(TABLES_SQL, &[&schema]).await?.get(0);
    let functions_json: String = client.query_one(FUNCTIONS_SQL, &[&schema]).await?.get(0);
    let settings_json: String = client.query_one(ROLE_SETTINGS_SQL, &[]).await?.get(0);
    let tables: Vec<Table> = serde_json::from_str(&tables_json).unwrap_or_default();
    let mut role_settings: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let raw_settings: Vec<(String, String, String)> =
        serde_json::from_str(&settings_json).unwrap_or_default();
    for (role, name, value) in raw_settings {
        let settings = role_settings.entry(role).or_default();
        // Ordered all-databases first, so a database-specific value replaces it.
        settings.retain(|(existing, _)| existing != &name);
        settings.push((name, value));
    }
    let raw_functions: Vec<RawFunction> = serde_json::from_str(&functions_json).unwrap_or_default();
    let mut functions: HashMap<String, Vec<Function>> = HashMap::new();
    for raw in raw_functions {
        let function = raw.into_function();
        functions
            .entry(function.name.clone())
            .or_default()
            .push(function);
    }
    Ok(SchemaCache {
        schema: schema.to_owned(),
        tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
        functions,
        role_settings,
    })
}

/// The current cache, swapped whole on reload; `None` until the first load.
#[derive(Clone, Default)]
pub struct SharedSchema(Arc<RwLock<Option<Arc<SchemaCache>>>>);

impl SharedSchema {
    pub fn get(&self) -> Option<Arc<SchemaCache>> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set(&self, cache: SchemaCache) {
        let cache = Some(Arc::new(cache));
        match self.0.write() {
            Ok(mut guard) => *guard = cache,
            Err(poisoned) => *poisoned.into_inner() = cache,
        }
    }
}

/// Loads the cache with a pooled connection and stores it.
pub async fn reload(
    pool: &deadpool_postgres::Pool,
    shared: &SharedSchema,
    schema: &str,
) -> Result<(), String> {
    let client = pool.get().await.map_err(|e| e.to_string())?;
    let cache = load(&client, schema).await.map_err(|e| e.to_string())?;
    tracing::info!(
        tables = cache.tables.len(),
        functions = cache.functions.len(),
        "schema cache loaded"
    );
    shared.set(cache);
    Ok(())
}

/// Listens on the `pgrst` channel like PostgREST and reloads the cache on
/// `reload schema` (or an empty payload). Reconnects after a lost connection
/// and reloads then too, since notifications may have been missed; also on
/// the first connection when the cache is not loaded yet.
pub async fn listen_for_reloads(
    database_url: String,
    pool: deadpool_postgres::Pool,
    shared: SharedSchema,
    schema: String,
) {
    let mut reload_on_connect = shared.get().is_none();
    loop {
        match tokio_postgres::connect(&database_url, tokio_postgres::NoTls).await {
            Ok((client, mut connection)) => {
                let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(Ok(message)) = messages.next().await {
                        if let AsyncMessage::Notification(n) = message {
                            if sender.send(n.payload().to_owned()).is_err() {
                                break;
                            }
                        }
                    }
                });
                if client.batch_execute("listen pgrst").await.is_ok() {
                    if reload_on_connect {
                        if let Err(error) = reload(&pool, &shared, &schema).await {
                            tracing::warn!(%error, "schema cache reload failed");
                        }
                    }
                    while let Some(payload) = receiver.recv().await {
                        if payload.is_empty() || payload == "reload schema" {
                            if let Err(error) = reload(&pool, &shared, &schema).await {
                                tracing::warn!(%error, "schema cache reload failed");
                            }
                        }
                    }
                }
                driver.abort();
                reload_on_connect = true;
                tracing::warn!("schema listener connection lost; reconnecting");
            }
            Err(error) => tracing::warn!(%error, "schema listener cannot connect"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
