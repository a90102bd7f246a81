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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_key_from_header_or_field() {
        assert_eq!(resolve_idempotency_key(None, None), Ok(None));
        assert_eq!(
            resolve_idempotency_key(Some("order-42:try.1"), None),
            Ok(Some("order-42:try.1".into()))
        );
        assert_eq!(
            resolve_idempotency_key(None, Some("k1")),
            Ok(Some("k1".into()))
        );
        assert_eq!(
            resolve_idempotency_key(Some("k1"), Some("k1")),
            Ok(Some("k1".into()))
        );
    }

    #[test]
    fn header_and_field_that_differ_are_refused() {
        let error = resolve_idempotency_key(Some("k1"), Some("k2")).expect_err("differ");
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.details, Some(json!({"field": "idempotency_key"})));
    }

    #[test]
    fn bad_keys_are_refused_naming_where_they_came_from() {
        let too_long = "k".repeat(MAX_KEY_LEN + 1);
        for (header, field, named) in [
            (Some(""), None, "Idempotency-Key"),
            (Some("has space"), None, "Idempotency-Key"),
            (None, Some("semi;colon"), "idempotency_key"),
            (None, Some("ключ"), "idempotency_key"),
            (None, Some(too_long.as_str()), "idempotency_key"),
        ] {
            let error = resolve_idempotency_key(header, field).expect_err("bad key");
            assert_eq!(error.code, ErrorCode::InvalidRequest);
            assert_eq!(error.details, Some(json!({"field": named})));
        }
        let longest = "k".repeat(MAX_KEY_LEN);
        assert!(resolve_idempotency_key(None, Some(&longest)).is_ok());
    }
}
