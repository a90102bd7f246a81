//! Who is calling, decided as the hosted API gateway and PostgREST decide it.
//!
//! - `Authorization: Bearer <JWT>`: ES256/RS256 user tokens against the
//!   project's JWKS (by `kid`), HS256 with the legacy secret (the legacy
//!   anon/service_role keys, and user tokens in legacy mode). `exp` is
//!   required, `aud` (when present) must be `authenticated`, `role` must be
//!   `anon`, `authenticated` or `service_role`, and `sub` (when present) a uuid.
//! - `Authorization: Bearer sb_...` or `apikey: sb_publishable_...` /
//!   `sb_secret_...`: an opaque API key acts as `anon` / `service_role`
//!   (supabase-js sends the key as the bearer when nobody is signed in).
//! - `apikey: <JWT>` without `Authorization`: verified like a bearer token.
//! - Nothing: the anonymous role.
//!
//! Refusals are 401 with PostgREST's JWT errors (PGRST301 when the token
//! cannot be decoded or verified, PGRST303 when its claims are refused).

use std::sync::Arc;

use axum::http::HeaderMap;
use local_auth::{ApiKeys, KeySet, VerifyError};
use serde_json::{json, Map, Value};

use crate::error::ApiError;

/// The role PostgREST uses when a request carries no JWT.
pub const ANON_ROLE: &str = "anon";

/// The roles a token may ask for; anything else (`authenticator`,
/// `postgres`, ...) is refused before it reaches the database.
const API_ROLES: [&str; 3] = [ANON_ROLE, "authenticated", "service_role"];

/// The verified identity of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub role: String,
    /// All claims, with `role` set to the effective role (as PostgREST does).
    pub claims: Map<String, Value>,
}

impl Caller {
    pub fn anonymous() -> Self {
        Self::of_role(ANON_ROLE)
    }

