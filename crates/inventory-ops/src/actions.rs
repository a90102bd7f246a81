//! The actions of `inventory-operations`, their payloads, validation and RPC calls.

use edge_core::{validate, Action, ApiError, Idempotency, RpcCall};
use serde::Deserialize;
use uuid::Uuid;

/// Longest accepted `note` of a stock change.
pub const MAX_NOTE_CHARS: usize = 500;

/// Why a stock change happened (docs/DATA_MODEL.md, `stock_history.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename_all = "snake_case"))]
pub enum StockReason {
    Restock,
    Sale,
    OrderCancelled,
    Return,
    Damage,
    Correction,
    Manual,
}

impl StockReason {
    pub const ALL: [StockReason; 7] = [
        StockReason::Restock,
        StockReason::Sale,
        StockReason::OrderCancelled,
        StockReason::Return,
        StockReason::Damage,
        StockReason::Correction,
        StockReason::Manual,
    ];

    /// The value stored in `stock_history.reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            StockReason::Restock => "restock",
            StockReason::Sale => "sale",
            StockReason::OrderCancelled => "order_cancelled",
            StockReason::Return => "return",
            StockReason::Damage => "damage",
            StockReason::Correction => "correction",
            StockReason::Manual => "manual",
        }
    }
}

/// One request to `inventory-operations`: `{"action": "<name>", ...fields}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS), ts(tag = "action", rename_all = "snake_case"))]
pub enum InventoryAction {
    Update(UpdateStockRequest),
    ProcessOrder(ProcessOrderRequest),
    RestoreOrder(RestoreOrderRequest),
    GetLowStock(GetLowStockRequest),
}

/// Changes an item's stock by `change`, or sets it to `set_to` (exactly one of them).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct UpdateStockRequest {
    #[serde(deserialize_with = "validate::uuid")]
    pub item_id: Uuid,
    /// Non-zero; negative takes stock out.
    pub change: Option<i32>,
    /// The new absolute stock, >= 0.
    pub set_to: Option<i32>,
    pub reason: StockReason,
    pub note: Option<String>,
    /// Compare-and-swap guard: apply only if the stock is exactly this, else `stale_stock`.
    pub expected_stock: Option<i32>,
    pub idempotency_key: Option<String>,
}

/// Deducts the stock of every line of an order, all or nothing, once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct ProcessOrderRequest {
    #[serde(deserialize_with = "validate::uuid")]
    pub order_id: Uuid,
    pub idempotency_key: Option<String>,
}

/// Puts a cancelled or refunded order's stock back, once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct RestoreOrderRequest {
    #[serde(deserialize_with = "validate::uuid")]
    pub order_id: Uuid,
    pub idempotency_key: Option<String>,
}

/// Active tracked items at or below a threshold (the argument, else the item's, else the shop's).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct GetLowStockRequest {
    #[serde(deserialize_with = "validate::uuid")]
    pub shop_id: Uuid,
    pub threshold: Option<i32>,
}

impl Action for InventoryAction {
    const NAMES: &'static [&'static str] =
        &["update", "process_order", "restore_order", "get_low_stock"];

    fn idempotency(&self) -> Idempotency<'_> {
        match self {
            InventoryAction::Update(request) => Idempotency::Mutating {
                body_key: request.idempotency_key.as_deref(),
            },
            InventoryAction::ProcessOrder(request) => Idempotency::Mutating {
                body_key: request.idempotency_key.as_deref(),
            },
            InventoryAction::RestoreOrder(request) => Idempotency::Mutating {
                body_key: request.idempotency_key.as_deref(),
            },
            InventoryAction::GetLowStock(_) => Idempotency::ReadOnly,
        }
    }

    fn rpc_call(self, idempotency_key: Option<String>) -> Result<RpcCall, ApiError> {
        match self {
            InventoryAction::Update(request) => update_stock(request, idempotency_key),
            InventoryAction::ProcessOrder(request) => {
                Ok(RpcCall::new("process_order_stock_changes")
                    .arg("p_order_id", request.order_id.to_string())
                    .optional_arg("p_idempotency_key", idempotency_key))
            }
            InventoryAction::RestoreOrder(request) => Ok(RpcCall::new("restore_order_stock")
                .arg("p_order_id", request.order_id.to_string())
                .optional_arg("p_idempotency_key", idempotency_key)),
            InventoryAction::GetLowStock(request) => {
                let threshold = request
                    .threshold
                    .map(|t| validate::int_in_range("threshold", t.into(), 0, i32::MAX.into()))
                    .transpose()?;
                Ok(RpcCall::read("get_low_stock_items")
                    .arg("p_shop_id", request.shop_id.to_string())
                    .optional_arg("p_threshold", threshold))
            }
        }
    }
}

fn update_stock(
    request: UpdateStockRequest,
    idempotency_key: Option<String>,
) -> Result<RpcCall, ApiError> {
    match (request.change, request.set_to) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::invalid_field(
                "change",
                "Give exactly one of `change` and `set_to`",
            ))
        }
        (Some(0), None) => return Err(ApiError::invalid_field("change", "`change` must not be 0")),
        (None, Some(set_to)) if set_to < 0 => {
            return Err(ApiError::invalid_field(
                "set_to",
                "`set_to` must be 0 or more",
            ))
        }
        _ => {}
    }
    if request.expected_stock.is_some_and(|stock| stock < 0) {
        return Err(ApiError::invalid_field(
            "expected_stock",
            "`expected_stock` must be 0 or more",
        ));
    }
    let note = request
        .note
        .map(|note| validate::text("note", &note, MAX_NOTE_CHARS))
        .transpose()?;
    Ok(RpcCall::new("update_stock")
        .arg("p_item_id", request.item_id.to_string())
        .optional_arg("p_change", request.change)
        .optional_arg("p_set_to", request.set_to)
        .arg("p_reason", request.reason.as_str())
        .optional_arg("p_note", note)
        .optional_arg("p_expected_stock", request.expected_stock)
        .optional_arg("p_idempotency_key", idempotency_key))
}
