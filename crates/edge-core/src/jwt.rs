//! Verifying a caller's JWT before any RPC, as Supabase documents for functions deployed
//! with `verify_jwt = false` (the platform's own check refuses asymmetric tokens).
//!
//! Plain Rust: decoding the token, the claim checks (`exp`, `nbf`, `aud`, `role`), which
//! key may verify which algorithm, and the per-isolate cache of the project's JWKS with
//! its refetch bound. The signature check itself (WebCrypto) and the JWKS fetch live in
//! the wasm-only `webcrypto` module; docs/ARCHITECTURE.md says why WebCrypto.

use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorCode};

/// Where a Supabase project publishes its signing keys, below `SUPABASE_URL`.
pub const JWKS_PATH: &str = "/auth/v1/.well-known/jwks.json";

/// At most one JWKS fetch per isolate in this window, whatever `kid`s callers send: an
/// attacker with random `kid`s cannot make the function fetch per request. A rotated key
/// is picked up by the first request that names it once the window has passed.
pub const JWKS_REFETCH_INTERVAL_MS: f64 = 30_000.0;

/// A JWKS fetch that takes longer is abandoned (the request answers 503).
pub const JWKS_FETCH_TIMEOUT_MS: u32 = 5_000;

/// Larger JWKS answers are refused; a project has a handful of keys of < 1 KB each.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Keys kept from one JWKS; the rest are ignored (a cache must be sized).
pub const MAX_JWKS_KEYS: usize = 16;

/// Tokens this isolate has verified and remembers (see `VerifiedTokens`).
pub const MAX_VERIFIED_TOKENS: usize = 256;

/// `user` tokens must carry this audience (Supabase Auth sets it on every session token).
const USER_AUDIENCE: &str = "authenticated";

/// The signature algorithms a Supabase project signs with; every other `alg` (`none`,
/// `HS384`, `PS256`, ...) is refused before any key is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256: the default of JWT signing keys.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256: the other asymmetric choice of signing keys.
    Rs256,
    /// HMAC-SHA256 with the legacy shared secret.
    Hs256,
}

impl Algorithm {
    fn parse(alg: &str) -> Option<Algorithm> {
        match alg {
            "ES256" => Some(Algorithm::Es256),
            "RS256" => Some(Algorithm::Rs256),
            "HS256" => Some(Algorithm::Hs256),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Rs256 => "RS256",
            Algorithm::Hs256 => "HS256",
        }
    }
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRole {
    /// A signed-in user (`role: authenticated`, `aud: authenticated`).
    Authenticated,
    /// The legacy `service_role` key: a trusted caller.
    ServiceRole,
}

/// The claims a function checks; the rest of the payload is the database's business.
#[derive(Debug)]
struct Claims {
    exp: Option<f64>,
    nbf: Option<f64>,
    /// `aud` as one string or an array of strings.
    aud: Vec<String>,
    role: Option<String>,
}

/// The JSON object encoded in one base64url part of the token. Parsed as `Value` (already
/// in every module for the request body) rather than with derived types: each derived
/// deserializer adds kilobytes to the three modules.
fn json_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = base64url().decode(part).ok()?;
    match serde_json::from_str(std::str::from_utf8(&bytes).ok()?).ok()? {
        Value::Object(object) => Some(object),
        _ => None,
    }
}

