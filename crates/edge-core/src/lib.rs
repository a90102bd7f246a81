//! Shared core of the three edge functions (inventory, analytics, admin).
//!
//! Plain Rust, tested natively: the request and response envelopes, the closed `ApiError`
//! set mapped to HTTP once, auth context, idempotency keys, the PostgREST RPC request
//! builder, the mapping of PostgREST answers and the JWT checks. Only `boundary` and
//! `webcrypto` (wasm32 only) touch JavaScript: they convert the shim's objects, send RPC
//! requests and the JWKS fetch with `fetch`, and check signatures with WebCrypto.

pub mod auth;
pub mod dispatch;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod jwt;
pub mod rpc;
pub mod validate;

#[cfg(not(target_arch = "wasm32"))]
pub mod typescript;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(target_arch = "wasm32")]
pub mod boundary;
#[cfg(target_arch = "wasm32")]
mod webcrypto;

pub use dispatch::{admit, parse_action, plan, route, Action, Admission, Idempotency, Route};
pub use error::{ApiError, ErrorCode};
pub use http::{HttpRequest, HttpResponse};
pub use rpc::{read_rpc_response, Env, RpcCall, RpcMethod, RpcRequest};

#[cfg(test)]
mod tests {
    use ts_rs::TS;

    use crate::http::{ErrorBody, ErrorObject, SuccessBody};

    #[test]
    fn types_ts() {
        let block = crate::typescript::render(&[
            <serde_json::Value as TS>::decl(),
            crate::ErrorCode::decl(),
            SuccessBody::<serde_json::Value>::decl(),
            ErrorBody::decl(),
            ErrorObject::decl(),
        ]);
        let file = crate::typescript::types_file(env!("CARGO_MANIFEST_DIR"));
        if let Err(stale) = crate::typescript::sync_block(&file, "edge-core", &block) {
            panic!("{stale}");
        }
    }
}
