//! Turns PostgREST URL grammar (select with resource embedding, filters,
//! order, limit/offset, Prefer, bodies) into one SQL statement plus bound
//! parameters. Pure: no I/O, unit-tested.
//!
//! Identifiers reach the SQL text only after they were found in the schema
//! cache, and always double-quoted; every value from the request is a
//! parameter, sent in text format so PostgreSQL parses it with the target
//! column's input function (as PostgREST's `unknown`-typed literals are).

use serde_json::{json, Value};

use crate::error::ApiError;
use crate::schema::{Function, Relationship, ReturnShape, SchemaCache, Table};

/// Query string keys with a meaning of their own; everything else is a filter.
const RESERVED_KEYS: [&str; 6] = [
    "select",
    "order",
    "limit",
    "offset",
    "on_conflict",
    "columns",
];

/// The alias of the target relation inside every generated statement.
const TARGET: &str = "pgrst_target";

/// How deep `and(...)`/`or(...)` trees and `select` items may nest. Parsing and
/// SQL building recurse once per level, so a URL of nested parentheses must not
/// be able to take the stack (PostgREST itself sets no limit; a real filter
/// rarely goes past three levels).
pub const MAX_NESTING: usize = 16;

/// How deep embedded resources may nest (`a(b(c(...)))`). PostgREST sets no
/// limit; ours bounds the recursion of parsing and of the generated SQL.
pub const MAX_EMBED_DEPTH: usize = 8;

/// Resources one request may embed in total, at every level together.
pub const MAX_EMBEDS: usize = 32;

/// SQL text with its parameters (`None` is NULL).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Option<String>>,
}

impl Statement {
    fn bind(&mut self, value: impl Into<String>) -> String {
        self.params.push(Some(value.into()));
        format!("${}", self.params.len())
    }
}