    fn of_role(role: &str) -> Self {
        let mut claims = Map::new();
        claims.insert("role".into(), Value::String(role.into()));
        Self {
            role: role.into(),
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

/// What the gateway verifies callers with.
pub struct Credentials {
    pub keys: Arc<KeySet>,
    pub api_keys: ApiKeys,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The bearer token of `Authorization`, if the header is there.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?;
    let text = value.to_str().unwrap_or_default().trim();
    let token = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .unwrap_or(text);
    Some(token.trim().to_owned())
}

fn invalid_api_key() -> ApiError {
    ApiError::jwt("PGRST301", "Invalid API key")
        .hint("Double check your Supabase `anon` or `service_role` API key.")
}

/// Resolves the caller of a request (see the module documentation).
pub fn authenticate(headers: &HeaderMap, credentials: &Credentials) -> Result<Caller, ApiError> {
    let apikey = headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let token = match bearer(headers) {
        Some(token) => token,
        None => match apikey {
            Some(key) if ApiKeys::is_opaque(key) || key.split('.').count() == 3 => key.to_owned(),
            _ => return Ok(Caller::anonymous()),
        },
    };
    if ApiKeys::is_opaque(&token) {
        return credentials
            .api_keys
            .role_of(&token)
            .map(Caller::of_role)
            .ok_or_else(invalid_api_key);
    }
    verify(&token, &credentials.keys)
}

/// Verifies a JWT and the claims PostgREST turns into a role.
pub fn verify(token: &str, keys: &KeySet) -> Result<Caller, ApiError> {
    let mut claims = keys.verify(token, now_secs()).map_err(postgrest_error)?;
    let role = match claims.get("role") {
        None => ANON_ROLE.to_owned(),
        Some(Value::String(role)) if API_ROLES.contains(&role.as_str()) => role.clone(),
        Some(_) => {
            return Err(ApiError::jwt(
                "PGRST303",
                "The JWT 'role' claim must be anon, authenticated or service_role",
            ))
        }
    };
    match claims.get("sub") {
        None => {}
        Some(Value::String(sub)) if uuid::Uuid::parse_str(sub).is_ok() => {}
        Some(_) => {
            return Err(ApiError::jwt(
                "PGRST303",
                "The JWT 'sub' claim must be a uuid",
            ))
        }
    }
    claims.insert("role".into(), Value::String(role.clone()));
    Ok(Caller { role, claims })
}

fn postgrest_error(error: VerifyError) -> ApiError {
    let code = if error.is_claims_error() {
        "PGRST303"
    } else {
        "PGRST301"
    };
    let api = ApiError::jwt(code, &error.to_string());
    match error.details() {
        Some(details) => api.details(details),
        None => api,
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

/// The anon and service_role keys are HS256 JWTs with the legacy secret,
/// shaped like the keys `supabase start` prints; user tokens carry the
/// claims hosted Auth issues (without a session) and are signed like
/// Auth's own: ES256 with the `kid`, or HS256 in legacy mode.
pub fn sign(
    request: &TokenRequest,
    keys: &KeySet,
    issuer: &str,
    now_secs: u64,
) -> Result<String, String> {
    let mut claims =
        json!({"role": request.role, "iat": now_secs, "exp": now_secs + request.ttl_secs});
    if request.role != "authenticated" {
        claims["iss"] = json!("supabase-demo");
        return keys.sign_legacy(claims.as_object().unwrap_or(&Map::new()));
    }
    let user = json!({
        "iss": issuer,
        "aud": "authenticated",
        "sub": request.sub,
        "email": request.email.clone().unwrap_or_default(),
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {},
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now_secs}],
        "is_anonymous": false,
    });
    if let (Some(claims), Some(user)) = (claims.as_object_mut(), user.as_object()) {
        claims.extend(user.clone());
    }
    keys.sign(claims.as_object().unwrap_or(&Map::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const SECRET: &str = "unit-test-secret-with-at-least-32-characters";
    const KEY: &str = r#"{"kty":"EC","kid":"5728fedb-dc5a-446d-a982-f66a1900953a","use":"sig","key_ops":["sign","verify"],"alg":"ES256","ext":true,"d":"MOmQEzUxaPf5xmO0mqRaKypIvliRwwo3zxcIsszJGs0","crv":"P-256","x":"uA74xADTm8M1djAubgDBuAHJXb-qat8Mdfg6UxRkTis","y":"TuHzVFiJHkbwjxPC6GRGFVL9dl-mpfWCO2KXYbswW5g"}"#;
    const USER: &str = "00000000-0000-4000-8000-000000000001";

    fn credentials() -> Credentials {
        Credentials {
            keys: Arc::new(KeySet::new(Some(KEY), SECRET).unwrap_or_else(|e| panic!("{e}"))),
            api_keys: ApiKeys {
                publishable: Some("sb_publishable_test".into()),
                secret: Some("sb_secret_test".into()),
            },
        }
    }

    fn now() -> u64 {
        now_secs() as u64
    }

    fn token(credentials: &Credentials, role: &str, ttl: u64, at: u64) -> String {
        let request = TokenRequest {
            role: role.into(),
            sub: Some(USER.into()),
            email: None,
            ttl_secs: ttl,
        };
        sign(&request, &credentials.keys, "http://localhost/auth/v1", at).unwrap_or_default()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(
                *name,
                HeaderValue::from_str(value).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        headers
    }

    fn refusal(result: Result<Caller, ApiError>) -> (u16, String, String) {
        match result {
            Ok(caller) => panic!("accepted as {}", caller.role),
            Err(error) => (error.status.as_u16(), error.code, error.message),
        }
    }

    #[test]
    fn user_tokens_are_es256_and_verify() {
        let credentials = credentials();
        let user = token(&credentials, "authenticated", 60, now());
        assert_eq!(
            jsonwebtoken::decode_header(&user).map(|h| h.alg).ok(),
            Some(jsonwebtoken::Algorithm::ES256)
        );
        let caller = verify(&user, &credentials.keys).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(caller.role, "authenticated");
        assert_eq!(caller.sub(), Some(USER));
        let key = token(&credentials, "service_role", 60, now());
        assert_eq!(
            jsonwebtoken::decode_header(&key).map(|h| h.alg).ok(),
            Some(jsonwebtoken::Algorithm::HS256)
        );
        assert_eq!(
            verify(&key, &credentials.keys).map(|c| c.role).ok(),
            Some("service_role".into())
        );
    }

    #[test]
    fn expired_token_is_pgrst303() {
        let credentials = credentials();
        let expired = token(&credentials, "authenticated", 10, now() - 3600);
        assert_eq!(
            refusal(verify(&expired, &credentials.keys)),
            (401, "PGRST303".into(), "JWT expired".into())
        );
    }

    #[test]
    fn roles_outside_the_api_roles_are_refused() {
        let credentials = credentials();
        for role in ["authenticator", "postgres", "supabase_admin", "none"] {
            let mut claims = Map::new();
            claims.insert("role".into(), json!(role));
            claims.insert("exp".into(), json!(now() + 60));
            let forged_role = credentials.keys.sign_legacy(&claims).unwrap_or_default();
            assert_eq!(
                refusal(verify(&forged_role, &credentials.keys)).1,
                "PGRST303",
                "{role}"
            );
        }
    }

    #[test]
    fn sub_must_be_a_uuid() {
        let credentials = credentials();
        let mut claims = Map::new();
        claims.insert("role".into(), json!("authenticated"));
        claims.insert("sub".into(), json!("not-a-uuid"));
        claims.insert("exp".into(), json!(now() + 60));
        let token = credentials.keys.sign(&claims).unwrap_or_default();
        assert_eq!(
            refusal(verify(&token, &credentials.keys)),
            (
                401,
                "PGRST303".into(),
                "The JWT 'sub' claim must be a uuid".into()
            )
        );
    }

    #[test]
    fn opaque_keys_act_as_anon_and_service_role() {
        let credentials = credentials();
        let role = |pairs: &[(&'static str, &str)]| {
            authenticate(&headers(pairs), &credentials).map(|caller| caller.role)
        };
        assert_eq!(
            role(&[("apikey", "sb_publishable_test")]).ok(),
            Some("anon".into())
        );
        assert_eq!(
            role(&[("apikey", "sb_secret_test")]).ok(),
            Some("service_role".into())
        );
        // supabase-js without a session: the key is the bearer as well.
        assert_eq!(
            role(&[
                ("apikey", "sb_secret_test"),
                ("authorization", "Bearer sb_secret_test")
            ])
            .ok(),
            Some("service_role".into())
        );
        let user = token(&credentials, "authenticated", 60, now());
        assert_eq!(
            role(&[
                ("apikey", "sb_publishable_test"),
                ("authorization", &format!("Bearer {user}"))
            ])
            .ok(),
            Some("authenticated".into())
        );
        assert_eq!(
            refusal(authenticate(
                &headers(&[("apikey", "sb_secret_guess")]),
                &credentials
            ))
            .0,
            401
        );
        assert_eq!(role(&[]).ok(), Some("anon".into()));
    }
}
