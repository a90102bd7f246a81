//! Property tests of the payload parser over the three functions' real action enums
//! (docs/RELIABILITY.md, promise 4): whatever bytes or JSON a client sends, routing never
//! panics and either builds one RPC call with `p_` arguments or refuses with a 4xx error
//! of the input codes, rendered as our JSON error body. The HTTP corpus of the same
//! promise is tests/reliability/hostile_input_test.ts.

use std::collections::BTreeMap;

use admin_ops::AdminAction;
use analytics_ops::AnalyticsAction;
use edge_core::{route, Action, Env, ErrorCode, HttpRequest, HttpResponse, Route, RpcMethod};
use inventory_ops::InventoryAction;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl";
const URL: &str = "http://127.0.0.1:24321";

/// Every field name the actions know, so generated objects hit real fields often.
const FIELDS: &[&str] = &[
    "item_id",
    "change",
    "set_to",
    "reason",
    "note",
    "expected_stock",
    "order_id",
    "shop_id",
    "threshold",
    "date",
    "start_date",
    "end_date",
    "backup_type",
    "snapshot_id",
    "dry_run",
    "limit",
    "idempotency_key",
];

/// Every action name of the three functions, from their enums.
fn action_names() -> Vec<&'static str> {
    [
        InventoryAction::NAMES,
        AnalyticsAction::NAMES,
        AdminAction::NAMES,
    ]
    .concat()
}

/// The codes a request can earn before any upstream call.
const INPUT_CODES: &[ErrorCode] = &[
    ErrorCode::InvalidJson,
    ErrorCode::InvalidRequest,
    ErrorCode::UnknownAction,
    ErrorCode::PayloadTooLarge,
];

fn post(body: Vec<u8>, idempotency_key: Option<String>) -> HttpRequest {
    let mut headers = BTreeMap::from([("authorization".to_string(), format!("Bearer {JWT}"))]);
    if let Some(key) = idempotency_key {
        headers.insert("idempotency-key".into(), key);
    }
    HttpRequest {
        method: "POST".into(),
        headers,
        body,
        request_id: "3b241101-e2bb-4255-8caf-4136c566a962".into(),
    }
}

/// The property, for one function: a call of ours, or a 4xx input error in our JSON shape.
fn check<A: Action>(request: &HttpRequest) -> Result<(), TestCaseError> {
    let env = Env::new(URL, "anon").expect("env");
    match route::<A>(request, &env) {
        Ok(Route::Call(rpc)) => {
            let (path, query) = rpc.url.split_once('?').unwrap_or((&rpc.url, ""));
            let name = path.strip_prefix(&format!("{URL}/rest/v1/rpc/"));
            prop_assert!(name.is_some_and(
                |n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            ));
            let names: Vec<String> = match rpc.method {
                RpcMethod::Post => {
                    prop_assert!(query.is_empty());
                    let args: Value = serde_json::from_str(&rpc.body).expect("RPC body is JSON");
                    let args = args.as_object().expect("RPC arguments are an object");
                    args.keys().cloned().collect()
                }
                RpcMethod::Get => {
                    prop_assert!(rpc.body.is_empty());
                    let mut names = Vec::new();
                    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
                        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                        // Escaped: nothing in a value can start another parameter.
                        prop_assert!(
                            value
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
                            "value: {value}"
                        );
                        names.push(name.to_string());
                    }
                    names
                }
            };
            prop_assert!(
                names.iter().all(|k| k.starts_with("p_")),
                "arguments: {names:?}"
            );
        }
        Ok(Route::Preflight) => prop_assert!(false, "a POST is never the preflight"),
        Err(error) => {
            prop_assert!(
                INPUT_CODES.contains(&error.code),
                "code {:?}: {}",
                error.code,
                error.message
            );
            prop_assert!((400..500).contains(&error.status()));
            prop_assert!(!error.message.is_empty());
            let response = HttpResponse::error(&error, &request.request_id);
            prop_assert_eq!(response.status, error.status());
            let body: Value = serde_json::from_str(&response.body).expect("error body is JSON");
            prop_assert_eq!(&body["error"]["code"], &json!(error.code.as_str()));
            prop_assert_eq!(&body["error"]["request_id"], &json!(request.request_id));
        }
    }
    Ok(())
}

fn check_all(request: &HttpRequest) -> Result<(), TestCaseError> {
    check::<InventoryAction>(request)?;
    check::<AnalyticsAction>(request)?;
    check::<AdminAction>(request)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<i32>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        "[0-9a-fA-F-]{0,40}".prop_map(Value::String),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(Value::String),
        Just(json!("123e4567-e89b-12d3-a456-426614174000")),
        Just(json!("' OR 1=1; drop table public.items; --")),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(FIELDS).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn action_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(action_names()).prop_map(|a| json!(a)),
        1 => any::<String>().prop_map(Value::String),
        1 => json_value(),
    ]
}

/// `{"action": ..., <fields>}` with real and random field names and arbitrary values.
fn payload() -> impl Strategy<Value = Value> {
    (
        action_name(),
        prop::collection::btree_map(field_name(), json_value(), 0..6),
    )
        .prop_map(|(action, fields)| {
            let mut object: Map<String, Value> = fields.into_iter().collect();
            object.insert("action".into(), action);
            Value::Object(object)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_a_call_or_a_4xx(body in prop::collection::vec(any::<u8>(), 0..512)) {
        check_all(&post(body, None))?;
    }

    #[test]
    fn arbitrary_json_is_a_call_or_a_4xx(value in json_value()) {
        check_all(&post(value.to_string().into_bytes(), None))?;
    }

    #[test]
    fn arbitrary_payloads_are_a_call_or_a_4xx(
        value in payload(),
        key in prop::option::of(any::<String>()),
    ) {
        check_all(&post(value.to_string().into_bytes(), key))?;
    }

    #[test]
    fn corrupted_payloads_are_a_call_or_a_4xx(
        value in payload(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        // A JSON text with a few bytes overwritten: often invalid UTF-8 or broken JSON.
        let mut body = value.to_string().into_bytes();
        for (index, byte) in flips {
            let at = index.index(body.len());
            body[at] = byte;
        }
        check_all(&post(body, None))?;
    }

    #[test]
    fn bodies_over_64_kib_are_payload_too_large(extra in 1usize..4096, action in prop::sample::select(action_names())) {
        let prefix = format!(r#"{{"action":"{action}","note":""#);
        let padding = "x".repeat(64 * 1024 - prefix.len() + extra);
        let body = format!("{prefix}{padding}\"}}").into_bytes();
        let env = Env::new(URL, "anon").expect("env");
        let error = route::<InventoryAction>(&post(body, None), &env).expect_err("too large");
        prop_assert_eq!(error.code, ErrorCode::PayloadTooLarge);
    }
}