/// The `search_path` of every request: the exposed schema, then `extensions`
/// (where Supabase installs extensions). No spaces, so the same value can go in
/// a connection's startup options.
pub fn search_path(schema: &str) -> String {
    format!("{},\"extensions\"", quote_ident(schema))
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// One step of a JSON path: `->key`, `->>key`, `->0`.
#[derive(Debug, Clone, PartialEq)]
struct JsonStep {
    as_text: bool,
    key: JsonKey,
}

#[derive(Debug, Clone, PartialEq)]
enum JsonKey {
    Index(i64),
    Name(String),
}

/// A column, optionally followed by a JSON path (`line_items->0->>item_id`).
#[derive(Debug, Clone, PartialEq)]
struct Field {
    column: String,
    path: Vec<JsonStep>,
}

impl Field {
    /// The key PostgREST gives the value: the last JSON key of the path, else the column.
    fn output_name(&self) -> &str {
        self.path
            .iter()
            .rev()
            .find_map(|step| match &step.key {
                JsonKey::Name(name) => Some(name.as_str()),
                JsonKey::Index(_) => None,
            })
            .unwrap_or(&self.column)
    }

    /// The expression; JSON keys are bound parameters, indexes validated integers.
    fn sql(&self, statement: &mut Statement, alias: &str) -> String {
        let mut sql = format!("{alias}.{}", quote_ident(&self.column));
        for step in &self.path {
            sql.push_str(if step.as_text { "->>" } else { "->" });
            match &step.key {
                JsonKey::Index(index) => sql.push_str(&index.to_string()),
                JsonKey::Name(name) => {
                    let parameter = statement.bind(name.clone());
                    sql.push_str(&parameter);
                    sql.push_str("::text");
                }
            }
        }
        sql
    }
}

#[derive(Debug, Clone, PartialEq)]
enum SelectItem {
    Star,
    Column {
        field: Field,
        alias: Option<String>,
        /// A type name from the schema cache (`::text`).
        cast: Option<String>,
    },
}

impl SelectItem {
    fn output_name(&self) -> Option<&str> {
        match self {
            SelectItem::Star => None,
            SelectItem::Column { field, alias, .. } => {
                Some(alias.as_deref().unwrap_or(field.output_name()))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Comparison {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    Ilike,
    Match,
    Imatch,
    Contains,
    ContainedIn,
    Overlaps,
    IsDistinct,
}

impl Comparison {
    fn sql(self) -> &'static str {
        match self {
            Comparison::Eq => "=",
            Comparison::Neq => "<>",
            Comparison::Gt => ">",
            Comparison::Gte => ">=",
            Comparison::Lt => "<",
            Comparison::Lte => "<=",
            Comparison::Like => "like",
            Comparison::Ilike => "ilike",
            Comparison::Match => "~",
            Comparison::Imatch => "~*",
            Comparison::Contains => "@>",
            Comparison::ContainedIn => "<@",
            Comparison::Overlaps => "&&",
            Comparison::IsDistinct => "is distinct from",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Predicate {
    Compare(Comparison, String),
    In(Vec<String>),
    Is(&'static str),
    /// `fts`, `plfts`, `phfts`, `wfts`: the tsquery function, the optional
    /// configuration and the query text.
    TextSearch {
        function: &'static str,
        config: Option<String>,
        query: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    column: Field,
    /// The column is a `tsvector` (full-text search on others goes through `to_tsvector`).
    tsvector: bool,
    negated: bool,
    predicate: Predicate,
}

/// A filter or a logic tree (`or=(...)`, `and=(...)`, nested `and(...)`/`or(...)`).
#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Filter(Filter),
    Group {
        negated: bool,
        any: bool,
        children: Vec<Condition>,
    },
    /// `forms=is.null` / `forms=not.is.null` on an embedded resource: whether
    /// the row has a related row (after the embedded resource's own filters).
    Embedded {
        aggregate_alias: String,
        to_one: bool,
        present: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct OrderTerm {
    column: Field,
    descending: bool,
    nulls: Option<&'static str>,
}

/// A resource embedded through a relationship (`stock_history(*)`).
#[derive(Debug, Clone, PartialEq)]
struct Embed {
    /// The key of the embedded value in the parent (alias or relation name).
    name: String,
    relationship: Relationship,
    /// `!inner`: parent rows without a related row are left out.
    inner: bool,
    /// `...forms(name)`: the columns go into the parent object.
    spread: bool,
    query: TableQuery,
}

impl Embed {
    fn aggregate_alias(&self) -> String {
        format!("pgrst_agg_{}", self.query.index)
    }
}

/// The parts of a request's query string that apply to one relation: the
/// request's table (index 0) or an embedded resource (index 1, 2, ...).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableQuery {
    table: String,
    /// 0 for the request's table; a distinct number per embedded resource,
    /// which names its aliases in the SQL.
    index: usize,
    select: Vec<SelectItem>,
    embeds: Vec<Embed>,
    filters: Vec<Condition>,
    order: Vec<OrderTerm>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    on_conflict: Option<Vec<String>>,
    columns: Option<Vec<String>>,
}

impl TableQuery {
    fn alias(&self) -> String {
        if self.index == 0 {
            TARGET.to_owned()
        } else {
            format!("pgrst_{}", self.index)
        }
    }

    /// The embedded resource reached by `path` (names or aliases from the root).
    fn node_mut(&mut self, path: &[&str]) -> Result<&mut TableQuery, ApiError> {
        let Some((first, rest)) = path.split_first() else {
            return Ok(self);
        };
        match self.embeds.iter_mut().find(|e| e.name == *first) {
            Some(embed) => embed.query.node_mut(rest),
            None => Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "PGRST108",
                format!("'{first}' is not an embedded resource in this request"),
            )
            .hint(format!(
                "Verify that '{first}' is included in the 'select' query parameter."
            ))),
        }
    }
}

/// Parses and validates the query string of a table request against `table`
/// and, for embedded resources, against the relationships in `cache`.
pub fn parse_table_query(
    cache: &SchemaCache,
    table: &Table,
    pairs: &[(String, String)],
) -> Result<TableQuery, ApiError> {
    let mut query = TableQuery {
        table: table.name.clone(),
        select: vec![SelectItem::Star],
        ..TableQuery::default()
    };
    // The select tree first: the other keys may address its embedded resources.
    if let Some((_, value)) = pairs.iter().rev().find(|(key, _)| key == "select") {
        // Checked on the text first, so no relationship is looked up for a hostile tree.
        if nesting_depth(value) > MAX_EMBED_DEPTH {
            return Err(select_parse_error(
                value,
                format!("embedded resources nest at most {MAX_EMBED_DEPTH} levels deep"),
            ));
        }
        let mut embeds = 0;
        parse_select(cache, table, &mut query, value, 0, &mut embeds)?;
    }
    for (key, value) in pairs {
        if key == "select" {
            continue;
        }
        let (path, name) = split_key(key);
        let node = query.node_mut(&path)?;
        let Some(node_table) = cache.tables.get(&node.table).or_else(|| {
            // Only the request's table may be absent from `cache` (unit tests).
            (node.index == 0).then_some(table)
        }) else {
            return Err(ApiError::table_not_found(&cache.schema, &node.table));
        };
        let is_root = path.is_empty();
        match name {
            "order" => node.order = parse_order(node_table, value)?,
            "limit" => node.limit = Some(parse_count("limit", value)?),
            "offset" => node.offset = Some(parse_count("offset", value)?),
            "on_conflict" if is_root => {
                node.on_conflict = Some(parse_column_list(node_table, value)?)
            }
            "columns" if is_root => node.columns = Some(parse_column_list(node_table, value)?),
            "or" | "and" | "not.or" | "not.and" => {
                let tree = format!("{name}{value}");
                node.filters.push(parse_logic_tree(node_table, &tree, 1)?);
            }
            _ => {
                let condition = match node.embeds.iter().find(|e| e.name == name) {
                    Some(embed) if node_table.column(name).is_none() => {
                        embedded_null_filter(embed, value)?
                    }
                    _ => Condition::Filter(parse_filter(node_table, name, value)?),
                };
                node.filters.push(condition);
            }
        }
    }
    Ok(query)
}

/// `stock_history.order` -> (["stock_history"], "order"); `a.b.not.or` -> (["a", "b"], "not.or").
fn split_key(key: &str) -> (Vec<&str>, &str) {
    let mut segments: Vec<&str> = key.split('.').collect();
    let count = segments.len();
    if count >= 2 && segments[count - 2] == "not" && matches!(segments[count - 1], "or" | "and") {
        let name = &key[key.len() - segments[count - 1].len() - 4..];
        segments.truncate(count - 2);
        return (segments, name);
    }
    let name = segments.pop().unwrap_or_default();
    (segments, name)
}

/// `forms=is.null` / `forms=not.is.null`: the only filters an embedded resource takes.
fn embedded_null_filter(embed: &Embed, value: &str) -> Result<Condition, ApiError> {
    let present = match value.to_ascii_lowercase().as_str() {
        "is.null" => false,
        "not.is.null" => true,
        _ => {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "PGRST120",
                format!("Bad operator on the '{}' embedded resource", embed.name),
            )
            .details("Only is null or not is null filters are allowed on embedded resources"))
        }
    };
    Ok(Condition::Embedded {
        aggregate_alias: embed.aggregate_alias(),
        to_one: embed.relationship.cardinality.is_to_one(),
        present,
    })
}

fn parse_count(name: &str, value: &str) -> Result<i64, ApiError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            ApiError::query_param(
                format!("\"failed to parse {name} parameter ({value})\""),
                format!("{name} must be a non-negative integer"),
            )
        })
}

fn require_column(table: &Table, name: &str) -> Result<String, ApiError> {
    match table.column(name) {
        Some(column) => Ok(column.name.clone()),
        None => Err(ApiError::undefined_column(&table.name, name)),
    }
}

/// Parses `column`, `column->key->>key`, `column->0`; the column must exist.
fn parse_field(table: &Table, text: &str) -> Result<Field, ApiError> {
    let bad = || {
        ApiError::query_param(
            format!("\"failed to parse json path ({text})\""),
            "expecting column->key, column->>key or column->index",
        )
    };
    let column_end = text.find("->").unwrap_or(text.len());
    let column = require_column(table, text[..column_end].trim())?;
    let mut rest = &text[column_end..];
    let mut path = Vec::new();
    while !rest.is_empty() {
        rest = rest.strip_prefix("->").ok_or_else(bad)?;
        let as_text = rest.starts_with('>');
        if as_text {
            rest = &rest[1..];
        }
        let end = rest.find("->").unwrap_or(rest.len());
        let key = &rest[..end];
        rest = &rest[end..];
        if key.is_empty() || key.contains(['"', '(', ')', ':']) {
            return Err(bad());
        }
        let key = match key.parse::<i64>() {
            Ok(index) => JsonKey::Index(index),
            Err(_) => JsonKey::Name(key.to_owned()),
        };
        path.push(JsonStep { as_text, key });
    }
    Ok(Field { column, path })
}

/// A cast target (`::text`): a type name the catalog knows, printed quoted.
/// The SQL spellings of built-in types map to their catalog names.
fn parse_cast(cache: &SchemaCache, text: &str, item: &str) -> Result<String, ApiError> {
    let lower = text.trim().to_ascii_lowercase();
    let (base, array) = match lower.strip_suffix("[]") {
        Some(base) => (base.trim_end(), "[]"),
        None => (lower.as_str(), ""),
    };
    let catalog_name = match base {
        "int" | "integer" => "int4",
        "smallint" => "int2",
        "bigint" => "int8",
        "boolean" => "bool",
        "real" => "float4",
        "double precision" => "float8",
        "decimal" => "numeric",
        "character varying" => "varchar",
        "character" => "bpchar",
        "timestamp with time zone" => "timestamptz",
        "timestamp without time zone" | "timestamp" => "timestamp",
        other => other,
    };
    if !cache.types.contains(catalog_name) {
        return Err(ApiError::query_param(
            format!("\"failed to parse select parameter ({item})\""),
            format!("unknown type \"{text}\" in cast"),
        ));
    }
    Ok(format!("{}{array}", quote_ident(catalog_name)))
}

fn select_parse_error(value: &str, detail: String) -> ApiError {
    ApiError::query_param(
        format!("\"failed to parse select parameter ({value})\""),
        detail,
    )
}

/// Parses a select list into `node`: columns, JSON paths, casts and embedded
/// resources (recursively, at most `MAX_EMBED_DEPTH` deep and `MAX_EMBEDS` in all).
fn parse_select(
    cache: &SchemaCache,
    table: &Table,
    node: &mut TableQuery,
    value: &str,
    depth: usize,
    embeds: &mut usize,
) -> Result<(), ApiError> {
    node.select.clear();
    let items = split_top_level(value)
        .ok_or_else(|| select_parse_error(value, "unbalanced parentheses or quotes".into()))?;
    for raw in items {
        let item = raw.trim();
        if item.is_empty() && value.trim().is_empty() {
            // `select=` (or `forms()`): no columns.
            continue;
        }
        if item == "*" {
            node.select.push(SelectItem::Star);
            continue;
        }
        if item.ends_with(')') {
            if depth + 1 > MAX_EMBED_DEPTH {
                return Err(select_parse_error(
                    value,
                    format!("embedded resources nest at most {MAX_EMBED_DEPTH} levels deep"),
                ));
            }
            *embeds += 1;
            if *embeds > MAX_EMBEDS {
                return Err(select_parse_error(
                    value,
                    format!("at most {MAX_EMBEDS} embedded resources per request"),
                ));
            }
            let embed = parse_embed(cache, table, item, depth, embeds)?;
            node.embeds.push(embed);
            continue;
        }
        let (alias, rest) = match item.split_once(':') {
            Some((alias, rest)) if !alias.is_empty() && !rest.starts_with(':') => {
                (Some(alias.trim().to_owned()), rest.trim())
            }
            _ => (None, item),
        };
        let (field_text, cast) = match rest.split_once("::") {
            Some((field, cast)) => (field.trim(), Some(parse_cast(cache, cast, item)?)),
            None => (rest, None),
        };
        let valid_name = |s: &str| !s.is_empty() && !s.contains(['(', ')', '"', '.', ' ', ':']);
        let column_part = field_text.split("->").next().unwrap_or_default();
        if !valid_name(column_part) || alias.as_deref().is_some_and(|a| !valid_name(a)) {
            return Err(select_parse_error(
                value,
                format!("unexpected select item \"{item}\""),
            ));
        }
        node.select.push(SelectItem::Column {
            field: parse_field(table, field_text)?,
            alias,
            cast,
        });
    }
    Ok(())
}

/// Parses `[...][alias:]name[!hint][!inner|!left](select)` and resolves its relationship.
fn parse_embed(
    cache: &SchemaCache,
    table: &Table,
    item: &str,
    depth: usize,
    embeds: &mut usize,
) -> Result<Embed, ApiError> {
    let open = item
        .find('(')
        .ok_or_else(|| select_parse_error(item, format!("unexpected select item \"{item}\"")))?;
    let head = item[..open].trim();
    let inner_select = &item[open + 1..item.len() - 1];
    // `count()`, `total:amount.sum()`: PostgREST's aggregates, off unless
    // `db-aggregates-enabled` (Supabase's default too).
    let function = head.rsplit(['.', ':']).next().unwrap_or_default();
    if inner_select.is_empty() && matches!(function, "count" | "sum" | "avg" | "min" | "max") {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "PGRST123",
            "Use of aggregate functions is not allowed",
        ));
    }
    let (spread, head) = match head.strip_prefix("...") {
        Some(rest) => (true, rest),
        None => (false, head),
    };
    let (alias, head) = match head.split_once(':') {
        Some((alias, rest)) => (Some(alias.trim()), rest.trim()),
        None => (None, head),
    };
    let mut parts = head.split('!');
    let target = parts.next().unwrap_or_default().trim();
    let mut hint = None;
    let mut inner = false;
    for part in parts {
        match part.trim() {
            "inner" => inner = true,
            "left" => inner = false,
            other if hint.is_none() => hint = Some(other),
            _ => {
                return Err(select_parse_error(
                    item,
                    format!("unexpected \"{part}\" in \"{head}\""),
                ))
            }
        }
    }
    let valid_name =
        |s: &str| !s.is_empty() && !s.contains(['(', ')', '"', '.', ' ', ':', ',', '!', '-', '>']);
    if !valid_name(target)
        || alias.is_some_and(|a| !valid_name(a))
        || hint.is_some_and(|h| !valid_name(h))
    {
        return Err(select_parse_error(
            item,
            format!("unexpected select item \"{item}\""),
        ));
    }
    let relationship = find_relationship(cache, &table.name, target, hint)?;
    if spread && !relationship.cardinality.is_to_one() {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "PGRST119",
            format!("A spread operation on '{target}' is not possible"),
        )
        .details(format!(
            "'{}' and '{}' do not form a many-to-one or one-to-one relationship",
            table.name, relationship.foreign_table
        )));
    }
    let foreign = cache
        .tables
        .get(&relationship.foreign_table)
        .ok_or_else(|| ApiError::table_not_found(&cache.schema, &relationship.foreign_table))?;
    let mut query = TableQuery {
        table: foreign.name.clone(),
        index: *embeds,
        ..TableQuery::default()
    };
    parse_select(cache, foreign, &mut query, inner_select, depth + 1, embeds)?;
    Ok(Embed {
        name: alias.unwrap_or(target).to_owned(),
        relationship: relationship.clone(),
        inner,
        spread,
        query,
    })
}

