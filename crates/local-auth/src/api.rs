//! The endpoints, with GoTrue's requests, answers and error codes.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::AuthError;
use crate::keys::ApiKeys;
use crate::{store, AuthState};

/// GoTrue's default `password_min_length`.
const PASSWORD_MIN_LENGTH: usize = 6;
/// bcrypt reads at most 72 bytes; GoTrue refuses longer passwords.
const PASSWORD_MAX_BYTES: usize = 72;
/// GoTrue's bcrypt cost.
const BCRYPT_COST: u32 = 10;
const MAX_EMAIL_LENGTH: usize = 255;
const MAX_PER_PAGE: i64 = 1000;
const INVALID_LOGIN: &str = "Invalid login credentials";
/// A hash to check unknown emails against, so they take as long as known ones.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

type Body = Result<Json<Value>, JsonRejection>;

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn json_body(body: Body) -> Result<Map<String, Value>, AuthError> {
    match body {
        Ok(Json(Value::Object(map))) => Ok(map),
        Ok(_) => Err(AuthError::bad_request(
            "bad_json",
            "Could not parse request body as JSON: expected an object",
        )),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(AuthError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                "Request body too large",
            ))
        }
        Err(rejection) => Err(AuthError::bad_request(
            "bad_json",
            format!(
                "Could not parse request body as JSON: {}",
                rejection.body_text()
            ),
        )),
    }
}

fn text<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, AuthError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.as_str()).filter(|v| !v.is_empty())),
        Some(_) => Err(AuthError::bad_request(
            "bad_json",
            format!("Could not parse request body as JSON: {name} must be a string"),
        )),
    }
}

fn object(body: &Map<String, Value>, name: &str) -> Result<Option<Value>, AuthError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Object(_)) => Ok(Some(value.clone())),
        Some(_) => Err(AuthError::bad_request(
            "bad_json",
            format!("Could not parse request body as JSON: {name} must be an object"),
        )),
    }
}

/// Lower-cased and trimmed, as GoTrue stores it; a plain shape check.
fn valid_email(email: &str) -> Result<String, AuthError> {
    let email = email.trim().to_lowercase();
    let invalid = || {
        AuthError::bad_request(
            "validation_failed",
            "Unable to validate email address: invalid format",
        )
    };
    if email.len() > MAX_EMAIL_LENGTH || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid());
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(email)
        }
        _ => Err(invalid()),
    }
}

fn check_password_strength(password: &str) -> Result<(), AuthError> {
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(AuthError::unprocessable(
            "validation_failed",
            "Password cannot be longer than 72 characters",
        ));
    }
    if password.chars().count() < PASSWORD_MIN_LENGTH {
        return Err(AuthError::weak_password(
            format!("Password should be at least {PASSWORD_MIN_LENGTH} characters."),
            vec!["length"],
        ));
    }
    Ok(())
}

async fn hash_password(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || bcrypt::hash(password, BCRYPT_COST))
        .await
        .map_err(|e| AuthError::internal("bcrypt task", e))?
        .map_err(|e| AuthError::internal("bcrypt", e))
}

/// Checks `password` against `hash`, or against a dummy hash when there is none.
async fn password_matches(password: String, hash: Option<String>) -> Result<bool, AuthError> {
    tokio::task::spawn_blocking(move || {
        let hash = hash.unwrap_or_else(|| {
            DUMMY_HASH
                .get_or_init(|| bcrypt::hash("no such user", BCRYPT_COST).unwrap_or_default())
                .clone()
        });
        bcrypt::verify(password, &hash).unwrap_or(false)
    })
    .await
    .map_err(|e| AuthError::internal("bcrypt task", e))
}

fn client_ip(connect: Option<Extension<ConnectInfo<SocketAddr>>>) -> IpAddr {
    connect.map_or(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        |Extension(ConnectInfo(address))| address.ip(),
    )
}

