//! PostgREST RPC calls as data: which function with which named arguments, the HTTP
//! request that carries it, and how PostgREST's answer maps onto `ApiError`.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::auth::{same_key, AuthContext};
use crate::error::{ApiError, ErrorCode};

/// How long one RPC request may take before the edge gives up and answers 503
/// `upstream_unavailable` (a hung PostgREST or database must not hold the caller forever).
/// Well above Supabase's 8 s statement timeout for `authenticated`, so no statement the
/// database would still finish is cut short; a write that did commit is safe to retry
/// with its idempotency key.
pub const RPC_TIMEOUT_MS: u32 = 20_000;

/// What the shim reads from the Edge Runtime environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Env {
    /// `SUPABASE_URL` without a trailing slash.
    pub supabase_url: String,
    /// `SUPABASE_ANON_KEY` or the publishable key; sent as `apikey` only.
    pub anon_key: String,
    /// The values of `SUPABASE_SECRET_KEYS` (a JSON map of name to `sb_secret_...`).
    secret_keys: Vec<String>,
    /// The legacy HS256 secret, when the project still accepts tokens signed with it.
    pub legacy_jwt_secret: Option<String>,
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
            secret_keys: Vec::new(),
            legacy_jwt_secret: None,
        })
    }

    /// The secret keys a trusted caller may send in `apikey`, from `SUPABASE_SECRET_KEYS`
    /// as hosted projects provide it (`{"default": "sb_secret_..."}`); empty means none.
    pub fn with_secret_keys(mut self, json: &str) -> Result<Env, ApiError> {
        if json.trim().is_empty() {
            return Ok(self);
        }
        let keys: Map<String, Value> = serde_json::from_str(json).map_err(|e| {
            ApiError::internal(format!("SUPABASE_SECRET_KEYS is not a JSON object: {e}"))
        })?;
        self.secret_keys = keys
            .into_values()
            .filter_map(|key| key.as_str().map(str::trim).map(str::to_string))
            .filter(|key| !key.is_empty())
            .collect();
        Ok(self)
    }

    /// The legacy JWT secret (`SUPABASE_JWT_SECRET`); empty means HS256 tokens are refused.
    pub fn with_legacy_jwt_secret(mut self, secret: &str) -> Env {
        self.legacy_jwt_secret = Some(secret.to_string()).filter(|s| !s.is_empty());
        self
    }

    /// Whether `apikey` is one of the project's secret keys.
    pub fn is_secret_key(&self, apikey: &str) -> bool {
        // Every key is compared, so the time taken does not say which one matched.
        self.secret_keys
            .iter()
            .fold(false, |found, key| same_key(apikey, key) | found)
    }

    /// Where the project publishes its JWT signing keys.
    pub fn jwks_url(&self) -> String {
        format!("{}{}", self.supabase_url, crate::jwt::JWKS_PATH)
    }
}

/// One SQL function call: its name and named `p_...` arguments.
///
/// Absent optional arguments are left out, not sent as null, so the SQL defaults apply.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcCall {
    pub function: &'static str,
    pub args: Map<String, Value>,
    /// A call of a STABLE function, sent by GET: PostgREST runs it in a read-only
    /// transaction, and a load balancer in front of read replicas may send it to one.
    pub read_only: bool,
}

impl RpcCall {
    /// A call that may write, sent by POST to the primary.
    pub fn new(function: &'static str) -> RpcCall {
        RpcCall {
            function,
            args: Map::new(),
            read_only: false,
        }
    }

