//! The project's keys: the JWT signing key (ES256 with a `kid`, as a new
//! hosted project has; or the legacy HS256 secret), the public JWKS derived
//! from it, and the opaque `sb_publishable_...` / `sb_secret_...` API keys.
//!
//! `KeySet::verify` is the one token check of the local stack: the auth
//! endpoints and the gateway (REST and the functions relay) both call it and
//! only differ in how they word a refusal.

use std::collections::HashMap;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::pkcs8::EncodePrivateKey;
use serde_json::{json, Map, Value};

/// The audience of user access tokens, checked when a token carries `aud`.
pub const AUDIENCE: &str = "authenticated";

/// Clock skew tolerated on `exp`, `nbf` and `iat` (PostgREST's figure).
const ALLOWED_SKEW_SECS: i64 = 30;

/// Members of a private JWK that never leave the signing side.
const PRIVATE_MEMBERS: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];

/// Why a token was refused. The variants follow PostgREST's JWT errors, plus
/// the required `exp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    Empty,
    Parts(usize),
    /// No key for this `kid` / algorithm (a rotated-out or foreign key).
    UnknownKey(String),
    BadAlgorithm(String),
    BadSignature,
    Undecodable,
    ParsingClaims,
    MissingExp,
    ExpNotNumber,
    Expired,
    NotYetValid,
    IssuedInFuture,
    NotInAudience,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            Self::Empty => "Empty JWT is sent in Authorization header".to_owned(),
            Self::Parts(n) => format!("Expected 3 parts in JWT; got {n}"),
            Self::UnknownKey(_) => "No suitable key or wrong key type".to_owned(),
            Self::BadAlgorithm(_) => "Wrong or unsupported encoding algorithm".to_owned(),
            Self::BadSignature => "JWT cryptographic operation failed".to_owned(),
            Self::Undecodable => "JWT couldn't be decoded".to_owned(),
            Self::ParsingClaims => "Parsing claims failed".to_owned(),
            Self::MissingExp => "The JWT 'exp' claim is required".to_owned(),
            Self::ExpNotNumber => "The JWT 'exp' claim must be a number".to_owned(),
            Self::Expired => "JWT expired".to_owned(),
            Self::NotYetValid => "JWT not yet valid".to_owned(),
            Self::IssuedInFuture => "JWT issued at future".to_owned(),
            Self::NotInAudience => "JWT not in audience".to_owned(),
        };
        f.write_str(&text)
    }
}

impl VerifyError {
    /// True for a token that decoded but whose claims are refused
    /// (PostgREST's PGRST303 group); false for decoding and signature failures.
    pub fn is_claims_error(&self) -> bool {
        matches!(
            self,
            Self::ParsingClaims
                | Self::MissingExp
                | Self::ExpNotNumber
                | Self::Expired
                | Self::NotYetValid
                | Self::IssuedInFuture
                | Self::NotInAudience
        )
    }

    /// Details PostgREST gives for key and algorithm errors.
    pub fn details(&self) -> Option<&str> {
        match self {
            Self::UnknownKey(details) | Self::BadAlgorithm(details) => Some(details),
            _ => None,
        }
    }
}

enum Signer {
    /// ES256 with the first key of the signing key file.
    Asymmetric { kid: String, key: EncodingKey },
    /// HS256 with the legacy JWT secret, no `kid`.
    Legacy,
}

/// Signing and verification keys of the local project.
pub struct KeySet {
    signer: Signer,
    verifying: HashMap<String, (Algorithm, DecodingKey)>,
    jwks: Value,
    legacy_encoding: EncodingKey,
    legacy_decoding: DecodingKey,
}

