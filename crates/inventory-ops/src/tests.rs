//! Native tests: every action's RPC call, its refusals, routing and the TypeScript types.

use edge_core::testing::{self, error_of, invalid, post_json, rpc_of};
use edge_core::ErrorCode;
use serde_json::{json, Value};

use crate::InventoryAction;

const ITEM: &str = "0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5e";
const ORDER: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const SHOP: &str = "11111111-2222-4333-8444-555555555555";

fn call(body: Value) -> (String, Value) {
    testing::call::<InventoryAction>(body)
}

/// The refusal of `body`: its code and `details.field`.
fn refusal(body: Value) -> (ErrorCode, Value) {
    testing::refusal::<InventoryAction>(body)
}

#[test]
fn update_with_change() {
    let (function, args) = call(json!({
        "action": "update", "item_id": ITEM, "change": -3, "reason": "sale",
        "note": "walk-in", "expected_stock": 10,
    }));
    assert_eq!(function, "update_stock");
    assert_eq!(
        args,
        json!({"p_item_id": ITEM, "p_change": -3, "p_reason": "sale",
               "p_note": "walk-in", "p_expected_stock": 10})
    );
}

#[test]
fn update_with_set_to_and_idempotency_key() {
    let mut request = post_json(&json!({
        "action": "update", "item_id": ITEM.to_uppercase(), "set_to": 0, "reason": "correction",
    }));
    request
        .headers
        .insert("idempotency-key".into(), "count-2026-11-25".into());
    let (function, args) = rpc_of::<InventoryAction>(&request).expect("accepted");
    assert_eq!(function, "update_stock");
    assert_eq!(
        args,
        json!({"p_item_id": ITEM, "p_set_to": 0, "p_reason": "correction",
               "p_idempotency_key": "count-2026-11-25"})
    );
}

#[test]
fn update_accepts_every_stock_reason() {
    for reason in crate::actions::StockReason::ALL {
        let (_, args) = call(json!({
            "action": "update", "item_id": ITEM, "change": 1, "reason": reason.as_str(),
        }));
        assert_eq!(args["p_reason"], json!(reason.as_str()));
    }
}

#[test]
fn update_refusals() {
    let base = |extra: Value| {
        let mut body = json!({"action": "update", "item_id": ITEM, "reason": "restock"});
        for (key, value) in extra.as_object().expect("object") {
            body[key] = value.clone();
        }
        body
    };
    assert_eq!(refusal(base(json!({}))), invalid("change"));
    assert_eq!(
        refusal(base(json!({"change": 1, "set_to": 4}))),
        invalid("change")
    );
    assert_eq!(refusal(base(json!({"change": 0}))), invalid("change"));
    assert_eq!(refusal(base(json!({"set_to": -1}))), invalid("set_to"));
    assert_eq!(refusal(base(json!({"change": 1.5}))), invalid("change"));
    assert_eq!(refusal(base(json!({"change": "1"}))), invalid("change"));
    assert_eq!(refusal(base(json!({"change": 1e30}))), invalid("change"));
    assert_eq!(
        refusal(base(json!({"change": 2_147_483_648_i64}))),
        invalid("change")
    );
    assert_eq!(
        refusal(base(json!({"set_to": u64::MAX}))),
        invalid("set_to")
    );
    assert_eq!(
        refusal(base(json!({"change": 1, "expected_stock": -1}))),
        invalid("expected_stock")
    );
    assert_eq!(
        refusal(base(json!({"change": 1, "reason": "theft"}))),
        invalid("reason")
    );
    assert_eq!(
        refusal(base(json!({"change": 1, "note": "x".repeat(501)}))),
        invalid("note")
    );
    assert_eq!(
        refusal(base(json!({"change": 1, "item_id": "42"}))),
        invalid("item_id")
    );
    assert_eq!(
        refusal(base(json!({"change": 1, "shop_id": SHOP}))),
        invalid("shop_id")
    );
    assert_eq!(
        refusal(json!({"action": "update", "item_id": ITEM, "change": 1})),
        invalid("reason")
    );
    assert_eq!(
        refusal(base(json!({"change": 1, "idempotency_key": "bad key"}))),
        invalid("idempotency_key")
    );
    // The longest note is fine.
    call(base(json!({"change": 1, "note": "é".repeat(500)})));
}

#[test]
fn refusals_say_what_to_send_as_documented() {
    let message = |body: Value| error_of::<InventoryAction>(&post_json(&body)).message;
    assert_eq!(
        message(json!({"action": "update", "item_id": ITEM, "change": 1.5, "reason": "sale"})),
        "Invalid `change`: got floating point `1.5`, expected an integer between -2147483648 and 2147483647"
    );
    assert_eq!(
        message(json!({"action": "update", "change": 1, "reason": "sale"})),
        "`item_id` is required"
    );
    assert_eq!(
        message(json!({"action": "update", "item_id": ITEM, "change": 1, "reason": "theft"})),
        "Invalid `reason`: `theft` is not one of `restock`, `sale`, `order_cancelled`, `return`, `damage`, `correction`, `manual`"
    );
    assert_eq!(
        message(json!({"action": "update", "item_id": "42", "change": 1, "reason": "sale"})),
        "Invalid `item_id`: got string \"42\", expected a UUID (8-4-4-4-12 hexadecimal digits)"
    );
}