/// The claims of a hosted access token (GoTrue's `AccessTokenClaims`).
fn access_token_claims(
    state: &AuthState,
    user: &Value,
    session_id: Uuid,
    session_started: i64,
    now: i64,
) -> Map<String, Value> {
    let claims = json!({
        "iss": state.config.issuer(),
        "sub": user["id"],
        "aud": user["aud"],
        "exp": now + state.config.jwt_expiry_secs as i64,
        "iat": now,
        "email": user["email"],
        "phone": user["phone"],
        "app_metadata": user["app_metadata"],
        "user_metadata": user["user_metadata"],
        "role": user["role"],
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": session_started}],
        "session_id": session_id.to_string(),
        "is_anonymous": user["is_anonymous"],
    });
    claims.as_object().cloned().unwrap_or_default()
}

/// GoTrue's `AccessTokenResponse`.
fn session_response(
    state: &AuthState,
    user: Value,
    session_id: Uuid,
    session_started: i64,
    refresh_token: String,
) -> Result<Response, AuthError> {
    let now = now_secs();
    let claims = access_token_claims(state, &user, session_id, session_started, now);
    let access_token = state
        .keys
        .sign(&claims)
        .map_err(|e| AuthError::internal("signing", e))?;
    let expires_in = state.config.jwt_expiry_secs as i64;
    Ok(Json(json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": expires_in,
        "expires_at": now + expires_in,
        "refresh_token": refresh_token,
        "user": user,
    }))
    .into_response())
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(255).collect())
}

pub async fn health() -> Json<Value> {
    Json(json!({"version": "local", "name": "GoTrue",
        "description": "Local stand-in for Supabase Auth (crates/local-auth)"}))
}

/// GoTrue's `/settings`: email sign-in, confirmations off (as `supabase start`).
pub async fn settings() -> Json<Value> {
    let mut external = Map::new();
    for provider in [
        "anonymous_users",
        "apple",
        "azure",
        "bitbucket",
        "discord",
        "facebook",
        "snapchat",
        "figma",
        "fly",
        "github",
        "gitlab",
        "google",
        "keycloak",
        "kakao",
        "linkedin",
        "linkedin_oidc",
        "notion",
        "spotify",
        "slack",
        "slack_oidc",
        "workos",
        "twitch",
        "twitter",
        "phone",
        "zoom",
    ] {
        external.insert(provider.into(), json!(false));
    }
    external.insert("email".into(), json!(true));
    Json(json!({
        "external": external,
        "disable_signup": false,
        "mailer_autoconfirm": true,
        "phone_autoconfirm": false,
        "sms_provider": "",
        "saml_enabled": false,
        "passkeys_enabled": false,
    }))
}

pub async fn jwks(State(state): State<AuthState>) -> Response {
    let mut response = Json(state.keys.jwks().clone()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=600"),
    );
    response
}

pub async fn not_found() -> AuthError {
    AuthError::new(StatusCode::NOT_FOUND, "not_found", "Not found")
}

