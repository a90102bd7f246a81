//! A local PostgREST-compatible gateway: `/rest/v1/*` with PostgREST's
//! semantics over a connection pool that logs in as `authenticator`,
//! `/functions/v1/<name>` forwarded to the Deno processes serving the edge
//! functions, like the Supabase API gateway, `/auth/v1/*` served by the
//! local auth stand-in (crates/local-auth) and `/realtime/v1` by the local
//! Realtime (crates/local-realtime) when `REALTIME_DATABASE_URL` is set.

pub mod auth;
mod db;
pub mod error;
mod functions;
pub mod limits;
pub mod query;
mod rest;
pub mod schema;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;
use tower::ServiceExt;

pub use limits::Limits;

/// Everything the gateway reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    /// The `authenticator` login (never a superuser: RLS must apply).
    pub database_url: String,
    /// The legacy HS256 secret (the anon/service_role JWT keys are signed with it).
    pub jwt_secret: String,
    /// The JWT signing keys (a private JWK or an array of them, as `supabase
    /// gen signing-key` writes): user tokens are ES256 with the first one.
    /// `None`: legacy mode, user tokens HS256 with `jwt_secret`.
    pub signing_keys: Option<String>,
    /// `SUPABASE_URL`, the `iss` of user tokens is `<site_url>/auth/v1`.
    pub site_url: String,
    /// The `supabase_auth_admin` login of `/auth/v1`; `None` leaves it unserved.
    pub auth_database_url: Option<String>,
    /// The opaque `sb_publishable_...` / `sb_secret_...` keys.
    pub api_keys: local_auth::ApiKeys,
    /// Function name -> base URL of the Deno process serving it.
    pub function_upstreams: HashMap<String, String>,
    pub pool_size: usize,
    /// The exposed schema (PostgREST's `db-schemas`).
    pub schema: String,
    pub limits: Limits,
    /// A login with REPLICATION for the local Realtime at `/realtime/v1`
    /// (absent: no Realtime).
    pub realtime_database_url: Option<String>,
    /// The `authenticator` login on a read replica: `/rest/v1` GET and HEAD
    /// requests (tables and RPC) go there, everything else to the primary, as
    /// hosted Supabase's API load balancer routes them (absent: all to the primary).
    pub replica_database_url: Option<String>,
}

impl Config {
    /// Reads `GATEWAY_PORT` (24321), `GATEWAY_DATABASE_URL` (else
    /// `DATABASE_URL`), `SUPABASE_JWT_SECRET`, `FUNCTIONS_UPSTREAMS`
    /// (`name=url,...`), `GATEWAY_POOL_SIZE` (16), `GATEWAY_DB_SCHEMA` (public),
    /// `AUTH_SIGNING_KEYS_PATH` (unset: legacy HS256), `SUPABASE_URL`
    /// (`http://127.0.0.1:<port>`), `AUTH_DATABASE_URL` (unset: no `/auth/v1`),
    /// `SUPABASE_PUBLISHABLE_KEY`, `SUPABASE_SECRET_KEY`, `REALTIME_DATABASE_URL`,
    /// `GATEWAY_REPLICA_DATABASE_URL` (unset: no replica) and the `GATEWAY_*`
    /// limits (`Limits::from_env`).
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let database_url = var("GATEWAY_DATABASE_URL")
            .or_else(|| var("DATABASE_URL"))
            .ok_or("set GATEWAY_DATABASE_URL (or DATABASE_URL) to the authenticator login")?;
        let jwt_secret = var("SUPABASE_JWT_SECRET").ok_or("set SUPABASE_JWT_SECRET")?;
        let port = match var("GATEWAY_PORT") {
            Some(port) => port
                .parse()
                .map_err(|_| format!("GATEWAY_PORT is not a port: {port}"))?,
            None => 24321,
        };
        let pool_size = match var("GATEWAY_POOL_SIZE") {
            Some(size) => size
                .parse()
                .map_err(|_| format!("GATEWAY_POOL_SIZE is not a number: {size}"))?,
            None => 16,
        };
        let signing_keys = match var("AUTH_SIGNING_KEYS_PATH") {
            Some(path) => Some(
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("AUTH_SIGNING_KEYS_PATH {path}: {e}"))?,
            ),
            None => None,
        };
        Ok(Self {
            port,
            database_url,
            jwt_secret,
            signing_keys,
            site_url: var("SUPABASE_URL").unwrap_or_else(|| format!("http://127.0.0.1:{port}")),
            auth_database_url: var("AUTH_DATABASE_URL"),
            api_keys: local_auth::ApiKeys {
                publishable: var("SUPABASE_PUBLISHABLE_KEY"),
                secret: var("SUPABASE_SECRET_KEY"),
            },
            function_upstreams: parse_upstreams(&var("FUNCTIONS_UPSTREAMS").unwrap_or_default())?,
            pool_size,
            schema: var("GATEWAY_DB_SCHEMA").unwrap_or_else(|| "public".into()),
            limits: Limits::from_env(var)?,
            realtime_database_url: var("REALTIME_DATABASE_URL"),
            replica_database_url: var("GATEWAY_REPLICA_DATABASE_URL"),
        })
    }
}