/// Finds the one relationship from `origin` that `target` (and `hint`) name,
/// with PostgREST's rules: the target is the foreign table, or a foreign key
/// name or a single foreign key column of the origin; the hint is a foreign
/// key name or a single column of either side. None is PGRST200, several PGRST201.
fn find_relationship<'a>(
    cache: &'a SchemaCache,
    origin: &str,
    target: &str,
    hint: Option<&str>,
) -> Result<&'a Relationship, ApiError> {
    let all = cache
        .relationships
        .get(origin)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let single_column =
        |r: &Relationship, name: &str| matches!(r.columns.as_slice(), [(c, _)] if c == name);
    let single_foreign_column =
        |r: &Relationship, name: &str| matches!(r.columns.as_slice(), [(_, c)] if c == name);
    let matches: Vec<&Relationship> = all
        .iter()
        .filter(|r| match (r.is_self, hint) {
            // A self-relationship is one-to-many by table name, many-to-one by column.
            (true, None) => {
                (target == r.foreign_table && !r.cardinality.is_to_one())
                    || (single_column(r, target) && r.cardinality.is_to_one())
            }
            (true, Some(hint)) => {
                target == r.foreign_table
                    && !r.cardinality.is_to_one()
                    && single_foreign_column(r, hint)
            }
            (false, None) => {
                target == r.foreign_table || target == r.constraint || single_column(r, target)
            }
            (false, Some(hint)) => {
                target == r.foreign_table
                    && (hint == r.constraint
                        || single_column(r, hint)
                        || single_foreign_column(r, hint))
            }
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => {
            let using = hint
                .map(|h| format!("' using the hint '{h}"))
                .unwrap_or_default();
            let mut error = ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "PGRST200",
                format!("Could not find a relationship between '{origin}' and '{target}' in the schema cache"),
            )
            .details(format!(
                "Searched for a foreign key relationship between '{origin}' and '{target}{using}' in the schema '{}', but no matches were found.",
                cache.schema
            ));
            // As PostgREST: suggest the closest related table, unless the target is one.
            let suggestion = all
                .iter()
                .map(|r| r.foreign_table.as_str())
                .filter(|name| *name != target)
                .map(|name| (strsim::normalized_levenshtein(name, target), name))
                .filter(|(score, _)| *score >= 0.33)
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((_, name)) = suggestion {
                if !all.iter().any(|r| r.foreign_table == target) {
                    error =
                        error.hint(format!("Perhaps you meant '{name}' instead of '{target}'."));
                }
            }
            Err(error)
        }
        several => {
            let details: Vec<Value> = several
                .iter()
                .map(|r| {
                    let (own, foreign): (Vec<&str>, Vec<&str>) = r
                        .columns
                        .iter()
                        .map(|(a, b)| (a.as_str(), b.as_str()))
                        .unzip();
                    json!({
                        "embedding": format!("{} with {}", r.table, r.foreign_table),
                        "cardinality": r.cardinality.label(),
                        "relationship": format!(
                            "{} using {}({}) and {}({})",
                            r.constraint, r.table, own.join(", "), r.foreign_table, foreign.join(", ")
                        ),
                    })
                })
                .collect();
            let hints: Vec<String> = several
                .iter()
                .map(|r| format!("'{}!{}'", r.foreign_table, r.constraint))
                .collect();
            let mut error = ApiError::new(
                axum::http::StatusCode::MULTIPLE_CHOICES,
                "PGRST201",
                format!("Could not embed because more than one relationship was found for '{origin}' and '{target}'"),
            )
            .hint(format!(
                "Try changing '{target}' to one of the following: {}. Find the desired relationship in the 'details' key.",
                hints.join(", ")
            ));
            error.details = Some(Value::Array(details));
            Err(error)
        }
    }
}

fn parse_order(table: &Table, value: &str) -> Result<Vec<OrderTerm>, ApiError> {
    let mut terms = Vec::new();
    for raw in value.split(',') {
        let mut parts = raw.trim().split('.');
        let column = parts.next().unwrap_or_default();
        let mut term = OrderTerm {
            column: Field {
                column: String::new(),
                path: Vec::new(),
            },
            descending: false,
            nulls: None,
        };
        for modifier in parts {
            match modifier {
                "asc" => term.descending = false,
                "desc" => term.descending = true,
                "nullsfirst" => term.nulls = Some("nulls first"),
                "nullslast" => term.nulls = Some("nulls last"),
                other => {
                    return Err(ApiError::query_param(
                        format!("\"failed to parse order ({value})\""),
                        format!("unexpected \"{other}\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\""),
                    ))
                }
            }
        }
        term.column = parse_field(table, column)?;
        terms.push(term);
    }
    Ok(terms)
}

fn parse_column_list(table: &Table, value: &str) -> Result<Vec<String>, ApiError> {
    value
        .split(',')
        .map(|name| {
            let name = name.trim().trim_matches('"');
            table
                .column(name)
                .map(|c| c.name.clone())
                .ok_or_else(|| ApiError::column_not_found(&table.name, name))
        })
        .collect()
}

