//! A local stand-in for Supabase Auth (GoTrue), served under `/auth/v1` by
//! the local gateway: what supabase-js's auth client does with email and
//! password (sign-up, sign-in, refresh with rotation and reuse detection,
//! user, update, sign-out, `getClaims` through the JWKS), `/settings`, and
//! the admin API for service_role. Users, sessions and refresh tokens live
//! in GoTrue's tables (`auth.users`, `auth.sessions`, `auth.refresh_tokens`)
//! with bcrypt password hashes, so what it writes is what hosted Auth reads.
//!
//! Local tooling only, like the gateway: a hosted project has the real
//! Auth. It knows nothing of the product's tables.

mod api;
pub mod error;
pub mod keys;
pub mod rate_limit;
mod store;

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub use keys::{ApiKeys, KeySet, VerifyError};

/// Largest request body the auth endpoints read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    /// A login that owns GoTrue's tables (`supabase_auth_admin`, as on hosted).
    pub database_url: String,
    /// `SUPABASE_URL`: tokens' `iss` is `<site_url>/auth/v1`.
    pub site_url: String,
    /// Access token lifetime (GoTrue's `jwt_expiry`, 3600).
    pub jwt_expiry_secs: u64,
    /// How long a rotated refresh token may still be exchanged (GoTrue's
    /// `refresh_token_reuse_interval`, 10 s); after it, reuse ends the session.
    pub refresh_token_reuse_interval_secs: u64,
    pub sign_in_limits: rate_limit::Limits,
    pub api_keys: ApiKeys,
}

impl Config {
    pub fn new(database_url: String, site_url: String, api_keys: ApiKeys) -> Self {
        Self {
            database_url,
            site_url: site_url.trim_end_matches('/').to_owned(),
            jwt_expiry_secs: 3600,
            refresh_token_reuse_interval_secs: 10,
            sign_in_limits: rate_limit::Limits::default(),
            api_keys,
        }
    }

    pub fn issuer(&self) -> String {
        format!("{}/auth/v1", self.site_url)
    }
}

#[derive(Clone)]
pub(crate) struct AuthState {
    config: Arc<Config>,
    keys: Arc<KeySet>,
    pool: deadpool_postgres::Pool,
    limiter: Arc<Mutex<rate_limit::SignInLimiter>>,
}

fn pool(database_url: &str) -> Result<deadpool_postgres::Pool, String> {
    let pg_config = tokio_postgres::Config::from_str(database_url)
        .map_err(|e| format!("auth database url: {e}"))?;
    let manager = deadpool_postgres::Manager::from_config(
        pg_config,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    deadpool_postgres::Pool::builder(manager)
        .max_size(4)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| e.to_string())
}

/// The `/auth/v1` routes (to be nested there). Connects lazily.
pub fn router(config: Config, keys: Arc<KeySet>) -> Result<Router, String> {
    let state = AuthState {
        pool: pool(&config.database_url)?,
        limiter: Arc::new(Mutex::new(rate_limit::SignInLimiter::new(
            config.sign_in_limits,
        ))),
        config: Arc::new(config),
        keys,
    };
    Ok(Router::new()
        .route("/health", get(api::health))
        .route("/settings", get(api::settings))
        .route("/.well-known/jwks.json", get(api::jwks))
        .route("/signup", post(api::signup))
        .route("/token", post(api::token))
        .route("/user", get(api::get_user).put(api::update_user))
        .route("/logout", post(api::logout))
        .route(
            "/admin/users",
            get(api::admin_list_users).post(api::admin_create_user),
        )
        .route(
            "/admin/users/{id}",
            get(api::admin_get_user).delete(api::admin_delete_user),
        )
        .fallback(api::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(error::api_version))
        .layer(middleware::from_fn(cors))
        .with_state(state))
}

const CORS_ALLOW_HEADERS: &str =
    "authorization, x-client-info, apikey, content-type, x-supabase-api-version";

/// Browsers call Auth from the app's origin: preflights answer 204, every
/// answer carries `Access-Control-Allow-Origin`.
async fn cors(request: Request, next: Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static(CORS_ALLOW_HEADERS),
    );
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
    );
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("x-total-count, link, x-sb-error-code, x-supabase-api-version"),
    );
    response
}