pub async fn signup(
    State(state): State<AuthState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AuthError> {
    let body = json_body(body)?;
    if text(&body, "phone")?.is_some() {
        return Err(AuthError::unprocessable(
            "phone_provider_disabled",
            "Phone signups are disabled",
        ));
    }
    let email = text(&body, "email")?.ok_or_else(|| {
        AuthError::bad_request("validation_failed", "To signup, please provide your email")
    })?;
    let email = valid_email(email)?;
    let password = text(&body, "password")?.ok_or_else(|| {
        AuthError::unprocessable("validation_failed", "Signup requires a valid password")
    })?;
    check_password_strength(password)?;
    let user_metadata = object(&body, "data")?.unwrap_or_else(|| json!({}));
    let hash = hash_password(password.to_owned()).await?;
    let mut client = state.pool.get().await?;
    let transaction = client.transaction().await?;
    let id = store::insert_user(&transaction, &email, &hash, &user_metadata, &json!({}))
        .await?
        .ok_or_else(|| {
            AuthError::unprocessable("user_already_exists", "User already registered")
        })?;
    let ip = client_ip(connect).to_string();
    let (session_id, refresh_token) =
        store::start_session(&transaction, id, user_agent(&headers).as_deref(), Some(&ip)).await?;
    let user = store::user_json(&transaction, id)
        .await?
        .ok_or_else(|| AuthError::internal("signup", "new user not found"))?;
    transaction.commit().await?;
    session_response(&state, user, session_id, now_secs(), refresh_token)
}

pub async fn token(
    State(state): State<AuthState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AuthError> {
    let body = json_body(body)?;
    match query.get("grant_type").map(String::as_str) {
        Some("password") => password_grant(state, client_ip(connect), &headers, &body).await,
        Some("refresh_token") => refresh_grant(state, &body).await,
        _ => Err(AuthError::bad_request(
            "invalid_credentials",
            "unsupported_grant_type",
        )),
    }
}

async fn password_grant(
    state: AuthState,
    ip: IpAddr,
    headers: &HeaderMap,
    body: &Map<String, Value>,
) -> Result<Response, AuthError> {
    if text(body, "phone")?.is_some() {
        return Err(AuthError::unprocessable(
            "phone_provider_disabled",
            "Phone logins are disabled",
        ));
    }
    let email = text(body, "email")?
        .ok_or_else(|| AuthError::bad_request("validation_failed", "missing email or phone"))?
        .trim()
        .to_lowercase();
    let password = text(body, "password")?.unwrap_or_default().to_owned();
    let allowed = state
        .limiter
        .lock()
        .map_err(|_| AuthError::internal("rate limiter", "poisoned"))?
        .allows(ip, &email, Instant::now());
    if !allowed {
        return Err(AuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "over_request_rate_limit",
            "Request rate limit reached",
        ));
    }
    let mut client = state.pool.get().await?;
    let user = store::password_user(&client, &email).await?;
    let hash = user.as_ref().and_then(|user| user.password_hash.clone());
    let matches = password_matches(password, hash).await?;
    let user = match user {
        Some(user) if matches && user.password_hash.is_some() => user,
        _ => {
            if let Ok(mut limiter) = state.limiter.lock() {
                limiter.record_failure(ip, &email, Instant::now());
            }
            return Err(AuthError::bad_request("invalid_credentials", INVALID_LOGIN));
        }
    };
    if user.banned {
        return Err(AuthError::bad_request("user_banned", "User is banned"));
    }
    if !user.confirmed {
        return Err(AuthError::bad_request(
            "email_not_confirmed",
            "Email not confirmed",
        ));
    }
    let transaction = client.transaction().await?;
    let (session_id, refresh_token) = store::start_session(
        &transaction,
        user.id,
        user_agent(headers).as_deref(),
        Some(&ip.to_string()),
    )
    .await?;
    let user_json = store::user_json(&transaction, user.id)
        .await?
        .ok_or_else(|| AuthError::internal("sign-in", "user vanished"))?;
    transaction.commit().await?;
    session_response(&state, user_json, session_id, now_secs(), refresh_token)
}

/// Rotation as GoTrue does it: the token is exchanged for a child; a revoked
/// token whose child is the live one (the client lost the answer) gets that
/// child again; a revoked token within the reuse interval gets a new child;
/// past it, the reuse is treated as theft and the whole session ends.
async fn refresh_grant(state: AuthState, body: &Map<String, Value>) -> Result<Response, AuthError> {
    let token = text(body, "refresh_token")?
        .ok_or_else(|| AuthError::bad_request("validation_failed", "refresh_token required"))?;
    let not_found = || {
        AuthError::bad_request(
            "refresh_token_not_found",
            "Invalid Refresh Token: Refresh Token Not Found",
        )
    };
    let mut client = state.pool.get().await?;
    let transaction = client.transaction().await?;
    let row = store::lock_refresh_token(&transaction, token)
        .await?
        .ok_or_else(not_found)?;
    let issued = if row.revoked {
        let active = store::active_refresh_token(&transaction, row.session_id).await?;
        match active {
            Some((child, Some(parent))) if parent == token => child,
            _ if row.seconds_since_update
                > state.config.refresh_token_reuse_interval_secs as f64 =>
            {
                store::end_sessions(&transaction, row.user_id, Some(row.session_id), None).await?;
                transaction.commit().await?;
                tracing::warn!(session = %row.session_id, "refresh token reused: session ended");
                return Err(AuthError::bad_request(
                    "refresh_token_already_used",
                    "Invalid Refresh Token: Already Used",
                ));
            }
            _ => store::rotate_refresh_token(&transaction, &row, token).await?,
        }
    } else {
        store::rotate_refresh_token(&transaction, &row, token).await?
    };
    let user = store::user_json(&transaction, row.user_id)
        .await?
        .ok_or_else(not_found)?;
    if user
        .get("banned_until")
        .is_some_and(|until| !until.is_null())
    {
        let banned = transaction
            .query_one(
                "select coalesce(banned_until > now(), false) from auth.users where id = $1",
                &[&row.user_id],
            )
            .await?
            .get::<_, bool>(0);
        if banned {
            return Err(AuthError::bad_request(
                "user_banned",
                "Invalid Refresh Token: User Banned",
            ));
        }
    }
    transaction.commit().await?;
    session_response(
        &state,
        user,
        row.session_id,
        row.session_created_epoch,
        issued,
    )
}

/// The verified claims of the request's bearer token. An opaque API key as
/// the bearer stands for its role, as the hosted API gateway makes it.
fn bearer_claims(state: &AuthState, headers: &HeaderMap) -> Result<Map<String, Value>, AuthError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            AuthError::new(
                StatusCode::UNAUTHORIZED,
                "no_authorization",
                "This endpoint requires a valid Bearer token",
            )
        })?;
    if ApiKeys::is_opaque(bearer) {
        let role = state.config.api_keys.role_of(bearer).ok_or_else(|| {
            AuthError::new(
                StatusCode::UNAUTHORIZED,
                "no_authorization",
                "Invalid API key",
            )
        })?;
        let mut claims = Map::new();
        claims.insert("role".into(), json!(role));
        return Ok(claims);
    }
    state.keys.verify(bearer, now_secs()).map_err(|error| {
        AuthError::forbidden(
            "bad_jwt",
            format!("invalid JWT: unable to parse or verify signature, {error}"),
        )
    })
}