fn parse_filter(table: &Table, key: &str, value: &str) -> Result<Filter, ApiError> {
    let parse_error = |detail: String| {
        ApiError::query_param(format!("\"failed to parse filter ({value})\""), detail)
    };
    let column = parse_field(table, key)?;
    let tsvector = column.path.is_empty()
        && table
            .column(&column.column)
            .is_some_and(|c| c.type_name == "tsvector");
    let (negated, rest) = match value.strip_prefix("not.") {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (operator, operand) = rest
        .split_once('.')
        .ok_or_else(|| parse_error(format!("unexpected \"{rest}\" expecting an operator")))?;
    // Full-text operators take an optional configuration: `fts(english)`.
    let (operator, config) = match operator.split_once('(') {
        Some((name, config)) => {
            let config = config
                .strip_suffix(')')
                .filter(|c| !c.is_empty())
                .ok_or_else(|| parse_error(format!("unexpected \"{operator}\"")))?;
            (name, Some(config.to_owned()))
        }
        None => (operator, None),
    };
    let text_search = |function: &'static str| Predicate::TextSearch {
        function,
        config: config.clone(),
        query: operand.to_owned(),
    };
    let predicate = match operator {
        "fts" => text_search("to_tsquery"),
        "plfts" => text_search("plainto_tsquery"),
        "phfts" => text_search("phraseto_tsquery"),
        "wfts" => text_search("websearch_to_tsquery"),
        _ if config.is_some() => {
            return Err(parse_error(format!(
                "unexpected \"{operator}\": only full-text operators take a configuration"
            )))
        }
        "eq" => Predicate::Compare(Comparison::Eq, operand.to_owned()),
        "neq" => Predicate::Compare(Comparison::Neq, operand.to_owned()),
        "gt" => Predicate::Compare(Comparison::Gt, operand.to_owned()),
        "gte" => Predicate::Compare(Comparison::Gte, operand.to_owned()),
        "lt" => Predicate::Compare(Comparison::Lt, operand.to_owned()),
        "lte" => Predicate::Compare(Comparison::Lte, operand.to_owned()),
        // PostgREST accepts `*` as the wildcard because `%` is awkward in URLs.
        "like" => Predicate::Compare(Comparison::Like, operand.replace('*', "%")),
        "ilike" => Predicate::Compare(Comparison::Ilike, operand.replace('*', "%")),
        "match" => Predicate::Compare(Comparison::Match, operand.to_owned()),
        "imatch" => Predicate::Compare(Comparison::Imatch, operand.to_owned()),
        // Array literals `{a,b}` or JSON, parsed by the column's type.
        "cs" => Predicate::Compare(Comparison::Contains, operand.to_owned()),
        "cd" => Predicate::Compare(Comparison::ContainedIn, operand.to_owned()),
        "ov" => Predicate::Compare(Comparison::Overlaps, operand.to_owned()),
        "isdistinct" => Predicate::Compare(Comparison::IsDistinct, operand.to_owned()),
        "in" => Predicate::In(parse_list(operand).ok_or_else(|| {
            parse_error(format!("unexpected \"{operand}\" expecting a list (a,b,...)"))
        })?),
        "is" => Predicate::Is(match operand.to_ascii_lowercase().as_str() {
            "null" => "null",
            "not_null" => "not null",
            "true" => "true",
            "false" => "false",
            "unknown" => "unknown",
            _ => {
                return Err(parse_error(format!(
                    "unexpected \"{operand}\" expecting null, not_null, true, false or unknown"
                )))
            }
        }),
        other => {
            return Err(parse_error(format!(
                "unexpected \"{other}\" expecting an operator (eq, neq, gt, gte, lt, lte, like, ilike, match, imatch, in, is, isdistinct, cs, cd, ov, fts, plfts, phfts, wfts)"
            )))
        }
    };
    Ok(Filter {
        column,
        tsvector,
        negated,
        predicate,
    })
}

/// How deep parentheses outside double quotes nest in `text` (counted without recursion).
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut quoted, mut escaped) = (0usize, 0usize, false, false);
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// PGRST100 for a parameter nested deeper than `MAX_NESTING`.
fn too_deep(what: &str, value: &str) -> ApiError {
    let shown: String = value.chars().take(100).collect();
    ApiError::query_param(
        format!("\"failed to parse {what} ({shown}...)\""),
        format!("nested more than {MAX_NESTING} levels deep"),
    )
}

/// Parses `[not.]or(...)` / `[not.]and(...)` whose items are `column.[not.]op.value`
/// or nested trees (at most `MAX_NESTING` levels; `depth` is this tree's level).
/// Values holding `,` `(` `)` are double-quoted, as PostgREST requires.
fn parse_logic_tree(table: &Table, tree: &str, depth: usize) -> Result<Condition, ApiError> {
    if depth > MAX_NESTING {
        return Err(too_deep("logic tree", tree));
    }
    let parse_error = |detail: &str| {
        ApiError::query_param(
            format!("\"failed to parse logic tree ({tree})\""),
            detail.to_owned(),
        )
    };
    let (negated, rest) = match tree.strip_prefix("not.") {
        Some(rest) => (true, rest),
        None => (false, tree),
    };
    let (any, body) = if let Some(body) = rest.strip_prefix("or") {
        (true, body)
    } else if let Some(body) = rest.strip_prefix("and") {
        (false, body)
    } else {
        return Err(parse_error("expecting \"and\" or \"or\""));
    };
    let inner = body
        .strip_prefix('(')
        .and_then(|b| b.strip_suffix(')'))
        .ok_or_else(|| parse_error("expecting a parenthesized list"))?;
    let items =
        split_top_level(inner).ok_or_else(|| parse_error("unbalanced parentheses or quotes"))?;
    let mut children = Vec::new();
    for item in items {
        let item = item.trim();
        let is_tree = ["and(", "or(", "not.and(", "not.or("]
            .iter()
            .any(|prefix| item.starts_with(prefix));
        if is_tree {
            children.push(parse_logic_tree(table, item, depth + 1)?);
            continue;
        }
        let (column, filter) = item
            .split_once('.')
            .ok_or_else(|| parse_error("expecting column.operator.value"))?;
        let mut filter = parse_filter(table, column, filter)?;
        if let Predicate::Compare(_, value) = &mut filter.predicate {
            if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                *value = value[1..value.len() - 1].replace("\\\"", "\"");
            }
        }
        children.push(Condition::Filter(filter));
    }
    if children.is_empty() {
        return Err(parse_error("expecting at least one condition"));
    }
    Ok(Condition::Group {
        negated,
        any,
        children,
    })
}

/// Splits on commas outside parentheses and double quotes.
fn split_top_level(text: &str) -> Option<Vec<&str>> {
    let mut items = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0usize);
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.checked_sub(1)?,
            ',' if !quoted && depth == 0 => {
                items.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    if quoted || depth != 0 {
        return None;
    }
    items.push(&text[start..]);
    Some(items)
}

/// Parses `(a,b,"c,d")`: items separated by commas, double quotes protect
/// commas and parentheses, backslash escapes inside quotes.
fn parse_list(operand: &str) -> Option<Vec<String>> {
    let inner = operand.strip_prefix('(')?.strip_suffix(')')?;
    let mut items = Vec::new();
    if inner.is_empty() {
        return Some(items);
    }
    let mut current = String::new();
    let mut chars = inner.chars();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', _) => quoted = !quoted,
            ('\\', true) => current.push(chars.next()?),
            (',', false) => items.push(std::mem::take(&mut current)),
            (c, _) => current.push(c),
        }
    }
    if quoted {
        return None;
    }
    items.push(current);
    Some(items)
}

/// A PostgreSQL array literal of `values`, each element quoted, so the
/// server parses it with the input function of the column's array type.
fn array_literal(values: &[String]) -> String {
    let elements: Vec<String> = values
        .iter()
        .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", elements.join(","))
}

/// The select list of a mutation's `returning` (no embedding there: a
/// mutation with embedded resources returns rows to an outer read).
fn returning_list(statement: &mut Statement, query: &TableQuery) -> String {
    let mut items = Vec::new();
    select_items(statement, query, &mut items);
    if items.is_empty() {
        return format!("{TARGET}.*");
    }
    items.join(", ")
}

/// The node's own columns as select items (`alias."col" as "name"`).
fn select_items(statement: &mut Statement, query: &TableQuery, items: &mut Vec<String>) {
    let alias = query.alias();
    for item in &query.select {
        match item {
            SelectItem::Star => items.push(format!("{alias}.*")),
            SelectItem::Column { field, cast, .. } => {
                let mut expression = field.sql(statement, &alias);
                if let Some(cast) = cast {
                    expression = format!("({expression})::{cast}");
                }
                let output = item.output_name().unwrap_or(&field.column);
                items.push(format!("{expression} as {}", quote_ident(output)));
            }
        }
    }
}

/// The keys a node's rows have, for spreading them into the parent.
fn output_names(cache: &SchemaCache, query: &TableQuery) -> Vec<String> {
    let mut names = Vec::new();
    for item in &query.select {
        match item {
            SelectItem::Star => {
                if let Some(table) = cache.tables.get(&query.table) {
                    names.extend(table.columns.iter().map(|c| c.name.clone()));
                }
            }
            column => names.extend(column.output_name().map(str::to_owned)),
        }
    }
    for embed in &query.embeds {
        if embed.spread {
            names.extend(output_names(cache, &embed.query));
        } else if !is_empty_embed(embed) {
            names.push(embed.name.clone());
        }
    }
    names
}

/// `forms()`: joined (to filter the parent) but not part of the answer.
fn is_empty_embed(embed: &Embed) -> bool {
    embed.query.select.is_empty() && embed.query.embeds.is_empty()
}

fn filter_sql(statement: &mut Statement, alias: &str, filter: &Filter) -> String {
    let column = filter.column.sql(statement, alias);
    let condition = match &filter.predicate {
        Predicate::Compare(op, value) => {
            format!("{column} {} {}", op.sql(), statement.bind(value.clone()))
        }
        Predicate::In(values) if values.is_empty() => "false".to_owned(),
        // One array parameter, as PostgREST sends it: the statement text is the
        // same whatever the list's length, so one prepared statement serves them all.
        Predicate::In(values) => {
            format!("{column} = any({})", statement.bind(array_literal(values)))
        }
        Predicate::Is(keyword) => format!("{column} is {keyword}"),
        Predicate::TextSearch {
            function,
            config,
            query,
        } => {
            let config = config
                .as_ref()
                .map(|c| format!("{}::regconfig, ", statement.bind(c.clone())))
                .unwrap_or_default();
            let document = if filter.tsvector {
                column
            } else {
                format!("to_tsvector({config}{column})")
            };
            format!(
                "{document} @@ {function}({config}{})",
                statement.bind(query.clone())
            )
        }
    };
    if filter.negated {
        format!("not ({condition})")
    } else {
        condition
    }
}