impl KeySet {
    /// `signing_keys`: the JSON of a signing key file as `supabase gen
    /// signing-key` writes it (one private JWK, or an array of them; the
    /// first signs, all verify). `None` is the legacy mode: tokens are HS256
    /// with `legacy_secret`, and the JWKS is empty. HS256 tokens verify with
    /// `legacy_secret` in both modes, as on a hosted project whose legacy
    /// secret has not been revoked.
    pub fn new(signing_keys: Option<&str>, legacy_secret: &str) -> Result<Self, String> {
        let private_keys = match signing_keys {
            None => Vec::new(),
            Some(text) => match serde_json::from_str::<Value>(text)
                .map_err(|e| format!("signing keys are not JSON: {e}"))?
            {
                Value::Array(keys) => keys,
                key @ Value::Object(_) => vec![key],
                _ => return Err("signing keys must be a JWK or an array of JWKs".into()),
            },
        };
        let mut verifying = HashMap::new();
        let mut public_keys = Vec::new();
        let mut signer = Signer::Legacy;
        for (index, private) in private_keys.iter().enumerate() {
            let kid = private
                .get("kid")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("signing key {index} has no kid"))?
                .to_owned();
            let algorithm = match private.get("alg").and_then(Value::as_str) {
                Some("ES256") | None if private.get("kty") == Some(&json!("EC")) => {
                    Algorithm::ES256
                }
                Some("RS256") | None if private.get("kty") == Some(&json!("RSA")) => {
                    Algorithm::RS256
                }
                other => {
                    return Err(format!(
                        "signing key {kid}: unsupported algorithm {other:?} (ES256 or RS256)"
                    ))
                }
            };
            let public = public_jwk(private, &kid, algorithm)?;
            let jwk: Jwk = serde_json::from_value(public.clone())
                .map_err(|e| format!("signing key {kid}: {e}"))?;
            let decoding =
                DecodingKey::from_jwk(&jwk).map_err(|e| format!("signing key {kid}: {e}"))?;
            if index == 0 {
                if algorithm != Algorithm::ES256 {
                    return Err(format!(
                        "signing key {kid}: the signing (first) key must be ES256"
                    ));
                }
                signer = Signer::Asymmetric {
                    kid: kid.clone(),
                    key: es256_encoding_key(private)
                        .map_err(|e| format!("signing key {kid}: {e}"))?,
                };
            }
            verifying.insert(kid, (algorithm, decoding));
            public_keys.push(public);
        }
        Ok(Self {
            signer,
            verifying,
            jwks: json!({ "keys": public_keys }),
            legacy_encoding: EncodingKey::from_secret(legacy_secret.as_bytes()),
            legacy_decoding: DecodingKey::from_secret(legacy_secret.as_bytes()),
        })
    }

    /// The public keys, as `/auth/v1/.well-known/jwks.json` serves them.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// Whether user tokens are signed with an asymmetric key (not legacy HS256).
    pub fn is_asymmetric(&self) -> bool {
        matches!(self.signer, Signer::Asymmetric { .. })
    }

    /// Signs user access tokens: ES256 with the `kid`, or HS256 in legacy mode.
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String, String> {
        match &self.signer {
            Signer::Asymmetric { kid, key } => {
                let mut header = Header::new(Algorithm::ES256);
                header.kid = Some(kid.clone());
                jsonwebtoken::encode(&header, claims, key).map_err(|e| e.to_string())
            }
            Signer::Legacy => self.sign_legacy(claims),
        }
    }

    /// HS256 with the legacy secret: the anon and service_role JWT keys.
    pub fn sign_legacy(&self, claims: &Map<String, Value>) -> Result<String, String> {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.legacy_encoding,
        )
        .map_err(|e| e.to_string())
    }

    /// Checks the signature (ES256/RS256 by `kid`, HS256 with the legacy
    /// secret), then `exp` (required), `nbf`, `iat` and `aud` at `now_secs`.
    pub fn verify(&self, token: &str, now_secs: i64) -> Result<Map<String, Value>, VerifyError> {
        if token.is_empty() {
            return Err(VerifyError::Empty);
        }
        let parts = token.split('.').count();
        if parts != 3 {
            return Err(VerifyError::Parts(parts));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::Json(_) => {
                VerifyError::BadAlgorithm("the header's alg is not supported".into())
            }
            _ => VerifyError::Undecodable,
        })?;
        let key = match header.alg {
            Algorithm::HS256 => &self.legacy_decoding,
            Algorithm::ES256 | Algorithm::RS256 => {
                let kid = header.kid.as_deref().ok_or_else(|| {
                    VerifyError::UnknownKey("an asymmetric JWT must name its key (kid)".into())
                })?;
                match self.verifying.get(kid) {
                    Some((algorithm, key)) if *algorithm == header.alg => key,
                    Some(_) => {
                        return Err(VerifyError::UnknownKey(format!(
                            "key {kid} does not sign {:?}",
                            header.alg
                        )))
                    }
                    None => return Err(VerifyError::UnknownKey(format!("no key with kid {kid}"))),
                }
            }
            other => return Err(VerifyError::BadAlgorithm(format!("{other:?}"))),
        };
        let mut validation = Validation::new(header.alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => VerifyError::BadSignature,
                jsonwebtoken::errors::ErrorKind::Json(_)
                | jsonwebtoken::errors::ErrorKind::Utf8(_) => VerifyError::ParsingClaims,
                jsonwebtoken::errors::ErrorKind::Base64(_) => VerifyError::Undecodable,
                _ => VerifyError::BadSignature,
            })?
            .claims;
        check_claims(&claims, now_secs)?;
        Ok(claims)
    }
}

