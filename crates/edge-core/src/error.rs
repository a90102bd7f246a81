//! The one error type of the edge functions: a closed set of stable codes, each
//! mapped to its HTTP status here and nowhere else.

use serde_json::Value;

/// Every error code a client can receive (docs/BACKEND_API_REFERENCE.md, "Error codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename_all = "snake_case"))]
pub enum ErrorCode {
    InvalidJson,
    InvalidRequest,
    UnknownAction,
    MethodNotAllowed,
    PayloadTooLarge,
    Unauthorized,
    Forbidden,
    NotFound,
    InsufficientStock,
    StaleStock,
    IdempotencyConflict,
    Conflict,
    UpstreamUnavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::InvalidJson,
        ErrorCode::InvalidRequest,
        ErrorCode::UnknownAction,
        ErrorCode::MethodNotAllowed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::InsufficientStock,
        ErrorCode::StaleStock,
        ErrorCode::IdempotencyConflict,
        ErrorCode::Conflict,
        ErrorCode::UpstreamUnavailable,
        ErrorCode::Internal,
    ];

    /// The stable string sent as `error.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::UnknownAction => "unknown_action",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InsufficientStock => "insufficient_stock",
            ErrorCode::StaleStock => "stale_stock",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::Conflict => "conflict",
            ErrorCode::UpstreamUnavailable => "upstream_unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The code whose stable string is `code`, if it is one of ours.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// The HTTP status of this code: the only place a code meets a status.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidJson | ErrorCode::InvalidRequest | ErrorCode::UnknownAction => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::InsufficientStock | ErrorCode::StaleStock | ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::IdempotencyConflict => 422,
            ErrorCode::Internal => 500,
            ErrorCode::UpstreamUnavailable => 503,
        }
    }

    /// The message used when nothing more specific is known.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "The request body is not valid JSON",
            ErrorCode::InvalidRequest => "The request is invalid",
            ErrorCode::UnknownAction => "This function does not offer that action",
            ErrorCode::MethodNotAllowed => "Only POST and OPTIONS are allowed",
            ErrorCode::PayloadTooLarge => "The request body is larger than 64 KiB",
            ErrorCode::Unauthorized => "A valid JWT is required in the Authorization header",
            ErrorCode::Forbidden => "You are not allowed to do this",
            ErrorCode::NotFound => "Not found",
            ErrorCode::InsufficientStock => "Not enough stock",
            ErrorCode::StaleStock => "The stock changed since it was read",
            ErrorCode::IdempotencyConflict => {
                "This idempotency key was already used with a different request"
            }
            ErrorCode::Conflict => "The change conflicts with existing data",
            ErrorCode::UpstreamUnavailable => "The database is unreachable; retry later",
            ErrorCode::Internal => "Internal error; report the request_id",
        }
    }
}

/// A failure answered to the client as `{"error": {code, message, details, request_id}}`.
///
/// `internal` holds what must be logged but never sent (upstream text, transport errors).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    pub internal: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            details: None,
            internal: None,
        }
    }

    /// An error with the code's default message.
    pub fn of(code: ErrorCode) -> ApiError {
        ApiError::new(code, code.default_message())
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    /// `invalid_request` naming the offending field in `details.field`.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidRequest, message)
            .with_details(serde_json::json!({ "field": field }))
    }

    /// `internal`, keeping `cause` for the log only.
    pub fn internal(cause: impl Into<String>) -> ApiError {
        ApiError {
            internal: Some(cause.into()),
            ..ApiError::of(ErrorCode::Internal)
        }
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_those_of_the_api() {
        let table: Vec<(&str, u16)> = ErrorCode::ALL
            .iter()
            .map(|code| (code.as_str(), code.status()))
            .collect();
        assert_eq!(
            table,
            vec![
                ("invalid_json", 400),
                ("invalid_request", 400),
                ("unknown_action", 400),
                ("method_not_allowed", 405),
                ("payload_too_large", 413),
                ("unauthorized", 401),
                ("forbidden", 403),
                ("not_found", 404),
                ("insufficient_stock", 409),
                ("stale_stock", 409),
                ("idempotency_conflict", 422),
                ("conflict", 409),
                ("upstream_unavailable", 503),
                ("internal", 500),
            ]
        );
    }

    #[test]
    fn parse_is_the_inverse_of_as_str_and_serde_agrees() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(serde_json::json!(code), serde_json::json!(code.as_str()));
        }
        assert_eq!(ErrorCode::parse("Internal"), None);
    }
}