fn condition_sql(statement: &mut Statement, alias: &str, condition: &Condition) -> String {
    match condition {
        Condition::Filter(filter) => filter_sql(statement, alias, filter),
        Condition::Group {
            negated,
            any,
            children,
        } => {
            let parts: Vec<String> = children
                .iter()
                .map(|child| condition_sql(statement, alias, child))
                .collect();
            let joined = format!("({})", parts.join(if *any { " or " } else { " and " }));
            if *negated {
                format!("not {joined}")
            } else {
                joined
            }
        }
        Condition::Embedded {
            aggregate_alias,
            to_one,
            present,
        } => {
            let value = if *to_one {
                format!("row_to_json({aggregate_alias}.*)")
            } else {
                format!("{aggregate_alias}.{aggregate_alias}")
            };
            format!("{value} is {}null", if *present { "not " } else { "" })
        }
    }
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        return String::new();
    }
    format!(" where {}", conditions.join(" and "))
}

fn conditions_sql(statement: &mut Statement, alias: &str, conditions: &[Condition]) -> Vec<String> {
    conditions
        .iter()
        .map(|condition| condition_sql(statement, alias, condition))
        .collect()
}

fn order_clause(statement: &mut Statement, alias: &str, order: &[OrderTerm]) -> String {
    if order.is_empty() {
        return String::new();
    }
    let terms: Vec<String> = order
        .iter()
        .map(|t| {
            let mut term = t.column.sql(statement, alias);
            term.push_str(if t.descending { " desc" } else { " asc" });
            if let Some(nulls) = t.nulls {
                term.push(' ');
                term.push_str(nulls);
            }
            term
        })
        .collect();
    format!(" order by {}", terms.join(", "))
}

/// Wraps a row-producing statement so it answers one row:
/// (json array text, row count, first element text).
fn aggregate(main: &str) -> String {
    format!(
        "with pgrst_source as ({main}) \
         select coalesce(json_agg(pgrst_source), '[]')::text, count(*), (json_agg(pgrst_source) -> 0)::text \
         from pgrst_source"
    )
}

/// Like `aggregate`, with PostgREST's CSV as the body: the first row's keys,
/// then each row in PostgreSQL's record text form without its parentheses
/// (values with commas, quotes or spaces double-quoted; NULL empty).
fn aggregate_csv(main: &str) -> String {
    format!(
        "with pgrst_source as ({main}) \
         select (select coalesce(string_agg(pgrst_keys.key, ','), '') \
                   from json_object_keys((select row_to_json(pgrst_first) from pgrst_source as pgrst_first limit 1)) as pgrst_keys(key)) \
                || chr(10) || coalesce(string_agg(substring(pgrst_source::text, 2, length(pgrst_source::text) - 2), chr(10)), ''), \
                count(*), null::text \
         from pgrst_source"
    )
}

/// Rows to skip and to return, after intersecting `offset`/`limit` with a `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub offset: i64,
    pub limit: Option<i64>,
}

