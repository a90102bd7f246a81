//! The `data` each action answers with: the jsonb the SQL function returns, passed through
//! unchanged (ARCHITECTURE.md, "The RPC contract"). Declared here for the TypeScript types
//! and checked against sample answers in the tests.

use serde::{Deserialize, Serialize};

/// `update`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct UpdateStockResult {
    pub item_id: String,
    pub previous_stock: i32,
    pub new_stock: i32,
    /// The `stock_history` row; null when `set_to` equalled the stock (nothing changed).
    pub history_id: Option<String>,
}

/// One item's stock movement within an order.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OrderItemStock {
    pub item_id: String,
    pub previous_stock: i32,
    pub new_stock: i32,
}

/// `process_order`; `already_processed` is true for a repeated call, which changes nothing.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ProcessOrderResult {
    pub order_id: String,
    pub already_processed: bool,
    pub items: Vec<OrderItemStock>,
}

/// `restore_order`; `already_restored` is true for a repeated call, which changes nothing.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RestoreOrderResult {
    pub order_id: String,
    pub already_restored: bool,
    pub items: Vec<OrderItemStock>,
}

/// One low-stock item.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LowStockItem {
    pub id: String,
    pub name: String,
    pub sku: Option<String>,
    pub stock: i32,
    pub threshold: i32,
}

/// `get_low_stock`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LowStockResult {
    pub items: Vec<LowStockItem>,
}