/// The user (and session, when the token names one) behind the bearer token.
async fn signed_in_user(
    state: &AuthState,
    client: &impl deadpool_postgres::GenericClient,
    headers: &HeaderMap,
) -> Result<(Uuid, Option<Uuid>), AuthError> {
    let claims = bearer_claims(state, headers)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| AuthError::forbidden("bad_jwt", "invalid claim: missing sub claim"))?;
    let user_id = Uuid::parse_str(sub).map_err(|_| {
        AuthError::bad_request("bad_jwt", "invalid claim: sub claim must be a UUID")
    })?;
    if store::user_json(client, user_id).await?.is_none() {
        return Err(AuthError::forbidden(
            "user_not_found",
            "User from sub claim in JWT does not exist",
        ));
    }
    let session_id = match claims.get("session_id").and_then(Value::as_str) {
        None => None,
        Some(text) => {
            let id = Uuid::parse_str(text).map_err(|_| {
                AuthError::forbidden("bad_jwt", "invalid claim: session_id claim must be a UUID")
            })?;
            if !store::session_exists(client, id).await? {
                return Err(AuthError::forbidden(
                    "session_not_found",
                    "Session from session_id claim in JWT does not exist",
                ));
            }
            Some(id)
        }
    };
    Ok((user_id, session_id))
}

pub async fn get_user(
    State(state): State<AuthState>,
    headers: HeaderMap,
) -> Result<Json<Value>, AuthError> {
    let client = state.pool.get().await?;
    let (user_id, _) = signed_in_user(&state, &client, &headers).await?;
    let user = store::user_json(&client, user_id)
        .await?
        .ok_or_else(|| AuthError::forbidden("user_not_found", "User not found"))?;
    Ok(Json(user))
}

