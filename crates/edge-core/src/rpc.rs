//! PostgREST RPC calls as data: which function with which named arguments, the HTTP
//! request that carries it, and how PostgREST's answer maps onto `ApiError`.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::auth::AuthContext;
use crate::error::{ApiError, ErrorCode};

/// What the shim reads from the Edge Runtime environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Env {
    /// `SUPABASE_URL` without a trailing slash.
    pub supabase_url: String,
    /// `SUPABASE_ANON_KEY` or the publishable key; sent as `apikey` only.
    pub anon_key: String,
}

impl Env {
    pub fn new(supabase_url: &str, anon_key: &str) -> Result<Env, ApiError> {
        let supabase_url = supabase_url.trim().trim_end_matches('/');
        if !(supabase_url.starts_with("http://") || supabase_url.starts_with("https://")) {
            return Err(ApiError::internal(format!(
                "SUPABASE_URL is not an http(s) URL: {supabase_url:?}"
            )));
        }
        if anon_key.trim().is_empty() {
            return Err(ApiError::internal(
                "neither SUPABASE_ANON_KEY nor SUPABASE_PUBLISHABLE_KEYS is set",
            ));
        }
        Ok(Env {
            supabase_url: supabase_url.to_string(),
            anon_key: anon_key.trim().to_string(),
        })
    }
}

/// One SQL function call: its name and named `p_...` arguments.
///
/// Absent optional arguments are left out, not sent as null, so the SQL defaults apply.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcCall {
    pub function: &'static str,
    pub args: Map<String, Value>,
}

impl RpcCall {
    pub fn new(function: &'static str) -> RpcCall {
        RpcCall {
            function,
            args: Map::new(),
        }
    }

    pub fn arg(mut self, name: &str, value: impl Into<Value>) -> RpcCall {
        self.args.insert(name.to_string(), value.into());
        self
    }

    pub fn optional_arg<T: Into<Value>>(self, name: &str, value: Option<T>) -> RpcCall {
        match value {
            Some(value) => self.arg(name, value),
            None => self,
        }
    }
}

/// The HTTP request to PostgREST carrying an `RpcCall`.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RpcRequest {
    /// `POST {supabase_url}/rest/v1/rpc/<function>` with the caller's JWT (so RLS sees the
    /// caller) and the anon key as `apikey` (never as the Bearer token).
    pub fn build(env: &Env, auth: &AuthContext, call: &RpcCall) -> RpcRequest {
        RpcRequest {
            url: format!("{}/rest/v1/rpc/{}", env.supabase_url, call.function),
            headers: vec![
                ("Authorization".into(), format!("Bearer {}", auth.token())),
                ("apikey".into(), env.anon_key.clone()),
                ("Content-Type".into(), "application/json".into()),
                ("Accept".into(), "application/json".into()),
            ],
            body: Value::Object(call.args.clone()).to_string(),
        }
    }
}

/// PostgREST's error body: `{code, message, details, hint}`.
#[derive(Debug, Deserialize, Default)]
struct PostgrestError {
    code: Option<String>,
    message: Option<String>,
    details: Option<String>,
    hint: Option<String>,
}

/// Codes the SQL functions raise as `message` (ARCHITECTURE.md, "Errors raised by SQL").
const SQL_RAISED_CODES: [ErrorCode; 8] = [
    ErrorCode::InvalidRequest,
    ErrorCode::Unauthorized,
    ErrorCode::Forbidden,
    ErrorCode::NotFound,
    ErrorCode::InsufficientStock,
    ErrorCode::StaleStock,
    ErrorCode::IdempotencyConflict,
    ErrorCode::Conflict,
];

/// Turns PostgREST's answer (status and body text) into the action's `data` or an `ApiError`.
pub fn read_rpc_response(status: u16, body: &str) -> Result<Value, ApiError> {
    if (200..300).contains(&status) {
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_str(body).map_err(|err| {
            ApiError::internal(format!("PostgREST {status}: success body is not JSON ({err}): {body}"))
        });
    }
    let upstream = format!("PostgREST {status}: {body}");
    let Ok(error) = serde_json::from_str::<PostgrestError>(body) else {
        // Not PostgREST's JSON: a proxy or load balancer answered.
        return Err(match status {
            502..=504 => ApiError {
                internal: Some(upstream),
                ..ApiError::of(ErrorCode::UpstreamUnavailable)
            },
            _ => ApiError::internal(upstream),
        });
    };

    if let Some(code) = error.message.as_deref().and_then(ErrorCode::parse) {
        if SQL_RAISED_CODES.contains(&code) {
            return Err(raised_by_sql(code, &error, upstream));
        }
    }

    let pg_code = error.code.as_deref().unwrap_or("");
    let mentions_jwt = error.message.as_deref().is_some_and(|m| m.contains("JWT"));
    let code = match pg_code {
        // JWT missing, malformed, expired or with bad claims (PostgREST 12: 301-303).
        "PGRST301" | "PGRST302" | "PGRST303" => ErrorCode::Unauthorized,
        _ if status == 401 || mentions_jwt => ErrorCode::Unauthorized,
        "42501" => ErrorCode::Forbidden,
        // Integrity constraint violations (unique, foreign key, check, exclusion).
        _ if pg_code.starts_with("23") => ErrorCode::Conflict,
        "PGRST116" | "P0002" => ErrorCode::NotFound,
        // Connection to the database failed or the pool timed out.
        "PGRST000" | "PGRST001" | "PGRST002" | "PGRST003" => ErrorCode::UpstreamUnavailable,
        _ if matches!(status, 502..=504) => ErrorCode::UpstreamUnavailable,
        _ => return Err(ApiError::internal(upstream)),
    };
    Err(ApiError {
        internal: Some(upstream),
        ..ApiError::of(code)
    })
}

/// An error raised on purpose by our SQL: `message` is the code, `detail` JSON, `hint` the sentence.
fn raised_by_sql(code: ErrorCode, error: &PostgrestError, upstream: String) -> ApiError {
    let details = error
        .details
        .as_deref()
        .map(|text| serde_json::from_str::<Value>(text).ok());
    let message = match error.hint.as_deref() {
        Some(hint) if !hint.trim().is_empty() => hint.to_string(),
        _ => code.default_message().to_string(),
    };
    ApiError {
        code,
        message,
        // A detail that is not JSON breaks the SQL convention: worth a log line.
        internal: matches!(details, Some(None)).then_some(upstream),
        details: details.flatten(),
    }
}
