//! Fixtures for the function crates' native tests (feature `testing`, dev-dependency only).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::dispatch::{route, Action, Route};
use crate::error::ApiError;
use crate::http::HttpRequest;
use crate::rpc::Env;

/// A well-formed (unsigned-for-test) JWT: the edge only checks its shape.
pub const TEST_JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl";
pub const TEST_URL: &str = "http://127.0.0.1:54321";
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

/// The section of docs/BACKEND_API_REFERENCE.md about `function` (e.g. `inventory-operations`):
/// its `### action` headings and the JSON bodies of its curl examples (`-d '...'`).
pub fn documented(crate_dir: &str, function: &str) -> (Vec<String>, Vec<Value>) {
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
