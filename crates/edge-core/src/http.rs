//! The HTTP envelope handed over by the Deno shim and the JSON responses sent back.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::error::{ApiError, ErrorCode};

/// Largest accepted body. The shim passes at most one byte more, so larger bodies are detectable.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// CORS headers on every response, preflight and errors included (docs/BACKEND_API_REFERENCE.md, "CORS").
pub const CORS_HEADERS: [(&str, &str); 4] = [
    ("access-control-allow-origin", "*"),
    (
        "access-control-allow-headers",
        "authorization, x-client-info, apikey, content-type, idempotency-key, x-retry-count",
    ),
    ("access-control-allow-methods", "POST, OPTIONS"),
    // Lets a browser read the request id of any answer, not only of errors.
    ("access-control-expose-headers", "x-request-id"),
];

/// The request headers `edge_core` reads (credentials and the idempotency key). The wasm
/// boundary copies only these out of the shim's `Headers`, so a request's other headers
/// never cross into wasm memory; `HttpRequest::header` refuses any other name in tests.
pub const REQUEST_HEADERS: [&str; 3] = ["authorization", "apikey", "idempotency-key"];

/// One incoming request as the shim describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpRequest {
    pub method: String,
    /// Header names in lowercase; in wasm, only those of `REQUEST_HEADERS`.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// Made by the shim (`crypto.randomUUID()`), so it can answer with it even if the module traps.
    pub request_id: String,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        debug_assert!(
            REQUEST_HEADERS.contains(&name),
            "`{name}` is not in REQUEST_HEADERS, so the wasm boundary would never pass it"
        );
        self.headers.get(name).map(String::as_str)
    }
}

/// Body of every 200 answer.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SuccessBody<T> {
    pub data: T,
}

/// Body of every error answer.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ErrorBody {
    pub error: ErrorObject,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ErrorObject {
    pub code: ErrorCode,
    /// A sentence for humans; may change, unlike `code`.
    pub message: String,
    /// Structured facts about the failure (e.g. `field`, `available`, `current_stock`).
    pub details: Option<Value>,
    /// Also in the `x-request-id` header; quote it when reporting a problem.
    pub request_id: String,
}

/// The answer handed back to the shim; `body` is JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    fn json(status: u16, body: &impl Serialize, request_id: &str) -> HttpResponse {
        let mut headers: Vec<(String, String)> = CORS_HEADERS
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        headers.push(("content-type".into(), "application/json".into()));
        headers.push(("x-request-id".into(), request_id.into()));
        // Serializing these bodies (strings, numbers, `Value`) cannot fail.
        let body = serde_json::to_string(body).unwrap_or_default();
        HttpResponse {
            status,
            headers,
            body,
        }
    }

    /// `200 {"data": ...}`; `data` is a `Value` or, for RPC answers, the raw JSON text.
    pub fn success(data: &(impl Serialize + ?Sized), request_id: &str) -> HttpResponse {
        HttpResponse::json(200, &SuccessBody { data }, request_id)
    }

    /// The CORS preflight answer: 200, no JWT needed.
    pub fn preflight(request_id: &str) -> HttpResponse {
        HttpResponse::json(200, &SuccessBody { data: Value::Null }, request_id)
    }

    /// `{"error": {code, message, details, request_id}}` with the code's status.
    /// `error.internal` is deliberately not part of it.
    pub fn error(error: &ApiError, request_id: &str) -> HttpResponse {
        let body = ErrorBody {
            error: ErrorObject {
                code: error.code,
                message: error.message.clone(),
                details: error.details.clone(),
                request_id: request_id.to_string(),
            },
        };
        HttpResponse::json(error.status(), &body, request_id)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn assert_cors(response: &HttpResponse) {
        assert_eq!(response.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            response.header("access-control-allow-headers"),
            Some("authorization, x-client-info, apikey, content-type, idempotency-key, x-retry-count")
        );
        assert_eq!(
            response.header("access-control-allow-methods"),
            Some("POST, OPTIONS")
        );
        assert_eq!(response.header("content-type"), Some("application/json"));
    }

    #[test]
    fn success_wraps_data() {
        let response = HttpResponse::success(&json!({"deleted": 2}), "rid-1");
        assert_eq!(response.status, 200);
        assert_cors(&response);
        assert_eq!(response.header("x-request-id"), Some("rid-1"));
        let body: Value = serde_json::from_str(&response.body).expect("JSON");
        assert_eq!(body, json!({"data": {"deleted": 2}}));
    }

    #[test]
    fn error_envelope_has_code_message_details_and_request_id_but_not_internal() {
        let mut error = ApiError::new(ErrorCode::InsufficientStock, "Only 2 left")
            .with_details(json!({"available": 2}));
        error.internal = Some("upstream said something private".into());
        let response = HttpResponse::error(&error, "rid-2");
        assert_eq!(response.status, 409);
        assert_cors(&response);
        let body: Value = serde_json::from_str(&response.body).expect("JSON");
        assert_eq!(
            body,
            json!({"error": {
                "code": "insufficient_stock",
                "message": "Only 2 left",
                "details": {"available": 2},
                "request_id": "rid-2",
            }})
        );
        assert!(!response.body.contains("private"));
    }

    #[test]
    fn preflight_is_200_with_cors() {
        let response = HttpResponse::preflight("rid-3");
        assert_eq!(response.status, 200);
        assert_cors(&response);
    }
}