fn string(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A compact JWS, decoded but not yet trusted.
#[derive(Debug)]
pub struct Jwt {
    pub algorithm: Algorithm,
    pub kid: Option<String>,
    claims: Claims,
    /// `<header>.<payload>` as sent: the bytes the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, message)
}

fn base64url() -> GeneralPurpose {
    GeneralPurpose::new(
        &URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

impl Jwt {
    /// Decodes `header.payload.signature`; an unsupported `alg` or a signature of the
    /// wrong size for it is refused here.
    pub fn decode(token: &str) -> Result<Jwt, ApiError> {
        let malformed = || unauthorized("The JWT is malformed");
        let (signing_input, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        let (header, payload) = signing_input.split_once('.').ok_or_else(malformed)?;
        if payload.contains('.') {
            return Err(malformed());
        }
        let header = json_object(header).ok_or_else(malformed)?;
        let payload = json_object(payload).ok_or_else(malformed)?;
        let signature = base64url().decode(signature).map_err(|_| malformed())?;
        let number = |key: &str| match payload.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value.as_f64().map(Some).ok_or_else(malformed),
        };
        let claims = Claims {
            exp: number("exp")?,
            nbf: number("nbf")?,
            aud: match payload.get("aud") {
                Some(Value::String(one)) => vec![one.clone()],
                Some(Value::Array(many)) => many
                    .iter()
                    .filter_map(|aud| aud.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            },
            role: string(&payload, "role"),
        };
        // Extensions the verifier must understand (RFC 7515 §4.1.11): we understand none.
        if header.contains_key("crit") {
            return Err(unauthorized("The JWT has critical extensions"));
        }
        let algorithm =
            Algorithm::parse(header.get("alg").and_then(Value::as_str).unwrap_or(""))
                .ok_or_else(|| unauthorized("The JWT's signature algorithm is not accepted"))?;
        let expected_len = match algorithm {
            Algorithm::Es256 => Some(64),
            Algorithm::Hs256 => Some(32),
            Algorithm::Rs256 => None,
        };
        if expected_len.is_some_and(|len| signature.len() != len) {
            return Err(unauthorized("The JWT signature is invalid"));
        }
        Ok(Jwt {
            algorithm,
            kid: string(&header, "kid"),
            claims,
            signing_input: signing_input.to_string(),
            signature,
        })
    }

    /// `exp` (required) is in the future, `nbf` (if any) in the past, and the role is one
    /// that may call a function: `authenticated` with `aud` `authenticated`, or
    /// `service_role`. Anything else (`anon`, no role) is refused: no action serves anon.
    pub fn check_claims(&self, now_secs: f64) -> Result<TokenRole, ApiError> {
        let claims = &self.claims;
        let exp = claims
            .exp
            .ok_or_else(|| unauthorized("The JWT has no expiry"))?;
        if now_secs >= exp {
            return Err(unauthorized("The JWT has expired"));
        }
        if claims.nbf.is_some_and(|nbf| now_secs < nbf) {
            return Err(unauthorized("The JWT is not valid yet"));
        }
        match claims.role.as_deref() {
            Some("authenticated") => {
                if claims.aud.iter().any(|aud| aud == USER_AUDIENCE) {
                    Ok(TokenRole::Authenticated)
                } else {
                    Err(unauthorized("The JWT's audience is not `authenticated`"))
                }
            }
            Some("service_role") => Ok(TokenRole::ServiceRole),
            _ => Err(unauthorized(
                "Sign in first: this function serves signed-in users and trusted callers",
            )),
        }
    }
}

/// One public key of the project's JWKS (RFC 7517), as WebCrypto imports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Jwk {
    pub kty: String,
    pub kid: Option<String>,
    pub alg: Option<String>,
    /// `use`.
    pub use_: Option<String>,
    pub key_ops: Option<Vec<String>>,
    pub crv: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
    pub n: Option<String>,
    pub e: Option<String>,
}

impl Jwk {
    /// The key of one JWKS entry; `None` for an entry that is no JSON object with a `kty`.
    fn from_value(entry: &Value) -> Option<Jwk> {
        let object = entry.as_object()?;
        let key_ops = match object.get("key_ops") {
            None => None,
            Some(ops) => Some(
                ops.as_array()?
                    .iter()
                    .filter_map(|op| op.as_str().map(str::to_string))
                    .collect(),
            ),
        };
        Some(Jwk {
            kty: string(object, "kty")?,
            kid: string(object, "kid"),
            alg: string(object, "alg"),
            use_: string(object, "use"),
            key_ops,
            crv: string(object, "crv"),
            x: string(object, "x"),
            y: string(object, "y"),
            n: string(object, "n"),
            e: string(object, "e"),
        })
    }

    /// Whether this key may verify a token of `algorithm`: the key type and curve fit it,
    /// its own `alg` (if stated) is the same, and it is a signature key. This is what stops
    /// algorithm confusion: an HS256 token is never checked against a public key.
    pub fn verifies(&self, algorithm: Algorithm) -> bool {
        let shape = match algorithm {
            Algorithm::Es256 => {
                self.kty == "EC"
                    && self.crv.as_deref() == Some("P-256")
                    && self.x.is_some()
                    && self.y.is_some()
            }
            Algorithm::Rs256 => self.kty == "RSA" && self.n.is_some() && self.e.is_some(),
            Algorithm::Hs256 => false,
        };
        shape
            && self
                .alg
                .as_deref()
                .is_none_or(|alg| alg == algorithm.name())
            && self.use_.as_deref().is_none_or(|use_| use_ == "sig")
            && self
                .key_ops
                .as_ref()
                .is_none_or(|ops| ops.iter().any(|op| op == "verify"))
    }
}

/// Parses a JWKS answer, keeping at most `MAX_JWKS_KEYS` keys that have a `kid` and could
/// verify an ES256 or RS256 token. Symmetric or malformed entries are skipped.
pub fn parse_jwks(body: &[u8]) -> Result<Vec<Jwk>, String> {
    if body.len() > MAX_JWKS_BYTES {
        return Err(format!("the JWKS is larger than {MAX_JWKS_BYTES} bytes"));
    }
    let text = std::str::from_utf8(body).map_err(|_| "the JWKS is not UTF-8".to_string())?;
    let set: Value =
        serde_json::from_str(text).map_err(|e| format!("the JWKS is not JSON: {e}"))?;
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the JWKS has no `keys` array")?;
    Ok(keys
        .iter()
        .filter_map(Jwk::from_value)
        .filter(|key| {
            key.kid.is_some() && (key.verifies(Algorithm::Es256) || key.verifies(Algorithm::Rs256))
        })
        .take(MAX_JWKS_KEYS)
        .collect())
}

/// The state of the last JWKS fetch of this isolate.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fetch {
    InFlight { started_ms: f64 },
    Succeeded { started_ms: f64 },
    Failed { started_ms: f64 },
}

/// What verifying one token needs next.
#[derive(Debug, PartialEq)]
pub enum KeyNeed<'a> {
    /// HMAC with the legacy secret.
    Secret(&'a str),
    /// This key of the project's JWKS.
    Jwk(&'a Jwk),
    /// Fetch the JWKS now (the refetch bound allows it), then look again.
    Fetch,
    /// Another request is fetching the JWKS: wait for it, then look again.
    AwaitFetch,
}

/// The project's signing keys as this isolate last fetched them.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<Jwk>,
    last_fetch: Option<Fetch>,
}

impl KeySet {
    /// Which key verifies `jwt`. `may_fetch` is false on the look after a fetch, so one
    /// request causes at most one fetch and waits at most once.
    pub fn key_for<'a>(
        &'a self,
        jwt: &Jwt,
        legacy_secret: Option<&'a str>,
        now_ms: f64,
        may_fetch: bool,
    ) -> Result<KeyNeed<'a>, ApiError> {
        if jwt.algorithm == Algorithm::Hs256 {
            return legacy_secret.map(KeyNeed::Secret).ok_or_else(|| {
                unauthorized(
                    "HS256 tokens are not accepted: the project signs with its JWT signing keys",
                )
            });
        }
        let kid = jwt
            .kid
            .as_deref()
            .ok_or_else(|| unauthorized("The JWT names no signing key (`kid`)"))?;
        if let Some(key) = self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)) {
            return if key.verifies(jwt.algorithm) {
                Ok(KeyNeed::Jwk(key))
            } else {
                Err(unauthorized(
                    "The JWT's algorithm does not match its signing key",
                ))
            };
        }
        let unknown = || unauthorized("The JWT's signing key (`kid`) is not one of the project's");
        let keys_unavailable = || ApiError {
            internal: Some(format!(
                "the JWKS at {JWKS_PATH} could not be fetched; JWT `kid` {kid} is unknown"
            )),
            ..ApiError::new(
                ErrorCode::UpstreamUnavailable,
                "The project's signing keys could not be fetched; retry shortly",
            )
        };
        if !may_fetch {
            return match self.last_fetch {
                Some(Fetch::Failed { .. }) => Err(keys_unavailable()),
                _ => Err(unknown()),
            };
        }
        match self.last_fetch {
            None => Ok(KeyNeed::Fetch),
            Some(Fetch::InFlight { .. }) => Ok(KeyNeed::AwaitFetch),
            Some(Fetch::Succeeded { started_ms } | Fetch::Failed { started_ms })
                if now_ms - started_ms >= JWKS_REFETCH_INTERVAL_MS =>
            {
                Ok(KeyNeed::Fetch)
            }
            Some(Fetch::Failed { .. }) => Err(keys_unavailable()),
            Some(Fetch::Succeeded { .. }) => Err(unknown()),
        }
    }

    /// Call when a fetch starts, before awaiting it.
    pub fn fetch_started(&mut self, now_ms: f64) {
        self.last_fetch = Some(Fetch::InFlight { started_ms: now_ms });
    }

    /// Call when the fetch started last ends: the keys it brought, or why it failed (the
    /// cached keys then stay as they were).
    pub fn fetch_finished(&mut self, outcome: Result<Vec<Jwk>, String>) -> Result<(), String> {
        let started_ms = match self.last_fetch {
            Some(Fetch::InFlight { started_ms }) => started_ms,
            _ => return Err("no JWKS fetch was in flight".into()),
        };
        match outcome {
            Ok(keys) => {
                self.keys = keys;
                self.last_fetch = Some(Fetch::Succeeded { started_ms });
                Ok(())
            }
            Err(reason) => {
                self.last_fetch = Some(Fetch::Failed { started_ms });
                Err(reason)
            }
        }
    }
}

