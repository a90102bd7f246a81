//! The `data` each action answers with: the jsonb the SQL function returns, passed through
//! unchanged (ARCHITECTURE.md, "The RPC contract"). Declared here for the TypeScript types
//! and checked against sample answers in the tests. Row fields follow docs/DATA_MODEL.md;
//! counts are `i32` (Postgres `integer`, and a JavaScript `number`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `generate_daily`: one `daily_sales_metrics` row (one shop, one local day).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DailySalesMetrics {
    pub shop_id: String,
    pub date: String,
    pub orders: i32,
    pub completed: i32,
    pub cancelled: i32,
    pub gross_revenue: f64,
    pub discounts: f64,
    pub net_revenue: f64,
    pub cost_of_goods: f64,
    pub gross_profit: f64,
    pub items_sold: i32,
    pub average_order_value: f64,
    pub unique_customers: i32,
    /// Per category: revenue and units.
    pub category_breakdown: Value,
    /// Totals (shipping included) of the day's revenue orders: the shop's part of the platform GMV.
    pub gmv: f64,
    pub computed_at: String,
}

/// One `product_analytics` row (one item, one period).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ProductAnalyticsRow {
    pub shop_id: String,
    pub item_id: String,
    pub period_start: String,
    pub period_end: String,
    pub units_sold: i32,
    pub revenue: f64,
    pub cost: f64,
    pub profit: f64,
    pub margin_pct: Option<f64>,
    pub order_count: i32,
    pub stock_at_end: Option<i32>,
    pub sell_through_rate: Option<f64>,
    /// Null when nothing sold in the period.
    pub days_of_cover: Option<f64>,
    /// `A`, `B` or `C`.
    pub abc_class: String,
    pub computed_at: String,
}

/// `generate_product`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GenerateProductResult {
    pub rows: Vec<ProductAnalyticsRow>,
}

/// `get_metrics`: the stored daily rows of the range and their sums.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SalesMetricsResult {
    pub days: Vec<DailySalesMetrics>,
    pub totals: SalesTotals,
}

/// Sums over the stored days of a range; `days` counts the rows, not the calendar days.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SalesTotals {
    pub days: i32,
    pub orders: i32,
    pub completed: i32,
    pub cancelled: i32,
    pub gross_revenue: f64,
    pub discounts: f64,
    pub net_revenue: f64,
    pub cost_of_goods: f64,
    pub gross_profit: f64,
    pub items_sold: i32,
    /// Net revenue per completed order.
    pub average_order_value: f64,
}

/// `get_shop_stats`: the dashboard summary, in the shop's local day and month.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ShopStats {
    pub shop_id: String,
    pub currency: String,
    pub timezone: String,
    /// Today in the shop's timezone, `YYYY-MM-DD`.
    pub local_date: String,
    pub items: ShopItemCounts,
    pub orders: ShopOrderStats,
    pub open_conversations: i32,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ShopItemCounts {
    pub total: i32,
    pub active: i32,
    pub tracked: i32,
    pub low_stock: i32,
    pub out_of_stock: i32,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ShopOrderStats {
    pub today: OrdersAndRevenue,
    pub month: OrdersAndRevenue,
    /// Orders of this month not yet completed, delivered or cancelled.
    pub open_this_month: i32,
}

/// Orders placed and revenue of completed or delivered orders.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OrdersAndRevenue {
    pub orders: i32,
    pub revenue: f64,
}
