//! The caller's credentials as the request carries them, in the two forms a function
//! accepts (the `user` and `secret` modes of Supabase's `withSupabase`): a JWT in
//! `Authorization: Bearer` (a user session, or the legacy `service_role` key), verified by
//! `jwt` before any RPC; or one of the project's secret keys (`sb_secret_...`) in `apikey`.
//! Either way the credentials travel to PostgREST unchanged and the database decides.

use subtle::ConstantTimeEq;

use crate::error::{ApiError, ErrorCode};
use crate::http::HttpRequest;
use crate::rpc::Env;

/// Far above any Supabase access token; bounds what is forwarded.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum AuthContext {
    /// `Authorization: Bearer <JWT>`, still to be verified (`jwt`).
    Jwt(String),
    /// A secret key of the project in `apikey`: a trusted caller. `authorization` is
    /// `Bearer <the same key>` when the client sent it (supabase-js does by default).
    SecretKey {
        apikey: String,
        authorization: Option<String>,
    },
}

impl AuthContext {
    /// A secret key in `apikey` (with no other `Authorization` than that key), else
    /// `Authorization: Bearer <header>.<payload>.<signature>`; anything else is `unauthorized`.
    pub fn from_request(request: &HttpRequest, env: &Env) -> Result<AuthContext, ApiError> {
        let authorization = request.header("authorization").map(str::trim);
        if let Some(apikey) = request.header("apikey").map(str::trim) {
            let bearer_of_key = authorization
                .and_then(|value| value.split_once(' '))
                .is_some_and(|(scheme, token)| {
                    scheme.eq_ignore_ascii_case("bearer") && token.trim() == apikey
                });
            if (authorization.is_none() || bearer_of_key) && env.is_secret_key(apikey) {
                return Ok(AuthContext::SecretKey {
                    apikey: apikey.to_string(),
                    authorization: authorization.map(str::to_string),
                });
            }
        }
        let header =
            authorization.ok_or_else(|| unauthorized("The Authorization header is missing"))?;
        let (scheme, token) = header
            .split_once(' ')
            .ok_or_else(|| unauthorized("The Authorization header must be `Bearer <JWT>`"))?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || !looks_like_jwt(token) {
            return Err(unauthorized(
                "The Authorization header must be `Bearer <JWT>`",
            ));
        }
        Ok(AuthContext::Jwt(token.to_string()))
    }
}

/// Compares an `apikey` with a configured key without an early exit on the first
/// differing byte.
pub(crate) fn same_key(candidate: &str, key: &str) -> bool {
    candidate.as_bytes().ct_eq(key.as_bytes()).into()
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

    const SECRET: &str = "sb_secret_abcdefghijklmnop";

    fn env() -> Env {
        Env::new("http://127.0.0.1:24321", "sb_publishable_x")
            .expect("env")
            .with_secret_keys(&format!(r#"{{"default": "{SECRET}"}}"#))
            .expect("secret keys")
    }

    fn with_headers(headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..HttpRequest::default()
        }
    }

    fn with_authorization(value: Option<&str>) -> HttpRequest {
        with_headers(
            &value
                .map(|v| ("authorization", v))
                .into_iter()
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn accepts_a_bearer_jwt() {
        let auth = AuthContext::from_request(&with_authorization(Some("Bearer aa.bb.cc")), &env())
            .expect("valid");
        assert_eq!(auth, AuthContext::Jwt("aa.bb.cc".into()));
        let auth =
            AuthContext::from_request(&with_authorization(Some("bearer  aa.bb.cc ")), &env())
                .expect("scheme is case-insensitive");
        assert_eq!(auth, AuthContext::Jwt("aa.bb.cc".into()));
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
            let error = AuthContext::from_request(&with_authorization(value), &env())
                .expect_err("must be refused");
            assert_eq!(error.code, ErrorCode::Unauthorized, "{value:?}");
            assert_eq!(error.status(), 401);
        }
        let huge = format!("Bearer a.{}.c", "b".repeat(MAX_TOKEN_BYTES));
        assert!(AuthContext::from_request(&with_authorization(Some(&huge)), &env()).is_err());
    }

    #[test]
    fn a_secret_key_in_apikey_is_a_trusted_caller() {
        let alone = AuthContext::from_request(&with_headers(&[("apikey", SECRET)]), &env());
        assert_eq!(
            alone,
            Ok(AuthContext::SecretKey {
                apikey: SECRET.into(),
                authorization: None
            })
        );
        // supabase-js also sends the key as the Bearer token unless told not to.
        let bearer = format!("Bearer {SECRET}");
        let as_supabase_js = AuthContext::from_request(
            &with_headers(&[("apikey", SECRET), ("authorization", &bearer)]),
            &env(),
        );
        assert_eq!(
            as_supabase_js,
            Ok(AuthContext::SecretKey {
                apikey: SECRET.into(),
                authorization: Some(bearer)
            })
        );
    }

    #[test]
    fn a_user_jwt_beside_a_secret_key_is_the_jwt() {
        let auth = AuthContext::from_request(
            &with_headers(&[("apikey", SECRET), ("authorization", "Bearer aa.bb.cc")]),
            &env(),
        );
        assert_eq!(auth, Ok(AuthContext::Jwt("aa.bb.cc".into())));
    }

    #[test]
    fn other_keys_in_apikey_are_not_trusted() {
        for apikey in [
            "sb_publishable_x",
            "sb_secret_abcdefghijklmnoq",
            "SB_SECRET_ABCDEFGHIJKLMNOP",
            "sb_secret_abcdefghijklmno",
            "",
        ] {
            let error = AuthContext::from_request(&with_headers(&[("apikey", apikey)]), &env())
                .expect_err("refused");
            assert_eq!(error.code, ErrorCode::Unauthorized, "{apikey:?}");
        }
        // A secret key with another Bearer token that is no JWT is not a secret-key call.
        let error = AuthContext::from_request(
            &with_headers(&[
                ("apikey", SECRET),
                ("authorization", "Bearer sb_secret_other"),
            ]),
            &env(),
        )
        .expect_err("refused");
        assert_eq!(error.code, ErrorCode::Unauthorized);
        // Without configured secret keys nothing is a secret key.
        let no_keys = Env::new("http://127.0.0.1:24321", "anon").expect("env");
        let error = AuthContext::from_request(&with_headers(&[("apikey", SECRET)]), &no_keys)
            .expect_err("refused");
        assert_eq!(error.code, ErrorCode::Unauthorized);
    }
}
