//! Keeps `functions/types.ts` in step with the Rust types. Each crate's unit tests render
//! their declarations (derived with ts-rs under `cfg(test)` only, so no wasm module carries
//! them) and compare them with their block of the file; `UPDATE_TYPES=1` rewrites the block.

use std::path::{Path, PathBuf};

/// `functions/types.ts` of the workspace holding `crate_dir` (a crate's `CARGO_MANIFEST_DIR`).
pub fn types_file(crate_dir: &str) -> PathBuf {
    // Canonical, so a crate reached through a symlinked workspace still finds its own file.
    let crate_dir = std::fs::canonicalize(crate_dir).unwrap_or_else(|_| PathBuf::from(crate_dir));
    crate_dir.join("../../functions/types.ts")
}

pub const HEADER: &str = "\
// Request and response types of the edge functions, generated from the Rust types in
// crates/edge-core, crates/inventory-ops, crates/analytics-ops and crates/admin-ops.
// Do not edit by hand. Regenerate with:
//   UPDATE_TYPES=1 cargo test -p edge-core -p inventory-ops -p analytics-ops -p admin-ops types_ts
";

/// `export` + each declaration, one per paragraph.
pub fn render(declarations: &[String]) -> String {
    for decl in declarations {
        // ts-rs writes 64-bit integers as `bigint`, which JSON.parse never produces.
        assert!(!decl.contains("bigint"), "use i32 or f64, not i64: {decl}");
    }
    declarations
        .iter()
        .map(|decl| format!("export {decl}\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compares block `name` of `file` with `content`, or rewrites it when `UPDATE_TYPES=1`.
pub fn sync_block(file: &Path, name: &str, content: &str) -> Result<(), String> {
    let existing = std::fs::read_to_string(file).unwrap_or_default();
    let (begin, end) = (format!("// <{name}>\n"), format!("// </{name}>\n"));
    let block = format!("{begin}{content}{end}");
    let current = existing.find(&begin).and_then(|start| {
        let stop = existing[start..].find(&end)? + start + end.len();
        Some((start, stop))
    });
    if current.is_some_and(|(start, stop)| existing[start..stop] == block) {
        return Ok(());
    }
    if std::env::var("UPDATE_TYPES").as_deref() != Ok("1") {
        return Err(format!(
            "{} is out of date for `{name}`; regenerate it with \
             `UPDATE_TYPES=1 cargo test -p edge-core -p inventory-ops -p analytics-ops -p admin-ops types_ts`",
            file.display()
        ));
    }
    let updated = match current {
        Some((start, stop)) => format!("{}{block}{}", &existing[..start], &existing[stop..]),
        None if existing.is_empty() => format!("{HEADER}\n{block}"),
        None => format!("{existing}\n{block}"),
    };
    std::fs::write(file, updated).map_err(|err| format!("writing {}: {err}", file.display()))
}

/// `type <name> = { <action>: <result type>, ... };`: the `data` type of each action, so a
/// client can write `SuccessBody<InventoryResults["update"]>`. Panics (failing the test) if
/// an action of `actions` has no entry or an entry names no action.
pub fn result_map(name: &str, actions: &[&str], results: &[(&str, String)]) -> String {
    let mapped: Vec<&str> = results.iter().map(|(action, _)| *action).collect();
    let offered: Vec<&str> = actions
        .iter()
        .copied()
        .filter(|a| *a != "__panic")
        .collect();
    assert_eq!(mapped, offered, "{name} must map every action, in order");
    let fields: Vec<String> = results
        .iter()
        .map(|(action, ty)| format!("{action}: {ty}, "))
        .collect();
    format!("type {name} = {{ {}}};", fields.concat())
}
