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

#[cfg(target_arch = "wasm32")]
pub mod boundary;

pub use dispatch::{parse_action, route, Action, Idempotency, Route};
pub use error::{ApiError, ErrorCode};
pub use http::{HttpRequest, HttpResponse};
pub use rpc::{read_rpc_response, Env, RpcCall, RpcRequest};
