//! Fixtures for the function crates' native tests (feature `testing`, dev-dependency only).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::dispatch::{parse_action, route, Action, Route};
use crate::error::{ApiError, ErrorCode};
use crate::http::HttpRequest;
use crate::rpc::Env;

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

/// Routes `body` and returns the function name and JSON arguments it would call.
pub fn rpc_of<A: Action>(request: &HttpRequest) -> Result<(String, Value), ApiError> {
    match route::<A>(request, &env())? {
        Route::Call(rpc) => {
            let function = rpc
                .url
                .strip_prefix(&format!("{TEST_URL}/rest/v1/rpc/"))
                .expect("RPC URL under /rest/v1/rpc/")
                .to_string();
            let args = serde_json::from_str(&rpc.body).expect("RPC body is JSON");
            Ok((function, args))
        }
        Route::Preflight => panic!("expected an RPC call, got the preflight"),
    }
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

/// Built without the `fault-injection` feature, `__panic` is an unknown action.
pub fn assert_no_panic_action<A: Action>() {
    let error = error_of::<A>(&post_json(&serde_json::json!({"action": "__panic"})));
    assert_eq!(error.code, ErrorCode::UnknownAction);
}

/// Built with the `fault-injection` feature, `__panic` panics while routing.
pub fn assert_panic_action_panics<A: Action>() {
    let request = post_json(&serde_json::json!({"action": "__panic"}));
    let outcome = std::panic::catch_unwind(|| rpc_of::<A>(&request));
    assert!(outcome.is_err());
}

/// docs/BACKEND_API_REFERENCE.md's section about `function` has a `### action` heading
/// for every action `A` offers (the fault-injection `__panic` aside), in order, and one
/// curl example per action, in the same order, each accepted by the router.
pub fn assert_api_reference_documents<A: Action>(crate_dir: &str, function: &str) {
    let (actions, bodies) = documented(crate_dir, function);
    let offered: Vec<&str> = A::NAMES
        .iter()
        .copied()
        .filter(|name| *name != "__panic")
        .collect();
    assert_eq!(actions, offered);
    let mut exemplified: Vec<String> = Vec::new();
    for body in bodies {
        if let Err(error) = rpc_of::<A>(&post_json(&body)) {
            panic!("documented example {body} is refused: {error:?}");
        }
        exemplified.push(body["action"].as_str().expect("action").to_string());
    }
    exemplified.dedup();
    assert_eq!(
        exemplified, offered,
        "one curl example per action, in order"
    );
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
