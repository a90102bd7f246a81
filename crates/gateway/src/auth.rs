//! Who is calling: the JWT (HS256, the project's secret) from
//! `Authorization: Bearer`, else the `apikey` header when it is a JWT, else the
//! anonymous role. Errors follow PostgREST's PGRST301/PGRST303.

use axum::http::HeaderMap;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The role PostgREST uses when a request carries no JWT.
pub const ANON_ROLE: &str = "anon";

/// PostgREST tolerates this much clock skew on `exp`/`nbf`/`iat`.
const ALLOWED_SKEW_SECS: u64 = 30;

/// The verified identity of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub role: String,
    /// All claims, with `role` set to the effective role (as PostgREST does).
    pub claims: Map<String, Value>,
}

impl Caller {
    pub fn anonymous() -> Self {
        let mut claims = Map::new();
        claims.insert("role".into(), Value::String(ANON_ROLE.into()));
        Self {
            role: ANON_ROLE.into(),
            claims,
        }
    }

    /// PostgREST answers 42501 with 403 for callers with a JWT role, 401 for anon.
    pub fn is_authenticated(&self) -> bool {
        self.role != ANON_ROLE
    }

    pub fn sub(&self) -> Option<&str> {
        self.claims.get("sub").and_then(Value::as_str)
    }
}

/// The JWT a request presents, if any: `Authorization: Bearer` first, then an
/// `apikey` header that looks like a JWT (new `sb_publishable_...` keys do not).
pub fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
        let text = value.to_str().unwrap_or_default().trim();
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .unwrap_or(text);
        return Some(token.trim().to_owned());
    }
    headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|key| key.split('.').count() == 3)
        .map(str::to_owned)
}

/// Resolves the caller of a request; no token means the anonymous role.
pub fn authenticate(headers: &HeaderMap, secret: &[u8]) -> Result<Caller, ApiError> {
    match presented_token(headers) {
        None => Ok(Caller::anonymous()),
        Some(token) => verify(&token, secret),
    }
}

/// Verifies an HS256 token and returns its caller.
pub fn verify(token: &str, secret: &[u8]) -> Result<Caller, ApiError> {
    if token.is_empty() {
        return Err(ApiError::jwt(
            "PGRST301",
            "Empty JWT is sent in Authorization header",
        ));
    }
    let parts = token.split('.').count();
    if parts != 3 {
        return Err(ApiError::jwt(
            "PGRST301",
            &format!("Expected 3 parts in JWT; got {parts}"),
        ));
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_aud = false;
    validation.validate_nbf = true;
    validation.leeway = ALLOWED_SKEW_SECS;
    let data = jsonwebtoken::decode::<Map<String, Value>>(
        token,
        &DecodingKey::from_secret(secret),
        &validation,
    )
    .map_err(|error| match error.kind() {
        ErrorKind::ExpiredSignature => ApiError::jwt("PGRST303", "JWT expired"),
        ErrorKind::ImmatureSignature => ApiError::jwt("PGRST303", "JWT not yet valid"),
        ErrorKind::InvalidSignature => {
            ApiError::jwt("PGRST301", "JWT cryptographic operation failed")
        }
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            ApiError::jwt("PGRST301", "Wrong or unsupported encoding algorithm")
        }
        ErrorKind::Json(_) => {
            // alg "none" and other unknown algorithms fail while reading the header.
            if header_algorithm(token).is_some_and(|alg| alg != "HS256") {
                ApiError::jwt("PGRST301", "Wrong or unsupported encoding algorithm")
            } else {
                ApiError::jwt("PGRST303", "Parsing claims failed")
            }
        }
        _ => ApiError::jwt("PGRST301", "JWT couldn't be decoded"),
    })?;
    let mut claims = data.claims;
    let role = match claims.get("role") {
        None => ANON_ROLE.to_owned(),
        Some(Value::String(role)) => role.clone(),
        Some(_) => return Err(ApiError::jwt("PGRST303", "Parsing claims failed")),
    };
    claims.insert("role".into(), Value::String(role.clone()));
    Ok(Caller { role, claims })
}

