//! Idempotency keys of mutating actions: from the `Idempotency-Key` header or the
//! `idempotency_key` body field. The database stores and compares them.

use serde_json::json;

use crate::error::{ApiError, ErrorCode};

pub const MAX_KEY_LEN: usize = 255;

/// Letters, digits and `-_.:` (UUIDs, ULIDs and `order-123:retry` style keys all fit).
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The key for this request, if any. Both present and different is `invalid_request`.
pub fn resolve_idempotency_key(
    header: Option<&str>,
    field: Option<&str>,
) -> Result<Option<String>, ApiError> {
    for (name, key) in [("Idempotency-Key", header), ("idempotency_key", field)] {
        if let Some(key) = key {
            if !valid_key(key) {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!(
                        "{name} must be 1 to {MAX_KEY_LEN} characters of letters, digits and -_.:"
                    ),
                )
                .with_details(json!({ "field": name })));
            }
        }
    }
    match (header, field) {
        (Some(header), Some(field)) if header != field => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "The Idempotency-Key header and the idempotency_key field differ",
        )
        .with_details(json!({ "field": "idempotency_key" }))),
        (header, field) => Ok(header.or(field).map(str::to_string)),
    }
}
