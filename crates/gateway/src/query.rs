//! Turns PostgREST URL grammar (select, filters, order, limit/offset, Prefer,
//! bodies) into SQL text plus bound parameters. Pure: no I/O, unit-tested.
//!
//! Identifiers reach the SQL text only after they were found in the schema
//! cache, and always double-quoted; every value from the request is a
//! parameter, sent in text format so PostgreSQL parses it with the target
//! column's input function (as PostgREST's `unknown`-typed literals are).

use serde_json::Value;

use crate::error::ApiError;
use crate::schema::{Function, ReturnShape, SchemaCache, Table};

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

fn target_column(name: &str) -> String {
    format!("{TARGET}.{}", quote_ident(name))
}

#[derive(Debug, Clone, PartialEq)]
enum SelectItem {
    Star,
    Column { name: String, alias: Option<String> },
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
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    column: String,
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
}

#[derive(Debug, Clone, PartialEq)]
struct OrderTerm {
    column: String,
    descending: bool,
    nulls: Option<&'static str>,
}

/// The parts of a request's query string that apply to a table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableQuery {
    select: Vec<SelectItem>,
    filters: Vec<Condition>,
    order: Vec<OrderTerm>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    on_conflict: Option<Vec<String>>,
    columns: Option<Vec<String>>,
}

/// Parses and validates the query string of a table request against `table`.
pub fn parse_table_query(
    table: &Table,
    pairs: &[(String, String)],
) -> Result<TableQuery, ApiError> {
    let mut query = TableQuery {
        select: vec![SelectItem::Star],
        ..TableQuery::default()
    };
    for (key, value) in pairs {
        match key.as_str() {
            "select" => query.select = parse_select(table, value)?,
            "order" => query.order = parse_order(table, value)?,
            "limit" => query.limit = Some(parse_count("limit", value)?),
            "offset" => query.offset = Some(parse_count("offset", value)?),
            "on_conflict" => query.on_conflict = Some(parse_column_list(table, value)?),
            "columns" => query.columns = Some(parse_column_list(table, value)?),
            "or" | "and" | "not.or" | "not.and" => {
                let tree = format!("{key}{value}");
                query.filters.push(parse_logic_tree(table, &tree, 1)?);
            }
            _ => query
                .filters
                .push(Condition::Filter(parse_filter(table, key, value)?)),
        }
    }
    Ok(query)
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

fn parse_select(table: &Table, value: &str) -> Result<Vec<SelectItem>, ApiError> {
    if nesting_depth(value) > MAX_NESTING {
        return Err(too_deep("select parameter", value));
    }
    let mut items = Vec::new();
    for raw in value.split(',') {
        let item = raw.trim();
        if item == "*" {
            items.push(SelectItem::Star);
            continue;
        }
        if let Some(open) = item.find('(') {
            // Resource embedding is not offered: answer as PostgREST does for
            // a relationship it cannot find.
            let relation = item[..open].rsplit(':').next().unwrap_or_default().trim();
            if relation.is_empty() || relation.contains(['"', ';', ' ', '.']) {
                return Err(ApiError::query_param(
                    format!("\"failed to parse select parameter ({value})\""),
                    format!("unexpected select item \"{item}\""),
                ));
            }
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "PGRST200",
                format!(
                    "Could not find a relationship between '{}' and '{}' in the schema cache",
                    table.name, relation
                ),
            )
            .details(format!(
                "Searched for a foreign key relationship between '{}' and '{}' in the schema 'public', but no matches were found.",
                table.name, relation
            )));
        }
        let (alias, name) = match item.split_once(':') {
            Some((alias, name)) => (Some(alias.trim().to_owned()), name.trim()),
            None => (None, item),
        };
        let valid_name =
            |s: &str| !s.is_empty() && !s.contains(['(', ')', '"', '.', '-', '>', ' ']);
        if !valid_name(name) || alias.as_deref().is_some_and(|a| !valid_name(a)) {
            return Err(ApiError::query_param(
                format!("\"failed to parse select parameter ({value})\""),
                format!("unexpected select item \"{item}\""),
            ));
        }
        items.push(SelectItem::Column {
            name: require_column(table, name)?,
            alias,
        });
    }
    Ok(items)
}

