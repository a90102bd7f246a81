//! From an `HttpRequest` to the one RPC call it asks for: method, auth, body limits,
//! JSON, `{"action": ...}` dispatch, payload typing and the idempotency key.

use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

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

/// Decides the route of a request; every refusal happens here, before any upstream call.
pub fn route<A: Action>(request: &HttpRequest, env: &Env) -> Result<Route, ApiError> {
    match request.method.as_str() {
        "OPTIONS" => return Ok(Route::Preflight),
        "POST" => {}
        other => {
            return Err(ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!("{other} is not allowed; use POST"),
            ))
        }
    }
    let auth = AuthContext::from_request(request)?;
    let action: A = parse_action(&request.body)?;
    let idempotency_key = match action.idempotency() {
        Idempotency::ReadOnly => None,
        Idempotency::Mutating { body_key } => {
            resolve_idempotency_key(request.header("idempotency-key"), body_key)?
        }
    };
    let call = action.rpc_call(idempotency_key)?;
    Ok(Route::Call(RpcRequest::build(env, &auth, &call)))
}

/// Parses the body into one of the function's actions.
pub fn parse_action<A: Action>(body: &[u8]) -> Result<A, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::of(ErrorCode::PayloadTooLarge));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::new(ErrorCode::InvalidJson, "The request body is not valid UTF-8"))?;
    let value: Value = serde_json::from_str(text).map_err(|err| {
        ApiError::of(ErrorCode::InvalidJson)
            .with_details(json!({ "line": err.line(), "column": err.column() }))
    })?;
    let Value::Object(mut fields) = value else {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "The body must be a JSON object with an `action` field",
        ));
    };
    let name = match fields.remove("action") {
        Some(Value::String(name)) => name,
        None => return Err(ApiError::invalid_field("action", "`action` is required")),
        Some(_) => return Err(ApiError::invalid_field("action", "`action` must be a string")),
    };
    if !A::NAMES.contains(&name.as_str()) {
        return Err(ApiError::new(
            ErrorCode::UnknownAction,
            format!("Unknown action `{name}`"),
        )
        .with_details(json!({ "action": name, "available": A::NAMES })));
    }
    let tagged = Value::Object(Map::from_iter([(name, Value::Object(fields))]));
    serde_path_to_error::deserialize(tagged).map_err(payload_error)
}

/// A payload that does not fit its type: name the field, keep serde's reason.
fn payload_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let reason = error.inner().to_string();
    // The first segment is the action (the enum variant).
    let path: Vec<String> = error.path().iter().skip(1).map(ToString::to_string).collect();
    let field = backticked_field(&reason).unwrap_or_else(|| path.join("."));
    let message = if field.is_empty() {
        format!("Invalid payload: {reason}")
    } else {
        format!("Invalid field `{field}`: {reason}")
    };
    ApiError::invalid_field(&field, message)
}

/// `missing field `x`` and `unknown field `x`, expected ...` name their field this way.
fn backticked_field(reason: &str) -> Option<String> {
    let rest = reason
        .strip_prefix("missing field `")
        .or_else(|| reason.strip_prefix("unknown field `"))?;
    rest.split('`').next().map(str::to_string)
}

/// Payload of the `__panic` action that the `fault-injection` feature of each function
/// crate adds; it takes no fields.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanicRequest {}
