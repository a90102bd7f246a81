//! `/functions/v1/<name>`: forwards to the Deno process serving that function,
//! like Supabase's API gateway with `verify_jwt = true`: a valid project JWT
//! is required (except for the CORS preflight), everything else passes
//! through untouched. Gateway-made errors use the functions' own error shape
//! (`{"error": {"code", "message", "request_id"}}`, docs/BACKEND_API_REFERENCE.md) and carry
//! the CORS headers so a browser can read them.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth;
use crate::limits::{self, BodyError};
use crate::AppState;

/// Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded; `host` and
/// `content-length` are set again by the client.
const NOT_FORWARDED: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

const CORS: [(&str, &str); 3] = [
    ("access-control-allow-origin", "*"),
    (
        "access-control-allow-headers",
        "authorization, x-client-info, apikey, content-type, idempotency-key, x-retry-count",
    ),
    ("access-control-allow-methods", "POST, OPTIONS"),
];

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let body = json!({"error": {"code": code, "message": message, "request_id": request_id}});
    let mut response = (status, axum::Json(body)).into_response();
    for (name, value) in CORS {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response
}

fn forwardable(name: &HeaderName) -> bool {
    !NOT_FORWARDED.contains(&name.as_str())
}

pub async fn forward(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let name = uri
        .path()
        .trim_start_matches("/functions/v1/")
        .split('/')
        .next()
        .unwrap_or_default();
    let Some(upstream) = state.config.function_upstreams.get(name) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Requested function was not found",
        );
    };
    if method != Method::OPTIONS {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
        let Some(token) = bearer else {
            return error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Missing authorization header",
            );
        };
        if auth::verify(token.trim(), state.config.jwt_secret.as_bytes()).is_err() {
            return error(StatusCode::UNAUTHORIZED, "unauthorized", "Invalid JWT");
        }
    }
    // Only a verified caller's body is read, and no more of it than a function accepts.
    let limits = &state.config.limits;
    let body = match limits::read_body(
        &headers,
        body,
        limits.function_body_bytes,
        limits.body_read_timeout,
    )
    .await
    {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &format!(
                    "The request body is larger than {} bytes",
                    limits.function_body_bytes
                ),
            )
        }
        Err(BodyError::TimedOut) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request",
                &format!(
                    "The request body did not arrive within {} s",
                    limits.body_read_timeout.as_secs()
                ),
            )
        }
        Err(BodyError::Unreadable) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The request body could not be read",
            )
        }
    };
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let url = format!("{}{}", upstream.trim_end_matches('/'), path_and_query);
    let mut request = state.http.request(method, url).body(body);
    for (name, value) in headers.iter().filter(|(name, _)| forwardable(name)) {
        request = request.header(name, value);
    }
    let upstream_response = match request.send().await {
        Ok(response) => response,
        Err(failure) => {
            tracing::warn!(function = name, error = %failure, "function upstream unavailable");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_unavailable",
                "The function is not reachable; retry later",
            );
        }
    };
    let status = upstream_response.status();
    let response_headers = upstream_response.headers().clone();
    let body = match upstream_response.bytes().await {
        Ok(bytes) => bytes,
        Err(failure) => {
            tracing::warn!(function = name, error = %failure, "function upstream broke off");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_unavailable",
                "The function's answer was cut off; retry later",
            );
        }
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in response_headers
        .iter()
        .filter(|(name, _)| forwardable(name))
    {
        response.headers_mut().append(name, value.clone());
    }
    response
}
