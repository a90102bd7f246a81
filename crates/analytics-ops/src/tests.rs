//! Native tests: every action's RPC call, its refusals, routing and the TypeScript types.

use edge_core::testing::{self, invalid};
use edge_core::ErrorCode;
use serde_json::{json, Value};

use crate::AnalyticsAction;

const SHOP: &str = "11111111-2222-4333-8444-555555555555";

fn call(body: Value) -> (String, Value) {
    testing::call::<AnalyticsAction>(body)
}

/// The refusal of `body`: its code and `details.field`.
fn refusal(body: Value) -> (ErrorCode, Value) {
    testing::refusal::<AnalyticsAction>(body)
}

#[test]
fn generate_daily() {
    let (function, args) = call(json!({"action": "generate_daily", "shop_id": SHOP}));
    assert_eq!(function, "generate_daily_sales_metrics");
    // No date: the SQL default (yesterday in the shop's timezone) applies.
    assert_eq!(args, json!({"p_shop_id": SHOP}));

    let (_, args) =
        call(json!({"action": "generate_daily", "shop_id": SHOP, "date": "2026-11-24"}));
    assert_eq!(args, json!({"p_shop_id": SHOP, "p_date": "2026-11-24"}));

    assert_eq!(
        refusal(json!({"action": "generate_daily"})),
        invalid("shop_id")
    );
    assert_eq!(
        refusal(json!({"action": "generate_daily", "shop_id": SHOP, "date": "24/11/2026"})),
        invalid("date")
    );
    assert_eq!(
        refusal(json!({"action": "generate_daily", "shop_id": SHOP, "date": 20261124})),
        invalid("date")
    );
    assert_eq!(
        refusal(json!({"action": "generate_daily", "shop_id": SHOP, "idempotency_key": "k"})),
        invalid("idempotency_key")
    );
}

#[test]
fn generate_product() {
    let (function, args) = call(json!({
        "action": "generate_product", "shop_id": SHOP,
        "start_date": "2026-10-01", "end_date": "2026-10-31",
    }));
    assert_eq!(function, "generate_product_analytics");
    assert_eq!(
        args,
        json!({"p_shop_id": SHOP, "p_start": "2026-10-01", "p_end": "2026-10-31"})
    );
    assert_eq!(
        refusal(json!({"action": "generate_product", "shop_id": SHOP, "start_date": "2026-10-01"})),
        invalid("end_date")
    );
    assert_eq!(
        refusal(json!({
            "action": "generate_product", "shop_id": SHOP,
            "start_date": "2026-11-01", "end_date": "2026-10-31",
        })),
        invalid("end_date")
    );
}

#[test]
fn get_metrics_range_is_at_most_366_days() {
    let (function, args) = call(json!({
        "action": "get_metrics", "shop_id": SHOP,
        "start_date": "2024-01-01", "end_date": "2024-12-31",
    }));
    assert_eq!(function, "get_sales_metrics");
    assert_eq!(
        args,
        json!({"p_shop_id": SHOP, "p_start": "2024-01-01", "p_end": "2024-12-31"})
    );
    for (start, end, field) in [
        ("2024-01-01", "2025-01-01", "end_date"),
        ("2000-01-01", "2026-01-01", "end_date"),
        ("2026-02-01", "2026-01-01", "end_date"),
        ("2026-02-30", "2026-03-01", "start_date"),
        ("2026-01-01", "2026-13-01", "end_date"),
    ] {
        assert_eq!(
            refusal(json!({
                "action": "get_metrics", "shop_id": SHOP, "start_date": start, "end_date": end,
            })),
            invalid(field),
            "{start}..{end}"
        );
    }
    assert_eq!(
        refusal(json!({
            "action": "get_metrics", "shop_id": "shop-1",
            "start_date": "2026-01-01", "end_date": "2026-01-02",
        })),
        invalid("shop_id")
    );
}

#[test]
fn get_shop_stats() {
    let (function, args) = call(json!({"action": "get_shop_stats", "shop_id": SHOP}));
    assert_eq!(function, "get_shop_stats");
    assert_eq!(args, json!({"p_shop_id": SHOP}));
    assert_eq!(
        refusal(json!({"action": "get_shop_stats", "shop_id": SHOP, "days": 7})),
        invalid("days")
    );
    assert_eq!(
        refusal(json!({"action": "get_shop_stats", "shop_id": null})),
        invalid("shop_id")
    );
}

