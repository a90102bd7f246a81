//! Shared core of the three edge functions (inventory, analytics, admin).
//!
//! Plain Rust, tested natively: the request and response envelopes, the closed `ApiError`
//! set mapped to HTTP once, auth context, idempotency keys, the PostgREST RPC request
//! builder and the mapping of PostgREST answers. Only `boundary` (wasm32 only) touches
//! JavaScript: it converts the shim's objects and sends RPC requests with `fetch`.

pub mod auth;
pub mod dispatch;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod rpc;
pub mod validate;

#[cfg(not(target_arch = "wasm32"))]
pub mod typescript;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(target_arch = "wasm32")]
pub mod boundary;

pub use dispatch::{parse_action, route, Action, Idempotency, Route};
pub use error::{ApiError, ErrorCode};
pub use http::{HttpRequest, HttpResponse};
pub use rpc::{read_rpc_response, Env, RpcCall, RpcRequest};

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
