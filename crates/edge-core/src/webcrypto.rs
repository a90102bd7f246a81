//! The I/O half of `jwt` (wasm32 only): the per-isolate cache of the project's JWKS, its
//! bounded fetch, and signature checks with WebCrypto (`crypto.subtle`, native code in
//! the Edge Runtime: nothing added to the module, docs/ARCHITECTURE.md has the figures).

use std::cell::RefCell;

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{CryptoKey, SubtleCrypto};

use crate::auth::AuthContext;
use crate::boundary::{read_bytes, send, Deadline};
use crate::error::{ApiError, ErrorCode};
use crate::jwt::{
    parse_jwks, Algorithm, Jwk, Jwt, KeyNeed, KeySet, VerifiedTokens, JWKS_FETCH_TIMEOUT_MS,
    MAX_JWKS_BYTES,
};
use crate::rpc::{Env, RpcMethod};

/// What one isolate keeps between requests.
#[derive(Default)]
struct Isolate {
    keys: KeySet,
    /// Tokens already verified, so a returning caller costs a lookup, not a signature check.
    verified: VerifiedTokens,
    /// The JWKS fetch in flight: every request that needs it awaits this one promise.
    fetch: Option<Promise>,
    /// Public keys imported into WebCrypto, by `kid` (only keys of `keys`, so at most
    /// `MAX_JWKS_KEYS`: a list is enough; emptied when a fetch brings a new set).
    imported: Vec<(String, CryptoKey)>,
    /// The legacy secret imported as an HMAC key, with the secret it was made from.
    hmac: Option<(String, CryptoKey)>,
}

thread_local! {
    static ISOLATE: RefCell<Isolate> = RefCell::new(Isolate::default());
}

/// What to do after one look at the cache, owned so no borrow is held across an await.
enum Step {
    Hmac(String),
    Jwk(Jwk),
    Fetch,
    AwaitFetch(Option<Promise>),
}

/// Verifies the caller's JWT (signature, `exp`, `nbf`, `aud`, `role`); a secret key was
/// already matched against the project's keys when the credentials were read.
pub async fn verify(auth: &AuthContext, env: &Env) -> Result<(), ApiError> {
    let AuthContext::Jwt(token) = auth else {
        return Ok(());
    };
    let now_secs = js_sys::Date::now() / 1000.0;
    if ISOLATE.with(|isolate| isolate.borrow_mut().verified.contains(token, now_secs)) {
        return Ok(());
    }
    let jwt = Jwt::decode(token)?;
    jwt.check_claims(now_secs)?;
    let key = key_for(&jwt, env).await?;
    let params = Object::new();
    let name = match jwt.algorithm {
        Algorithm::Es256 => {
            set(&params, "hash", "SHA-256");
            "ECDSA"
        }
        Algorithm::Rs256 => "RSASSA-PKCS1-v1_5",
        Algorithm::Hs256 => "HMAC",
    };
    set(&params, "name", name);
    let valid = subtle()?
        .verify_with_object_and_u8_array_and_u8_array(
            &params,
            &key,
            &jwt.signature,
            jwt.signing_input.as_bytes(),
        )
        .map(JsFuture::from)
        .map_err(|e| crypto_failure("verify", e))?
        .await
        .map_err(|e| crypto_failure("verify", e))?;
    if valid.as_bool() == Some(true) {
        ISOLATE.with(|isolate| isolate.borrow_mut().verified.insert(token, &jwt));
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Unauthorized,
            "The JWT signature is invalid",
        ))
    }
}

/// The WebCrypto key that verifies `jwt`, fetching the JWKS at most once for this request.
async fn key_for(jwt: &Jwt, env: &Env) -> Result<CryptoKey, ApiError> {
    let mut may_fetch = true;
    loop {
        let step = ISOLATE.with(|isolate| {
            let isolate = isolate.borrow();
            let need = isolate.keys.key_for(
                jwt,
                env.legacy_jwt_secret.as_deref(),
                js_sys::Date::now(),
                may_fetch,
            )?;
            Ok::<_, ApiError>(match need {
                KeyNeed::Secret(secret) => Step::Hmac(secret.to_string()),
                KeyNeed::Jwk(jwk) => Step::Jwk(jwk.clone()),
                KeyNeed::Fetch => Step::Fetch,
                KeyNeed::AwaitFetch => Step::AwaitFetch(isolate.fetch.clone()),
            })
        })?;
        let in_flight = match step {
            Step::Hmac(secret) => return hmac_key(&secret).await,
            Step::Jwk(jwk) => return public_key(&jwk, jwt.algorithm).await,
            Step::Fetch => Some(start_fetch(env.jwks_url())),
            Step::AwaitFetch(promise) => promise,
        };
        if let Some(promise) = in_flight {
            // The fetch task records its outcome itself and never rejects.
            let _ = JsFuture::from(promise).await;
        }
        may_fetch = false;
    }
}