/// The `alg` of a token's header, read without trusting it.
fn header_algorithm(token: &str) -> Option<String> {
    use base64_header::decode_segment;
    let header = decode_segment(token.split('.').next()?)?;
    let value: Value = serde_json::from_slice(&header).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

/// Base64url decoding of one JWT segment (only used to read `alg` for error text).
mod base64_header {
    pub fn decode_segment(segment: &str) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(segment.len() * 3 / 4);
        let mut buffer = 0u32;
        let mut bits = 0;
        for byte in segment.bytes().filter(|b| *b != b'=') {
            let value = match byte {
                b'A'..=b'Z' => byte - b'A',
                b'a'..=b'z' => byte - b'a' + 26,
                b'0'..=b'9' => byte - b'0' + 52,
                b'-' | b'+' => 62,
                b'_' | b'/' => 63,
                _ => return None,
            };
            buffer = (buffer << 6) | u32::from(value);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push(((buffer >> bits) & 0xff) as u8);
            }
        }
        Some(out)
    }
}

/// What `gateway token` signs.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub role: String,
    pub sub: Option<String>,
    pub email: Option<String>,
    pub ttl_secs: u64,
}

/// Signs an HS256 JWT shaped like Supabase's (`iss`, `role`, `aud`, `iat`, `exp`, `sub`, `email`).
pub fn sign(request: &TokenRequest, secret: &[u8], now_secs: u64) -> Result<String, String> {
    let mut claims = Map::new();
    claims.insert("iss".into(), "supabase-local".into());
    claims.insert("role".into(), request.role.clone().into());
    let audience = if request.role == "authenticated" {
        "authenticated"
    } else {
        request.role.as_str()
    };
    claims.insert("aud".into(), audience.into());
    claims.insert("iat".into(), now_secs.into());
    claims.insert("exp".into(), (now_secs + request.ttl_secs).into());
    if let Some(sub) = &request.sub {
        claims.insert("sub".into(), sub.clone().into());
    }
    if let Some(email) = &request.email {
        claims.insert("email".into(), email.clone().into());
    }
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"unit-test-secret-with-at-least-32-characters";

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    }

    fn token(role: &str, ttl: u64, at: u64) -> String {
        let request = TokenRequest {
            role: role.into(),
            sub: Some("00000000-0000-0000-0000-000000000001".into()),
            email: None,
            ttl_secs: ttl,
        };
        sign(&request, SECRET, at).unwrap_or_default()
    }

    #[test]
    fn signed_token_round_trips() {
        let caller = verify(&token("authenticated", 60, now()), SECRET);
        let caller = caller.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(caller.role, "authenticated");
        assert_eq!(caller.sub(), Some("00000000-0000-0000-0000-000000000001"));
    }

    #[test]
    fn expired_token_is_pgrst303() {
        let error = verify(&token("authenticated", 10, now() - 3600), SECRET);
        assert_eq!(
            error.map_err(|e| (e.code, e.message)),
            Err(("PGRST303".into(), "JWT expired".into()))
        );
    }

    #[test]
    fn wrong_secret_is_pgrst301() {
        let error = verify(
            &token("anon", 60, now()),
            b"another-secret-another-secret-another",
        );
        assert_eq!(error.map_err(|e| e.code), Err("PGRST301".into()));
    }

    #[test]
    fn alg_none_is_rejected() {
        let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
        let body = "eyJyb2xlIjoic2VydmljZV9yb2xlIn0"; // {"role":"service_role"}
        let error = verify(&format!("{header}.{body}."), SECRET);
        assert_eq!(
            error.map_err(|e| (e.code, e.message)),
            Err((
                "PGRST301".into(),
                "Wrong or unsupported encoding algorithm".into()
            ))
        );
    }

    #[test]
    fn malformed_token_counts_parts() {
        let error = verify("abc.def", SECRET);
        assert_eq!(
            error.map_err(|e| e.message),
            Err("Expected 3 parts in JWT; got 2".into())
        );
    }

    #[test]
    fn publishable_apikey_is_not_a_token() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "apikey",
            "sb_publishable_abc"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(presented_token(&headers), None);
    }
}