/// Parses `inventory-operations=http://127.0.0.1:24331,...`.
pub fn parse_upstreams(text: &str) -> Result<HashMap<String, String>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (name, url) = entry
                .split_once('=')
                .ok_or_else(|| format!("FUNCTIONS_UPSTREAMS entry is not name=url: {entry}"))?;
            Ok((name.trim().to_owned(), url.trim().to_owned()))
        })
        .collect()
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    config: Arc<Config>,
    pool: deadpool_postgres::Pool,
    /// Reads' pool: the replica's when one is configured.
    read_pool: deadpool_postgres::Pool,
    schema: schema::SharedSchema,
    http: reqwest::Client,
    callers: Arc<limits::CallerTurns>,
    credentials: Arc<auth::Credentials>,
}

fn connection_pool(config: &Config, url: &str) -> Result<deadpool_postgres::Pool, String> {
    let mut pg_config =
        tokio_postgres::Config::from_str(url).map_err(|e| format!("database URL: {e}"))?;
    // Statements are prepared before a request's transaction sets its search_path
    // (db.rs), so the session starts with that same path: names resolve at prepare
    // time as they will at execution, and Postgres never re-plans for a changed path.
    // (Whitespace separates startup options; a schema name with a space is escaped.)
    let search_path = query::search_path(&config.schema).replace(' ', "\\ ");
    let options = match pg_config.get_options() {
        Some(given) => format!("{given} -c search_path={search_path}"),
        None => format!("-c search_path={search_path}"),
    };
    pg_config.options(options);
    let manager = deadpool_postgres::Manager::from_config(
        pg_config,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    deadpool_postgres::Pool::builder(manager)
        .max_size(config.pool_size)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| e.to_string())
}

