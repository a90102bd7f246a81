//! The rows wal2json (format version 2) writes for each change:
//! `{"action": "I"|"U"|"D", "timestamp", "schema", "table", "columns":
//! [{name, type, value}], "identity": [...], "pk": [...]}`.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::filter::Event;

/// One committed row change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub event: Event,
    pub schema: String,
    pub table: String,
    /// Commit time as wal2json prints it (`2024-05-01 10:00:00.123456+00`).
    pub timestamp: String,
    /// The new row (insert, update): column -> value as JSON.
    pub new: Map<String, Value>,
    /// The old row's replica identity (update, delete): all columns with
    /// `replica identity full`, else the primary key (deletes) or nothing.
    pub old: Map<String, Value>,
}

#[derive(Deserialize)]
struct Row {
    action: String,
    #[serde(default)]
    timestamp: String,
    #[serde(default)]
    schema: String,
    #[serde(default)]
    table: String,
    #[serde(default)]
    columns: Vec<Column>,
    #[serde(default)]
    identity: Vec<Column>,
}

#[derive(Deserialize)]
struct Column {
    name: String,
    #[serde(rename = "type", default)]
    type_name: String,
    #[serde(default)]
    value: Value,
}

/// Parses one wal2json row; `Ok(None)` for what is not a row change
/// (transaction markers, truncate, logical messages).
pub fn parse(text: &str) -> Result<Option<Change>, String> {
    let row: Row = serde_json::from_str(text).map_err(|e| format!("wal2json row: {e}"))?;
    let event = match row.action.as_str() {
        "I" => Event::Insert,
        "U" => Event::Update,
        "D" => Event::Delete,
        _ => return Ok(None),
    };
    let old = to_map(row.identity);
    let mut new = to_map(row.columns);
    if event == Event::Update {
        // An unchanged TOASTed value is left out of the new tuple; the old
        // one (replica identity full) still has it.
        for (name, value) in &old {
            new.entry(name.clone()).or_insert_with(|| value.clone());
        }
    }
    Ok(Some(Change {
        event,
        schema: row.schema,
        table: row.table,
        timestamp: row.timestamp,
        new,
        old,
    }))
}

/// wal2json prints json/jsonb values as strings of JSON text; they become
/// JSON values here so that `jsonb_populate_record` stores them as such.
fn to_map(columns: Vec<Column>) -> Map<String, Value> {
    columns
        .into_iter()
        .map(|column| {
            let value = match (&column.value, column.type_name.as_str()) {
                (Value::String(text), "json" | "jsonb") => {
                    serde_json::from_str(text).unwrap_or(column.value)
                }
                _ => column.value,
            };
            (column.name, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn update_with_full_identity() {
        let text = r#"{"action":"U","timestamp":"2024-05-01 10:00:00.5+00","schema":"public","table":"items",
            "columns":[{"name":"id","type":"uuid","value":"a"},{"name":"stock","type":"integer","value":4},
                       {"name":"meta","type":"jsonb","value":"{\"k\": [1]}"}],
            "identity":[{"name":"id","type":"uuid","value":"a"},{"name":"stock","type":"integer","value":5},
                        {"name":"note","type":"text","value":"toasted"}],
            "pk":[{"name":"id","type":"uuid"}]}"#;
        let change = parse(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("a change"));
        assert_eq!(change.event, Event::Update);
        assert_eq!(change.table, "items");
        assert_eq!(change.new.get("stock"), Some(&json!(4)));
        assert_eq!(change.new.get("meta"), Some(&json!({"k": [1]})));
        assert_eq!(change.new.get("note"), Some(&json!("toasted")));
        assert_eq!(change.old.get("stock"), Some(&json!(5)));
    }

    #[test]
    fn delete_and_markers() {
        let text = r#"{"action":"D","timestamp":"t","schema":"public","table":"items",
            "identity":[{"name":"id","type":"uuid","value":"a"}],"pk":[{"name":"id","type":"uuid"}]}"#;
        let change = parse(text).ok().flatten();
        assert_eq!(
            change.map(|c| (c.event, c.new.len(), c.old.len())),
            Some((Event::Delete, 0, 1))
        );
        assert_eq!(parse(r#"{"action":"B"}"#), Ok(None));
        assert_eq!(
            parse(r#"{"action":"T","schema":"public","table":"x"}"#),
            Ok(None)
        );
        assert!(parse("{").is_err());
    }
}
