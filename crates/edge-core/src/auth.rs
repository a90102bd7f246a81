//! The caller's identity as far as the edge knows it: a Bearer token that looks like a JWT.
//! PostgREST verifies the signature and expiry; the edge only refuses to call upstream
//! without one.

use crate::error::{ApiError, ErrorCode};
use crate::http::HttpRequest;

/// Far above any Supabase access token; bounds what is forwarded.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct AuthContext {
    token: String,
}

impl AuthContext {
    /// Reads `Authorization: Bearer <header>.<payload>.<signature>`; anything else is `unauthorized`.
    pub fn from_request(request: &HttpRequest) -> Result<AuthContext, ApiError> {
        let header = request
            .header("authorization")
            .ok_or_else(|| unauthorized("The Authorization header is missing"))?;
        let (scheme, token) = header
            .trim()
            .split_once(' ')
            .ok_or_else(|| unauthorized("The Authorization header must be `Bearer <JWT>`"))?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || !looks_like_jwt(token) {
            return Err(unauthorized(
                "The Authorization header must be `Bearer <JWT>`",
            ));
        }
        Ok(AuthContext {
            token: token.to_string(),
        })
    }

    pub fn token(&self) -> &str {
        &self.token
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, message)
}

/// Three non-empty base64url segments separated by dots (a compact JWS).
fn looks_like_jwt(token: &str) -> bool {
    let base64url = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    token.len() <= MAX_TOKEN_BYTES
        && token.split('.').count() == 3
        && token.split('.').all(base64url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_authorization(value: Option<&str>) -> HttpRequest {
        HttpRequest {
            headers: value
                .map(|v| ("authorization".to_string(), v.to_string()))
                .into_iter()
                .collect(),
            ..HttpRequest::default()
        }
    }

    #[test]
    fn accepts_a_bearer_jwt() {
        let auth =
            AuthContext::from_request(&with_authorization(Some("Bearer aa.bb.cc"))).expect("valid");
        assert_eq!(auth.token(), "aa.bb.cc");
        let auth = AuthContext::from_request(&with_authorization(Some("bearer  aa.bb.cc ")))
            .expect("scheme is case-insensitive");
        assert_eq!(auth.token(), "aa.bb.cc");
    }

    #[test]
    fn refuses_missing_or_malformed_authorization() {
        for value in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some("Basic dXNlcjpwYXNz"),
            Some("Bearer not-a-jwt"),
            Some("Bearer aa..cc"),
            Some("Bearer aa.bb.cc.dd"),
            Some("Bearer aa.b b.cc"),
            Some("Bearer sb_publishable_abc"),
        ] {
            let error =
                AuthContext::from_request(&with_authorization(value)).expect_err("must be refused");
            assert_eq!(error.code, ErrorCode::Unauthorized, "{value:?}");
            assert_eq!(error.status(), 401);
        }
        let huge = format!("Bearer a.{}.c", "b".repeat(MAX_TOKEN_BYTES));
        assert!(AuthContext::from_request(&with_authorization(Some(&huge))).is_err());
    }
}
