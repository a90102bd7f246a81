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
            && s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    token.len() <= MAX_TOKEN_BYTES
        && token.split('.').count() == 3
        && token.split('.').all(base64url)
}