    /// A call of a STABLE function with scalar arguments, sent by GET.
    pub fn read(function: &'static str) -> RpcCall {
        RpcCall {
            read_only: true,
            ..RpcCall::new(function)
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

/// How an `RpcRequest` goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcMethod {
    /// Arguments in the query string, no body.
    Get,
    /// Arguments as a JSON object body.
    Post,
}

/// The HTTP request to PostgREST carrying an `RpcCall`.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcRequest {
    pub method: RpcMethod,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Empty for `Get`.
    pub body: String,
}

/// Everything but URL-unreserved characters is escaped in a GET argument, so `+`,
/// `&`, `=` and `,` in a value reach PostgREST as themselves.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl RpcRequest {
    /// `{supabase_url}/rest/v1/rpc/<function>`, by POST with a JSON body, or by GET with
    /// the arguments as query parameters for a read-only call (PostgREST casts each from
    /// text to the parameter's type). Sent with the caller's credentials as they came: a
    /// JWT with the anon key as `apikey` (never as the Bearer token), so RLS sees the
    /// caller; or the caller's secret key as `apikey` (and as Bearer if it was sent so).
    pub fn build(env: &Env, auth: &AuthContext, call: &RpcCall) -> RpcRequest {
        let mut headers: Vec<(String, String)> = match auth {
            AuthContext::Jwt(token) => vec![
                ("Authorization".into(), format!("Bearer {token}")),
                ("apikey".into(), env.anon_key.clone()),
            ],
            AuthContext::SecretKey {
                apikey,
                authorization,
            } => authorization
                .iter()
                .map(|value| ("Authorization".to_string(), value.clone()))
                .chain([("apikey".to_string(), apikey.clone())])
                .collect(),
        };
        headers.push(("Accept".into(), "application/json".into()));
        let mut url = format!("{}/rest/v1/rpc/{}", env.supabase_url, call.function);
        if call.read_only {
            for (index, (name, value)) in call.args.iter().enumerate() {
                let text = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                url.push(if index == 0 { '?' } else { '&' });
                url.push_str(name);
                url.push('=');
                url.extend(percent_encoding::utf8_percent_encode(&text, QUERY_VALUE));
            }
            return RpcRequest {
                method: RpcMethod::Get,
                url,
                headers,
                body: String::new(),
            };
        }
        headers.push(("Content-Type".into(), "application/json".into()));
        RpcRequest {
            method: RpcMethod::Post,
            url,
            headers,
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
/// A success body is checked to be JSON but kept as text: the SQL function's jsonb is the
/// `data` unchanged, so it is not built into a tree and serialized again (BENCHMARKS.md:
/// a 365-day `get_metrics` answer is about 280 KB).
pub fn read_rpc_response(status: u16, body: &str) -> Result<Box<RawValue>, ApiError> {
    if (200..300).contains(&status) {
        if body.trim().is_empty() {
            return Ok(RawValue::NULL.to_owned());
        }
        return serde_json::from_str::<Box<RawValue>>(body).map_err(|err| {
            ApiError::internal(format!(
                "PostgREST {status}: success body is not JSON ({err}): {body}"
            ))
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::http::HttpRequest;

    fn auth() -> AuthContext {
        let request = HttpRequest {
            headers: [(
                "authorization".to_string(),
                "Bearer aaa.bbb.ccc".to_string(),
            )]
            .into(),
            ..HttpRequest::default()
        };
        AuthContext::from_request(&request, &Env::new("http://x", "anon").expect("env"))
            .expect("well-formed bearer")
    }

    fn error_of(status: u16, body: Value) -> ApiError {
        read_rpc_response(status, &body.to_string()).expect_err("an error answer")
    }

    #[test]
    fn builds_the_rpc_request_with_caller_jwt_and_anon_key() {
        let env = Env::new("https://abc.supabase.co/", "sb_publishable_xyz").expect("valid env");
        let call = RpcCall::new("update_stock")
            .arg("p_item_id", "0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5e")
            .optional_arg("p_note", None::<String>)
            .optional_arg("p_change", Some(-2));
        let request = RpcRequest::build(&env, &auth(), &call);
        assert_eq!(
            request.url,
            "https://abc.supabase.co/rest/v1/rpc/update_stock"
        );
        assert_eq!(
            request.headers,
            vec![
                (
                    "Authorization".to_string(),
                    "Bearer aaa.bbb.ccc".to_string()
                ),
                ("apikey".to_string(), "sb_publishable_xyz".to_string()),
                ("Accept".to_string(), "application/json".to_string()),
                ("Content-Type".to_string(), "application/json".to_string()),
            ]
        );
        assert_eq!(request.method, RpcMethod::Post);
        // Absent optional arguments are left out so the SQL defaults apply.
        let body: Value = serde_json::from_str(&request.body).expect("JSON body");
        assert_eq!(
            body,
            json!({"p_item_id": "0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5e", "p_change": -2})
        );
    }

    #[test]
    fn a_read_only_call_goes_by_get_with_escaped_query_arguments() {
        let env = Env::new("https://abc.supabase.co", "sb_publishable_xyz").expect("valid env");
        let call = RpcCall::read("get_sales_metrics")
            .arg("p_shop_id", "0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5e")
            .arg("p_note", "a+b&c=d, é")
            .optional_arg("p_end", None::<String>)
            .arg("p_limit", 20);
        let request = RpcRequest::build(&env, &auth(), &call);
        assert_eq!(request.method, RpcMethod::Get);
        assert_eq!(
            request.url,
            "https://abc.supabase.co/rest/v1/rpc/get_sales_metrics\
             ?p_limit=20&p_note=a%2Bb%26c%3Dd%2C%20%C3%A9\
             &p_shop_id=0b0e7a4e-6f2c-4f1e-9d5b-7c1a2b3c4d5e"
        );
        assert_eq!(request.body, "");
        assert!(
            !request
                .headers
                .iter()
                .any(|(name, _)| name == "Content-Type"),
            "a GET carries no body to describe"
        );
    }

    #[test]
    fn a_secret_key_caller_is_forwarded_with_its_own_key() {
        let env = Env::new("https://abc.supabase.co", "sb_publishable_xyz").expect("valid env");
        let call = RpcCall::new("cleanup_expired_snapshots");
        for authorization in [None, Some("Bearer sb_secret_k".to_string())] {
            let auth = AuthContext::SecretKey {
                apikey: "sb_secret_k".into(),
                authorization: authorization.clone(),
            };
            let request = RpcRequest::build(&env, &auth, &call);
            let sent = |name: &str| {
                request
                    .headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            assert_eq!(sent("apikey").as_deref(), Some("sb_secret_k"));
            assert_eq!(sent("Authorization"), authorization);
        }
    }

    #[test]
    fn secret_keys_come_from_the_json_map() {
        let env = Env::new("http://x", "anon").expect("env");
        let env = env
            .with_secret_keys(
                r#"{"default": "sb_secret_a", "cron": " sb_secret_b ", "bad": 7, "empty": ""}"#,
            )
            .expect("a JSON map");
        assert!(env.is_secret_key("sb_secret_a"));
        assert!(env.is_secret_key("sb_secret_b"));
        assert!(!env.is_secret_key("sb_secret_c"));
        assert!(!env.is_secret_key(""));
        let error = Env::new("http://x", "anon")
            .expect("env")
            .with_secret_keys("sb_secret_a")
            .expect_err("not JSON");
        assert_eq!(error.code, ErrorCode::Internal);
        assert_eq!(
            Env::new("http://x/", "anon").expect("env").jwks_url(),
            "http://x/auth/v1/.well-known/jwks.json"
        );
    }

    #[test]
    fn env_needs_an_http_url_and_a_key() {
        assert_eq!(
            Env::new("ftp://x", "k").expect_err("bad url").code,
            ErrorCode::Internal
        );
        assert_eq!(
            Env::new("http://x", " ").expect_err("no key").code,
            ErrorCode::Internal
        );
    }

    #[test]
    fn success_body_is_the_data() {
        let data = read_rpc_response(200, r#"{"deleted": 3}"#).expect("success");
        assert_eq!(data.get(), r#"{"deleted": 3}"#);
        assert_eq!(read_rpc_response(204, "").expect("empty").get(), "null");
        let error = read_rpc_response(200, "<html>").expect_err("not JSON");
        assert_eq!(error.code, ErrorCode::Internal);
    }

    #[test]
    fn insufficient_stock_keeps_code_details_and_hint() {
        let error = error_of(
            409,
            json!({
                "code": "PT409",
                "message": "insufficient_stock",
                "details": r#"{"item_id": "i1", "available": 2, "requested": 3}"#,
                "hint": "Item 'Blue mug' has 2 in stock, 3 requested",
            }),
        );
        assert_eq!(error.code, ErrorCode::InsufficientStock);
        assert_eq!(error.status(), 409);
        assert_eq!(error.message, "Item 'Blue mug' has 2 in stock, 3 requested");
        assert_eq!(
            error.details,
            Some(json!({"item_id": "i1", "available": 2, "requested": 3}))
        );
        assert_eq!(error.internal, None);
    }

    #[test]
    fn stale_stock_carries_current_stock() {
        let error = error_of(
            409,
            json!({
                "code": "PT409",
                "message": "stale_stock",
                "details": r#"{"item_id": "i1", "expected_stock": 5, "current_stock": 4}"#,
                "hint": null,
            }),
        );
        assert_eq!(error.code, ErrorCode::StaleStock);
        assert_eq!(
            error.details.as_ref().map(|d| &d["current_stock"]),
            Some(&json!(4))
        );
        // No hint: the code's default sentence.
        assert_eq!(error.message, ErrorCode::StaleStock.default_message());
    }

    #[test]
    fn every_code_sql_raises_maps_to_itself() {
        for (code, status) in [
            ("invalid_request", 400),
            ("forbidden", 403),
            ("not_found", 404),
            ("idempotency_conflict", 422),
            ("conflict", 409),
        ] {
            let error = error_of(
                status,
                json!({"code": format!("PT{status}"), "message": code, "details": null, "hint": "h"}),
            );
            assert_eq!(error.code.as_str(), code);
            assert_eq!(error.status(), status);
            assert_eq!(error.message, "h");
        }
    }

    #[test]
    fn detail_that_is_not_json_is_dropped_and_logged() {
        let error = error_of(
            404,
            json!({"code": "PT404", "message": "not_found", "details": "item 7", "hint": "No such item"}),
        );
        assert_eq!(error.code, ErrorCode::NotFound);
        assert_eq!(error.details, None);
        assert!(error.internal.is_some_and(|log| log.contains("item 7")));
    }

    #[test]
    fn jwt_errors_are_unauthorized() {
        for body in [
            json!({"code": "PGRST301", "message": "JWT expired", "details": null, "hint": null}),
            json!({"code": "PGRST303", "message": "JWT expired", "details": null, "hint": null}),
            json!({"code": "PGRST302", "message": "Anonymous access is disabled", "details": null, "hint": null}),
        ] {
            let error = error_of(401, body);
            assert_eq!(error.code, ErrorCode::Unauthorized);
            assert_eq!(error.status(), 401);
        }
        // A JWT complaint is unauthorized whatever the status PostgREST chose.
        let error = error_of(
            400,
            json!({"code": "PGRSTX", "message": "Invalid JWT signature"}),
        );
        assert_eq!(error.code, ErrorCode::Unauthorized);
    }

    #[test]
    fn postgres_codes_map_to_api_codes() {
        for (pg_code, status, expected) in [
            ("42501", 403, ErrorCode::Forbidden),
            ("23505", 409, ErrorCode::Conflict),
            ("23503", 409, ErrorCode::Conflict),
            ("PGRST116", 406, ErrorCode::NotFound),
            ("P0002", 400, ErrorCode::NotFound),
            ("PGRST001", 503, ErrorCode::UpstreamUnavailable),
        ] {
            let error = error_of(
                status,
                json!({"code": pg_code, "message": "duplicate key value violates unique constraint \"shops_slug_key\"", "details": "Key (slug)=(x) already exists.", "hint": null}),
            );
            assert_eq!(error.code, expected, "{pg_code}");
            // Postgres' own sentence names tables and keys: logged, never sent.
            assert_eq!(error.message, expected.default_message());
            assert_eq!(error.details, None);
            assert!(error
                .internal
                .is_some_and(|log| log.contains("shops_slug_key")));
        }
    }

    #[test]
    fn unknown_errors_are_internal_without_leaking_upstream_text() {
        let error = error_of(
            500,
            json!({"code": "XX000", "message": "secret table private.tokens broke", "details": null, "hint": null}),
        );
        assert_eq!(error.code, ErrorCode::Internal);
        assert_eq!(error.status(), 500);
        assert!(!error.message.contains("private.tokens"));
        assert!(error
            .internal
            .is_some_and(|log| log.contains("private.tokens")));
        // Our codes that SQL must not raise are not trusted either.
        let error = error_of(
            400,
            json!({"code": "PT400", "message": "payload_too_large"}),
        );
        assert_eq!(error.code, ErrorCode::Internal);
    }

    #[test]
    fn non_json_gateway_answers() {
        let error = read_rpc_response(502, "<html>Bad Gateway</html>").expect_err("502");
        assert_eq!(error.code, ErrorCode::UpstreamUnavailable);
        assert_eq!(error.status(), 503);
        let error = read_rpc_response(500, "Internal Server Error").expect_err("500");
        assert_eq!(error.code, ErrorCode::Internal);
    }
}
