//! Fixtures for the function crates' native tests (feature `testing`, dev-dependency only).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::dispatch::{admit, parse_action, plan_call, route, Action, Admission, Route};
use crate::error::{ApiError, ErrorCode};
use crate::http::HttpRequest;
use crate::rpc::{Env, RpcCall};

/// A well-formed (unsigned-for-test) JWT: the edge only checks its shape.
pub const TEST_JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl";
pub const TEST_URL: &str = "http://127.0.0.1:24321";
pub const TEST_ANON_KEY: &str = "anon-key-for-tests";
pub const TEST_REQUEST_ID: &str = "3b241101-e2bb-4255-8caf-4136c566a962";

pub fn env() -> Env {
    Env::new(TEST_URL, TEST_ANON_KEY).expect("test env is valid")
}

/// `POST` with the test JWT and this body.
pub fn post(body: impl Into<Vec<u8>>) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        headers: BTreeMap::from([
            ("authorization".into(), format!("Bearer {TEST_JWT}")),
            ("content-type".into(), "application/json".into()),
        ]),
        body: body.into(),
        request_id: TEST_REQUEST_ID.into(),
    }
}

pub fn post_json(body: &Value) -> HttpRequest {
    post(body.to_string())
}

/// Routes `request` and returns the SQL function call it would make.
pub fn call_of<A: Action>(request: &HttpRequest) -> Result<RpcCall, ApiError> {
    match admit(request, &env())? {
        Admission::Post(_) => plan_call::<A>(request),
        Admission::Preflight => panic!("expected an RPC call, got the preflight"),
    }
}

/// Routes `request` and returns the function name and JSON arguments it would call.
pub fn rpc_of<A: Action>(request: &HttpRequest) -> Result<(String, Value), ApiError> {
    let call = call_of::<A>(request)?;
    Ok((call.function.to_string(), Value::Object(call.args)))
}

/// Routes `body` expecting a refusal, and returns it.
pub fn error_of<A: Action>(request: &HttpRequest) -> ApiError {
    match route::<A>(request, &env()) {
        Err(error) => error,
        Ok(route) => panic!("expected an error, got {route:?}"),
    }
}

/// The function name and JSON arguments `body` is sent as; panics when it is refused.
pub fn call<A: Action>(body: Value) -> (String, Value) {
    rpc_of::<A>(&post_json(&body)).expect("accepted")
}

/// The refusal of `body`: its code and `details.field` (null when absent).
pub fn refusal<A: Action>(body: Value) -> (ErrorCode, Value) {
    let error = error_of::<A>(&post_json(&body));
    let field = error
        .details
        .as_ref()
        .map_or(Value::Null, |details| details["field"].clone());
    (error.code, field)
}

/// What [`refusal`] returns for an `invalid_request` naming `field`.
pub fn invalid(field: &str) -> (ErrorCode, Value) {
    (ErrorCode::InvalidRequest, Value::from(field))
}

/// The tests every function crate's action enum gets, written once:
/// `edge_core::action_wiring_tests!(InventoryAction, "inventory-operations", [extra bodies]);`
/// in the crate's test module. The extra bodies, with the documented curl examples, must
/// between them send every parameter of the action's row in docs/ARCHITECTURE.md.
#[macro_export]
macro_rules! action_wiring_tests {
    ($action:ty, $function:literal, [$($body:expr),* $(,)?]) => {
        #[test]
        fn every_action_name_has_a_variant() {
            $crate::testing::assert_every_name_has_a_variant::<$action>();
        }

        #[test]
        fn routing_refusals() {
            $crate::testing::assert_routing_refusals::<$action>(env!("CARGO_MANIFEST_DIR"), $function);
        }

        #[cfg(not(feature = "fault-injection"))]
        #[test]
        fn panic_action_exists_only_with_fault_injection() {
            $crate::testing::assert_no_panic_action::<$action>();
        }

        #[cfg(feature = "fault-injection")]
        #[test]
        fn panic_action_panics_with_fault_injection() {
            $crate::testing::assert_panic_action_panics::<$action>();
        }

        #[test]
        fn api_reference_documents_every_action_with_accepted_examples() {
            $crate::testing::assert_api_reference_documents::<$action>(
                env!("CARGO_MANIFEST_DIR"),
                $function,
            );
        }

        #[test]
        fn architecture_rpc_table_matches_the_calls() {
            $crate::testing::assert_rpc_table_matches::<$action>(
                env!("CARGO_MANIFEST_DIR"),
                $function,
                &[$($body),*],
            );
        }
    };
}