/// Builds the state and router, loads the schema cache, and starts the
/// `NOTIFY pgrst` listener.
pub async fn app(config: Config) -> Result<Router, String> {
    let pool = connection_pool(&config, &config.database_url)?;
    let read_pool = match &config.replica_database_url {
        Some(url) => connection_pool(&config, url)?,
        None => pool.clone(),
    };
    let shared = schema::SharedSchema::default();
    match schema::reload(&pool, &shared, &config.schema).await {
        Ok(()) => warn_if_superuser(&pool).await,
        Err(error) => {
            tracing::warn!(%error, "schema cache not loaded yet; retrying in the background")
        }
    }
    tokio::spawn(schema::listen_for_reloads(
        config.database_url.clone(),
        pool.clone(),
        shared.clone(),
        config.schema.clone(),
    ));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(150))
        .build()
        .map_err(|e| e.to_string())?;
    let keys = Arc::new(local_auth::KeySet::new(
        config.signing_keys.as_deref(),
        &config.jwt_secret,
    )?);
    let auth_api = match &config.auth_database_url {
        Some(url) => Some(local_auth::router(
            local_auth::Config::new(
                url.clone(),
                config.site_url.clone(),
                config.api_keys.clone(),
            ),
            keys.clone(),
        )?),
        None => None,
    };
    let credentials = Arc::new(auth::Credentials {
        keys,
        api_keys: config.api_keys.clone(),
    });
    let realtime = config
        .realtime_database_url
        .as_ref()
        .map(|url| realtime(&config, &credentials, url));
    let state = AppState {
        callers: limits::CallerTurns::new(&config.limits),
        config: Arc::new(config),
        pool,
        read_pool,
        schema: shared,
        http,
        credentials,
    };
    let rest_api = Router::new()
        .route("/rest/v1", any(rest::root))
        .route("/rest/v1/", any(rest::root))
        .route("/rest/v1/rpc/{name}", any(rest::rpc))
        .route("/rest/v1/{*name}", any(rest::table))
        .layer(middleware::from_fn(rest::cors));
    let mut router = Router::new()
        .route("/health", get(health))
        .merge(rest_api)
        .route("/functions/v1/{name}", any(functions::forward))
        .route("/functions/v1/{name}/{*rest}", any(functions::forward))
        .with_state(state.clone());
    if let Some(auth_api) = auth_api {
        // Sign-up and sign-in carry no token to check first, so their bodies
        // get the functions' small cap and the same read timeout.
        let auth_api = auth_api.layer(middleware::from_fn_with_state(state, auth_body_limits));
        router = router.nest("/auth/v1", auth_api);
    }
    if let Some(realtime) = realtime {
        router = router.nest("/realtime/v1", realtime?);
    }
    Ok(router.layer(middleware::from_fn(log_request)))
}

/// The local Realtime (crates/local-realtime): it checks tokens with this
/// gateway's own verification and probes rows through the same login.
fn realtime(
    config: &Config,
    credentials: &Arc<auth::Credentials>,
    replication_url: &str,
) -> Result<Router, String> {
    let credentials = Arc::clone(credentials);
    let verify: local_realtime::VerifyToken = Arc::new(move |token: &str| {
        auth::verify(token, &credentials.keys)
            .map(|caller| caller.claims)
            .map_err(|error| match error.message.as_str() {
                "JWT expired" => local_realtime::TokenError::Expired,
                _ => local_realtime::TokenError::Invalid(error.message),
            })
    });
    local_realtime::router(local_realtime::Config {
        database_url: config.database_url.clone(),
        replication_database_url: replication_url.to_owned(),
        publication: "supabase_realtime".into(),
        verify,
        limits: local_realtime::Limits::default(),
    })
}

/// A superuser login would bypass nothing (the role switch drops its
/// rights), but it is a misconfiguration worth a loud line.
async fn warn_if_superuser(pool: &deadpool_postgres::Pool) {
    if let Ok(client) = pool.get().await {
        let superuser = client
            .query_one(
                "select rolsuper from pg_catalog.pg_roles where rolname = current_user",
                &[],
            )
            .await
            .map(|row| row.get::<_, bool>(0))
            .unwrap_or(false);
        if superuser {
            tracing::warn!("the gateway logs in as a superuser; use the authenticator role");
        }
    }
}

/// 200 when the schema cache is loaded and the database answers.
async fn health(State(state): State<AppState>) -> Response {
    let database_ok = match state.pool.get().await {
        Ok(client) => client.simple_query("select 1").await.is_ok(),
        Err(_) => false,
    };
    let schema_ok = state.schema.get().is_some();
    let status = if database_ok && schema_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({"status": if status == StatusCode::OK { "ok" } else { "unavailable" },
        "database": database_ok, "schema_cache": schema_ok});
    (status, axum::Json(body)).into_response()
}