/// `exp` required and in the future, `nbf` and `iat` not in the future (30 s
/// of skew), `aud`, when present, naming `authenticated`.
fn check_claims(claims: &Map<String, Value>, now: i64) -> Result<(), VerifyError> {
    let number = |name: &str| claims.get(name).map(Value::as_f64);
    match number("exp") {
        None => return Err(VerifyError::MissingExp),
        Some(None) => return Err(VerifyError::ExpNotNumber),
        Some(Some(exp)) if (exp as i64) < now - ALLOWED_SKEW_SECS => {
            return Err(VerifyError::Expired)
        }
        Some(Some(_)) => {}
    }
    match number("nbf") {
        Some(None) => return Err(VerifyError::ParsingClaims),
        Some(Some(nbf)) if (nbf as i64) > now + ALLOWED_SKEW_SECS => {
            return Err(VerifyError::NotYetValid)
        }
        _ => {}
    }
    match number("iat") {
        Some(None) => return Err(VerifyError::ParsingClaims),
        Some(Some(iat)) if (iat as i64) > now + ALLOWED_SKEW_SECS => {
            return Err(VerifyError::IssuedInFuture)
        }
        _ => {}
    }
    match claims.get("aud") {
        None => Ok(()),
        Some(Value::String(aud)) if aud == AUDIENCE => Ok(()),
        Some(Value::Array(auds)) if auds.is_empty() || auds.contains(&json!(AUDIENCE)) => Ok(()),
        Some(Value::String(_) | Value::Array(_)) => Err(VerifyError::NotInAudience),
        Some(_) => Err(VerifyError::ParsingClaims),
    }
}

/// The public half of a private JWK, as a JWKS publishes it.
fn public_jwk(private: &Value, kid: &str, algorithm: Algorithm) -> Result<Value, String> {
    let mut public = private
        .as_object()
        .cloned()
        .ok_or_else(|| format!("signing key {kid} is not a JSON object"))?;
    for member in PRIVATE_MEMBERS {
        public.remove(member);
    }
    public.insert("kid".into(), json!(kid));
    public.insert("alg".into(), json!(format!("{algorithm:?}")));
    public.insert("use".into(), json!("sig"));
    public.insert("key_ops".into(), json!(["verify"]));
    public.insert("ext".into(), json!(true));
    Ok(Value::Object(public))
}

