//! From an `HttpRequest` to the one RPC call it asks for: method, auth, body limits,
//! JSON, `{"action": ...}` dispatch, payload typing and the idempotency key.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::json;
use serde_value::{DeserializerError, Value, ValueDeserializer};

use crate::auth::AuthContext;
use crate::error::{ApiError, ErrorCode};
use crate::http::{HttpRequest, MAX_BODY_BYTES};
use crate::idempotency::resolve_idempotency_key;
use crate::rpc::{Env, RpcCall, RpcRequest};

/// Whether an action takes an idempotency key, and the one its body carried.
pub enum Idempotency<'a> {
    ReadOnly,
    Mutating { body_key: Option<&'a str> },
}

/// The closed set of actions of one edge function.
///
/// Implemented by an enum with one newtype variant per action, named in snake_case by serde
/// (externally tagged: `dispatch` turns `{"action": "x", ...}` into `{"x": {...}}` so that
/// serde names the offending field of a bad payload).
pub trait Action: DeserializeOwned {
    /// Every action name the enum accepts.
    const NAMES: &'static [&'static str];

    fn idempotency(&self) -> Idempotency<'_>;

    /// Validates the payload and says which SQL function to call with which arguments.
    fn rpc_call(self, idempotency_key: Option<String>) -> Result<RpcCall, ApiError>;
}

/// What to do with a request that passed validation.
#[derive(Debug, PartialEq)]
pub enum Route {
    /// `OPTIONS`: answer the CORS preflight.
    Preflight,
    /// Send this to PostgREST.
    Call(RpcRequest),
}

/// The first step of a request: the preflight, the method and the form of the caller's
/// credentials. The wasm boundary verifies a JWT (`jwt`) between this and [`plan`], so a
/// refused caller learns nothing about the body.
#[derive(Debug, PartialEq)]
pub enum Admission {
    /// `OPTIONS`: answer the CORS preflight.
    Preflight,
    /// A `POST` with credentials of an accepted form.
    Post(AuthContext),
}

pub fn admit(request: &HttpRequest, env: &Env) -> Result<Admission, ApiError> {
    match request.method.as_str() {
        "OPTIONS" => Ok(Admission::Preflight),
        "POST" => Ok(Admission::Post(AuthContext::from_request(request, env)?)),
        other => Err(ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!("{other} is not allowed; use POST"),
        )),
    }
}

/// The second step, for a verified caller: the body, the action and its one RPC request.
pub fn plan<A: Action>(
    request: &HttpRequest,
    env: &Env,
    auth: &AuthContext,
) -> Result<RpcRequest, ApiError> {
    Ok(RpcRequest::build(env, auth, &plan_call::<A>(request)?))
}

/// The body, the action and its one SQL function call, before it becomes a request.
pub fn plan_call<A: Action>(request: &HttpRequest) -> Result<RpcCall, ApiError> {
    let action: A = parse_action(&request.body)?;
    let idempotency_key = match action.idempotency() {
        Idempotency::ReadOnly => None,
        Idempotency::Mutating { body_key } => {
            resolve_idempotency_key(request.header("idempotency-key"), body_key)?
        }
    };
    action.rpc_call(idempotency_key)
}

/// Both steps without the signature check: every refusal that needs no key happens here,
/// before any upstream call.
pub fn route<A: Action>(request: &HttpRequest, env: &Env) -> Result<Route, ApiError> {
    match admit(request, env)? {
        Admission::Preflight => Ok(Route::Preflight),
        Admission::Post(auth) => Ok(Route::Call(plan::<A>(request, env, &auth)?)),
    }
}

/// The action the `fault-injection` feature adds: it panics while routing, so the shim's
/// handling of a trap can be tested (tests/deno). Never in a production build.
pub const PANIC_ACTION: &str = "__panic";

/// Parses the body into one of the function's actions.
pub fn parse_action<A: Action>(body: &[u8]) -> Result<A, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::of(ErrorCode::PayloadTooLarge));
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidJson,
            "The request body is not valid UTF-8",
        )
    })?;
    // A value tree whose deserializer reports errors as data (which field is missing,
    // unknown, of the wrong type), unlike serde_json's, which only keeps them as text.
    let value: Value = serde_json::from_str(text).map_err(|err| {
        ApiError::of(ErrorCode::InvalidJson)
            .with_details(json!({ "line": err.line(), "column": err.column() }))
    })?;
    let Value::Map(mut fields) = value else {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "The body must be a JSON object with an `action` field",
        ));
    };
    let name = match fields.remove(&Value::String("action".into())) {
        Some(Value::String(name)) => name,
        None => return Err(ApiError::invalid_field("action", "`action` is required")),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "action",
                "`action` must be a string",
            ))
        }
    };
    #[cfg(feature = "fault-injection")]
    if name == PANIC_ACTION {
        panic!("fault injection: {PANIC_ACTION} action");
    }
    if !A::NAMES.contains(&name.as_str()) {
        return Err(
            ApiError::new(ErrorCode::UnknownAction, format!("Unknown action `{name}`"))
                .with_details(json!({ "action": name, "available": A::NAMES })),
        );
    }
    // Externally tagged, `{"<action>": {...fields}}`, so the path of an error starts with
    // the action and goes on with the field.
    let tagged = Value::Map(BTreeMap::from([(Value::String(name), Value::Map(fields))]));
    serde_path_to_error::deserialize(ValueDeserializer::<DeserializerError>::new(tagged))
        .map_err(payload_error)
}