/// `PUT /user`: a new password and/or `data` merged into user_metadata.
pub async fn update_user(
    State(state): State<AuthState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, AuthError> {
    let body = json_body(body)?;
    let mut client = state.pool.get().await?;
    let (user_id, _) = signed_in_user(&state, &client, &headers).await?;
    if text(&body, "email")?.is_some() || text(&body, "phone")?.is_some() {
        return Err(AuthError::unprocessable(
            "validation_failed",
            "Changing the email or phone needs a confirmation message, which the local auth does not send",
        ));
    }
    let user_metadata = object(&body, "data")?;
    let password_hash = match text(&body, "password")? {
        None => None,
        Some(password) => {
            check_password_strength(password)?;
            if let Some(current) = store::current_password_hash(&client, user_id).await? {
                if password_matches(password.to_owned(), Some(current)).await? {
                    return Err(AuthError::unprocessable(
                        "same_password",
                        "New password should be different from the old password.",
                    ));
                }
            }
            Some(hash_password(password.to_owned()).await?)
        }
    };
    let transaction = client.transaction().await?;
    store::update_user(
        &transaction,
        user_id,
        password_hash.as_deref(),
        user_metadata.as_ref(),
    )
    .await?;
    let user = store::user_json(&transaction, user_id)
        .await?
        .ok_or_else(|| AuthError::forbidden("user_not_found", "User not found"))?;
    transaction.commit().await?;
    Ok(Json(user))
}

/// `POST /logout?scope=global|local|others`: 204.
pub async fn logout(
    State(state): State<AuthState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, AuthError> {
    let client = state.pool.get().await?;
    let (user_id, session_id) = signed_in_user(&state, &client, &headers).await?;
    let scope = query.get("scope").map_or("global", String::as_str);
    match (scope, session_id) {
        ("local", Some(session)) => {
            store::end_sessions(&client, user_id, Some(session), None).await?
        }
        ("others", Some(session)) => {
            store::end_sessions(&client, user_id, None, Some(session)).await?
        }
        ("global" | "" | "local" | "others", _) => {
            store::end_sessions(&client, user_id, None, None).await?
        }
        (other, _) => {
            return Err(AuthError::bad_request(
                "validation_failed",
                format!("Unsupported logout scope {other:?}"),
            ))
        }
    };
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// GoTrue's admin roles.
fn require_admin(state: &AuthState, headers: &HeaderMap) -> Result<(), AuthError> {
    let claims = bearer_claims(state, headers)?;
    match claims.get("role").and_then(Value::as_str) {
        Some("service_role" | "supabase_admin") => Ok(()),
        _ => Err(AuthError::forbidden("not_admin", "User not allowed")),
    }
}

pub async fn admin_create_user(
    State(state): State<AuthState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, AuthError> {
    require_admin(&state, &headers)?;
    let body = json_body(body)?;
    if text(&body, "phone")?.is_some() {
        return Err(AuthError::unprocessable(
            "phone_provider_disabled",
            "Phone signups are disabled",
        ));
    }
    let email = text(&body, "email")?
        .ok_or_else(|| {
            AuthError::bad_request(
                "validation_failed",
                "Unable to validate email address: invalid format",
            )
        })
        .and_then(valid_email)?;
    let password = match text(&body, "password")? {
        Some(password) => {
            check_password_strength(password)?;
            hash_password(password.to_owned()).await?
        }
        None => String::new(),
    };
    let user_metadata = object(&body, "user_metadata")?.unwrap_or_else(|| json!({}));
    let app_metadata = object(&body, "app_metadata")?.unwrap_or_else(|| json!({}));
    let client = state.pool.get().await?;
    let id = store::insert_user(&client, &email, &password, &user_metadata, &app_metadata)
        .await?
        .ok_or_else(|| {
            AuthError::unprocessable(
                "email_exists",
                "A user with this email address has already been registered",
            )
        })?;
    let user = store::user_json(&client, id)
        .await?
        .ok_or_else(|| AuthError::internal("admin create", "new user not found"))?;
    Ok(Json(user))
}

fn page_param(query: &HashMap<String, String>, name: &str, default: i64) -> Result<i64, AuthError> {
    match query.get(name).map(String::as_str) {
        None | Some("") => Ok(default),
        Some(text) => text.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            AuthError::bad_request(
                "validation_failed",
                format!("Bad Pagination Parameters: {name}"),
            )
        }),
    }
}

/// `GET /admin/users?page=&per_page=`: `{"users", "aud"}` with
/// `x-total-count` and a `link` header, as supabase-js's `listUsers` reads them.
pub async fn admin_list_users(
    State(state): State<AuthState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, AuthError> {
    require_admin(&state, &headers)?;
    let page = page_param(&query, "page", 1)?;
    let per_page = page_param(&query, "per_page", 50)?.min(MAX_PER_PAGE);
    let client = state.pool.get().await?;
    let (users, total) = store::list_users(&client, page, per_page).await?;
    let last = ((total + per_page - 1) / per_page).max(1);
    let mut links = Vec::new();
    if page < last {
        links.push(format!(
            "</admin/users?page={}&per_page={per_page}>; rel=\"next\"",
            page + 1
        ));
    }
    links.push(format!(
        "</admin/users?page={last}&per_page={per_page}>; rel=\"last\""
    ));
    let mut response = Json(json!({"users": users, "aud": "authenticated"})).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&total.to_string()) {
        headers.insert("x-total-count", value);
    }
    if let Ok(value) = HeaderValue::from_str(&links.join(", ")) {
        headers.insert(header::LINK, value);
    }
    Ok(response)
}

fn user_id_param(id: &str) -> Result<Uuid, AuthError> {
    Uuid::parse_str(id)
        .map_err(|_| AuthError::new(StatusCode::NOT_FOUND, "user_not_found", "User not found"))
}

pub async fn admin_get_user(
    State(state): State<AuthState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, AuthError> {
    require_admin(&state, &headers)?;
    let id = user_id_param(&id)?;
    let client = state.pool.get().await?;
    store::user_json(&client, id)
        .await?
        .map(Json)
        .ok_or_else(|| AuthError::new(StatusCode::NOT_FOUND, "user_not_found", "User not found"))
}

pub async fn admin_delete_user(
    State(state): State<AuthState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, AuthError> {
    require_admin(&state, &headers)?;
    let id = user_id_param(&id)?;
    let client = state.pool.get().await?;
    if !store::delete_user(&client, id).await? {
        return Err(AuthError::new(
            StatusCode::NOT_FOUND,
            "user_not_found",
            "User not found",
        ));
    }
    Ok(Json(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            valid_email(" Ann@Example.COM ").ok(),
            Some("ann@example.com".into())
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.io",
            "a@b@c.io",
            "ann@localhost",
            "a b@x.io",
            "a@x.io.",
        ] {
            assert!(valid_email(bad).is_err(), "{bad}");
        }
        assert!(valid_email(&format!("{}@x.io", "a".repeat(300))).is_err());
    }

    #[test]
    fn passwords_follow_gotrue_defaults() {
        assert_eq!(
            check_password_strength("12345").map_err(|e| (e.code, e.reasons)),
            Err(("weak_password", vec!["length"]))
        );
        assert!(check_password_strength("123456").is_ok());
        assert_eq!(
            check_password_strength(&"x".repeat(73)).map_err(|e| e.code),
            Err("validation_failed")
        );
    }

    #[tokio::test]
    async fn unknown_users_are_checked_against_a_real_hash() {
        assert_eq!(
            password_matches("no such user".into(), None).await,
            Ok(true)
        );
        assert_eq!(password_matches("guess".into(), None).await, Ok(false));
    }
}