/// jsonwebtoken signs ES256 from PKCS#8; the key file holds a JWK.
fn es256_encoding_key(private: &Value) -> Result<EncodingKey, String> {
    let mut ec = Map::new();
    for member in ["kty", "crv", "x", "y", "d"] {
        if let Some(value) = private.get(member) {
            ec.insert(member.into(), value.clone());
        }
    }
    let secret = p256::SecretKey::from_jwk_str(&Value::Object(ec).to_string())
        .map_err(|_| "not a P-256 private key (kty EC, crv P-256, x, y, d)".to_owned())?;
    let der = secret.to_pkcs8_der().map_err(|e| e.to_string())?;
    Ok(EncodingKey::from_ec_der(der.as_bytes()))
}

/// The project's opaque API keys, as the hosted API gateway knows them:
/// the publishable key acts as `anon`, the secret key as `service_role`.
#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    pub publishable: Option<String>,
    pub secret: Option<String>,
}

/// Prefixes of the opaque API keys.
pub const PUBLISHABLE_PREFIX: &str = "sb_publishable_";
pub const SECRET_PREFIX: &str = "sb_secret_";

impl ApiKeys {
    /// Whether `key` has the shape of an opaque API key (not a JWT).
    pub fn is_opaque(key: &str) -> bool {
        key.starts_with(PUBLISHABLE_PREFIX) || key.starts_with(SECRET_PREFIX)
    }