#[test]
fn process_and_restore_order() {
    let (function, args) = call(json!({"action": "process_order", "order_id": ORDER}));
    assert_eq!(function, "process_order_stock_changes");
    assert_eq!(args, json!({"p_order_id": ORDER}));

    let (function, args) = call(json!({
        "action": "restore_order", "order_id": ORDER, "idempotency_key": "cancel-1042",
    }));
    assert_eq!(function, "restore_order_stock");
    assert_eq!(
        args,
        json!({"p_order_id": ORDER, "p_idempotency_key": "cancel-1042"})
    );

    assert_eq!(
        refusal(json!({"action": "process_order"})),
        invalid("order_id")
    );
    assert_eq!(
        refusal(json!({"action": "process_order", "order_id": "order-1"})),
        invalid("order_id")
    );
    assert_eq!(
        refusal(json!({"action": "restore_order", "order_id": ORDER, "force": true})),
        invalid("force")
    );
}

#[test]
fn idempotency_key_header_and_field_must_agree() {
    let mut request = post_json(&json!({
        "action": "process_order", "order_id": ORDER, "idempotency_key": "a",
    }));
    request.headers.insert("idempotency-key".into(), "b".into());
    let error = error_of::<InventoryAction>(&request);
    assert_eq!(error.code, ErrorCode::InvalidRequest);
}

#[test]
fn get_low_stock() {
    let (function, args) = call(json!({"action": "get_low_stock", "shop_id": SHOP}));
    assert_eq!(function, "get_low_stock_items");
    assert_eq!(args, json!({"p_shop_id": SHOP}));

    let (_, args) = call(json!({"action": "get_low_stock", "shop_id": SHOP, "threshold": 0}));
    assert_eq!(args, json!({"p_shop_id": SHOP, "p_threshold": 0}));

    assert_eq!(
        refusal(json!({"action": "get_low_stock", "shop_id": SHOP, "threshold": -1})),
        invalid("threshold")
    );
    assert_eq!(
        refusal(json!({"action": "get_low_stock", "shop_id": SHOP, "idempotency_key": "k"})),
        invalid("idempotency_key")
    );
    assert_eq!(
        refusal(json!({"action": "get_low_stock"})),
        invalid("shop_id")
    );
}

#[test]
fn results_match_the_sql_contract() {
    use crate::results::*;
    let update: UpdateStockResult = serde_json::from_value(json!({
        "item_id": ITEM, "previous_stock": 5, "new_stock": 2, "history_id": ORDER,
    }))
    .expect("update_stock answer");
    assert_eq!(update.new_stock, 2);
    let processed: ProcessOrderResult = serde_json::from_value(json!({
        "order_id": ORDER, "already_processed": false,
        "items": [{"item_id": ITEM, "previous_stock": 5, "new_stock": 2}],
    }))
    .expect("process_order_stock_changes answer");
    assert_eq!(processed.items.len(), 1);
    let restored: RestoreOrderResult = serde_json::from_value(json!({
        "order_id": ORDER, "already_restored": true, "items": [],
    }))
    .expect("restore_order_stock answer");
    assert!(restored.already_restored);
    let low: LowStockResult = serde_json::from_value(json!({
        "items": [{"id": ITEM, "name": "Blue mug", "sku": null, "stock": 1, "threshold": 5}],
    }))
    .expect("get_low_stock_items answer");
    assert_eq!(low.items[0].sku, None);
}

#[test]
fn types_ts() {
    use crate::actions::*;
    use crate::results::*;
    use edge_core::Action;
    use ts_rs::TS;
    let results = edge_core::typescript::result_map(
        "InventoryResults",
        InventoryAction::NAMES,
        &[
            ("update", UpdateStockResult::name()),
            ("process_order", ProcessOrderResult::name()),
            ("restore_order", RestoreOrderResult::name()),
            ("get_low_stock", LowStockResult::name()),
        ],
    );
    let block = edge_core::typescript::render(&[
        InventoryAction::decl(),
        results,
        UpdateStockRequest::decl(),
        StockReason::decl(),
        ProcessOrderRequest::decl(),
        RestoreOrderRequest::decl(),
        GetLowStockRequest::decl(),
        UpdateStockResult::decl(),
        OrderItemStock::decl(),
        ProcessOrderResult::decl(),
        RestoreOrderResult::decl(),
        LowStockItem::decl(),
        LowStockResult::decl(),
    ]);
    let file = edge_core::typescript::types_file(env!("CARGO_MANIFEST_DIR"));
    if let Err(stale) = edge_core::typescript::sync_block(&file, "inventory-operations", &block) {
        panic!("{stale}");
    }
}

edge_core::action_wiring_tests!(
    InventoryAction,
    "inventory-operations",
    [
        json!({"action": "update", "item_id": ITEM, "change": -1, "reason": "sale", "note": "n",
           "expected_stock": 3, "idempotency_key": "k1"}),
        json!({"action": "update", "item_id": ITEM, "set_to": 4, "reason": "correction"}),
        json!({"action": "process_order", "order_id": ORDER, "idempotency_key": "k2"}),
        json!({"action": "restore_order", "order_id": ORDER, "idempotency_key": "k3"}),
        json!({"action": "get_low_stock", "shop_id": SHOP, "threshold": 3}),
    ]
);