/// Parses `Range: a-b` / `a-` (items) and intersects it with the query's limit/offset.
pub fn window(query: &TableQuery, range_header: Option<&str>) -> Result<Window, ApiError> {
    let mut lower = query.offset.unwrap_or(0);
    // Saturating: limit/offset/Range come from the client and may be huge.
    let mut upper = query.limit.map(|limit| lower.saturating_add(limit) - 1);
    if let Some(header) = range_header {
        let spec = header
            .trim()
            .strip_prefix("items=")
            .unwrap_or(header.trim());
        let (from, to) = spec.split_once('-').unwrap_or((spec, ""));
        let range_lower = from.trim().parse::<i64>().ok();
        let range_upper = to.trim().parse::<i64>().ok();
        if let Some(from) = range_lower {
            if range_upper.is_some_and(|to| to < from) {
                return Err(ApiError::new(
                    axum::http::StatusCode::RANGE_NOT_SATISFIABLE,
                    "PGRST103",
                    "Requested range not satisfiable",
                )
                .details("The lower boundary must be lower than or equal to the upper boundary in the Range header."));
            }
            lower = lower.max(from);
            upper = match (upper, range_upper) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    let limit = upper.map(|upper| upper.saturating_sub(lower).saturating_add(1).max(0));
    Ok(Window {
        offset: lower,
        limit,
    })
}

/// Whether `conditions` test the presence of the embedded resource `aggregate_alias`.
fn tests_embedded(conditions: &[Condition], aggregate_alias: &str) -> bool {
    conditions.iter().any(|condition| match condition {
        Condition::Embedded {
            aggregate_alias: alias,
            ..
        } => alias == aggregate_alias,
        Condition::Group { children, .. } => tests_embedded(children, aggregate_alias),
        Condition::Filter(_) => false,
    })
}

/// What `node_select` builds the statement for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// The rows, with their embedded resources.
    Rows,
    /// Only which rows match (for counting): joins only for `!inner` embeds
    /// and embeds the filters test.
    Count,
}

/// One relation's statement, PostgREST's shape: `select <columns>, <embedded
/// values> from <source> as <alias> <lateral join per embedded resource>
/// where <join to the parent> and <filters> order by ... limit ... offset ...`.
/// A to-one resource is a lateral subquery turned into an object with
/// `row_to_json`, a to-many one a lateral `json_agg` over its subquery (so its
/// own order, limit and offset apply per parent row). Both stay `json`, never
/// `jsonb`, so an embedded object's keys come in the order of the select, as
/// PostgREST sends them.
fn node_select(
    statement: &mut Statement,
    cache: &SchemaCache,
    query: &TableQuery,
    source: &str,
    mut conditions: Vec<String>,
    window: Window,
    purpose: Purpose,
) -> String {
    let alias = query.alias();
    let mut items = Vec::new();
    if purpose == Purpose::Rows {
        select_items(statement, query, &mut items);
    }
    let mut joins = String::new();
    for embed in &query.embeds {
        let aggregate_alias = embed.aggregate_alias();
        if purpose == Purpose::Count
            && !embed.inner
            && !tests_embedded(&query.filters, &aggregate_alias)
        {
            continue;
        }
        let child_alias = embed.query.alias();
        let join_conditions: Vec<String> = embed
            .relationship
            .columns
            .iter()
            .map(|(own, foreign)| {
                format!(
                    "{child_alias}.{} = {alias}.{}",
                    quote_ident(foreign),
                    quote_ident(own)
                )
            })
            .collect();
        let child_window = Window {
            offset: embed.query.offset.unwrap_or(0),
            limit: embed.query.limit,
        };
        let child = node_select(
            statement,
            cache,
            &embed.query,
            &qualified(&cache.schema, &embed.query.table),
            join_conditions,
            child_window,
            Purpose::Rows,
        );
        let kind = if embed.inner { "inner" } else { "left" };
        let shown = purpose == Purpose::Rows && !is_empty_embed(embed);
        if embed.relationship.cardinality.is_to_one() {
            joins.push_str(&format!(
                " {kind} join lateral ({child}) as {aggregate_alias} on true"
            ));
            if purpose == Purpose::Rows && embed.spread {
                for name in output_names(cache, &embed.query) {
                    let name = quote_ident(&name);
                    items.push(format!("{aggregate_alias}.{name} as {name}"));
                }
            } else if shown {
                items.push(format!(
                    "row_to_json({aggregate_alias}.*) as {}",
                    quote_ident(&embed.name)
                ));
            }
        } else {
            let on = if embed.inner {
                format!("{aggregate_alias} is not null")
            } else {
                "true".to_owned()
            };
            joins.push_str(&format!(
                " {kind} join lateral (select json_agg({aggregate_alias}) as {aggregate_alias} \
                 from ({child}) as {aggregate_alias}) as {aggregate_alias} on {on}"
            ));
            if shown {
                items.push(format!(
                    "coalesce({aggregate_alias}.{aggregate_alias}, '[]') as {}",
                    quote_ident(&embed.name)
                ));
            }
        }
    }
    if purpose == Purpose::Count {
        items = vec!["1".to_owned()];
    }
    conditions.extend(conditions_sql(statement, &alias, &query.filters));
    let mut sql = format!(
        "select {} from {source} as {alias}{joins}{}",
        items.join(", "),
        where_clause(&conditions)
    );
    if purpose == Purpose::Rows {
        sql.push_str(&order_clause(statement, &alias, &query.order));
        if let Some(limit) = window.limit {
            sql.push_str(&format!(" limit {limit}"));
        }
        if window.offset > 0 {
            sql.push_str(&format!(" offset {}", window.offset));
        }
    }
    sql
}

/// `GET`/`HEAD` on a table or view; `csv` answers `text/csv` instead of JSON.
pub fn read(
    cache: &SchemaCache,
    table: &Table,
    query: &TableQuery,
    window: Window,
    csv: bool,
) -> Statement {
    let mut statement = Statement::default();
    let main = node_select(
        &mut statement,
        cache,
        query,
        &qualified(&cache.schema, &table.name),
        Vec::new(),
        window,
        Purpose::Rows,
    );
    statement.sql = if csv {
        aggregate_csv(&main)
    } else {
        aggregate(&main)
    };
    statement
}

/// `Prefer: count=estimated` counts exactly up to this many rows and takes the
/// planner's estimate beyond: PostgREST's threshold is `db-max-rows`, which
/// Supabase sets to 1000 by default.
pub const ESTIMATED_COUNT_THRESHOLD: i64 = 1000;

/// The count of rows a read's filters (and `!inner` embeds) match
/// (`Prefer: count=exact`), or only up to `cap + 1` (`count=estimated`).
pub fn count(
    cache: &SchemaCache,
    table: &Table,
    query: &TableQuery,
    cap: Option<i64>,
) -> Statement {
    let mut statement = Statement::default();
    let mut matching = node_select(
        &mut statement,
        cache,
        query,
        &qualified(&cache.schema, &table.name),
        Vec::new(),
        Window::default(),
        Purpose::Count,
    );
    if let Some(cap) = cap {
        matching.push_str(&format!(" limit {}", cap.saturating_add(1)));
    }
    statement.sql = format!("select count(*) from ({matching}) as pgrst_count");
    statement
}

/// The planner's estimate of the rows a read matches (`Prefer: count=planned`):
/// `EXPLAIN (FORMAT JSON)` of the matching rows, read as PostgREST reads it.
pub fn planned_count(cache: &SchemaCache, table: &Table, query: &TableQuery) -> Statement {
    let mut statement = Statement::default();
    let matching = node_select(
        &mut statement,
        cache,
        query,
        &qualified(&cache.schema, &table.name),
        Vec::new(),
        Window::default(),
        Purpose::Count,
    );
    statement.sql = format!("explain (format json) {matching}");
    statement
}

/// The `returning` list of a mutation, and how its rows become the answer:
/// without embedded resources the returned rows are the answer; with them,
/// the returned rows are read again like a table, with lateral joins.
fn finish_mutation(
    statement: &mut Statement,
    cache: &SchemaCache,
    query: &TableQuery,
    main: String,
) -> String {
    if query.embeds.is_empty() {
        let returning = returning_list(statement, query);
        return aggregate(&format!("{main} returning {returning}"));
    }
    let returning = if query.select.contains(&SelectItem::Star) {
        format!("{TARGET}.*")
    } else {
        let mut columns: Vec<&str> = query
            .select
            .iter()
            .filter_map(|item| match item {
                SelectItem::Column { field, .. } => Some(field.column.as_str()),
                SelectItem::Star => None,
            })
            .chain(
                query
                    .embeds
                    .iter()
                    .flat_map(|e| e.relationship.columns.iter().map(|(own, _)| own.as_str())),
            )
            .collect();
        columns.sort_unstable();
        columns.dedup();
        columns
            .iter()
            .map(|c| format!("{TARGET}.{}", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The mutation's filters chose the rows already; the outer read only shapes them.
    let shape = TableQuery {
        filters: Vec::new(),
        order: Vec::new(),
        limit: None,
        offset: None,
        ..query.clone()
    };
    let outer = node_select(
        statement,
        cache,
        &shape,
        "pgrst_mutation",
        Vec::new(),
        Window::default(),
        Purpose::Rows,
    );
    format!(
        "with pgrst_mutation as ({main} returning {returning}), pgrst_source as ({outer}) \
         select coalesce(json_agg(pgrst_source), '[]')::text, count(*), (json_agg(pgrst_source) -> 0)::text \
         from pgrst_source"
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Error,
    MergeDuplicates,
    IgnoreDuplicates,
}

/// The JSON body of an insert or update: its keys, validated against the table.
fn body_columns(
    table: &Table,
    rows: &[Value],
    declared: Option<&Vec<String>>,
) -> Result<Vec<String>, ApiError> {
    if let Some(columns) = declared {
        return Ok(columns.clone());
    }
    let Some(first) = rows.first().and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let keys: Vec<&String> = first.keys().collect();
    for row in rows {
        let object = row
            .as_object()
            .ok_or_else(|| ApiError::invalid_body("All object keys must match"))?;
        if object.len() != keys.len() || !keys.iter().all(|k| object.contains_key(k.as_str())) {
            return Err(ApiError::invalid_body("All object keys must match"));
        }
    }
    keys.into_iter()
        .map(|key| {
            table
                .column(key)
                .map(|c| c.name.clone())
                .ok_or_else(|| ApiError::column_not_found(&table.name, key))
        })
        .collect()
}

/// Parses a request body as JSON, answering PGRST102 like PostgREST.
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::invalid_body("Empty or invalid json"))
}

/// `POST` on a table: single or bulk insert, optionally an upsert.
pub fn insert(
    cache: &SchemaCache,
    table: &Table,
    query: &TableQuery,
    body: Value,
    resolution: Resolution,
    missing_default: bool,
) -> Result<Statement, ApiError> {
    let rows = match body {
        Value::Array(rows) => rows,
        object @ Value::Object(_) => vec![object],
        _ => return Err(ApiError::invalid_body("Empty or invalid json")),
    };
    let columns = body_columns(table, &rows, query.columns.as_ref())?;
    let relation = qualified(&cache.schema, &table.name);
    let mut statement = Statement::default();
    let mut payload = format!("{}::json", statement.bind(Value::Array(rows).to_string()));
    // `Prefer: missing=default`: keys a row leaves out take the column default
    // (the catalog's expression, evaluated per row), not NULL.
    let defaults: Vec<String> = columns
        .iter()
        .filter_map(|name| table.column(name))
        .filter_map(|column| {
            let default = column.default_sql.as_ref().filter(|_| missing_default)?;
            Some(format!(
                "{}::text, ({default})",
                statement.bind(column.name.clone())
            ))
        })
        .collect();
    if !defaults.is_empty() {
        payload = format!(
            "(select coalesce(jsonb_agg(jsonb_build_object({}) || pgrst_element.value order by pgrst_element.position), '[]'::jsonb) \
             from jsonb_array_elements({payload}::jsonb) with ordinality as pgrst_element(value, position))::json",
            defaults.join(", ")
        );
    }
    let column_list: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
    let mut main = if column_list.is_empty() {
        format!("insert into {relation} as {TARGET} select from json_array_elements({payload})")
    } else {
        format!(
            "insert into {relation} as {TARGET} ({cols}) select {cols} from json_populate_recordset(null::{relation}, {payload})",
            cols = column_list.join(", ")
        )
    };
    if resolution != Resolution::Error {
        let conflict = query
            .on_conflict
            .clone()
            .unwrap_or_else(|| table.primary_key.clone());
        if conflict.is_empty() {
            return Err(ApiError::query_param(
                "\"failed to parse on_conflict\"",
                format!("'{}' has no primary key; give on_conflict", table.name),
            ));
        }
        let target: Vec<String> = conflict.iter().map(|c| quote_ident(c)).collect();
        let updates: Vec<String> = column_list
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        if resolution == Resolution::IgnoreDuplicates || updates.is_empty() {
            main.push_str(&format!(" on conflict ({}) do nothing", target.join(", ")));
        } else {
            main.push_str(&format!(
                " on conflict ({}) do update set {}",
                target.join(", "),
                updates.join(", ")
            ));
        }
    }
    statement.sql = finish_mutation(&mut statement, cache, query, main);
    Ok(statement)
}

/// `PATCH` on a table: the body's columns, on the rows the filters match.
/// `None` when the body sets no column (nothing to do, like PostgREST).
pub fn update(
    cache: &SchemaCache,
    table: &Table,
    query: &TableQuery,
    body: Value,
) -> Result<Option<Statement>, ApiError> {
    if !body.is_object() {
        return Err(ApiError::invalid_body("Empty or invalid json"));
    }
    let columns = body_columns(table, std::slice::from_ref(&body), query.columns.as_ref())?;
    if columns.is_empty() {
        return Ok(None);
    }
    let relation = qualified(&cache.schema, &table.name);
    let mut statement = Statement::default();
    let payload = statement.bind(body.to_string());
    let assignments: Vec<String> = columns
        .iter()
        .map(|c| format!("{col} = pgrst_body.{col}", col = quote_ident(c)))
        .collect();
    let conditions = conditions_sql(&mut statement, TARGET, &query.filters);
    let main = format!(
        "update {relation} as {TARGET} set {} from (select * from json_populate_record(null::{relation}, {payload}::json)) as pgrst_body{}",
        assignments.join(", "),
        where_clause(&conditions)
    );
    statement.sql = finish_mutation(&mut statement, cache, query, main);
    Ok(Some(statement))
}

/// `DELETE` on a table, on the rows the filters match.
pub fn delete(cache: &SchemaCache, table: &Table, query: &TableQuery) -> Statement {
    let mut statement = Statement::default();
    let conditions = conditions_sql(&mut statement, TARGET, &query.filters);
    let main = format!(
        "delete from {} as {TARGET}{}",
        qualified(&cache.schema, &table.name),
        where_clause(&conditions)
    );
    statement.sql = finish_mutation(&mut statement, cache, query, main);
    statement
}

/// Picks the function overload that accepts exactly these argument names
/// (PGRST202 when none, PGRST203 when several).
pub fn resolve_function<'a>(
    cache: &'a SchemaCache,
    name: &str,
    argument_names: &[String],
    is_post: bool,
) -> Result<&'a Function, ApiError> {
    let candidates: Vec<&Function> = cache
        .functions
        .get(name)
        .map(|overloads| {
            overloads
                .iter()
                .filter(|f| {
                    argument_names
                        .iter()
                        .all(|given| f.arguments.iter().any(|a| &a.name == given))
                        && f.arguments
                            .iter()
                            .all(|a| a.has_default || argument_names.contains(&a.name))
                })
                .collect()
        })
        .unwrap_or_default();
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => {
            let mut sorted = argument_names.to_vec();
            sorted.sort();
            let qualified_name = format!("{}.{}", cache.schema, name);
            let (message, searched) = if sorted.is_empty() {
                (
                    format!("Could not find the function {qualified_name} without parameters in the schema cache"),
                    " without parameters".to_owned(),
                )
            } else {
                let plural = if sorted.len() > 1 { "s" } else { "" };
                (
                    format!(
                        "Could not find the function {qualified_name}({}) in the schema cache",
                        sorted.join(", ")
                    ),
                    format!(" with parameter{plural} {}", sorted.join(", ")),
                )
            };
            let json_hint = if is_post {
                " or with a single unnamed json/jsonb parameter"
            } else {
                ""
            };
            Err(ApiError::new(axum::http::StatusCode::NOT_FOUND, "PGRST202", message).details(format!(
                "Searched for the function {qualified_name}{searched}{json_hint}, but no matches were found in the schema cache."
            )))
        }
        several => Err(ApiError::new(
            axum::http::StatusCode::MULTIPLE_CHOICES,
            "PGRST203",
            format!(
                "Could not choose the best candidate function between: {}",
                several
                    .iter()
                    .map(|f| format!(
                        "{}.{}({})",
                        cache.schema,
                        f.name,
                        f.arguments
                            .iter()
                            .map(|a| format!("{} => {}", a.name, a.type_name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Calls `function` with the named arguments in `arguments` (a JSON object).
/// The arguments are decoded in SQL by `json_to_record`, typed by the
/// catalog's argument types, then passed by name.
pub fn call(
    cache: &SchemaCache,
    function: &Function,
    arguments: &serde_json::Map<String, Value>,
) -> Statement {
    let mut statement = Statement::default();
    let used: Vec<&crate::schema::Argument> = function
        .arguments
        .iter()
        .filter(|a| arguments.contains_key(&a.name))
        .collect();
    let callee = qualified(&cache.schema, &function.name);
    let named: Vec<String> = used
        .iter()
        .map(|a| format!("{name} := pgrst_args.{name}", name = quote_ident(&a.name)))
        .collect();
    let invocation = format!("{callee}({})", named.join(", "));
    // Arguments come from one JSON parameter, typed by the catalog; the
    // function sits in FROM (lateral) so it runs exactly once.
    let (from_args, lateral_args) = if used.is_empty() {
        (String::new(), String::new())
    } else {
        let payload = statement.bind(Value::Object(arguments.clone()).to_string());
        let definitions: Vec<String> = used
            .iter()
            .map(|a| format!("{} {}", quote_ident(&a.name), a.type_name))
            .collect();
        let record = format!(
            "json_to_record({payload}::json) as pgrst_args({})",
            definitions.join(", ")
        );
        (format!(" from {record}"), format!("{record}, lateral "))
    };
    statement.sql = match function.returns {
        ReturnShape::Void => format!("select {invocation}{from_args}"),
        ReturnShape::Scalar => {
            format!("select to_json({invocation})::text, 1::int8, null::text{from_args}")
        }
        ReturnShape::Row => format!(
            "select row_to_json(pgrst_row)::text, 1::int8, null::text from {lateral_args}{invocation} as pgrst_row"
        ),
        ReturnShape::ScalarSet => format!(
            "select coalesce(json_agg(pgrst_values.pgrst_value), '[]')::text, count(*), \
             (json_agg(pgrst_values.pgrst_value) -> 0)::text \
             from {lateral_args}{invocation} as pgrst_values(pgrst_value)"
        ),
        ReturnShape::RowSet => aggregate(&format!(
            "select pgrst_row.* from {lateral_args}{invocation} as pgrst_row"
        )),
    };
    statement
}

/// Splits a query string into decoded pairs, keeping their order.
pub fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
        .map_err(|e| ApiError::query_param("\"failed to parse query string\"", e.to_string()))
}

/// Query parameters of a `GET` RPC call that are arguments (not select/order/...).
pub fn rpc_query_arguments(pairs: &[(String, String)]) -> serde_json::Map<String, Value> {
    pairs
        .iter()
        .filter(|(key, _)| !RESERVED_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Column;

    fn items() -> Table {
        Table {
            name: "items".into(),
            columns: ["id", "name", "stock"]
                .iter()
                .map(|n| Column {
                    name: (*n).into(),
                    type_name: "text".into(),
                    default_sql: (*n == "stock").then(|| "0".to_owned()),
                })
                .collect(),
            primary_key: vec!["id".into()],
        }
    }

    fn cache() -> SchemaCache {
        SchemaCache {
            schema: "public".into(),
            ..SchemaCache::default()
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn filters_become_parameters() {
        let query = parse_table_query(
            &cache(),
            &items(),
            &pairs(&[
                ("name", "eq.x'; drop table items; --"),
                ("stock", "not.in.(1,\"2,3\")"),
            ]),
        );
        let query = query.unwrap_or_else(|e| panic!("{e:?}"));
        let statement = read(&cache(), &items(), &query, Window::default(), false);
        assert!(statement.sql.contains("pgrst_target.\"name\" = $1"));
        assert!(statement
            .sql
            .contains("not (pgrst_target.\"stock\" = any($2))"));
        assert!(!statement.sql.contains("drop table"));
        assert_eq!(
            statement.params,
            vec![
                Some("x'; drop table items; --".into()),
                Some("{\"1\",\"2,3\"}".into())
            ]
        );
    }

    #[test]
    fn unknown_column_is_42703_before_any_sql() {
        let error = parse_table_query(
            &cache(),
            &items(),
            &pairs(&[("select", "id,\"name\";drop")]),
        )
        .err();
        assert_eq!(error.map(|e| e.code), Some("PGRST100".into()));
        let error = parse_table_query(&cache(), &items(), &pairs(&[("nope", "eq.1")])).err();
        assert_eq!(
            error.map(|e| (e.code, e.message)),
            Some(("42703".into(), "column items.nope does not exist".into()))
        );
    }

    #[test]
    fn malformed_filters_and_orders_are_pgrst100() {
        for (key, value) in [
            ("name", "equals.1"),
            ("name", "eq"),
            ("stock", "in.(1,2"),
            ("stock", "is.maybe"),
            ("order", "name.sideways"),
            ("limit", "-1"),
        ] {
            let error = parse_table_query(&cache(), &items(), &pairs(&[(key, value)])).err();
            assert_eq!(
                error.map(|e| e.code),
                Some("PGRST100".into()),
                "{key}={value}"
            );
        }
    }

    #[test]
    fn order_limit_offset_and_like() {
        let query = parse_table_query(
            &cache(),
            &items(),
            &pairs(&[
                ("order", "stock.desc.nullslast,name"),
                ("name", "ilike.*mug*"),
                ("limit", "5"),
                ("offset", "10"),
            ]),
        );
        let query = query.unwrap_or_else(|e| panic!("{e:?}"));
        let window = window(&query, None).unwrap_or_default();
        let statement = read(&cache(), &items(), &query, window, false);
        assert!(statement.sql.contains("order by pgrst_target.\"stock\" desc nulls last, pgrst_target.\"name\" asc limit 5 offset 10"));
        assert_eq!(statement.params, vec![Some("%mug%".into())]);
    }

    #[test]
    fn range_header_intersects_limit() {
        let query =
            parse_table_query(&cache(), &items(), &pairs(&[("limit", "100")])).unwrap_or_default();
        assert_eq!(
            window(&query, Some("5-9")).ok(),
            Some(Window {
                offset: 5,
                limit: Some(5)
            })
        );
        assert_eq!(
            window(&query, Some("9-5")).err().map(|e| e.code),
            Some("PGRST103".into())
        );
        let max = i64::MAX.to_string();
        let huge = parse_table_query(
            &cache(),
            &items(),
            &pairs(&[("limit", &max), ("offset", &max)]),
        );
        let huge = huge.unwrap_or_default();
        assert_eq!(
            window(&huge, Some("5-")).ok().map(|w| w.offset),
            Some(i64::MAX)
        );
    }

    #[test]
    fn bulk_insert_needs_matching_keys_and_known_columns() {
        let body = serde_json::json!([{"name": "a"}, {"stock": 1}]);
        let query = TableQuery {
            select: vec![SelectItem::Star],
            ..TableQuery::default()
        };
        let error = insert(&cache(), &items(), &query, body, Resolution::Error, false).err();
        assert_eq!(error.map(|e| e.code), Some("PGRST102".into()));
        let body = serde_json::json!({"name": "a", "evil\"col": 1});
        let error = insert(&cache(), &items(), &query, body, Resolution::Error, false).err();
        assert_eq!(error.map(|e| e.code), Some("PGRST204".into()));
    }

    #[test]
    fn upsert_updates_every_sent_column_on_the_key() {
        let body = serde_json::json!([{"id": "1", "name": "a"}]);
        let query = TableQuery {
            select: vec![SelectItem::Star],
            ..TableQuery::default()
        };
        let statement = insert(
            &cache(),
            &items(),
            &query,
            body,
            Resolution::MergeDuplicates,
            false,
        );
        let sql = statement.map(|s| s.sql).unwrap_or_default();
        assert!(sql.contains("on conflict (\"id\") do update set \"id\" = excluded.\"id\", \"name\" = excluded.\"name\""), "{sql}");
    }

    #[test]
    fn missing_default_fills_absent_keys_with_the_column_default() {
        let body = serde_json::json!([{"name": "a", "stock": 1}, {"name": "b"}]);
        let query = parse_table_query(
            &cache(),
            &items(),
            &pairs(&[("columns", "\"name\",\"stock\"")]),
        );
        let query = query.unwrap_or_else(|e| panic!("{e:?}"));
        let with = insert(
            &cache(),
            &items(),
            &query,
            body.clone(),
            Resolution::Error,
            true,
        );
        let with = with.unwrap_or_else(|e| panic!("{e:?}"));
        assert!(
            with.sql
                .contains("jsonb_build_object($2::text, (0)) || pgrst_element.value"),
            "{}",
            with.sql
        );
        assert_eq!(with.params[1], Some("stock".into()));
        let without = insert(&cache(), &items(), &query, body, Resolution::Error, false);
        assert!(!without
            .map(|s| s.sql)
            .unwrap_or_default()
            .contains("jsonb_build_object"));
    }

    #[test]
    fn logic_trees_nest_and_bind_values() {
        let query = parse_table_query(
            &cache(),
            &items(),
            &pairs(&[
                (
                    "or",
                    "(name.eq.\"a,b\",and(stock.gt.1,stock.lt.5),id.in.(x,y))",
                ),
                ("not.and", "(name.is.null)"),
            ]),
        );
        let query = query.unwrap_or_else(|e| panic!("{e:?}"));
        let statement = read(&cache(), &items(), &query, Window::default(), false);
        assert!(statement.sql.contains(
            "where (pgrst_target.\"name\" = $1 or (pgrst_target.\"stock\" > $2 and pgrst_target.\"stock\" < $3) or pgrst_target.\"id\" = any($4)) and not (pgrst_target.\"name\" is null)"
        ), "{}", statement.sql);
        assert_eq!(statement.params[0], Some("a,b".into()));
        for bad in [
            "(name.eq.1",
            "(nope.eq.1)",
            "(name.eq.1,and(stock.gt.1)",
            "()",
        ] {
            assert!(
                parse_table_query(&cache(), &items(), &pairs(&[("or", bad)])).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn in_lists_of_any_length_share_one_statement() {
        let statement_for = |list: &str| {
            let query = parse_table_query(&cache(), &items(), &pairs(&[("name", list)]));
            let query = query.unwrap_or_else(|e| panic!("{e:?}"));
            read(&cache(), &items(), &query, Window::default(), false)
        };
        let long = format!("in.({})", vec!["x"; 20_000].join(","));
        let (short, long) = (statement_for("in.(a)"), statement_for(&long));
        assert_eq!(short.sql, long.sql);
        assert_eq!(long.params.len(), 1);
        let quoted = statement_for("in.(\"a,b\",\"c\\\"d\",e\\f,\"{}\")");
        assert_eq!(
            quoted.params,
            vec![Some("{\"a,b\",\"c\\\"d\",\"e\\\\f\",\"{}\"}".into())]
        );
    }

    #[test]
    fn nesting_past_the_limit_is_pgrst100_without_recursing() {
        // `key=(...)` whose tree has `depth` levels, the key's own included.
        let tree = |depth: usize| {
            let levels = depth - 1;
            format!("({}name.eq.1{})", "or(".repeat(levels), ")".repeat(levels))
        };
        for key in ["or", "and", "not.or", "not.and"] {
            let at_limit =
                parse_table_query(&cache(), &items(), &pairs(&[(key, &tree(MAX_NESTING))]));
            assert!(at_limit.is_ok(), "{key}: {at_limit:?}");
            for depth in [MAX_NESTING + 1, 100_000] {
                let error =
                    parse_table_query(&cache(), &items(), &pairs(&[(key, &tree(depth))])).err();
                assert_eq!(
                    error.map(|e| (e.status.as_u16(), e.code, e.details)),
                    Some((
                        400,
                        "PGRST100".into(),
                        Some(serde_json::Value::from(format!(
                            "nested more than {MAX_NESTING} levels deep"
                        )))
                    )),
                    "{key} nested {depth} deep"
                );
            }
        }
        let deep_select = format!(
            "{}id{}",
            "items(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        let error =
            parse_table_query(&cache(), &items(), &pairs(&[("select", &deep_select)])).err();
        assert_eq!(error.map(|e| e.code), Some("PGRST100".into()));
        assert_eq!(nesting_depth("(a,\"((((\",(b))"), 2);
    }

    #[test]
    fn list_parsing_handles_quotes() {
        assert_eq!(
            parse_list("(a,\"b,c\",\"d\\\"e\")"),
            Some(vec!["a".into(), "b,c".into(), "d\"e".into()])
        );
        assert_eq!(parse_list("()"), Some(vec![]));
        assert_eq!(parse_list("a,b"), None);
    }

    #[test]
    fn keys_address_embedded_resources() {
        assert_eq!(split_key("stock"), (vec![], "stock"));
        assert_eq!(
            split_key("stock_history.order"),
            (vec!["stock_history"], "order")
        );
        assert_eq!(split_key("a.b.not.or"), (vec!["a", "b"], "not.or"));
        assert_eq!(split_key("not.and"), (vec![], "not.and"));
    }

    #[test]
    fn json_paths_bind_keys_and_name_the_value_after_the_last_key() {
        let field = parse_field(&items(), "name->0->>sku");
        let field = field.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(field.output_name(), "sku");
        let mut statement = Statement::default();
        assert_eq!(
            field.sql(&mut statement, TARGET),
            "pgrst_target.\"name\"->0->>$1::text"
        );
        assert_eq!(statement.params, vec![Some("sku".into())]);
        for bad in ["name->", "name->>\"x\"", "nope->a"] {
            assert!(parse_field(&items(), bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn embedding_unknown_relations_is_pgrst200_and_nesting_is_bounded() {
        let error = parse_table_query(&cache(), &items(), &pairs(&[("select", "*,nope(*)")]));
        assert_eq!(error.err().map(|e| e.code), Some("PGRST200".into()));
        let deep = format!(
            "{}*{}",
            "a(".repeat(MAX_EMBED_DEPTH + 1),
            ")".repeat(MAX_EMBED_DEPTH + 1)
        );
        let error = parse_table_query(&cache(), &items(), &pairs(&[("select", &deep)]));
        assert_eq!(error.err().map(|e| e.code), Some("PGRST100".into()));
    }
}
