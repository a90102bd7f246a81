//! The `inventory-operations` edge function: stock updates, order deduction and
//! restoration, low-stock lists. Each action is one call of a SQL function that enforces
//! the rules (never negative stock, shop membership, idempotency); this crate validates
//! the request and forwards the caller's JWT.
//!
//! This module is the wasm boundary and the only one touching `JsValue`.

pub mod actions;
pub mod results;

pub use actions::InventoryAction;

/// Entry point called by `functions/inventory-operations/index.ts` (ARCHITECTURE.md,
/// "The wasm boundary").
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub async fn handle(
    request: wasm_bindgen::JsValue,
    env: wasm_bindgen::JsValue,
) -> wasm_bindgen::JsValue {
    edge_core::boundary::serve::<InventoryAction>(request, env).await
}

#[cfg(test)]
mod tests;