/// Every name in `A::NAMES` parses to a variant: a bare `{"action": name}` may be
/// refused for its missing fields, never as an unknown action.
pub fn assert_every_name_has_a_variant<A: Action>() {
    for name in A::NAMES {
        let body = serde_json::json!({ "action": name }).to_string();
        if let Err(error) = parse_action::<A>(body.as_bytes()) {
            assert_ne!(error.code, ErrorCode::UnknownAction, "{name}");
        }
    }
}

/// What every function refuses before looking at the action, and the preflight: an unknown
/// action (with the list of known ones), other methods than POST, no JWT, a body over
/// 64 KiB, bytes that are not UTF-8. The documented first example is the valid request
/// each refusal starts from.
pub fn assert_routing_refusals<A: Action>(crate_dir: &str, function: &str) {
    let (_, bodies) = documented(crate_dir, function);
    let valid = post_json(bodies.first().expect("a documented example"));
    rpc_of::<A>(&valid).expect("the first documented example is accepted");

    let error = error_of::<A>(&post_json(&serde_json::json!({"action": "drop_tables"})));
    assert_eq!(error.code, ErrorCode::UnknownAction);
    let details = error.details.expect("details");
    assert_eq!(details["action"], serde_json::json!("drop_tables"));
    assert_eq!(details["available"], serde_json::json!(A::NAMES));

    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        let request = HttpRequest {
            method: method.into(),
            ..valid.clone()
        };
        assert_eq!(
            error_of::<A>(&request).code,
            ErrorCode::MethodNotAllowed,
            "{method}"
        );
    }
    let options = HttpRequest {
        method: "OPTIONS".into(),
        headers: Default::default(),
        ..post(Vec::new())
    };
    assert_eq!(route::<A>(&options, &env()), Ok(Route::Preflight));

    let anonymous = HttpRequest {
        headers: Default::default(),
        ..valid.clone()
    };
    assert_eq!(error_of::<A>(&anonymous).code, ErrorCode::Unauthorized);

    let oversized = format!(
        r#"{{"action":"{}","x":"{}"}}"#,
        A::NAMES[0],
        "y".repeat(crate::http::MAX_BODY_BYTES)
    );
    assert_eq!(
        error_of::<A>(&post(oversized)).code,
        ErrorCode::PayloadTooLarge
    );
    for bytes in [&b"\xc3\x28"[..], b"\x80", b"{\"action\":\"\xff\"}"] {
        assert_eq!(error_of::<A>(&post(bytes)).code, ErrorCode::InvalidJson);
    }
}

/// Built without the `fault-injection` feature, `__panic` is an unknown action.
pub fn assert_no_panic_action<A: Action>() {
    let error = error_of::<A>(&post_json(
        &serde_json::json!({"action": crate::dispatch::PANIC_ACTION}),
    ));
    assert_eq!(error.code, ErrorCode::UnknownAction);
}

/// Built with the `fault-injection` feature, `__panic` panics while routing.
pub fn assert_panic_action_panics<A: Action>() {
    let request = post_json(&serde_json::json!({"action": crate::dispatch::PANIC_ACTION}));
    let outcome = std::panic::catch_unwind(|| rpc_of::<A>(&request));
    assert!(outcome.is_err());
}

/// docs/BACKEND_API_REFERENCE.md's section about `function` has a `### action` heading
/// for every action `A` offers, in order, and one curl example per action, in the same
/// order, each accepted by the router.
pub fn assert_api_reference_documents<A: Action>(crate_dir: &str, function: &str) {
    let (actions, bodies) = documented(crate_dir, function);
    assert_eq!(actions, A::NAMES);
    let mut exemplified: Vec<String> = Vec::new();
    for body in bodies {
        if let Err(error) = rpc_of::<A>(&post_json(&body)) {
            panic!("documented example {body} is refused: {error:?}");
        }
        exemplified.push(body["action"].as_str().expect("action").to_string());
    }
    exemplified.dedup();
    assert_eq!(
        exemplified,
        A::NAMES,
        "one curl example per action, in order"
    );
}

/// One row of docs/ARCHITECTURE.md's RPC table: the SQL function and its parameters,
/// each with whether it has a default.
#[derive(Debug)]
struct RpcRow {
    /// `GET` (a STABLE function, read-only) or `POST`.
    method: String,
    function: String,
    params: Vec<(String, bool)>,
}

