//! The wasm side of the shim contract (ARCHITECTURE.md, "The wasm boundary"): JavaScript
//! objects in and out, RPC requests sent with `fetch`, failures logged with the request id.
//! Compiled for wasm32 only; everything it calls is plain Rust tested natively.

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::dispatch::{admit, plan, Action, Admission};
use crate::error::{ApiError, ErrorCode};
use crate::http::{HttpRequest, HttpResponse};
use crate::rpc::{read_rpc_response, Env, RpcMethod, RpcRequest, RPC_TIMEOUT_MS};

/// Answers one request of the shim: `{method, url, headers, body, request_id}` and
/// `{supabase_url, anon_key, secret_keys, jwt_secret}` in, `{status, headers, body}` out.
/// Never rejects for an expected failure.
pub async fn serve<A: Action>(request: JsValue, env: JsValue) -> JsValue {
    let request = decode_request(&request);
    let request_id = request.request_id.clone();
    let admitted = decode_env(&env).and_then(|env| Ok((admit(&request, &env)?, env)));
    let outcome = match admitted {
        Ok((Admission::Preflight, _)) => {
            return encode_response(&HttpResponse::preflight(&request_id))
        }
        Ok((Admission::Post(auth), env)) => {
            // The caller is verified before the body is even parsed, and long before any RPC.
            match crate::webcrypto::verify(&auth, &env).await {
                Ok(()) => match plan::<A>(&request, &env, &auth) {
                    Ok(rpc) => call(&rpc).await,
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            }
        }
        Err(error) => Err(error),
    };
    let response = match outcome {
        Ok(data) => HttpResponse::success(&data, &request_id),
        Err(error) => {
            log_error(&request_id, &error);
            HttpResponse::error(&error, &request_id)
        }
    };
    encode_response(&response)
}

/// Sends the RPC request; a failed fetch (DNS, refused, reset) or one that takes longer
/// than `RPC_TIMEOUT_MS` (headers and body) is `upstream_unavailable`.
async fn call(rpc: &RpcRequest) -> Result<Box<serde_json::value::RawValue>, ApiError> {
    let unavailable = |cause: gloo_net::Error| ApiError {
        internal: Some(format!("fetch {} failed: {cause}", rpc.url)),
        ..ApiError::of(ErrorCode::UpstreamUnavailable)
    };
    let timeout = web_sys::AbortSignal::timeout_with_u32(RPC_TIMEOUT_MS);
    let mut builder = match rpc.method {
        RpcMethod::Get => gloo_net::http::Request::get(&rpc.url),
        RpcMethod::Post => gloo_net::http::Request::post(&rpc.url),
    }
    .abort_signal(Some(&timeout));
    for (name, value) in &rpc.headers {
        builder = builder.header(name, value);
    }
    let request = match rpc.method {
        RpcMethod::Get => builder.build(),
        RpcMethod::Post => builder.body(rpc.body.as_str()),
    };
    let response = request
        .map_err(unavailable)?
        .send()
        .await
        .map_err(unavailable)?;
    let status = response.status();
    // Bytes, not `text()`: the body crosses into wasm memory as one copy instead of
    // being decoded to a JS string and encoded again (a year of metrics is ~280 KB).
    let body = response.binary().await.map_err(unavailable)?;
    let body = String::from_utf8(body)
        .map_err(|e| ApiError::internal(format!("PostgREST {status}: body is not UTF-8 ({e})")))?;
    read_rpc_response(status, &body)
}

fn log_error(request_id: &str, error: &ApiError) {
    let line = match &error.internal {
        Some(internal) => format!(
            "[request {request_id}] {} ({}): {internal}",
            error.code.as_str(),
            error.status()
        ),
        None => format!(
            "[request {request_id}] {} ({}): {}",
            error.code.as_str(),
            error.status(),
            error.message
        ),
    };
    if error.status() >= 500 {
        web_sys::console::error_1(&line.into());
    } else {
        web_sys::console::warn_1(&line.into());
    }
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn get_string(object: &JsValue, key: &str) -> String {
    get(object, key).as_string().unwrap_or_default()
}

fn decode_request(request: &JsValue) -> HttpRequest {
    let headers = get(request, "headers");
    let headers = match headers.dyn_ref::<Object>() {
        Some(object) => Object::entries(object)
            .iter()
            .filter_map(|entry| {
                let entry: js_sys::Array = entry.unchecked_into();
                Some((
                    entry.get(0).as_string()?.to_ascii_lowercase(),
                    entry.get(1).as_string()?,
                ))
            })
            .collect(),
        None => Default::default(),
    };
    let body = get(request, "body");
    let body = match body.dyn_ref::<Uint8Array>() {
        Some(bytes) => bytes.to_vec(),
        None => Vec::new(),
    };
    HttpRequest {
        method: get_string(request, "method").to_ascii_uppercase(),
        headers,
        body,
        request_id: get_string(request, "request_id"),
    }
}

fn decode_env(env: &JsValue) -> Result<Env, ApiError> {
    Ok(Env::new(
        &get_string(env, "supabase_url"),
        &get_string(env, "anon_key"),
    )?
    .with_secret_keys(&get_string(env, "secret_keys"))?
    .with_legacy_jwt_secret(&get_string(env, "jwt_secret")))
}

fn encode_response(response: &HttpResponse) -> JsValue {
    let headers = Object::new();
    for (name, value) in &response.headers {
        set(&headers, name, &JsValue::from_str(value));
    }
    let result = Object::new();
    set(&result, "status", &JsValue::from(response.status));
    set(&result, "headers", &headers);
    // UTF-8 bytes, which `new Response` sends as they are (a string would be
    // decoded out of wasm memory and encoded again).
    set(&result, "body", &Uint8Array::from(response.body.as_bytes()));
    result.into()
}

fn set(object: &Object, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}