/// The tokens this isolate has verified, until they expire: a client sends the same session
/// token on every call for up to an hour, and checking its signature again each time would
/// cost far more than the rest of the request (BENCHMARKS.md, "Caller verification"). A hit
/// needs the exact same token, signature included, so nothing unverified ever matches.
/// At most `MAX_VERIFIED_TOKENS` (8 KiB each at most), the oldest evicted first; emptied
/// when the key set changes.
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    entries: std::collections::VecDeque<(String, f64)>,
}

impl VerifiedTokens {
    /// Whether `token` was verified and has not expired since (an expired one is dropped).
    pub fn contains(&mut self, token: &str, now_secs: f64) -> bool {
        // Compared from the end: tokens share their header, never their signature.
        let position = self.entries.iter().position(|(known, _)| {
            known.len() == token.len() && known.bytes().rev().eq(token.bytes().rev())
        });
        match position {
            Some(index) if now_secs < self.entries[index].1 => true,
            Some(index) => {
                self.entries.remove(index);
                false
            }
            None => false,
        }
    }

    /// Remembers `token`, which `jwt` was decoded from and which passed every check.
    pub fn insert(&mut self, token: &str, jwt: &Jwt) {
        let Some(exp) = jwt.claims.exp else {
            return;
        };
        if self.entries.len() == MAX_VERIFIED_TOKENS {
            self.entries.pop_front();
        }
        self.entries.push_back((token.to_string(), exp));
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: f64 = 1_800_000_000.0;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A token with this header and payload and a signature of `signature_len` bytes
    /// (claim and key checks come before the signature, which WebCrypto checks).
    fn token(header: Value, claims: Value, signature_len: usize) -> String {
        format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes()),
            b64(&vec![7; signature_len])
        )
    }

    fn user_claims() -> Value {
        json!({"sub": "u1", "role": "authenticated", "aud": "authenticated", "exp": NOW + 60.0})
    }

    fn es256(kid: &str, claims: Value) -> Jwt {
        Jwt::decode(&token(
            json!({"alg": "ES256", "kid": kid, "typ": "JWT"}),
            claims,
            64,
        ))
        .expect("decodes")
    }

    fn ec_key(kid: &str) -> Jwk {
        Jwk::from_value(&json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "key_ops": ["verify"], "x": "eA", "y": "eQ"
        }))
        .expect("jwk")
    }

    fn rsa_key(kid: &str) -> Jwk {
        Jwk::from_value(&json!({"kty": "RSA", "kid": kid, "n": "bg", "e": "AQAB"})).expect("jwk")
    }

    fn loaded(keys: Vec<Jwk>, at_ms: f64) -> KeySet {
        let mut set = KeySet::default();
        set.fetch_started(at_ms);
        set.fetch_finished(Ok(keys)).expect("in flight");
        set
    }

    fn message(result: Result<impl std::fmt::Debug, ApiError>) -> String {
        let error = result.expect_err("refused");
        assert_eq!(error.code, ErrorCode::Unauthorized, "{error:?}");
        assert_eq!(error.status(), 401);
        error.message
    }

    #[test]
    fn decodes_header_claims_signing_input_and_signature() {
        let text = token(json!({"alg": "ES256", "kid": "k1"}), user_claims(), 64);
        let jwt = Jwt::decode(&text).expect("decodes");
        assert_eq!(jwt.algorithm, Algorithm::Es256);
        assert_eq!(jwt.kid.as_deref(), Some("k1"));
        assert_eq!(jwt.signature, vec![7; 64]);
        assert_eq!(
            format!("{}.{}", jwt.signing_input, b64(&jwt.signature)),
            text
        );
        assert_eq!(jwt.check_claims(NOW), Ok(TokenRole::Authenticated));
    }

    #[test]
    fn malformed_tokens_are_unauthorized() {
        let claims = b64(user_claims().to_string().as_bytes());
        let header = b64(br#"{"alg":"ES256","kid":"k"}"#);
        let sig = b64(&[1; 64]);
        for text in [
            format!("{header}.{claims}"),
            format!("{header}.{claims}.{sig}.{sig}"),
            format!("{}.{claims}.{sig}", b64(b"not json")),
            format!("{header}.{}.{sig}", b64(b"[1,2]")),
            format!("{header}.{claims}.***"),
            format!("{}.{claims}.{sig}", b64(br#"{"kid":"k"}"#)),
        ] {
            message(Jwt::decode(&text));
        }
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        for alg in [
            "none", "None", "HS384", "HS512", "PS256", "ES384", "RS512", "EdDSA", "",
        ] {
            let text = token(json!({"alg": alg, "kid": "k1"}), user_claims(), 64);
            assert!(message(Jwt::decode(&text)).contains("algorithm"), "{alg}");
        }
        // `alg: none` with an empty signature, the classic form.
        let text = format!(
            "{}.{}.",
            b64(br#"{"alg":"none"}"#),
            b64(user_claims().to_string().as_bytes())
        );
        message(Jwt::decode(&text));
    }

    #[test]
    fn critical_extensions_and_wrong_signature_sizes_are_refused() {
        let crit = json!({"alg": "ES256", "kid": "k1", "crit": ["b64"], "b64": false});
        message(Jwt::decode(&token(crit, user_claims(), 64)));
        // ES256 signatures are r || s (64 bytes), never DER; HS256 ones are 32 bytes.
        message(Jwt::decode(&token(
            json!({"alg": "ES256", "kid": "k"}),
            user_claims(),
            70,
        )));
        message(Jwt::decode(&token(
            json!({"alg": "HS256"}),
            user_claims(),
            64,
        )));
    }

    #[test]
    fn exp_is_required_and_checked() {
        let mut claims = user_claims();
        claims["exp"] = json!(NOW - 1.0);
        assert!(message(es256("k", claims.clone()).check_claims(NOW)).contains("expired"));
        claims["exp"] = json!(NOW);
        message(es256("k", claims.clone()).check_claims(NOW));
        claims["exp"] = json!(NOW + 0.5);
        assert!(es256("k", claims.clone()).check_claims(NOW).is_ok());
        claims.as_object_mut().expect("object").remove("exp");
        assert!(message(es256("k", claims).check_claims(NOW)).contains("expiry"));
        let mut claims = user_claims();
        claims["exp"] = json!("tomorrow");
        message(Jwt::decode(&token(
            json!({"alg": "ES256", "kid": "k"}),
            claims,
            64,
        )));
    }

    #[test]
    fn nbf_in_the_future_is_refused() {
        let mut claims = user_claims();
        claims["nbf"] = json!(NOW + 10.0);
        assert!(message(es256("k", claims.clone()).check_claims(NOW)).contains("not valid yet"));
        claims["nbf"] = json!(NOW);
        assert!(es256("k", claims).check_claims(NOW).is_ok());
    }

    #[test]
    fn user_tokens_need_the_authenticated_audience() {
        for aud in [json!(null), json!("anon"), json!(["other"]), json!(7)] {
            let mut claims = user_claims();
            claims["aud"] = aud.clone();
            let jwt = Jwt::decode(&token(json!({"alg": "ES256", "kid": "k"}), claims, 64));
            match jwt {
                Ok(jwt) => assert!(message(jwt.check_claims(NOW)).contains("audience"), "{aud}"),
                Err(error) => assert_eq!(error.code, ErrorCode::Unauthorized),
            }
        }
        let mut claims = user_claims();
        claims["aud"] = json!(["web", "authenticated"]);
        assert_eq!(
            es256("k", claims).check_claims(NOW),
            Ok(TokenRole::Authenticated)
        );
    }

    #[test]
    fn only_authenticated_and_service_role_may_call() {
        // The legacy service_role key carries no audience.
        let service = json!({"role": "service_role", "iss": "supabase", "exp": NOW + 60.0});
        assert_eq!(
            es256("k", service).check_claims(NOW),
            Ok(TokenRole::ServiceRole)
        );
        for role in [
            json!("anon"),
            json!("postgres"),
            json!("supabase_admin"),
            json!(null),
        ] {
            let mut claims = user_claims();
            claims["role"] = role.clone();
            let jwt = Jwt::decode(&token(json!({"alg": "ES256", "kid": "k"}), claims, 64));
            assert!(
                jwt.is_err()
                    || message(jwt.expect("decoded").check_claims(NOW)).contains("Sign in")
            );
        }
    }

    #[test]
    fn hs256_uses_only_the_legacy_secret() {
        let keys = loaded(vec![ec_key("k1")], 0.0);
        let hs = Jwt::decode(&token(
            json!({"alg": "HS256", "kid": "k1"}),
            user_claims(),
            32,
        ))
        .expect("decodes");
        assert_eq!(
            keys.key_for(&hs, Some("s3cret"), NOW, true),
            Ok(KeyNeed::Secret("s3cret"))
        );
        // Without a legacy secret there is nothing an HS256 token may be checked with;
        // in particular never the public key its `kid` names (algorithm confusion: an
        // HS256 token "signed" with the public key as HMAC secret).
        assert!(message(keys.key_for(&hs, None, NOW, true)).contains("HS256"));
    }

    #[test]
    fn a_key_only_verifies_its_own_algorithm() {
        let keys = loaded(vec![ec_key("ec"), rsa_key("rsa")], 0.0);
        let rs_with_ec_kid = Jwt::decode(&token(
            json!({"alg": "RS256", "kid": "ec"}),
            user_claims(),
            256,
        ))
        .expect("decodes");
        assert!(message(keys.key_for(&rs_with_ec_kid, None, NOW, true)).contains("does not match"));
        let es_with_rsa_kid = es256("rsa", user_claims());
        message(keys.key_for(&es_with_rsa_kid, None, NOW, true));
        let es = es256("ec", user_claims());
        assert_eq!(
            keys.key_for(&es, None, NOW, true),
            Ok(KeyNeed::Jwk(&ec_key("ec")))
        );
        let rs = Jwt::decode(&token(
            json!({"alg": "RS256", "kid": "rsa"}),
            user_claims(),
            256,
        ))
        .expect("decodes");
        assert_eq!(
            keys.key_for(&rs, None, NOW, true),
            Ok(KeyNeed::Jwk(&rsa_key("rsa")))
        );
        // A key whose own `alg` or `use` says otherwise is not used.
        let mut wrong_alg = ec_key("k");
        wrong_alg.alg = Some("ES384".into());
        assert!(!wrong_alg.verifies(Algorithm::Es256));
        let mut encryption = ec_key("k");
        encryption.use_ = Some("enc".into());
        assert!(!encryption.verifies(Algorithm::Es256));
        let mut no_verify = ec_key("k");
        no_verify.key_ops = Some(vec!["sign".into()]);
        assert!(!no_verify.verifies(Algorithm::Es256));
    }

    #[test]
    fn asymmetric_tokens_need_a_kid() {
        let keys = loaded(vec![ec_key("k1")], 0.0);
        let jwt = Jwt::decode(&token(json!({"alg": "ES256"}), user_claims(), 64)).expect("decodes");
        assert!(message(keys.key_for(&jwt, None, NOW, true)).contains("kid"));
    }

    #[test]
    fn the_first_unknown_kid_fetches_then_waits_then_looks_again() {
        let mut keys = KeySet::default();
        let jwt = es256("k1", user_claims());
        assert_eq!(keys.key_for(&jwt, None, 1_000.0, true), Ok(KeyNeed::Fetch));
        keys.fetch_started(1_000.0);
        // Concurrent requests wait for the same fetch instead of starting their own.
        assert_eq!(
            keys.key_for(&jwt, None, 1_001.0, true),
            Ok(KeyNeed::AwaitFetch)
        );
        keys.fetch_finished(Ok(vec![ec_key("k1")]))
            .expect("in flight");
        assert_eq!(
            keys.key_for(&jwt, None, 1_002.0, false),
            Ok(KeyNeed::Jwk(&ec_key("k1")))
        );
    }

    #[test]
    fn unknown_kids_refetch_at_most_once_per_interval() {
        let mut keys = loaded(vec![ec_key("k1")], 1_000.0);
        // Random kids within the interval: refused without a fetch.
        for (i, now) in [1_000.0, 5_000.0, 1_000.0 + JWKS_REFETCH_INTERVAL_MS - 1.0]
            .into_iter()
            .enumerate()
        {
            let jwt = es256(&format!("random-{i}"), user_claims());
            assert!(message(keys.key_for(&jwt, None, now, true)).contains("kid"));
        }
        // After it, the next unknown kid may fetch once (a rotated key is picked up).
        let later = 1_000.0 + JWKS_REFETCH_INTERVAL_MS;
        let rotated = es256("k2", user_claims());
        assert_eq!(
            keys.key_for(&rotated, None, later, true),
            Ok(KeyNeed::Fetch)
        );
        keys.fetch_started(later);
        keys.fetch_finished(Ok(vec![ec_key("k1"), ec_key("k2")]))
            .expect("in flight");
        assert!(matches!(
            keys.key_for(&rotated, None, later, false),
            Ok(KeyNeed::Jwk(_))
        ));
        let unknown = es256("k3", user_claims());
        message(keys.key_for(&unknown, None, later + 1.0, true));
        // After a fetch, a request never fetches again.
        message(keys.key_for(
            &unknown,
            None,
            later + 2.0 * JWKS_REFETCH_INTERVAL_MS,
            false,
        ));
    }

    #[test]
    fn a_failed_fetch_is_upstream_unavailable_and_bounded_too() {
        let mut keys = KeySet::default();
        keys.fetch_started(0.0);
        assert_eq!(
            keys.fetch_finished(Err("connection refused".into())),
            Err("connection refused".into())
        );
        let jwt = es256("k1", user_claims());
        let error = keys.key_for(&jwt, None, 1.0, false).expect_err("no keys");
        assert_eq!(error.code, ErrorCode::UpstreamUnavailable);
        assert_eq!(error.status(), 503);
        let error = keys
            .key_for(&jwt, None, 1_000.0, true)
            .expect_err("bounded");
        assert_eq!(error.code, ErrorCode::UpstreamUnavailable);
        assert_eq!(
            keys.key_for(&jwt, None, JWKS_REFETCH_INTERVAL_MS, true),
            Ok(KeyNeed::Fetch)
        );
        // HS256 with a legacy secret never needs the JWKS, fetched or not.
        let hs = Jwt::decode(&token(json!({"alg": "HS256"}), user_claims(), 32)).expect("decodes");
        assert_eq!(
            keys.key_for(&hs, Some("s"), 1.0, true),
            Ok(KeyNeed::Secret("s"))
        );
    }

    #[test]
    fn a_failed_fetch_keeps_the_keys_it_had() {
        let mut keys = loaded(vec![ec_key("k1")], 0.0);
        keys.fetch_started(JWKS_REFETCH_INTERVAL_MS);
        assert!(keys.fetch_finished(Err("timeout".into())).is_err());
        assert_eq!(keys.keys, vec![ec_key("k1")]);
        assert!(
            keys.fetch_finished(Ok(vec![])).is_err(),
            "nothing in flight"
        );
    }

    #[test]
    fn verified_tokens_match_exactly_until_they_expire() {
        let mut verified = VerifiedTokens::default();
        let text = token(json!({"alg": "ES256", "kid": "k"}), user_claims(), 64);
        let jwt = Jwt::decode(&text).expect("decodes");
        assert!(!verified.contains(&text, NOW));
        verified.insert(&text, &jwt);
        assert!(verified.contains(&text, NOW));
        // The same header and payload with another signature is not the verified token.
        let (input, _) = text.rsplit_once('.').expect("three parts");
        let forged = format!("{input}.{}", b64(&[8; 64]));
        assert!(!verified.contains(&forged, NOW));
        assert!(!verified.contains(&text[1..], NOW));
        // Expired: no longer a hit, and forgotten.
        assert!(!verified.contains(&text, NOW + 60.0));
        assert!(!verified.contains(&text, NOW));
        verified.insert(&text, &jwt);
        verified.clear();
        assert!(!verified.contains(&text, NOW));
    }

    #[test]
    fn verified_tokens_are_bounded_oldest_first() {
        let mut verified = VerifiedTokens::default();
        let tokens: Vec<String> = (0..=MAX_VERIFIED_TOKENS)
            .map(|i| {
                let mut claims = user_claims();
                claims["sub"] = json!(format!("user-{i}"));
                token(json!({"alg": "ES256", "kid": "k"}), claims, 64)
            })
            .collect();
        for text in &tokens {
            verified.insert(text, &Jwt::decode(text).expect("decodes"));
        }
        assert_eq!(verified.entries.len(), MAX_VERIFIED_TOKENS);
        assert!(
            !verified.contains(&tokens[0], NOW),
            "the oldest was evicted"
        );
        assert!(verified.contains(&tokens[1], NOW));
        assert!(verified.contains(&tokens[MAX_VERIFIED_TOKENS], NOW));
    }

    #[test]
    fn parse_jwks_keeps_usable_signature_keys_only() {
        let mut entries = vec![
            json!({"kty": "EC", "crv": "P-256", "kid": "ec", "x": "eA", "y": "eQ", "alg": "ES256"}),
            json!({"kty": "RSA", "kid": "rsa", "n": "bg", "e": "AQAB"}),
            json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
            json!({"kty": "EC", "crv": "P-384", "kid": "p384", "x": "eA", "y": "eQ"}),
            json!({"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ"}),
            json!("not a key"),
        ];
        let keys = parse_jwks(json!({ "keys": entries }).to_string().as_bytes()).expect("parses");
        let kids: Vec<_> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        assert_eq!(kids, ["ec", "rsa"]);

        entries = (0..40)
            .map(|i| json!({"kty": "RSA", "kid": format!("k{i}"), "n": "bg", "e": "AQAB"}))
            .collect();
        let keys = parse_jwks(json!({ "keys": entries }).to_string().as_bytes()).expect("parses");
        assert_eq!(keys.len(), MAX_JWKS_KEYS);

        assert!(parse_jwks(b"<html>").is_err());
        assert!(parse_jwks(br#"{"keys": 1}"#).is_err());
        let huge = format!(r#"{{"keys": [], "pad": "{}"}}"#, "x".repeat(MAX_JWKS_BYTES));
        assert!(parse_jwks(huge.as_bytes()).is_err());
    }
}
