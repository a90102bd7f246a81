//! The `admin-operations` edge function: platform metrics and backups. Every action needs a
//! platform admin (or a trusted caller); the SQL functions check it. This crate validates
//! the request and forwards the caller's JWT.
//!
//! This module is the wasm boundary and the only one touching `JsValue`.

pub mod actions;
pub mod results;

pub use actions::AdminAction;

/// Entry point called by `functions/admin-operations/index.ts` (ARCHITECTURE.md,
/// "The wasm boundary").
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub async fn handle(
    request: wasm_bindgen::JsValue,
    env: wasm_bindgen::JsValue,
) -> wasm_bindgen::JsValue {
    edge_core::boundary::serve::<AdminAction>(request, env).await
}

#[cfg(test)]
mod tests;
