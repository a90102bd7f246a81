//! `postgres_changes` subscription parameters: the event (`INSERT`, `UPDATE`,
//! `DELETE`, `*`) and the column filter, `column=op.value` with the
//! operators Realtime documents (`eq, neq, lt, lte, gt, gte, in`), an
//! optional `not.` prefix, several conditions joined by commas (AND).

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// Longest filter string accepted (a hostile client cannot make us parse megabytes).
pub const MAX_FILTER_LEN: usize = 4096;
/// Most values in one `in.(...)` list.
pub const MAX_IN_VALUES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    All,
    Insert,
    Update,
    Delete,
}

impl Event {
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "*" => Some(Self::All),
            "INSERT" => Some(Self::Insert),
            "UPDATE" => Some(Self::Update),
            "DELETE" => Some(Self::Delete),
            _ => None,
        }
    }

    pub fn accepts(self, change: Event) -> bool {
        self == Event::All || self == change
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "*",
            Self::Insert => "INSERT",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
}

impl Op {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "eq" => Self::Eq,
            "neq" => Self::Neq,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "in" => Self::In,
            _ => return None,
        })
    }
}

/// One `column=op.value` condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub op: Op,
    pub negate: bool,
    /// The values as written (one, or the members of an `in` list).
    pub raw: Vec<String>,
    /// The same values cast to the column's type and back to JSON by
    /// Postgres (`to_jsonb(value::type)`), so they compare with the JSON
    /// of a changed row exactly; filled when the subscription is made.
    pub values: Vec<Value>,
}

impl Condition {
    /// Whether a row (column -> JSON value as `to_jsonb` renders it) passes.
    /// SQL semantics: a NULL column passes no condition, negated or not.
    pub fn accepts(&self, row: &Map<String, Value>) -> bool {
        let Some(actual) = row.get(&self.column).filter(|v| !v.is_null()) else {
            return false;
        };
        let compared = |wanted: &Value| compare(actual, wanted);
        let result = match self.op {
            Op::Eq | Op::In => self
                .values
                .iter()
                .any(|v| compared(v) == Some(Ordering::Equal)),
            Op::Neq => self
                .values
                .first()
                .and_then(&compared)
                .is_some_and(|o| o != Ordering::Equal),
            Op::Lt => self.first_is(compared, |o| o == Ordering::Less),
            Op::Lte => self.first_is(compared, |o| o != Ordering::Greater),
            Op::Gt => self.first_is(compared, |o| o == Ordering::Greater),
            Op::Gte => self.first_is(compared, |o| o != Ordering::Less),
        };
        result != self.negate
    }

    fn first_is(
        &self,
        compared: impl Fn(&Value) -> Option<Ordering>,
        wanted: impl Fn(Ordering) -> bool,
    ) -> bool {
        self.values.first().and_then(compared).is_some_and(wanted)
    }
}

/// Orders two JSON renderings of values of one column type: numbers as
/// numbers, strings bytewise (the local cluster's collation is C), booleans.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (x, y) if x == y => Some(Ordering::Equal),
        _ => None,
    }
}

/// Parses a filter string into conditions (empty string: no condition).
pub fn parse(filter: &str) -> Result<Vec<Condition>, String> {
    if filter.len() > MAX_FILTER_LEN {
        return Err(format!("filter longer than {MAX_FILTER_LEN} bytes"));
    }
    split_outside(filter, ',')
        .into_iter()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(parse_condition)
        .collect()
}

fn parse_condition(text: &str) -> Result<Condition, String> {
    let (column, rest) = text
        .split_once('=')
        .ok_or_else(|| format!("filter `{text}` is not column=operator.value"))?;
    let column = column.trim();
    if column.is_empty() {
        return Err(format!("filter `{text}` has no column"));
    }
    let (negate, rest) = match rest.strip_prefix("not.") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let (op_text, value) = rest
        .split_once('.')
        .ok_or_else(|| format!("filter `{text}` is not column=operator.value"))?;
    let op = Op::parse(op_text).ok_or_else(|| {
        format!("filter operator `{op_text}` is not one of eq, neq, lt, lte, gt, gte, in")
    })?;
    let raw = if op == Op::In {
        let inner = value
            .strip_prefix('(')
            .and_then(|v| v.strip_suffix(')'))
            .ok_or_else(|| format!("filter `{text}`: in takes a list, in.(a,b)"))?;
        let members: Vec<String> = split_outside(inner, ',')
            .into_iter()
            .map(|m| unquote(m.trim()))
            .collect();
        if members.len() > MAX_IN_VALUES {
            return Err(format!(
                "filter `{column}`: more than {MAX_IN_VALUES} values in the list"
            ));
        }
        members
    } else {
        vec![unquote(value)]
    };
    Ok(Condition {
        column: column.to_owned(),
        op,
        negate,
        raw,
        values: Vec::new(),
    })
}