/// One log line per request: method, path, status, duration.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Buffers an `/auth/v1` body under the function body cap and the body read
/// timeout before GoTrue's handlers see it (413 / 408 in GoTrue's error shape).
async fn auth_body_limits(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limits = &state.config.limits;
    let (parts, body) = request.into_parts();
    match limits::read_body(
        &parts.headers,
        body,
        limits.function_body_bytes,
        limits.body_read_timeout,
    )
    .await
    {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(error) => {
            let (status, code) = match error {
                limits::BodyError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "request_too_large"),
                limits::BodyError::TimedOut => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
                limits::BodyError::Unreadable => (StatusCode::BAD_REQUEST, "bad_json"),
            };
            let body = serde_json::json!({
                "code": status.as_u16(),
                "error_code": code,
                "msg": "The request body was refused by the gateway's limits",
            });
            (status, axum::Json(body)).into_response()
        }
    }
}

/// Connections past `Limits::max_connections` that are still answered 503
/// (the rest are closed at once), so refusing costs little too.
const REFUSED_CONNECTIONS_ANSWERED: usize = 64;

/// Serves until `shutdown` resolves, then finishes in-flight requests.
///
/// HTTP/1.1 with hyper's own limits: headers (and the idle time of a kept-alive
/// connection) within `header_read_timeout`, then the connection is closed; at
/// most `max_connections` connections, each further one answered 503 in the
/// error shape of the path it asked for and closed.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let limits = config.limits.clone();
    let router = app(config).await?;
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSED_CONNECTIONS_ANSWERED));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut refusing = http.clone();
    refusing.keep_alive(false);
    // Told to every connection at shutdown, so each finishes its request and closes.
    let (stopping, _) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, most likely: wait instead of spinning.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers go out as soon as they are written, not held back by Nagle's
        // algorithm waiting for the client's ACK of the previous segment.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::warn!(%error, "cannot set TCP_NODELAY");
        }
        let io = TokioIo::new(stream);
        if let Ok(permit) = Arc::clone(&connections).try_acquire_owned() {
            // The client address keys the sign-in rate limit of /auth/v1.
            let service = router.clone().map_request(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                },
            );
            // With upgrades: the local Realtime's websocket takes the connection
            // over after its 101. hyper-util's GracefulShutdown cannot watch such a
            // connection, so shutdown is told through `stopping`.
            let connection = http
                .serve_connection(io, TowerToHyperService::new(service))
                .with_upgrades();
            let mut stop = stopping.subscribe();
            tokio::spawn(async move {
                let mut connection = std::pin::pin!(connection);
                // A client that breaks off or times out is no error of ours.
                tokio::select! {
                    _ = connection.as_mut() => {}
                    _ = stop.changed() => {
                        connection.as_mut().graceful_shutdown();
                        let _ = connection.await;
                    }
                }
                drop(permit);
            });
        } else if let Ok(permit) = Arc::clone(&refusals).try_acquire_owned() {
            tracing::warn!(
                max_connections = limits.max_connections,
                "connection limit reached; answering 503"
            );
            let connection = refusing.serve_connection(
                io,
                hyper::service::service_fn(
                    |request: hyper::Request<hyper::body::Incoming>| async move {
                        Ok::<_, Infallible>(connection_refused(request.uri().path()))
                    },
                ),
            );
            tokio::spawn(async move {
                let _ = connection.await;
                drop(permit);
            });
        }
    }
    drop(listener);
    let _ = stopping.send(true);
    // Every permit back: every connection has finished.
    let _ = connections
        .acquire_many(limits.max_connections as u32)
        .await;
    Ok(())
}

/// The 503 of a connection over the limit, in the shape of the API it asked for.
fn connection_refused(path: &str) -> Response {
    let mut response = if path.starts_with("/functions/") {
        functions::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream_unavailable",
            "Too many open connections to the gateway; retry later",
        )
    } else {
        error::ApiError::connection_limit().into_response()
    };
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_parse() {
        let parsed = parse_upstreams("a=http://127.0.0.1:1, b = http://x:2 ,");
        let parsed = parsed.unwrap_or_default();
        assert_eq!(
            parsed.get("a").map(String::as_str),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(parsed.get("b").map(String::as_str), Some("http://x:2"));
        assert!(parse_upstreams("nonsense").is_err());
    }
}
