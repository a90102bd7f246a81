//! GoTrue's error bodies. A client that sends `X-Supabase-Api-Version:
//! 2024-01-01` (supabase-js does) gets `{"code": "<error code>", "message"}`
//! and the header echoed; any other client gets the initial shape
//! `{"code": <status>, "error_code", "msg"}`. Both carry `x-sb-error-code`.
//! supabase-js turns either into an `AuthApiError` with this status and code.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub const API_VERSION_HEADER: &str = "x-supabase-api-version";
const API_VERSION_2024: &str = "2024-01-01";

/// An error answered the way GoTrue answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `weak_password.reasons`, for `weak_password` only.
    pub reasons: Vec<&'static str>,
}

impl AuthError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            reasons: Vec::new(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn weak_password(message: impl Into<String>, reasons: Vec<&'static str>) -> Self {
        Self {
            reasons,
            ..Self::unprocessable("weak_password", message)
        }
    }

    /// A failure of ours (database down, ...): logged, answered 500 without details.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "auth: {context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unexpected_failure",
            "Database error",
        )
    }

    fn body(&self, version_2024: bool) -> Value {
        let mut body = if version_2024 {
            json!({"code": self.code, "message": self.message})
        } else {
            json!({"code": self.status.as_u16(), "error_code": self.code, "msg": self.message})
        };
        if !self.reasons.is_empty() {
            body["weak_password"] = json!({"reasons": self.reasons});
        }
        body
    }
}

impl IntoResponse for AuthError {
    /// Rendered in the 2024-01-01 shape; `api_version` re-renders it for
    /// clients that did not ask for that version.
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body(true))).into_response();
        if let Ok(code) = HeaderValue::from_str(self.code) {
            response.headers_mut().insert("x-sb-error-code", code);
        }
        response.extensions_mut().insert(self);
        response
    }
}

impl From<deadpool_postgres::PoolError> for AuthError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        Self::internal("database pool", error)
    }
}

impl From<tokio_postgres::Error> for AuthError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::internal("database", error)
    }
}

/// Picks the error shape by the request's API version and echoes the version.
pub async fn api_version(request: Request, next: Next) -> Response {
    let version_2024 = request
        .headers()
        .get(API_VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() >= API_VERSION_2024);
    let mut response = next.run(request).await;
    let Some(error) = response.extensions_mut().remove::<AuthError>() else {
        return response;
    };
    if version_2024 {
        response.headers_mut().insert(
            API_VERSION_HEADER,
            HeaderValue::from_static(API_VERSION_2024),
        );
        return response;
    }
    let mut legacy = (error.status, axum::Json(error.body(false))).into_response();
    if let Some(code) = response.headers().get("x-sb-error-code") {
        legacy.headers_mut().insert("x-sb-error-code", code.clone());
    }
    legacy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_carry_status_code_and_message() {
        let error = AuthError::bad_request("invalid_credentials", "Invalid login credentials");
        assert_eq!(
            error.body(true),
            json!({"code": "invalid_credentials", "message": "Invalid login credentials"})
        );
        assert_eq!(
            error.body(false),
            json!({"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"})
        );
        let weak =
            AuthError::weak_password("Password should be at least 6 characters.", vec!["length"]);
        assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            weak.body(true)["weak_password"],
            json!({"reasons": ["length"]})
        );
    }
}