/// PostgREST-style quoting: `"a,b"` stands for `a,b`, `\"` for a quote.
fn unquote(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => text.to_owned(),
    }
}

/// Splits on `separator` outside double quotes and parentheses.
fn split_outside(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0usize, false, false, 0);
    for (index, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            c if c == separator && !quoted && depth == 0 => {
                parts.push(&text[start..index]);
                start = index + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn condition(filter: &str, values: Vec<Value>) -> Condition {
        let mut parsed = parse(filter).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.len(), 1);
        let mut condition = parsed.remove(0);
        condition.values = values;
        condition
    }

    fn row(value: Value) -> Map<String, Value> {
        json!({ "c": value })
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn parses_every_operator() {
        for op in ["eq", "neq", "lt", "lte", "gt", "gte"] {
            let parsed = parse(&format!("stock={op}.5")).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed[0].raw, vec!["5".to_owned()]);
        }
        let parsed = parse(r#"status=in.(new,"a,b",x)"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed[0].raw, vec!["new", "a,b", "x"]);
        let parsed = parse("shop_id=eq.1,stock=not.lt.3").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.len(), 2);
        assert!(parsed[1].negate);
        assert_eq!(parse("").map(|p| p.len()), Ok(0));
    }

    #[test]
    fn refuses_what_realtime_does_not_support() {
        assert!(parse("stock=like.5").is_err());
        assert!(parse("stock").is_err());
        assert!(parse("=eq.5").is_err());
        assert!(parse("stock=in.5").is_err());
        assert!(parse(&"a".repeat(MAX_FILTER_LEN + 1)).is_err());
        let many = (0..=MAX_IN_VALUES)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse(&format!("c=in.({many})")).is_err());
    }

    #[test]
    fn numbers_compare_as_numbers() {
        let lt = condition("c=lt.10", vec![json!(10)]);
        assert!(lt.accepts(&row(json!(9))));
        assert!(!lt.accepts(&row(json!(10))));
        assert!(!lt.accepts(&row(json!(100))));
        let eq = condition("c=eq.5", vec![json!(5)]);
        assert!(eq.accepts(&row(json!(5.0))));
        let gte = condition("c=gte.2.5", vec![json!(2.5)]);
        assert!(gte.accepts(&row(json!(2.5))));
        assert!(!gte.accepts(&row(json!(2))));
        let lte = condition("c=lte.3", vec![json!(3)]);
        assert!(lte.accepts(&row(json!(3))));
        let gt = condition("c=gt.3", vec![json!(3)]);
        assert!(!gt.accepts(&row(json!(3))));
    }

    #[test]
    fn strings_in_and_negation() {
        let within = condition("c=in.(a,b)", vec![json!("a"), json!("b")]);
        assert!(within.accepts(&row(json!("b"))));
        assert!(!within.accepts(&row(json!("c"))));
        let outside = condition("c=not.in.(a,b)", vec![json!("a"), json!("b")]);
        assert!(outside.accepts(&row(json!("c"))));
        let neq = condition("c=neq.a", vec![json!("a")]);
        assert!(neq.accepts(&row(json!("b"))));
        assert!(!neq.accepts(&row(json!("a"))));
    }

    #[test]
    fn null_passes_no_condition() {
        let neq = condition("c=neq.a", vec![json!("a")]);
        assert!(!neq.accepts(&row(Value::Null)));
        let negated = condition("c=not.eq.a", vec![json!("a")]);
        assert!(!negated.accepts(&row(Value::Null)));
        assert!(!negated.accepts(&Map::new()));
    }

    #[test]
    fn events() {
        assert_eq!(Event::parse("update"), Some(Event::Update));
        assert!(Event::All.accepts(Event::Delete));
        assert!(!Event::Insert.accepts(Event::Delete));
        assert_eq!(Event::parse("TRUNCATE"), None);
    }
}
