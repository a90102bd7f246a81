//! The HTTP envelope handed over by the Deno shim and the JSON responses sent back.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::error::ApiError;

/// Largest accepted body. The shim passes at most one byte more, so larger bodies are detectable.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// CORS headers on every response, preflight and errors included (api.md, "Request").
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

/// One incoming request as the shim describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpRequest {
    pub method: String,
    /// Header names in lowercase.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// Made by the shim (`crypto.randomUUID()`), so it can answer with it even if the module traps.
    pub request_id: String,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// The answer handed back to the shim; `body` is JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    fn json(status: u16, body: &Value, request_id: &str) -> HttpResponse {
        let mut headers: Vec<(String, String)> = CORS_HEADERS
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        headers.push(("content-type".into(), "application/json".into()));
        headers.push(("x-request-id".into(), request_id.into()));
        HttpResponse {
            status,
            headers,
            body: body.to_string(),
        }
    }

    /// `200 {"data": ...}`.
    pub fn success(data: &Value, request_id: &str) -> HttpResponse {
        HttpResponse::json(200, &json!({ "data": data }), request_id)
    }

    /// The CORS preflight answer: 200, no JWT needed.
    pub fn preflight(request_id: &str) -> HttpResponse {
        HttpResponse::json(200, &json!({ "data": null }), request_id)
    }

    /// `{"error": {code, message, details, request_id}}` with the code's status.
    /// `error.internal` is deliberately not part of it.
    pub fn error(error: &ApiError, request_id: &str) -> HttpResponse {
        let body = json!({
            "error": {
                "code": error.code.as_str(),
                "message": error.message,
                "details": error.details,
                "request_id": request_id,
            }
        });
        HttpResponse::json(error.status(), &body, request_id)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