#[test]
fn results_match_the_sql_contract() {
    use crate::results::*;
    let day = json!({
        "shop_id": SHOP, "date": "2026-11-24", "orders": 3, "completed": 2, "cancelled": 1,
        "gross_revenue": 120.5, "discounts": 0, "net_revenue": 120.5, "cost_of_goods": 60,
        "gross_profit": 60.5, "items_sold": 7, "average_order_value": 60.25,
        "unique_customers": 2, "category_breakdown": {"mugs": {"revenue": 120.5, "units": 7}},
        "gmv": 125.5, "computed_at": "2026-11-25T02:00:00+00:00",
    });
    let row: DailySalesMetrics = serde_json::from_value(day.clone()).expect("metrics row");
    assert_eq!(row.items_sold, 7);
    let metrics: SalesMetricsResult = serde_json::from_value(json!({"days": [day], "totals": {
        "days": 1, "orders": 3, "completed": 2, "cancelled": 1, "gross_revenue": 120.5,
        "discounts": 0, "net_revenue": 120.5, "cost_of_goods": 60, "gross_profit": 60.5,
        "items_sold": 7, "average_order_value": 60.25,
    }}))
    .expect("range");
    assert_eq!(metrics.totals.items_sold, 7);
    let stats: ShopStats = serde_json::from_value(json!({
        "shop_id": SHOP, "currency": "BDT", "timezone": "Asia/Dhaka", "local_date": "2026-11-25",
        "items": {"total": 9, "active": 8, "tracked": 7, "low_stock": 2, "out_of_stock": 1},
        "orders": {"today": {"orders": 1, "revenue": 0}, "month": {"orders": 20, "revenue": 1500.5},
                   "open_this_month": 3},
        "open_conversations": 4,
    }))
    .expect("get_shop_stats answer");
    assert_eq!(stats.items.low_stock, 2);
    let products: GenerateProductResult = serde_json::from_value(json!({"rows": [{
        "shop_id": SHOP, "item_id": SHOP, "period_start": "2026-10-01", "period_end": "2026-10-31",
        "units_sold": 0, "revenue": 0, "cost": 0, "profit": 0, "margin_pct": null,
        "order_count": 0, "stock_at_end": 4, "sell_through_rate": 0, "days_of_cover": null,
        "abc_class": "C", "computed_at": "2026-11-25T02:00:00+00:00",
    }]}))
    .expect("product rows");
    assert_eq!(products.rows[0].days_of_cover, None);
}

#[test]
fn types_ts() {
    use crate::actions::*;
    use crate::results::*;
    use edge_core::Action;
    use ts_rs::TS;
    let results = edge_core::typescript::result_map(
        "AnalyticsResults",
        AnalyticsAction::NAMES,
        &[
            ("generate_daily", DailySalesMetrics::name()),
            ("generate_product", GenerateProductResult::name()),
            ("get_metrics", SalesMetricsResult::name()),
            ("get_shop_stats", ShopStats::name()),
        ],
    );
    let block = edge_core::typescript::render(&[
        AnalyticsAction::decl(),
        results,
        GenerateDailyRequest::decl(),
        GenerateProductRequest::decl(),
        GetMetricsRequest::decl(),
        GetShopStatsRequest::decl(),
        DailySalesMetrics::decl(),
        ProductAnalyticsRow::decl(),
        GenerateProductResult::decl(),
        SalesMetricsResult::decl(),
        SalesTotals::decl(),
        ShopStats::decl(),
        ShopItemCounts::decl(),
        ShopOrderStats::decl(),
        OrdersAndRevenue::decl(),
    ]);
    let file = edge_core::typescript::types_file(env!("CARGO_MANIFEST_DIR"));
    if let Err(stale) = edge_core::typescript::sync_block(&file, "analytics-operations", &block) {
        panic!("{stale}");
    }
}

edge_core::action_wiring_tests!(
    AnalyticsAction,
    "analytics-operations",
    [json!({"action": "generate_daily", "shop_id": SHOP, "date": "2026-11-24"}),]
);