/// A payload that does not fit its type, classified by what serde reports (the error's
/// kind and the path to the value) and answered with the field it names.
fn payload_error(error: serde_path_to_error::Error<DeserializerError>) -> ApiError {
    // The first segment is the action (the enum variant), then the field.
    let path: Vec<String> = error
        .path()
        .iter()
        .skip(1)
        .map(ToString::to_string)
        .collect();
    let at = path.join(".");
    let inner = |name: &str| {
        if at.is_empty() {
            name.to_string()
        } else {
            format!("{at}.{name}")
        }
    };
    match error.into_inner() {
        DeserializerError::MissingField(name) => {
            let field = inner(name);
            ApiError::invalid_field(&field, format!("`{field}` is required"))
        }
        DeserializerError::UnknownField(name, _) => {
            // serde_path_to_error has already stepped into the key it could not place.
            let field = if path.last() == Some(&name) {
                at
            } else {
                inner(&name)
            };
            ApiError::invalid_field(&field, format!("`{field}` is not a field of this action"))
        }
        DeserializerError::DuplicateField(name) => {
            let field = inner(name);
            ApiError::invalid_field(&field, format!("`{field}` is given twice"))
        }
        DeserializerError::UnknownVariant(value, expected) => ApiError::invalid_field(
            &at,
            format!(
                "Invalid `{at}`: `{value}` is not one of {}",
                expected
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        DeserializerError::InvalidType(got, expected)
        | DeserializerError::InvalidValue(got, expected) => ApiError::invalid_field(
            &at,
            format!(
                "Invalid `{at}`: got {}, expected {}",
                got.to_unexpected(),
                json_expectation(&expected)
            ),
        ),
        DeserializerError::InvalidLength(length, expected) => ApiError::invalid_field(
            &at,
            format!("Invalid `{at}`: {length} elements, expected {expected}"),
        ),
        DeserializerError::Custom(reason) => {
            ApiError::invalid_field(&at, format!("Invalid `{at}`: {reason}"))
        }
    }
}

/// What serde expects, said to a JSON client: serde names the Rust type of a number.
fn json_expectation(expected: &str) -> String {
    match expected {
        "i32" => "an integer between -2147483648 and 2147483647".into(),
        "a boolean" => "true or false".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    /// A two-action function: one read, one write.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum TestAction {
        Read(ReadRequest),
        Write(WriteRequest),
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ReadRequest {
        id: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct WriteRequest {
        id: String,
        amount: i32,
        idempotency_key: Option<String>,
    }

    impl Action for TestAction {
        const NAMES: &'static [&'static str] = &["read", "write"];

        fn idempotency(&self) -> Idempotency<'_> {
            match self {
                TestAction::Read(_) => Idempotency::ReadOnly,
                TestAction::Write(w) => Idempotency::Mutating {
                    body_key: w.idempotency_key.as_deref(),
                },
            }
        }

        fn rpc_call(self, idempotency_key: Option<String>) -> Result<RpcCall, ApiError> {
            Ok(match self {
                TestAction::Read(r) => RpcCall::new("read_fn").arg("p_id", r.id),
                TestAction::Write(w) => RpcCall::new("write_fn")
                    .arg("p_id", w.id)
                    .arg("p_amount", w.amount)
                    .optional_arg("p_idempotency_key", idempotency_key),
            })
        }
    }

    fn request(method: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            body: body.to_vec(),
            request_id: "rid".into(),
        }
    }

    const AUTH: (&str, &str) = ("authorization", "Bearer aa.bb.cc");

    fn env() -> Env {
        Env::new("http://127.0.0.1:24321", "anon").expect("env")
    }

    fn error_of(request: &HttpRequest) -> ApiError {
        route::<TestAction>(request, &env()).expect_err("refused")
    }

    fn call_of(request: &HttpRequest) -> RpcRequest {
        match route::<TestAction>(request, &env()) {
            Ok(Route::Call(rpc)) => rpc,
            other => panic!("expected a call, got {other:?}"),
        }
    }

    #[test]
    fn options_is_the_preflight_without_a_jwt() {
        let routed = route::<TestAction>(&request("OPTIONS", &[], b""), &env());
        assert_eq!(routed, Ok(Route::Preflight));
    }

    #[test]
    fn other_methods_are_refused() {
        for method in ["GET", "PUT", "DELETE", "PATCH"] {
            let error = error_of(&request(method, &[AUTH], br#"{"action":"read","id":"1"}"#));
            assert_eq!(error.code, ErrorCode::MethodNotAllowed);
            assert_eq!(error.status(), 405);
        }
    }

    #[test]
    fn jwt_is_checked_before_the_body() {
        let error = error_of(&request("POST", &[], b"not json"));
        assert_eq!(error.code, ErrorCode::Unauthorized);
    }

    #[test]
    fn body_limit_is_64_kib() {
        let padding = "x".repeat(MAX_BODY_BYTES);
        let body = format!(r#"{{"action":"read","id":"{padding}"}}"#);
        let error = error_of(&request("POST", &[AUTH], body.as_bytes()));
        assert_eq!(error.code, ErrorCode::PayloadTooLarge);
        assert_eq!(error.status(), 413);

        let prefix = r#"{"action":"read","id":""#;
        let padding = "x".repeat(MAX_BODY_BYTES - prefix.len() - 2);
        let body = format!("{prefix}{padding}\"}}");
        assert_eq!(body.len(), MAX_BODY_BYTES);
        call_of(&request("POST", &[AUTH], body.as_bytes()));
    }

    #[test]
    fn invalid_utf8_and_invalid_json_are_invalid_json() {
        for body in [
            &b"\xff\xfe{}"[..],
            b"",
            b"{",
            b"{'action': 'read'}",
            b"null x",
        ] {
            let error = error_of(&request("POST", &[AUTH], body));
            assert_eq!(error.code, ErrorCode::InvalidJson, "{body:?}");
            assert_eq!(error.status(), 400);
        }
    }

    #[test]
    fn body_must_be_an_object_with_a_string_action() {
        for (body, field) in [
            (&br#"[1]"#[..], None),
            (br#""read""#, None),
            (br#"{"id":"1"}"#, Some("action")),
            (br#"{"action":7}"#, Some("action")),
        ] {
            let error = error_of(&request("POST", &[AUTH], body));
            assert_eq!(error.code, ErrorCode::InvalidRequest);
            assert_eq!(
                error.details.map(|d| d["field"].clone()),
                field.map(|f| json!(f))
            );
        }
    }

    #[test]
    fn unknown_action_lists_the_available_ones() {
        let error = error_of(&request("POST", &[AUTH], br#"{"action":"drop_tables"}"#));
        assert_eq!(error.code, ErrorCode::UnknownAction);
        assert_eq!(error.status(), 400);
        assert_eq!(
            error.details,
            Some(json!({"action": "drop_tables", "available": ["read", "write"]}))
        );
    }

    #[test]
    fn payload_errors_name_the_field() {
        for (body, field) in [
            (&br#"{"action":"write","amount":1}"#[..], "id"),
            (
                br#"{"action":"write","id":"1","amount":1,"extra":true}"#,
                "extra",
            ),
            (br#"{"action":"write","id":"1","amount":"1"}"#, "amount"),
            (br#"{"action":"write","id":"1","amount":1.5}"#, "amount"),
            (
                br#"{"action":"write","id":"1","amount":99999999999999999999}"#,
                "amount",
            ),
            (
                br#"{"action":"write","id":"1","amount":2147483648}"#,
                "amount",
            ),
            (br#"{"action":"write","id":7,"amount":1}"#, "id"),
            (
                br#"{"action":"read","id":"1","idempotency_key":"k"}"#,
                "idempotency_key",
            ),
        ] {
            let error = error_of(&request("POST", &[AUTH], body));
            assert_eq!(
                error.code,
                ErrorCode::InvalidRequest,
                "{}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(error.details, Some(json!({"field": field})));
            assert!(error.message.contains(field), "{}", error.message);
        }
    }

    #[test]
    fn builds_the_call_of_the_action() {
        let rpc = call_of(&request("POST", &[AUTH], br#"{"action":"read","id":"7"}"#));
        assert_eq!(rpc.url, "http://127.0.0.1:24321/rest/v1/rpc/read_fn");
        assert_eq!(rpc.body, r#"{"p_id":"7"}"#);
    }

    #[test]
    fn idempotency_key_comes_from_header_or_field_for_mutating_actions() {
        let write = br#"{"action":"write","id":"7","amount":1}"#;
        let rpc = call_of(&request("POST", &[AUTH, ("idempotency-key", "k1")], write));
        assert_eq!(
            rpc.body,
            r#"{"p_amount":1,"p_id":"7","p_idempotency_key":"k1"}"#
        );

        let write_with_key = br#"{"action":"write","id":"7","amount":1,"idempotency_key":"k2"}"#;
        let rpc = call_of(&request("POST", &[AUTH], write_with_key));
        assert_eq!(
            rpc.body,
            r#"{"p_amount":1,"p_id":"7","p_idempotency_key":"k2"}"#
        );

        let error = error_of(&request(
            "POST",
            &[AUTH, ("idempotency-key", "k1")],
            write_with_key,
        ));
        assert_eq!(error.code, ErrorCode::InvalidRequest);

        // Reads ignore the header (clients may send it on every call).
        let read = br#"{"action":"read","id":"7"}"#;
        let rpc = call_of(&request("POST", &[AUTH, ("idempotency-key", "k1")], read));
        assert_eq!(rpc.body, r#"{"p_id":"7"}"#);
    }
}
