//! The wasm side of the shim contract (ARCHITECTURE.md, "The wasm boundary"): JavaScript
//! objects in and out, RPC requests sent with `fetch`, failures logged with the request id.
//! Compiled for wasm32 only; everything it calls is plain Rust tested natively.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, Headers, RequestInit, Response};

use crate::dispatch::{admit, plan, Action, Admission};
use crate::error::{ApiError, ErrorCode};
use crate::http::{HttpRequest, HttpResponse, REQUEST_HEADERS};
use crate::rpc::{read_rpc_response, Env, RpcMethod, RpcRequest, RPC_TIMEOUT_MS};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch(url, init)`: the runtime builds its one `Request` from a plain
    /// init, where a `Request` made here first would be built and then cloned.
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(url: &str, init: &RequestInit) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: u32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(timer: &JsValue);
}

thread_local! {
    /// The shim hands over the same `env` object on every request: decoded once, with
    /// the object it came from.
    static ENV: RefCell<Option<(JsValue, Rc<Env>)>> = const { RefCell::new(None) };
}

/// Answers one request of the shim: `{method, url, headers, body, request_id}` and
/// `{supabase_url, anon_key, secret_keys, jwt_secret}` in, `{status, headers, body}` out.
/// Never rejects for an expected failure.
pub async fn serve<A: Action>(request: JsValue, env: JsValue) -> JsValue {
    let request = decode_request(&request);
    let request_id = request.request_id.clone();
    let admitted = env_of(&env).and_then(|env| Ok((admit(&request, &env)?, env)));
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
    let unavailable = |cause: String| ApiError {
        internal: Some(format!("fetch {} failed: {cause}", rpc.url)),
        ..ApiError::of(ErrorCode::UpstreamUnavailable)
    };
    let headers = Object::new();
    for (name, value) in &rpc.headers {
        set(&headers, name, &JsValue::from_str(value));
    }
    let body = match rpc.method {
        RpcMethod::Get => None,
        RpcMethod::Post => Some(rpc.body.as_str()),
    };
    let deadline = Deadline::after(RPC_TIMEOUT_MS).map_err(|e| unavailable(describe(&e)))?;
    let response = send(&rpc.url, rpc.method, &headers, body, &deadline)
        .await
        .map_err(unavailable)?;
    let status = response.status();
    // Bytes, not `text()`: the body crosses into wasm memory as one copy instead of
    // being decoded to a JS string and encoded again (a year of metrics is ~280 KB).
    let body = read_bytes(&response, &deadline)
        .await
        .map_err(unavailable)?;
    let body = String::from_utf8(body)
        .map_err(|e| ApiError::internal(format!("PostgREST {status}: body is not UTF-8 ({e})")))?;
    read_rpc_response(status, &body)
}

/// An `AbortSignal` that aborts after `ms`, its timer cleared when the deadline is dropped.
/// `AbortSignal.timeout` cannot be cleared: each request's would fire long after its
/// answer, aborting the finished fetch's signals and making a `DOMException` (about 0.1 ms
/// of CPU per request, BENCHMARKS.md).
pub(crate) struct Deadline {
    controller: AbortController,
    timer: JsValue,
    ms: u32,
}

impl Deadline {
    pub(crate) fn after(ms: u32) -> Result<Deadline, JsValue> {
        let controller = AbortController::new()?;
        let abort: Function = Reflect::get(&controller, &JsValue::from_str("abort"))?.dyn_into()?;
        let timer = set_timeout(&abort.bind0(&controller), ms);
        Ok(Deadline {
            controller,
            timer,
            ms,
        })
    }

    fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }

    /// Why a fetch under this deadline failed: the deadline, or the fetch's own error.
    fn failure(&self, error: &JsValue) -> String {
        if self.signal().aborted() {
            format!("no answer within {} ms", self.ms)
        } else {
            describe(error)
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        clear_timeout(&self.timer);
    }
}

/// `fetch(url, {method, headers, body, signal})` until the response headers arrive.
pub(crate) async fn send(
    url: &str,
    method: RpcMethod,
    headers: &Object,
    body: Option<&str>,
    deadline: &Deadline,
) -> Result<Response, String> {
    let init = RequestInit::new();
    init.set_method(match method {
        RpcMethod::Get => "GET",
        RpcMethod::Post => "POST",
    });
    init.set_headers(headers);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
    }
    init.set_signal(Some(&deadline.signal()));
    let started = global_fetch(url, &init).map_err(|e| deadline.failure(&e))?;
    let response = JsFuture::from(started)
        .await
        .map_err(|e| deadline.failure(&e))?;
    response.dyn_into().map_err(|e| describe(&e))
}

/// The whole body of `response` as bytes, still under `deadline`.
pub(crate) async fn read_bytes(
    response: &Response,
    deadline: &Deadline,
) -> Result<Vec<u8>, String> {
    let started = response.array_buffer().map_err(|e| deadline.failure(&e))?;
    let buffer = JsFuture::from(started)
        .await
        .map_err(|e| deadline.failure(&e))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// A JavaScript error as a log line: its `name: message`, else its string form.
fn describe(error: &JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(error) => format!(
            "{}: {}",
            String::from(error.name()),
            String::from(error.message())
        ),
        None => format!("{error:?}"),
    }
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
    // Only the headers edge_core reads cross into wasm; `Headers.get` matches any case.
    let headers = get(request, "headers");
    let headers = match headers.dyn_ref::<Headers>() {
        Some(headers) => REQUEST_HEADERS
            .iter()
            .filter_map(|name| Some((name.to_string(), headers.get(name).ok()??)))
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

/// The decoded `env`, from the cache when the shim hands over the same object again.
fn env_of(env: &JsValue) -> Result<Rc<Env>, ApiError> {
    let cached = ENV.with(|cache| {
        let cache = cache.borrow();
        let (of, decoded) = cache.as_ref()?;
        (of == env).then(|| decoded.clone())
    });
    if let Some(decoded) = cached {
        return Ok(decoded);
    }
    let decoded = Rc::new(decode_env(env)?);
    ENV.with(|cache| *cache.borrow_mut() = Some((env.clone(), decoded.clone())));
    Ok(decoded)
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