/// Starts the one JWKS fetch of this isolate and returns the promise every waiter awaits.
fn start_fetch(url: String) -> Promise {
    ISOLATE.with(|isolate| isolate.borrow_mut().keys.fetch_started(js_sys::Date::now()));
    let promise = future_to_promise(async move {
        let outcome = fetch_jwks(&url).await;
        let recorded = ISOLATE.with(|isolate| {
            let mut isolate = isolate.borrow_mut();
            isolate.fetch = None;
            let fetched = outcome.is_ok();
            let recorded = isolate.keys.fetch_finished(outcome);
            if fetched {
                isolate.imported.clear();
                isolate.verified.clear();
            }
            recorded
        });
        if let Err(reason) = recorded {
            web_sys::console::error_1(&format!("JWKS fetch from {url} failed: {reason}").into());
        }
        Ok(JsValue::UNDEFINED)
    });
    ISOLATE.with(|isolate| isolate.borrow_mut().fetch = Some(promise.clone()));
    promise
}

async fn fetch_jwks(url: &str) -> Result<Vec<Jwk>, String> {
    let deadline = Deadline::after(JWKS_FETCH_TIMEOUT_MS).map_err(|e| format!("{e:?}"))?;
    let headers = Object::new();
    let _ = Reflect::set(
        &headers,
        &JsValue::from_str("Accept"),
        &JsValue::from_str("application/json"),
    );
    let response = send(url, RpcMethod::Get, &headers, None, &deadline).await?;
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let declared = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|length| length.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_JWKS_BYTES) {
        return Err(format!("the JWKS is larger than {MAX_JWKS_BYTES} bytes"));
    }
    let body = read_bytes(&response, &deadline).await?;
    parse_jwks(&body)
}

async fn public_key(jwk: &Jwk, algorithm: Algorithm) -> Result<CryptoKey, ApiError> {
    let kid = jwk.kid.clone().unwrap_or_default();
    let cached = ISOLATE.with(|isolate| {
        let isolate = isolate.borrow();
        let found = isolate.imported.iter().find(|(of, _)| *of == kid);
        found.map(|(_, key)| key.clone())
    });
    if let Some(key) = cached {
        return Ok(key);
    }
    let key_data = Object::new();
    set(&key_data, "kty", &jwk.kty);
    let params = Object::new();
    match algorithm {
        Algorithm::Es256 => {
            for (name, value) in [("crv", &jwk.crv), ("x", &jwk.x), ("y", &jwk.y)] {
                set(&key_data, name, value.as_deref().unwrap_or_default());
            }
            set(&params, "name", "ECDSA");
            set(&params, "namedCurve", "P-256");
        }
        Algorithm::Rs256 => {
            for (name, value) in [("n", &jwk.n), ("e", &jwk.e)] {
                set(&key_data, name, value.as_deref().unwrap_or_default());
            }
            set(&params, "name", "RSASSA-PKCS1-v1_5");
            set(&params, "hash", "SHA-256");
        }
        Algorithm::Hs256 => return Err(ApiError::internal("an HS256 token has no public key")),
    }
    let key = import(
        &format!("JWK {kid}"),
        subtle()?.import_key_with_object("jwk", &key_data, &params, false, &verify_usage()),
    )
    .await?;
    ISOLATE.with(|isolate| isolate.borrow_mut().imported.push((kid, key.clone())));
    Ok(key)
}

async fn hmac_key(secret: &str) -> Result<CryptoKey, ApiError> {
    let cached = ISOLATE.with(|isolate| {
        isolate
            .borrow()
            .hmac
            .as_ref()
            .filter(|(of, _)| of == secret)
            .map(|(_, key)| key.clone())
    });
    if let Some(key) = cached {
        return Ok(key);
    }
    let params = Object::new();
    set(&params, "name", "HMAC");
    set(&params, "hash", "SHA-256");
    let raw: Object = Uint8Array::from(secret.as_bytes()).into();
    let key = import(
        "the legacy JWT secret",
        subtle()?.import_key_with_object("raw", &raw, &params, false, &verify_usage()),
    )
    .await?;
    ISOLATE.with(|isolate| isolate.borrow_mut().hmac = Some((secret.to_string(), key.clone())));
    Ok(key)
}

/// A key the project published that WebCrypto refuses is our misconfiguration: `internal`.
async fn import(what: &str, started: Result<Promise, JsValue>) -> Result<CryptoKey, ApiError> {
    let failed = |error: JsValue| ApiError::internal(format!("importing {what} failed: {error:?}"));
    let key = JsFuture::from(started.map_err(failed)?)
        .await
        .map_err(failed)?;
    Ok(key.unchecked_into())
}

fn subtle() -> Result<SubtleCrypto, ApiError> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .ok()
        .filter(|crypto| crypto.is_object())
        .ok_or_else(|| ApiError::internal("globalThis.crypto is missing"))?;
    Ok(crypto.unchecked_into::<web_sys::Crypto>().subtle())
}

fn verify_usage() -> JsValue {
    Array::of1(&JsValue::from_str("verify")).into()
}

fn crypto_failure(step: &str, error: JsValue) -> ApiError {
    ApiError::internal(format!("crypto.subtle.{step} failed: {error:?}"))
}

fn set(object: &Object, key: &str, value: &str) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), &JsValue::from_str(value));
}
