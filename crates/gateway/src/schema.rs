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

/// How many rows of the foreign table one row of the origin relates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    ManyToOne,
    OneToMany,
    /// The foreign key's columns are also a primary key or unique key.
    OneToOne,
}

impl Cardinality {
    pub fn is_to_one(self) -> bool {
        self != Cardinality::OneToMany
    }

    pub fn label(self) -> &'static str {
        match self {
            Cardinality::ManyToOne => "many-to-one",
            Cardinality::OneToMany => "one-to-many",
            Cardinality::OneToOne => "one-to-one",
        }
    }
}

/// A foreign key seen from one of its two tables (each key gives two).
#[derive(Debug, Clone, PartialEq)]
pub struct Relationship {
    pub constraint: String,
    pub table: String,
    pub foreign_table: String,
    /// (column of `table`, column of `foreign_table`), in key order.
    pub columns: Vec<(String, String)>,
    pub cardinality: Cardinality,
    /// Both ends are the same table.
    pub is_self: bool,
}

/// One foreign key constraint as the catalog describes it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
struct ForeignKey {
    constraint: String,
    table: String,
    columns: Vec<String>,
    foreign_table: String,
    foreign_columns: Vec<String>,
    /// The key's columns are exactly a primary key or unique constraint of `table`.
    unique: bool,
}

impl ForeignKey {
    /// The relationship from the referencing table and the one from the referenced table.
    fn relationships(self) -> [Relationship; 2] {
        let pairs: Vec<(String, String)> = self
            .columns
            .iter()
            .cloned()
            .zip(self.foreign_columns.iter().cloned())
            .collect();
        let is_self = self.table == self.foreign_table;
        let (to_parent, to_child) = if self.unique {
            (Cardinality::OneToOne, Cardinality::OneToOne)
        } else {
            (Cardinality::ManyToOne, Cardinality::OneToMany)
        };
        [
            Relationship {
                constraint: self.constraint.clone(),
                table: self.table.clone(),
                foreign_table: self.foreign_table.clone(),
                columns: pairs.clone(),
                cardinality: to_parent,
                is_self,
            },
            Relationship {
                constraint: self.constraint,
                table: self.foreign_table,
                foreign_table: self.table,
                columns: pairs.into_iter().map(|(a, b)| (b, a)).collect(),
                cardinality: to_child,
                is_self,
            },
        ]
    }
}

#[derive(Debug, Clone, Default)]
pub struct SchemaCache {
    pub schema: String,
    pub tables: HashMap<String, Table>,
    /// Relationships by origin table, from the foreign keys between tables of the schema.
    pub relationships: HashMap<String, Vec<Relationship>>,
    /// Type names a select item may be cast to (`::text`), lowercase.
    pub types: std::collections::HashSet<String>,
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

/// Foreign keys whose two tables are both in the schema, with their columns
/// in key order.
const FOREIGN_KEYS_SQL: &str = r#"
select coalesce(json_agg(json_build_object(
  'constraint', c.conname,
  'table', t.relname,
  'columns', (select json_agg(a.attname order by k.ord)
              from unnest(c.conkey) with ordinality as k(attnum, ord)
              join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum),
  'foreign_table', ft.relname,
  'foreign_columns', (select json_agg(a.attname order by k.ord)
              from unnest(c.confkey) with ordinality as k(attnum, ord)
              join pg_catalog.pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum),
  'unique', exists (
      select 1 from pg_catalog.pg_index i
      where i.indrelid = c.conrelid and (i.indisprimary or i.indisunique) and i.indpred is null
        and (select array_agg(x order by x) from unnest(i.indkey::int2[]) as x)
          = (select array_agg(x order by x) from unnest(c.conkey) as x))
) order by c.conname), '[]')::text
from pg_catalog.pg_constraint c
join pg_catalog.pg_class t on t.oid = c.conrelid
join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
join pg_catalog.pg_class ft on ft.oid = c.confrelid
join pg_catalog.pg_namespace fn on fn.oid = ft.relnamespace
where c.contype = 'f' and tn.nspname = $1 and fn.nspname = $1
"#;

/// Base, domain and enum types a select item may be cast to: the built-in
/// ones, the exposed schema's and the extensions'.
const TYPES_SQL: &str = r#"
select coalesce(json_agg(distinct t.typname), '[]')::text
from pg_catalog.pg_type t
join pg_catalog.pg_namespace n on n.oid = t.typnamespace
where n.nspname in ('pg_catalog', $1, 'extensions') and t.typtype in ('b', 'd', 'e')
  and t.typname not like '\_%'
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
    let foreign_keys_json: String = client.query_one(FOREIGN_KEYS_SQL, &[&schema]).await?.get(0);
    let types_json: String = client.query_one(TYPES_SQL, &[&schema]).await?.get(0);
    let foreign_keys: Vec<ForeignKey> =
        serde_json::from_str(&foreign_keys_json).unwrap_or_default();
    let mut relationships: HashMap<String, Vec<Relationship>> = HashMap::new();
    for relationship in foreign_keys.into_iter().flat_map(ForeignKey::relationships) {
        relationships
            .entry(relationship.table.clone())
            .or_default()
            .push(relationship);
    }
    let types: Vec<String> = serde_json::from_str(&types_json).unwrap_or_default();
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
        relationships,
        types: types.into_iter().collect(),
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