fn parse_order(table: &Table, value: &str) -> Result<Vec<OrderTerm>, ApiError> {
    let mut terms = Vec::new();
    for raw in value.split(',') {
        let mut parts = raw.trim().split('.');
        let column = parts.next().unwrap_or_default();
        let mut term = OrderTerm {
            column: String::new(),
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
        term.column = require_column(table, column)?;
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
    let column = require_column(table, key)?;
    let (negated, rest) = match value.strip_prefix("not.") {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (operator, operand) = rest
        .split_once('.')
        .ok_or_else(|| parse_error(format!("unexpected \"{rest}\" expecting an operator")))?;
    let predicate = match operator {
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
                "unexpected \"{other}\" expecting an operator (eq, neq, gt, gte, lt, lte, like, ilike, match, imatch, in, is, isdistinct, cs, cd, ov)"
            )))
        }
    };
    Ok(Filter {
        column,
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

fn select_list(items: &[SelectItem]) -> String {
    items
        .iter()
        .map(|item| match item {
            SelectItem::Star => format!("{TARGET}.*"),
            SelectItem::Column { name, alias } => {
                let output = alias.as_deref().unwrap_or(name);
                format!("{} as {}", target_column(name), quote_ident(output))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn filter_sql(statement: &mut Statement, filter: &Filter) -> String {
    let column = target_column(&filter.column);
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
    };
    if filter.negated {
        format!("not ({condition})")
    } else {
        condition
    }
}

fn condition_sql(statement: &mut Statement, condition: &Condition) -> String {
    match condition {
        Condition::Filter(filter) => filter_sql(statement, filter),
        Condition::Group {
            negated,
            any,
            children,
        } => {
            let parts: Vec<String> = children
                .iter()
                .map(|child| condition_sql(statement, child))
                .collect();
            let joined = format!("({})", parts.join(if *any { " or " } else { " and " }));
            if *negated {
                format!("not {joined}")
            } else {
                joined
            }
        }
    }
}

fn where_clause(statement: &mut Statement, conditions: &[Condition]) -> String {
    if conditions.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = conditions
        .iter()
        .map(|condition| condition_sql(statement, condition))
        .collect();
    format!(" where {}", parts.join(" and "))
}

fn order_clause(order: &[OrderTerm]) -> String {
    if order.is_empty() {
        return String::new();
    }
    let terms: Vec<String> = order
        .iter()
        .map(|t| {
            let mut term = target_column(&t.column);
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

/// `GET`/`HEAD` on a table or view.
pub fn read(cache: &SchemaCache, table: &Table, query: &TableQuery, window: Window) -> Statement {
    let mut statement = Statement::default();
    let filters = where_clause(&mut statement, &query.filters);
    let mut main = format!(
        "select {} from {} as {TARGET}{filters}{}",
        select_list(&query.select),
        qualified(&cache.schema, &table.name),
        order_clause(&query.order)
    );
    if let Some(limit) = window.limit {
        main.push_str(&format!(" limit {limit}"));
    }
    if window.offset > 0 {
        main.push_str(&format!(" offset {}", window.offset));
    }
    statement.sql = aggregate(&main);
    statement
}

/// The exact count of rows a read's filters match (`Prefer: count=exact`).
pub fn count(cache: &SchemaCache, table: &Table, query: &TableQuery) -> Statement {
    let mut statement = Statement::default();
    let filters = where_clause(&mut statement, &query.filters);
    statement.sql = format!(
        "select count(*) from {} as {TARGET}{filters}",
        qualified(&cache.schema, &table.name)
    );
    statement
}

/// How `POST` treats rows that collide with an existing key.
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
    main.push_str(&format!(" returning {}", select_list(&query.select)));
    statement.sql = aggregate(&main);
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
    let filters = where_clause(&mut statement, &query.filters);
    let main = format!(
        "update {relation} as {TARGET} set {} from (select * from json_populate_record(null::{relation}, {payload}::json)) as pgrst_body{filters} returning {}",
        assignments.join(", "),
        select_list(&query.select)
    );
    statement.sql = aggregate(&main);
    Ok(Some(statement))
}

/// `DELETE` on a table, on the rows the filters match.
pub fn delete(cache: &SchemaCache, table: &Table, query: &TableQuery) -> Statement {
    let mut statement = Statement::default();
    let filters = where_clause(&mut statement, &query.filters);
    let main = format!(
        "delete from {} as {TARGET}{filters} returning {}",
        qualified(&cache.schema, &table.name),
        select_list(&query.select)
    );
    statement.sql = aggregate(&main);
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
            &items(),
            &pairs(&[
                ("name", "eq.x'; drop table items; --"),
                ("stock", "not.in.(1,\"2,3\")"),
            ]),
        );
        let query = query.unwrap_or_else(|e| panic!("{e:?}"));
        let statement = read(&cache(), &items(), &query, Window::default());
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
        let error = parse_table_query(&items(), &pairs(&[("select", "id,\"name\";drop")])).err();
        assert_eq!(error.map(|e| e.code), Some("PGRST100".into()));
        let error = parse_table_query(&items(), &pairs(&[("nope", "eq.1")])).err();
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
            let error = parse_table_query(&items(), &pairs(&[(key, value)])).err();
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
        let statement = read(&cache(), &items(), &query, window);
        assert!(statement.sql.contains("order by pgrst_target.\"stock\" desc nulls last, pgrst_target.\"name\" asc limit 5 offset 10"));
        assert_eq!(statement.params, vec![Some("%mug%".into())]);
    }

    #[test]
    fn range_header_intersects_limit() {
        let query = parse_table_query(&items(), &pairs(&[("limit", "100")])).unwrap_or_default();
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
        let huge = parse_table_query(&items(), &pairs(&[("limit", &max), ("offset", &max)]));
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
        let query = parse_table_query(&items(), &pairs(&[("columns", "\"name\",\"stock\"")]));
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
        let statement = read(&cache(), &items(), &query, Window::default());
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
                parse_table_query(&items(), &pairs(&[("or", bad)])).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn in_lists_of_any_length_share_one_statement() {
        let statement_for = |list: &str| {
            let query = parse_table_query(&items(), &pairs(&[("name", list)]));
            let query = query.unwrap_or_else(|e| panic!("{e:?}"));
            read(&cache(), &items(), &query, Window::default())
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
            let at_limit = parse_table_query(&items(), &pairs(&[(key, &tree(MAX_NESTING))]));
            assert!(at_limit.is_ok(), "{key}: {at_limit:?}");
            for depth in [MAX_NESTING + 1, 100_000] {
                let error = parse_table_query(&items(), &pairs(&[(key, &tree(depth))])).err();
                assert_eq!(
                    error.map(|e| (e.status.as_u16(), e.code, e.details)),
                    Some((
                        400,
                        "PGRST100".into(),
                        Some(format!("nested more than {MAX_NESTING} levels deep"))
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
        let error = parse_table_query(&items(), &pairs(&[("select", &deep_select)])).err();
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
}
