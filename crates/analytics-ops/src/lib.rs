//! The `analytics-operations` edge function: per-shop daily and product metrics, their
//! ranges and the shop summary. Each action is one call of a SQL function that aggregates
//! in the shop's timezone and checks membership; this crate validates the request and
//! forwards the caller's JWT.
//!
//! This module is the wasm boundary and the only one touching `JsValue`.

pub mod actions;
pub mod results;

pub use actions::AnalyticsAction;

/// Entry point called by `functions/analytics-operations/index.ts` (ARCHITECTURE.md,
/// "The wasm boundary").
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub async fn handle(
    request: wasm_bindgen::JsValue,
    env: wasm_bindgen::JsValue,
) -> wasm_bindgen::JsValue {
    edge_core::boundary::serve::<AnalyticsAction>(request, env).await
}

#[cfg(test)]
mod tests;