    /// The role an opaque key acts as, if it is one of this project's keys.
    pub fn role_of(&self, key: &str) -> Option<&'static str> {
        if self.publishable.as_deref() == Some(key) {
            Some("anon")
        } else if self.secret.as_deref() == Some(key) {
            Some("service_role")
        } else {
            None
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Test-only P-256 keys (generated with `supabase gen signing-key --algorithm ES256`).
    pub const TEST_KEY: &str = r#"{"kty":"EC","kid":"5728fedb-dc5a-446d-a982-f66a1900953a","use":"sig","key_ops":["sign","verify"],"alg":"ES256","ext":true,"d":"MOmQEzUxaPf5xmO0mqRaKypIvliRwwo3zxcIsszJGs0","crv":"P-256","x":"uA74xADTm8M1djAubgDBuAHJXb-qat8Mdfg6UxRkTis","y":"TuHzVFiJHkbwjxPC6GRGFVL9dl-mpfWCO2KXYbswW5g"}"#;
    pub const SECRET: &str = "unit-test-secret-with-at-least-32-characters";

    fn now() -> i64 {
        1_800_000_000
    }

    fn claims(extra: Value) -> Map<String, Value> {
        let mut claims = json!({"sub": "00000000-0000-4000-8000-000000000001", "role": "authenticated",
            "aud": "authenticated", "iat": now(), "exp": now() + 3600});
        if let (Some(base), Value::Object(extra)) = (claims.as_object_mut(), extra) {
            base.extend(extra);
        }
        claims.as_object().cloned().unwrap_or_default()
    }

    fn keys() -> KeySet {
        KeySet::new(Some(TEST_KEY), SECRET).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn es256_tokens_carry_the_kid_and_verify() {
        let keys = keys();
        let token = keys.sign(&claims(json!({}))).unwrap_or_default();
        let header = jsonwebtoken::decode_header(&token).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(
            header.kid.as_deref(),
            Some("5728fedb-dc5a-446d-a982-f66a1900953a")
        );
        let verified = keys.verify(&token, now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verified["role"], "authenticated");
    }

    #[test]
    fn jwks_publishes_no_private_member() {
        let jwks = keys().jwks().clone();
        let key = &jwks["keys"][0];
        assert_eq!(key["kid"], "5728fedb-dc5a-446d-a982-f66a1900953a");
        assert_eq!(key["alg"], "ES256");
        assert_eq!(key["key_ops"], json!(["verify"]));
        assert!(key.get("d").is_none());
    }

    #[test]
    fn legacy_mode_signs_hs256_and_publishes_no_key() {
        let keys = KeySet::new(None, SECRET).unwrap_or_else(|e| panic!("{e}"));
        assert!(!keys.is_asymmetric());
        assert_eq!(keys.jwks(), &json!({"keys": []}));
        let token = keys.sign(&claims(json!({}))).unwrap_or_default();
        assert_eq!(
            jsonwebtoken::decode_header(&token).map(|h| h.alg).ok(),
            Some(Algorithm::HS256)
        );
        assert!(keys.verify(&token, now()).is_ok());
    }

    #[test]
    fn claims_are_checked_like_postgrest_with_exp_required() {
        let keys = keys();
        let verify = |extra: Value| {
            let token = keys.sign(&claims(extra)).unwrap_or_default();
            keys.verify(&token, now())
        };
        assert_eq!(
            verify(json!({"exp": now() - 31})),
            Err(VerifyError::Expired)
        );
        assert!(verify(json!({"exp": now() - 29})).is_ok(), "30 s of skew");
        assert_eq!(verify(json!({"exp": null})), Err(VerifyError::ExpNotNumber));
        assert_eq!(
            verify(json!({"nbf": now() + 60})),
            Err(VerifyError::NotYetValid)
        );
        assert_eq!(
            verify(json!({"iat": now() + 60})),
            Err(VerifyError::IssuedInFuture)
        );
        assert_eq!(
            verify(json!({"aud": "anon"})),
            Err(VerifyError::NotInAudience)
        );
        assert!(verify(json!({"aud": ["x", "authenticated"]})).is_ok());
        let mut no_exp = claims(json!({}));
        no_exp.remove("exp");
        let token = keys.sign(&no_exp).unwrap_or_default();
        assert_eq!(keys.verify(&token, now()), Err(VerifyError::MissingExp));
        let mut no_aud = claims(json!({}));
        no_aud.remove("aud");
        let token = keys.sign_legacy(&no_aud).unwrap_or_default();
        assert!(
            keys.verify(&token, now()).is_ok(),
            "the legacy keys carry no aud"
        );
    }

    #[test]
    fn foreign_keys_and_algorithms_are_refused() {
        let keys = keys();
        let other = KeySet::new(
            Some(&TEST_KEY.replace("5728fedb-dc5a-446d-a982-f66a1900953a", "other-kid")),
            "another-secret-another-secret-another",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let wrong_kid = other.sign(&claims(json!({}))).unwrap_or_default();
        assert!(matches!(
            keys.verify(&wrong_kid, now()),
            Err(VerifyError::UnknownKey(_))
        ));
        let forged_hs256 = other.sign_legacy(&claims(json!({}))).unwrap_or_default();
        assert_eq!(
            keys.verify(&forged_hs256, now()),
            Err(VerifyError::BadSignature)
        );
        // A valid token whose payload was swapped keeps a signature that no longer matches.
        let token = keys.sign(&claims(json!({}))).unwrap_or_default();
        let service = keys
            .sign(&claims(json!({"role": "service_role"})))
            .unwrap_or_default();
        let parts: Vec<&str> = token.split('.').collect();
        let service_parts: Vec<&str> = service.split('.').collect();
        let spliced = format!("{}.{}.{}", parts[0], service_parts[1], parts[2]);
        assert_eq!(keys.verify(&spliced, now()), Err(VerifyError::BadSignature));
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.";
        assert!(matches!(
            keys.verify(none, now()),
            Err(VerifyError::BadAlgorithm(_))
        ));
        assert_eq!(keys.verify("a.b", now()), Err(VerifyError::Parts(2)));
        assert_eq!(keys.verify("", now()), Err(VerifyError::Empty));
    }

    #[test]
    fn opaque_keys_act_as_their_role() {
        let keys = ApiKeys {
            publishable: Some("sb_publishable_abc".into()),
            secret: Some("sb_secret_xyz".into()),
        };
        assert_eq!(keys.role_of("sb_publishable_abc"), Some("anon"));
        assert_eq!(keys.role_of("sb_secret_xyz"), Some("service_role"));
        assert_eq!(keys.role_of("sb_secret_other"), None);
        assert!(ApiKeys::is_opaque("sb_secret_other"));
        assert!(!ApiKeys::is_opaque("eyJ.a.b"));
    }
}