/// The RPC table of docs/ARCHITECTURE.md agrees with the code: a row per action of
/// `function`, in order; each documented example and each of `extra_bodies` (which add
/// the optional fields) calls the row's SQL function with only its parameters, always
/// including the ones without a default. (A parameter may exist for direct RPC callers
/// only, as `update_stock`'s `p_reference_id`.)
pub fn assert_rpc_table_matches<A: Action>(
    crate_dir: &str,
    function: &str,
    extra_bodies: &[Value],
) {
    let rows = architecture_rpc_rows(crate_dir, function);
    let actions: Vec<&str> = rows.iter().map(|(action, _)| action.as_str()).collect();
    assert_eq!(
        actions,
        A::NAMES,
        "docs/ARCHITECTURE.md's RPC rows of {function}"
    );
    let (_, documented_bodies) = documented(crate_dir, function);
    for body in documented_bodies.iter().chain(extra_bodies) {
        let action = body["action"].as_str().expect("action").to_string();
        let (_, row) = rows
            .iter()
            .find(|(name, _)| *name == action)
            .unwrap_or_else(|| panic!("no RPC row for {action}"));
        let call =
            call_of::<A>(&post_json(body)).unwrap_or_else(|e| panic!("{body} is refused: {e:?}"));
        assert_eq!(call.function, row.function, "{action}: SQL function");
        let method = if call.read_only { "GET" } else { "POST" };
        assert_eq!(method, row.method, "{action}: sent by");
        let args = &call.args;
        for name in args.keys() {
            assert!(
                row.params.iter().any(|(param, _)| param == name),
                "{action} sends {name}, which {} does not take per docs/ARCHITECTURE.md",
                row.function
            );
        }
        for (param, _) in row.params.iter().filter(|(_, has_default)| !has_default) {
            assert!(
                args.contains_key(param),
                "{action} must send {param}: {body}"
            );
        }
    }
}

/// The rows of docs/ARCHITECTURE.md's RPC table about `function`: for
/// `inventory-operations`, the lines starting with ``| inventory `<action>` | <GET or POST> | `<sql function>(<params>)``.
fn architecture_rpc_rows(crate_dir: &str, function: &str) -> Vec<(String, RpcRow)> {
    let path = std::path::Path::new(crate_dir).join("../../docs/ARCHITECTURE.md");
    let doc = std::fs::read_to_string(&path).expect("docs/ARCHITECTURE.md exists");
    let prefix = format!("| {} `", function.trim_end_matches("-operations"));
    doc.lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(|rest| {
            let (action, rest) = rest.split_once('`').expect("action in backticks");
            let (method, call) = rest
                .split_once("| `")
                .expect("the RPC column starts with a backtick");
            let method = method.trim().trim_start_matches('|').trim();
            let (name, rest) = call.split_once('(').expect("function(params)");
            let params = &rest[..rest.find(')').expect("closing parenthesis")];
            let params = params
                .split(',')
                .map(str::trim)
                .filter(|param| !param.is_empty())
                .map(|param| {
                    let name = param.split_whitespace().next().expect("parameter name");
                    (name.to_string(), param.contains(" default "))
                })
                .collect();
            (
                action.to_string(),
                RpcRow {
                    method: method.to_string(),
                    function: name.to_string(),
                    params,
                },
            )
        })
        .collect()
}

/// The section of docs/BACKEND_API_REFERENCE.md about `function` (e.g. `inventory-operations`):
/// its `### action` headings and the JSON bodies of its curl examples (`-d '...'`).
fn documented(crate_dir: &str, function: &str) -> (Vec<String>, Vec<Value>) {
    let path = std::path::Path::new(crate_dir).join("../../docs/BACKEND_API_REFERENCE.md");
    let doc = std::fs::read_to_string(&path).expect("docs/BACKEND_API_REFERENCE.md exists");
    let start = doc
        .find(&format!("\n## {function}\n"))
        .unwrap_or_else(|| panic!("no `## {function}` section"));
    let section = &doc[start + 1..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3)];
    let actions = section
        .lines()
        .filter_map(|line| line.strip_prefix("### "))
        .map(str::to_string)
        .collect();
    let bodies = section
        .split(" -d '")
        .skip(1)
        .map(|rest| {
            let json = &rest[..rest.find('\'').expect("closing quote")];
            serde_json::from_str(json).unwrap_or_else(|err| panic!("bad example {json}: {err}"))
        })
        .collect();
    (actions, bodies)
}
