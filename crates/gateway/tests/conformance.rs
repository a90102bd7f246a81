//! Gateway conformance: the PostgREST behaviours supabase-js and postgrest-rs
//! rely on, checked over HTTP against a real PostgreSQL.
//!
//! Needs a running Postgres (the local stack's, port 24322 by default) and a
//! superuser URL (`supabase_admin`) in `CONFORMANCE_DATABASE_URL`. As the
//! superuser the harness drops and recreates the database
//! `gateway_conformance` and applies `supabase/baseline/supabase_baseline.sql`
//! (the platform's side); as `postgres`, not a superuser as on hosted, it
//! applies `tests/fixtures/schema.sql` and runs every later statement. Then it
//! serves the gateway in-process (logging in as `authenticator`) and a fake
//! edge function upstream. Run:
//! `cargo test -p gateway --features conformance`.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gateway::auth::{sign, TokenRequest};
use local_auth::KeySet;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SECRET: &str = "conformance-secret-with-at-least-32-characters";
/// Test-only ES256 keys, as `supabase gen signing-key --algorithm ES256` prints them:
/// the project's signing key, and a stranger's.
const SIGNING_KEY: &str = r#"{"kty":"EC","kid":"a7807d37-4307-4524-874c-984a3a80ba87","use":"sig","key_ops":["sign","verify"],"alg":"ES256","ext":true,"d":"FJtGNqTecqf0ZNQcqNaePzNdbdXogzZc3zCVmJUA9YQ","crv":"P-256","x":"DTwJiqal-uj4TtGDURe8Tu0zGAKrj65KW1wd4ecKIC8","y":"4K_NdITpbyDmQMl2A7coJgPIjiVJPapjbi8kGsWKy4c"}"#;
const FOREIGN_KEY: &str = r#"{"kty":"EC","kid":"7c38e9a4-521f-4b70-8352-004ea7bf62b5","use":"sig","key_ops":["sign","verify"],"alg":"ES256","ext":true,"d":"-geSeIb_Niye8WI_DTBDMPbzMV9VIQZhq8dZ2xkiGvs","crv":"P-256","x":"0WbzWTvsRDoad20_LkTTMcCG82QPdLwahKj3gP4gxwA","y":"VXfqWnM98k_QkpJEJyl2jS-5yKBd9FYQTLKw3P5-Jx0"}"#;
const PUBLISHABLE_KEY: &str = "sb_publishable_conformance";
const SECRET_KEY: &str = "sb_secret_conformance";
const ISSUER: &str = "http://127.0.0.1/auth/v1";
const DATABASE: &str = "gateway_conformance";
const DEFAULT_SUPERUSER_URL: &str =
    "postgresql://supabase_admin:postgres@127.0.0.1:24322/postgres?sslmode=disable";
const USER_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const USER_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";

struct Harness {
    base: String,
    /// `postgres` on the conformance database: owns the fixture schema.
    owner_config: tokio_postgres::Config,
    /// What the shared gateway was started with; tests of the limits start
    /// their own gateway from it with smaller limits.
    gateway_config: gateway::Config,
}

static HARNESS: OnceLock<Harness> = OnceLock::new();

fn superuser_url() -> String {
    std::env::var("CONFORMANCE_DATABASE_URL").unwrap_or_else(|_| DEFAULT_SUPERUSER_URL.to_owned())
}

fn workspace_file(relative: &str) -> String {
    let path = format!("{}/../../{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

async fn connect(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to postgres: {e}"));
    tokio::spawn(connection);
    client
}

/// Recreates database `name` as the local stack builds one: the baseline as
/// the superuser, then the fixture schema as `postgres`. Returns the
/// superuser's server connection settings and `postgres`'s on `name`.
async fn create_fixture_database(name: &str) -> (tokio_postgres::Config, tokio_postgres::Config) {
    let server_config: tokio_postgres::Config = superuser_url()
        .parse()
        .unwrap_or_else(|e| panic!("superuser url: {e}"));
    let server = connect(&server_config).await;
    // Separate statements: DROP/CREATE DATABASE refuse to run in a transaction block.
    for statement in [
        format!("drop database if exists {name} with (force)"),
        format!("create database {name}"),
    ] {
        server
            .batch_execute(&statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
    }
    let mut superuser_config = server_config.clone();
    superuser_config.dbname(name);
    connect(&superuser_config)
        .await
        .batch_execute(&workspace_file("supabase/baseline/supabase_baseline.sql"))
        .await
        .unwrap_or_else(|e| panic!("baseline: {e:?}"));
    // The baseline's postgres (the local stack's password, as authenticator's).
    let mut owner_config = superuser_config;
    owner_config.user("postgres").password("postgres");
    connect(&owner_config)
        .await
        .batch_execute(&workspace_file("crates/gateway/tests/fixtures/schema.sql"))
        .await
        .unwrap_or_else(|e| panic!("fixture: {e:?}"));
    (server_config, owner_config)
}

/// Creates the conformance database, then serves the gateway and the fake upstream on
/// a runtime that lives as long as the test process.
fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("runtime: {e}"));
            runtime.block_on(async move {
                let (server_config, owner_config) = create_fixture_database(DATABASE).await;

                let upstream = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap_or_else(|e| panic!("bind: {e}"));
                let upstream_addr = upstream.local_addr().unwrap_or_else(|e| panic!("{e}"));
                tokio::spawn(async move { axum::serve(upstream, fake_function()).await });
                // A port nobody listens on: the "down" function.
                let dead = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap_or_else(|e| panic!("bind: {e}"));
                let dead_addr = dead.local_addr().unwrap_or_else(|e| panic!("{e}"));
                drop(dead);

                let host = match server_config.get_hosts().first() {
                    Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
                    _ => "127.0.0.1".to_owned(),
                };
                let port = server_config.get_ports().first().copied().unwrap_or(5432);
                let config = gateway::Config {
                    port: 0,
                    database_url: format!(
                        "postgresql://authenticator:postgres@{host}:{port}/{DATABASE}?sslmode=disable"
                    ),
                    jwt_secret: SECRET.to_owned(),
                    signing_keys: Some(SIGNING_KEY.to_owned()),
                    site_url: "http://127.0.0.1".to_owned(),
                    auth_database_url: Some(format!(
                        "postgresql://supabase_auth_admin:postgres@{host}:{port}/{DATABASE}?sslmode=disable"
                    )),
                    api_keys: local_auth::ApiKeys {
                        publishable: Some(PUBLISHABLE_KEY.to_owned()),
                        secret: Some(SECRET_KEY.to_owned()),
                    },
                    function_upstreams: gateway::parse_upstreams(&format!(
                        "echo-fn=http://{upstream_addr},down-fn=http://{dead_addr}"
                    ))
                    .unwrap_or_else(|e| panic!("{e}")),
                    pool_size: 8,
                    schema: "public".to_owned(),
                    limits: gateway::Limits::default(),
                    realtime_database_url: None,
                    replica_database_url: None,
                };
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap_or_else(|e| panic!("bind: {e}"));
                let address: SocketAddr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
                let _ = sender.send((format!("http://{address}"), owner_config, config.clone()));
                gateway::serve(config, listener, std::future::pending())
                    .await
                    .unwrap_or_else(|e| panic!("serve: {e}"));
            });
        });
        let (base, owner_config, gateway_config) = receiver
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("harness did not start: {e}"));
        Harness {
            base,
            owner_config,
            gateway_config,
        }
    })
}

/// A gateway of its own with these limits, served on the calling test's
/// runtime (it stops with the test); returns its base URL.
async fn gateway_with(limits: gateway::Limits) -> String {
    let mut config = harness().gateway_config.clone();
    config.limits = limits;
    serve_gateway(config).await
}

/// Serves a second gateway with `config`; returns its base URL once it answers.
async fn serve_gateway(config: gateway::Config) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(gateway::serve(config, listener, std::future::pending()));
    let base = format!("http://{address}");
    for _ in 0..100 {
        if let Ok(response) = reqwest::get(format!("{base}/health")).await {
            if response.status() == StatusCode::OK {
                return base;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the second gateway did not start")
}

/// Writes `request` on a raw connection to `base` and returns what the gateway
/// sends back: one whole response (its head and `content-length` bytes), or
/// everything until it closes the connection; `None` if neither came within
/// `within` (bytes still unsent are never sent: the request's declared body
/// may be longer than what is written).
async fn raw_exchange(base: &str, request: &[u8], within: Duration) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    stream
        .write_all(request)
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    let read = async {
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return answer,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
            if is_whole_response(&answer) {
                return answer;
            }
        }
    };
    let answer = tokio::time::timeout(within, read).await.ok()?;
    Some(String::from_utf8_lossy(&answer).into_owned())
}

/// Whether `bytes` hold a response head and the whole body its
/// `content-length` announces.
fn is_whole_response(bytes: &[u8]) -> bool {
    let Some(head_end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
    head.lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|length| length.trim().parse::<usize>().ok())
        .is_some_and(|length| bytes.len() >= head_end + 4 + length)
}

/// The fake edge function: echoes what it received, with a status and a header of its own.
fn fake_function() -> axum::Router {
    use axum::http::{HeaderMap, Method as AxumMethod, Uri};
    use axum::response::IntoResponse;
    axum::Router::new().fallback(
        |method: AxumMethod, uri: Uri, headers: HeaderMap, body: axum::body::Bytes| async move {
            if method == AxumMethod::OPTIONS {
                return (StatusCode::OK, [("access-control-allow-origin", "*")], "ok")
                    .into_response();
            }
            let echoed = json!({
                "method": method.as_str(),
                "path": uri.to_string(),
                "authorization": headers.get("authorization").and_then(|v| v.to_str().ok()),
                "idempotency_key": headers.get("idempotency-key").and_then(|v| v.to_str().ok()),
                "body": String::from_utf8_lossy(&body),
            });
            (
                StatusCode::ACCEPTED,
                [("x-upstream", "deno"), ("content-type", "application/json")],
                echoed.to_string(),
            )
                .into_response()
        },
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// User tokens ES256 with `signing_key`, keys HS256 with `secret`.
fn token_with(
    role: &str,
    sub: Option<&str>,
    issued: u64,
    ttl: u64,
    secret: &str,
    signing_key: Option<&str>,
) -> String {
    let request = TokenRequest {
        role: role.into(),
        sub: sub.map(str::to_owned),
        email: None,
        ttl_secs: ttl,
    };
    let keys = KeySet::new(signing_key, secret).unwrap_or_else(|e| panic!("{e}"));
    sign(&request, &keys, ISSUER, issued).unwrap_or_else(|e| panic!("{e}"))
}

fn token_at(role: &str, sub: Option<&str>, issued: u64, ttl: u64, secret: &str) -> String {
    token_with(role, sub, issued, ttl, secret, Some(SIGNING_KEY))
}

/// An HS256 token with exactly these claims (the legacy secret).
fn hs256(claims: Value) -> String {
    let keys = KeySet::new(None, SECRET).unwrap_or_else(|e| panic!("{e}"));
    keys.sign_legacy(claims.as_object().unwrap_or(&serde_json::Map::new()))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// An ES256 token with exactly these claims, signed with `key`.
fn es256(key: &str, claims: Value) -> String {
    let keys = KeySet::new(Some(key), SECRET).unwrap_or_else(|e| panic!("{e}"));
    keys.sign(claims.as_object().unwrap_or(&serde_json::Map::new()))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn user(sub: &str) -> String {
    token_at("authenticated", Some(sub), now(), 600, SECRET)
}

fn service() -> String {
    token_at("service_role", None, now(), 600, SECRET)
}

fn anon_key() -> String {
    token_at("anon", None, now(), 600, SECRET)
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts PostgREST's error body and returns it.
    fn error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        let body = self.json();
        assert_eq!(body["code"], code, "body: {body}");
        for key in ["message", "details", "hint"] {
            assert!(body.get(key).is_some(), "missing {key}: {body}");
        }
        body
    }
}

async fn request(
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    request_to(&harness().base, method, path, token, headers, body).await
}

async fn request_to(
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let client = reqwest::Client::new();
    let mut builder = client.request(method, format!("{base}{path}"));
    if let Some(token) = token {
        builder = builder.bearer_auth(token);
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    if let Some(body) = body {
        builder = builder
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = builder
        .send()
        .await
        .unwrap_or_else(|e| panic!("request failed: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    Reply {
        status,
        headers,
        text,
    }
}

async fn get(path: &str, token: Option<&str>) -> Reply {
    request(Method::GET, path, token, &[], None).await
}

/// A connection as `postgres`, the owner of the fixture schema (not a
/// superuser; bypasses RLS).
async fn postgres_client() -> tokio_postgres::Client {
    connect(&harness().owner_config).await
}

/// A fingerprint of the fixture tables no request may change, plus the items
/// whose sku starts with `sku_prefix` (tests run in parallel, each with its own skus).
async fn fingerprint(sku_prefix: &str) -> String {
    postgres_client()
        .await
        .query_one(
            "select (select string_agg(id || ':' || label, ',' order by id) from public.canary) || '|' || \
             (select string_agg(id || ':' || name || ':' || coalesce(position, 0), ',' order by id) from public.categories) || '|' || \
             (select coalesce(string_agg(sku || ':' || stock, ',' order by sku), '') from public.items where starts_with(sku, $1)) || '|' || \
             (select string_agg(tablename, ',' order by tablename) from pg_catalog.pg_tables where schemaname = 'public' and tablename <> 'late_table')",
            &[&sku_prefix],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0)
}

fn names(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap_or_else(|| panic!("not an array: {body}"))
        .iter()
        .map(|row| row["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn health_answers_ok() {
    let reply = get("/health", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "ok");
}

#[tokio::test]
async fn select_filters_and_order() {
    let cases: &[(&str, &[&str])] = &[
        ("id=eq.2", &["Plates"]),
        (
            "id=neq.2&order=id",
            &["Mugs", "Bowls", "Cups", "mugs and more"],
        ),
        ("id=gt.3&order=id", &["Cups", "mugs and more"]),
        ("id=gte.4&order=id", &["Cups", "mugs and more"]),
        ("id=lt.2", &["Mugs"]),
        ("id=lte.2&order=id.desc", &["Plates", "Mugs"]),
        (
            "id=in.(1,3,5)&order=id",
            &["Mugs", "Bowls", "mugs and more"],
        ),
        ("name=in.(\"Mugs\",\"Cups\")&order=name", &["Cups", "Mugs"]),
        ("position=is.null", &["Bowls"]),
        ("position=not.is.null&id=lt.3&order=id", &["Mugs", "Plates"]),
        ("name=like.M*&order=id", &["Mugs"]),
        ("name=ilike.*MUG*&order=id", &["Mugs", "mugs and more"]),
        ("id=not.in.(1,2,3)&order=id", &["Cups", "mugs and more"]),
        (
            "order=position.desc.nullsfirst&limit=2",
            &["Bowls", "mugs and more"],
        ),
        (
            "order=position.asc.nullslast&offset=3",
            &["mugs and more", "Bowls"],
        ),
        ("order=id&limit=2&offset=1", &["Plates", "Bowls"]),
        ("labels=cs.{gift}&order=id", &["Mugs", "Cups"]),
        (
            "labels=cd.{kitchen,gift}&labels=neq.{}&order=id",
            &["Mugs", "Plates", "Cups"],
        ),
        ("labels=ov.{gift,none}&order=id", &["Mugs", "Cups"]),
        (
            "attributes=cs.{\"material\":\"clay\"}&order=id",
            &["Mugs", "Cups"],
        ),
        ("name=match.^M&order=id", &["Mugs"]),
        ("name=imatch.^m&order=id", &["Mugs", "mugs and more"]),
        (
            "position=isdistinct.10&id=lt.4&order=id",
            &["Plates", "Bowls"],
        ),
        ("or=(id.eq.1,name.eq.Cups)&order=id", &["Mugs", "Cups"]),
        (
            "or=(id.eq.2,and(id.gt.3,position.lt.45))&order=id",
            &["Plates", "Cups"],
        ),
        (
            "not.or=(id.lt.3,position.is.null)&order=id",
            &["Cups", "mugs and more"],
        ),
        (
            "and=(id.gte.2,id.lte.4)&name=neq.Bowls&order=id",
            &["Plates", "Cups"],
        ),
        (
            "or=(name.eq.\"mugs and more\",name.ilike.plate*)&order=id",
            &["Plates", "mugs and more"],
        ),
    ];
    for (query, expected) in cases {
        let reply = get(&format!("/rest/v1/categories?select=name&{query}"), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
        assert_eq!(names(&reply.json()), *expected, "{query}");
    }
}

#[tokio::test]
async fn database_unreachable_is_503_json() {
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let dead_port = dead.local_addr().map(|a| a.port()).unwrap_or_default();
    drop(dead);
    let config = gateway::Config {
        port: 0,
        database_url: format!("postgresql://authenticator:postgres@127.0.0.1:{dead_port}/x"),
        jwt_secret: SECRET.to_owned(),
        signing_keys: None,
        site_url: "http://127.0.0.1".to_owned(),
        auth_database_url: None,
        api_keys: Default::default(),
        function_upstreams: Default::default(),
        pool_size: 2,
        schema: "public".to_owned(),
        limits: gateway::Limits::default(),
        realtime_database_url: None,
        replica_database_url: None,
    };
    let router = gateway::app(config).await.unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let base = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{base}/rest/v1/categories"))
        .send()
        .await;
    let response = response.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(body["code"], "PGRST002");
    let health = client.get(format!("{base}/health")).send().await;
    let health = health.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn browsers_get_postgrest_cors() {
    let preflight = [
        ("origin", "http://localhost:3000"),
        ("access-control-request-method", "POST"),
        (
            "access-control-request-headers",
            "apikey, content-type, x-client-info",
        ),
    ];
    let reply = request(Method::OPTIONS, "/rest/v1/items", None, &preflight, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        reply.header("access-control-allow-headers"),
        Some("Authorization, apikey, content-type, x-client-info")
    );
    let origin = [("origin", "http://localhost:3000")];
    let reply = request(
        Method::GET,
        "/rest/v1/categories?id=eq.1",
        None,
        &origin,
        None,
    )
    .await;
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert!(reply
        .header("access-control-expose-headers")
        .is_some_and(|v| v.contains("Content-Range")));
    // Errors carry them too, so the browser can read the error body.
    let reply = request(Method::GET, "/rest/v1/nope", None, &origin, None).await;
    reply.error(404, "PGRST205");
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn select_columns_aliases_and_views() {
    let reply = get("/rest/v1/categories?select=id,label:name&id=eq.1", None).await;
    assert_eq!(reply.json(), json!([{"id": 1, "label": "Mugs"}]));
    assert_eq!(
        reply.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let reply = get("/rest/v1/category_names?id=eq.4", Some(&anon_key())).await;
    assert_eq!(reply.json(), json!([{"id": 4, "name": "Cups"}]));
}

#[tokio::test]
async fn range_and_exact_count() {
    let reply = request(
        Method::GET,
        "/rest/v1/categories?select=id&order=id",
        None,
        &[("range", "1-2"), ("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(reply.json(), json!([{"id": 2}, {"id": 3}]));
    assert_eq!(reply.header("content-range"), Some("1-2/5"));

    let reply = request(
        Method::GET,
        "/rest/v1/categories?select=id",
        None,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-range"), Some("0-4/5"));

    let huge = "/rest/v1/categories?limit=9223372036854775807&offset=9223372036854775807";
    let reply = request(Method::GET, huge, None, &[("range", "0-")], None).await;
    assert_eq!((reply.status, reply.json()), (StatusCode::OK, json!([])));

    let reply = get("/rest/v1/categories?select=id&limit=2", None).await;
    assert_eq!(reply.header("content-range"), Some("0-1/*"));

    let reply = request(
        Method::GET,
        "/rest/v1/categories?offset=9",
        None,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    reply.error(416, "PGRST103");

    let reply = request(
        Method::HEAD,
        "/rest/v1/categories?id=lt.4&limit=2",
        None,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(reply.header("content-range"), Some("0-1/3"));
    assert!(reply.text.is_empty());
}

#[tokio::test]
async fn singular_object_needs_exactly_one_row() {
    let object = [("accept", "application/vnd.pgrst.object+json")];
    let reply = request(
        Method::GET,
        "/rest/v1/categories?id=eq.2",
        None,
        &object,
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({"id": 2, "name": "Plates", "position": 20, "labels": ["kitchen"], "attributes": {"material": "porcelain"}})
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/vnd.pgrst.object+json; charset=utf-8")
    );

    let body = request(
        Method::GET,
        "/rest/v1/categories?id=eq.99",
        None,
        &object,
        None,
    )
    .await
    .error(406, "PGRST116");
    assert_eq!(body["details"], "The result contains 0 rows");
    let body = request(
        Method::GET,
        "/rest/v1/categories?id=lt.3",
        None,
        &object,
        None,
    )
    .await
    .error(406, "PGRST116");
    assert_eq!(body["details"], "The result contains 2 rows");

    let reply = request(
        Method::GET,
        "/rest/v1/categories",
        None,
        &[("accept", "application/xml")],
        None,
    )
    .await;
    reply.error(406, "PGRST107");
    // CSV is offered for reads of tables, not for functions.
    request(
        Method::GET,
        "/rest/v1/rpc/numbers_upto?n=2",
        None,
        &[("accept", "text/csv")],
        None,
    )
    .await
    .error(406, "PGRST107");

    // supabase-js names the schema in Accept-Profile / Content-Profile.
    let profile = [("accept-profile", "public")];
    let reply = request(
        Method::GET,
        "/rest/v1/categories?id=eq.1",
        None,
        &profile,
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let other = [("accept-profile", "auth")];
    let body = request(Method::GET, "/rest/v1/categories", None, &other, None)
        .await
        .error(406, "PGRST106");
    assert_eq!(
        body["hint"],
        "Only the following schemas are exposed: public"
    );
}

#[tokio::test]
async fn unknown_tables_columns_and_malformed_queries() {
    let before = fingerprint("no-such-sku-").await;
    let body = get("/rest/v1/nope", None).await.error(404, "PGRST205");
    assert_eq!(
        body["message"],
        "Could not find the table 'public.nope' in the schema cache"
    );
    let body = get("/rest/v1/categories?select=id,secret", None)
        .await
        .error(400, "42703");
    assert_eq!(body["message"], "column categories.secret does not exist");
    get("/rest/v1/categories?secret=eq.1", None)
        .await
        .error(400, "42703");
    get("/rest/v1/categories?order=secret", None)
        .await
        .error(400, "42703");
    get("/rest/v1/categories?select=id,nope(*)", None)
        .await
        .error(400, "PGRST200");
    get("/rest/v1/categories?or=(secret.eq.1,id.eq.1)", None)
        .await
        .error(400, "42703");
    for query in [
        "or=(id.eq.1",
        "or=id.eq.1",
        "and=()",
        "id=equals.1",
        "id=eq",
        "id=in.(1,2",
        "id=is.maybe",
        "order=id.sideways",
        "limit=ten",
        "offset=-1",
    ] {
        get(&format!("/rest/v1/categories?{query}"), None)
            .await
            .error(400, "PGRST100");
    }
    get("/rest/v1/categories?id=eq.not-a-number", None)
        .await
        .error(400, "22P02");
    request(
        Method::PUT,
        "/rest/v1/categories",
        Some(&service()),
        &[],
        Some(json!({})),
    )
    .await
    .error(405, "PGRST117");
    get("/rest/v1/", None).await.error(404, "PGRST126");
    assert_eq!(fingerprint("no-such-sku-").await, before);
}

#[tokio::test]
async fn bad_tokens_are_rejected_before_any_query() {
    let expired = token_at("authenticated", Some(USER_A), now() - 7200, 60, SECRET);
    let reply = get("/rest/v1/categories", Some(&expired)).await;
    let body = reply.error(401, "PGRST303");
    assert_eq!(body["message"], "JWT expired");
    assert!(reply
        .header("www-authenticate")
        .is_some_and(|v| v.starts_with("Bearer error=\"invalid_token\"")));

    let forged = token_at(
        "service_role",
        None,
        now(),
        600,
        "another-secret-another-secret-another-secret",
    );
    get("/rest/v1/categories", Some(&forged))
        .await
        .error(401, "PGRST301");

    // alg none with a service_role claim: must not be trusted.
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.";
    let body = get("/rest/v1/settings", Some(none))
        .await
        .error(401, "PGRST301");
    assert_eq!(body["message"], "Wrong or unsupported encoding algorithm");
    get("/rest/v1/categories", Some("not-a-jwt"))
        .await
        .error(401, "PGRST301");

    // A JWT in `apikey` is used when there is no Authorization header.
    let forged_key = [("apikey", forged.as_str())];
    request(Method::GET, "/rest/v1/categories", None, &forged_key, None)
        .await
        .error(401, "PGRST301");
    let publishable = [("apikey", PUBLISHABLE_KEY)];
    let reply = request(
        Method::GET,
        "/rest/v1/categories?id=eq.1",
        None,
        &publishable,
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let unknown_key = [("apikey", "sb_secret_guessed")];
    let body = request(Method::GET, "/rest/v1/categories", None, &unknown_key, None)
        .await
        .error(401, "PGRST301");
    assert_eq!(body["message"], "Invalid API key");

    // Roles other than anon, authenticated and service_role never reach the database.
    for role in ["nobody", "postgres", "authenticator"] {
        let body = get(
            "/rest/v1/categories",
            Some(&token_at(role, None, now(), 600, SECRET)),
        )
        .await
        .error(401, "PGRST303");
        assert_eq!(
            body["message"],
            "The JWT 'role' claim must be anon, authenticated or service_role"
        );
    }
}

/// The verification rules of hosted Supabase, for ES256 user tokens and the
/// HS256 legacy keys alike: each refused token is 401 before any query.
#[tokio::test]
async fn jwt_claims_are_checked_like_hosted_supabase() {
    let before = fingerprint("jwt-claims-").await;
    let valid = json!({"role": "authenticated", "sub": USER_A, "aud": "authenticated",
        "iat": now(), "exp": now() + 600});
    let with = |changes: Value| {
        let mut claims = valid.clone();
        if let (Some(claims), Value::Object(changes)) = (claims.as_object_mut(), changes) {
            for (name, value) in changes {
                if value.is_null() {
                    claims.remove(&name);
                } else {
                    claims.insert(name, value);
                }
            }
        }
        claims
    };
    let cases = [
        (
            "forged (a stranger's key, our kid)",
            es256(
                &FOREIGN_KEY.replace(
                    "7c38e9a4-521f-4b70-8352-004ea7bf62b5",
                    "a7807d37-4307-4524-874c-984a3a80ba87",
                ),
                valid.clone(),
            ),
            "PGRST301",
            "JWT cryptographic operation failed",
        ),
        (
            "wrong kid",
            es256(FOREIGN_KEY, valid.clone()),
            "PGRST301",
            "No suitable key or wrong key type",
        ),
        (
            "expired",
            es256(
                SIGNING_KEY,
                with(json!({"iat": now() - 7200, "exp": now() - 3600})),
            ),
            "PGRST303",
            "JWT expired",
        ),
        (
            "no exp",
            es256(SIGNING_KEY, with(json!({"exp": null}))),
            "PGRST303",
            "The JWT 'exp' claim is required",
        ),
        (
            "no exp, legacy secret",
            hs256(json!({"role": "service_role"})),
            "PGRST303",
            "The JWT 'exp' claim is required",
        ),
        (
            "wrong aud",
            es256(SIGNING_KEY, with(json!({"aud": "someone-else"}))),
            "PGRST303",
            "JWT not in audience",
        ),
        (
            "role authenticator",
            es256(SIGNING_KEY, with(json!({"role": "authenticator"}))),
            "PGRST303",
            "The JWT 'role' claim must be anon, authenticated or service_role",
        ),
        (
            "sub not a uuid",
            es256(SIGNING_KEY, with(json!({"sub": "42"}))),
            "PGRST303",
            "The JWT 'sub' claim must be a uuid",
        ),
        (
            "sub not a uuid, legacy secret",
            hs256(with(json!({"sub": "user-42"}))),
            "PGRST303",
            "The JWT 'sub' claim must be a uuid",
        ),
    ];
    for (case, token, code, message) in cases {
        for path in ["/rest/v1/categories", "/rest/v1/rpc/whoami"] {
            let reply = get(path, Some(&token)).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{case} on {path}: {}",
                reply.text
            );
            let body = reply.json();
            assert_eq!(
                (body["code"].as_str(), body["message"].as_str()),
                (Some(code), Some(message)),
                "{case}"
            );
        }
        let reply = request(
            Method::POST,
            "/functions/v1/echo-fn",
            Some(&token),
            &[],
            Some(json!({})),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{case} through the functions relay"
        );
        assert_eq!(reply.json()["error"]["code"], "unauthorized");
    }
    // The same claims, properly signed, pass: ES256 by kid and the legacy HS256 secret.
    for token in [es256(SIGNING_KEY, valid.clone()), hs256(valid.clone())] {
        let reply = get("/rest/v1/rpc/whoami", Some(&token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.json()["uid"], USER_A);
    }
    assert_eq!(fingerprint("jwt-claims-").await, before);
}

/// A session from /auth/v1 is an ES256 token with the kid the JWKS
/// publishes, and PostgREST and the functions relay accept it.
#[tokio::test]
async fn auth_sessions_are_accepted_by_rest_and_functions() {
    let base = &harness().base;
    let client = reqwest::Client::new();
    let jwks: Value = client
        .get(format!("{base}/auth/v1/.well-known/jwks.json"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(
        jwks["keys"][0]["kid"],
        "a7807d37-4307-4524-874c-984a3a80ba87"
    );
    assert!(jwks["keys"][0].get("d").is_none(), "no private member");
    let email = format!("conformance-{}@example.com", uuid::Uuid::new_v4().simple());
    let created = client
        .post(format!("{base}/auth/v1/admin/users"))
        .header("apikey", SECRET_KEY)
        .header("authorization", format!("Bearer {SECRET_KEY}"))
        .json(&json!({"email": email, "password": "correct horse", "email_confirm": true}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.status(), StatusCode::OK);
    let session: Value = client
        .post(format!("{base}/auth/v1/token?grant_type=password"))
        .header("apikey", PUBLISHABLE_KEY)
        .json(&json!({"email": email, "password": "correct horse"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    let access_token = session["access_token"].as_str().unwrap_or_default();
    let header = jsonwebtoken::decode_header(access_token).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(
        header.kid.as_deref(),
        Some("a7807d37-4307-4524-874c-984a3a80ba87")
    );
    let reply = get("/rest/v1/rpc/whoami", Some(access_token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["uid"], session["user"]["id"]);
    assert_eq!(reply.json()["claims"]["iss"], ISSUER);
    let reply = request(
        Method::POST,
        "/functions/v1/echo-fn",
        Some(access_token),
        &[],
        Some(json!({})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
}

#[tokio::test]
async fn claims_reach_sql_like_postgrest() {
    let token = token_at("authenticated", Some(USER_A), now(), 600, SECRET);
    let reply = get("/rest/v1/rpc/whoami", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["uid"], USER_A);
    assert_eq!(body["role"], "authenticated");
    assert_eq!(body["claims"]["sub"], USER_A);
    assert_eq!(body["claims"]["role"], "authenticated");
    assert_eq!(body["method"], "GET");
    assert_eq!(body["path"], "/rest/v1/rpc/whoami");
    assert_eq!(body["read_only"], "on");

    let body = get("/rest/v1/rpc/whoami", None).await.json();
    assert_eq!(body["role"], "anon");
    assert_eq!(body["statement_timeout"], "2500ms");
    assert_eq!(body["uid"], Value::Null);
    assert_eq!(body["claims"], json!({"role": "anon"}));
}

async fn insert_item(token: &str, sku: &str, stock: i64) -> Value {
    let reply = request(
        Method::POST,
        "/rest/v1/items",
        Some(token),
        &[
            ("prefer", "return=representation"),
            ("accept", "application/vnd.pgrst.object+json"),
        ],
        Some(json!({"name": format!("item {sku}"), "sku": sku, "stock": stock})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.json()
}

#[tokio::test]
async fn rls_shows_each_user_only_their_rows() {
    let (a, b) = (user(USER_A), user(USER_B));
    let row = insert_item(&a, "rls-a-1", 5).await;
    assert_eq!(row["owner_id"], USER_A);
    let id = row["id"].as_str().unwrap_or_default().to_owned();

    let mine = get("/rest/v1/items?sku=like.rls-*", Some(&a)).await.json();
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    let theirs = get("/rest/v1/items?sku=like.rls-*", Some(&b)).await.json();
    assert_eq!(theirs, json!([]));

    // B cannot change or delete A's row: zero rows match, nothing changes.
    let reply = request(
        Method::PATCH,
        &format!("/rest/v1/items?id=eq.{id}"),
        Some(&b),
        &[("prefer", "return=representation")],
        Some(json!({"stock": 0})),
    )
    .await;
    assert_eq!((reply.status, reply.json()), (StatusCode::OK, json!([])));
    let reply = request(
        Method::DELETE,
        &format!("/rest/v1/items?id=eq.{id}"),
        Some(&b),
        &[],
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let stock: i32 = postgres_client()
        .await
        .query_one("select stock from public.items where sku = 'rls-a-1'", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    assert_eq!(stock, 5);

    // B cannot plant a row owned by A.
    let reply = request(
        Method::POST,
        "/rest/v1/items",
        Some(&b),
        &[],
        Some(json!({"name": "x", "sku": "rls-b-forged", "owner_id": USER_A})),
    )
    .await;
    reply.error(403, "42501");
    // Anonymous callers have no grant on items at all: 401, not 403.
    get("/rest/v1/items", None).await.error(401, "42501");
    // service_role bypasses RLS.
    let all = get("/rest/v1/items?sku=eq.rls-a-1", Some(&service()))
        .await
        .json();
    assert_eq!(all.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn inserts_single_bulk_minimal_and_constraint_errors() {
    let a = user(USER_A);
    let reply = request(
        Method::POST,
        "/rest/v1/items",
        Some(&a),
        &[],
        Some(json!([{"name": "b1", "sku": "bulk-1"}, {"name": "b2", "sku": "bulk-2"}])),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(reply.text.is_empty());

    let reply = request(Method::POST, "/rest/v1/items?select=sku,stock", Some(&a), &[("prefer", "return=representation")], Some(json!([{"name": "b3", "sku": "bulk-3", "stock": 2}, {"name": "b4", "sku": "bulk-4", "stock": 3}]))).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        reply.json(),
        json!([{"sku": "bulk-3", "stock": 2}, {"sku": "bulk-4", "stock": 3}])
    );

    let before = fingerprint("bulk-").await;
    // With RLS on the table PostgreSQL leaves the key out of `details`.
    let body = request(
        Method::POST,
        "/rest/v1/items",
        Some(&a),
        &[],
        Some(json!({"name": "dup", "sku": "bulk-1"})),
    )
    .await
    .error(409, "23505");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("items_sku_key")),
        "{body}"
    );
    // One bad row fails the whole bulk insert.
    request(
        Method::POST,
        "/rest/v1/items",
        Some(&a),
        &[],
        Some(json!([{"name": "ok", "sku": "bulk-5"}, {"name": "dup", "sku": "bulk-2"}])),
    )
    .await
    .error(409, "23505");
    request(
        Method::POST,
        "/rest/v1/items",
        Some(&a),
        &[],
        Some(json!({"name": "fk", "sku": "bulk-fk", "category_id": 999})),
    )
    .await
    .error(409, "23503");
    request(
        Method::POST,
        "/rest/v1/items",
        Some(&a),
        &[],
        Some(json!({"name": "neg", "sku": "bulk-neg", "stock": -1})),
    )
    .await
    .error(400, "23514");
    request(
        Method::POST,
        "/rest/v1/items",
        Some(&a),
        &[],
        Some(json!({"sku": "bulk-noname"})),
    )
    .await
    .error(400, "23502");
    request(
        Method::POST,
        "/rest/v1/items",
        Some(&a),
        &[],
        Some(json!({"name": "x", "sku": "bulk-x", "stock": "many"})),
    )
    .await
    .error(400, "22P02");
    let body = request(
        Method::POST,
        "/rest/v1/items",
        Some(&a),
        &[],
        Some(json!({"name": "x", "sku": "bulk-y", "colour": "red"})),
    )
    .await
    .error(400, "PGRST204");
    assert_eq!(
        body["message"],
        "Could not find the 'colour' column of 'items' in the schema cache"
    );
    request(
        Method::POST,
        "/rest/v1/items",
        Some(&a),
        &[],
        Some(json!([{"name": "x", "sku": "k1"}, {"sku": "k2"}])),
    )
    .await
    .error(400, "PGRST102");
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/rest/v1/items", harness().base))
        .bearer_auth(&a)
        .body("{not json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fingerprint("bulk-").await, before);
}

#[tokio::test]
async fn bulk_insert_with_columns_and_missing_default() {
    // What supabase-js sends for a bulk insert: `columns` with quoted names.
    let a = user(USER_A);
    let path = "/rest/v1/items?columns=%22name%22,%22sku%22,%22stock%22&select=sku,stock,owner_id";
    let rows = json!([{"name": "m1", "sku": "md-1", "stock": 3}, {"name": "m2", "sku": "md-2"}]);
    // Default (missing=null): the absent stock is NULL and violates NOT NULL.
    request(Method::POST, path, Some(&a), &[], Some(rows.clone()))
        .await
        .error(400, "23502");
    let prefer = [("prefer", "return=representation,missing=default")];
    let reply = request(Method::POST, path, Some(&a), &prefer, Some(rows)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!([
            {"sku": "md-1", "stock": 3, "owner_id": USER_A},
            {"sku": "md-2", "stock": 0, "owner_id": USER_A}
        ])
    );
}

#[tokio::test]
async fn upsert_merges_duplicates_on_the_key_or_on_conflict() {
    let s = service();
    let prefer = [(
        "prefer",
        "return=representation,resolution=merge-duplicates",
    )];
    let reply = request(
        Method::POST,
        "/rest/v1/settings",
        Some(&s),
        &prefer,
        Some(json!({"key": "theme", "value": "light", "code": "t"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let reply = request(Method::POST, "/rest/v1/settings", Some(&s), &prefer, Some(json!([{"key": "theme", "value": "dark", "code": "t"}, {"key": "lang", "value": "en", "code": "l"}]))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        reply.header("preference-applied"),
        Some("return=representation, resolution=merge-duplicates")
    );
    let rows = get(
        "/rest/v1/settings?select=key,value&key=in.(theme,lang)&order=key",
        Some(&s),
    )
    .await
    .json();
    assert_eq!(
        rows,
        json!([{"key": "lang", "value": "en"}, {"key": "theme", "value": "dark"}])
    );

    let reply = request(
        Method::POST,
        "/rest/v1/settings?on_conflict=code",
        Some(&s),
        &prefer,
        Some(json!({"key": "theme-2", "value": "blue", "code": "t"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let rows = get("/rest/v1/settings?select=key,value&code=eq.t", Some(&s))
        .await
        .json();
    assert_eq!(rows, json!([{"key": "theme-2", "value": "blue"}]));

    // Without the resolution preference a duplicate is a conflict.
    request(
        Method::POST,
        "/rest/v1/settings",
        Some(&s),
        &[],
        Some(json!({"key": "lang", "value": "fr"})),
    )
    .await
    .error(409, "23505");
    request(
        Method::POST,
        "/rest/v1/settings?on_conflict=nope",
        Some(&s),
        &prefer,
        Some(json!({"key": "z", "value": "z"})),
    )
    .await
    .error(400, "PGRST204");
}

#[tokio::test]
async fn patch_and_delete_apply_to_filtered_rows_only() {
    let a = user(USER_A);
    for (sku, stock) in [("pd-1", 1), ("pd-2", 2), ("pd-3", 3)] {
        insert_item(&a, sku, stock).await;
    }
    let reply = request(
        Method::PATCH,
        "/rest/v1/items?sku=in.(pd-1,pd-2)&select=sku,stock&order=sku",
        Some(&a),
        &[("prefer", "return=representation")],
        Some(json!({"stock": 10})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let mut rows = reply.json().as_array().cloned().unwrap_or_default();
    rows.sort_by_key(|r| r["sku"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        Value::Array(rows),
        json!([{"sku": "pd-1", "stock": 10}, {"sku": "pd-2", "stock": 10}])
    );

    let reply = request(
        Method::PATCH,
        "/rest/v1/items?sku=eq.pd-3",
        Some(&a),
        &[],
        Some(json!({"stock": 30})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    // A singular PATCH matching two rows is refused and rolled back.
    let object = [
        ("accept", "application/vnd.pgrst.object+json"),
        ("prefer", "return=representation"),
    ];
    request(
        Method::PATCH,
        "/rest/v1/items?sku=in.(pd-1,pd-2)",
        Some(&a),
        &object,
        Some(json!({"stock": 99})),
    )
    .await
    .error(406, "PGRST116");
    // A check violation rolls back too.
    request(
        Method::PATCH,
        "/rest/v1/items?sku=like.pd-*",
        Some(&a),
        &[],
        Some(json!({"stock": -5})),
    )
    .await
    .error(400, "23514");
    let stocks = get(
        "/rest/v1/items?select=stock&sku=like.pd-*&order=sku",
        Some(&a),
    )
    .await
    .json();
    assert_eq!(stocks, json!([{"stock": 10}, {"stock": 10}, {"stock": 30}]));

    let reply = request(
        Method::DELETE,
        "/rest/v1/items?sku=eq.pd-1&select=sku",
        Some(&a),
        &[("prefer", "return=representation")],
        None,
    )
    .await;
    assert_eq!(reply.json(), json!([{"sku": "pd-1"}]));
    let left = get(
        "/rest/v1/items?select=sku&sku=like.pd-*&order=sku",
        Some(&a),
    )
    .await
    .json();
    assert_eq!(left, json!([{"sku": "pd-2"}, {"sku": "pd-3"}]));
}

#[tokio::test]
async fn rpc_result_shapes() {
    let reply = request(
        Method::POST,
        "/rest/v1/rpc/add_numbers",
        None,
        &[],
        Some(json!({"a": 2, "b": 3})),
    )
    .await;
    assert_eq!((reply.status, reply.json()), (StatusCode::OK, json!(5)));
    assert_eq!(
        get("/rest/v1/rpc/add_numbers?a=4&b=5", None).await.json(),
        json!(9)
    );
    // A default argument may be left out.
    assert_eq!(
        get("/rest/v1/rpc/add_numbers?a=4", None).await.json(),
        json!(4)
    );

    let rows = request(
        Method::POST,
        "/rest/v1/rpc/categories_from",
        None,
        &[],
        Some(json!({"p_min": 4})),
    )
    .await;
    assert_eq!(
        rows.json(),
        json!([
            {"id": 4, "name": "Cups", "position": 40, "labels": ["gift"], "attributes": {"material": "clay", "size": "s"}},
            {"id": 5, "name": "mugs and more", "position": 50, "labels": [], "attributes": {}}
        ])
    );
    let table = get("/rest/v1/rpc/category_pairs", None).await.json();
    assert_eq!(
        table,
        json!([{"name": "Mugs", "doubled": 2}, {"name": "Plates", "doubled": 4}])
    );
    assert_eq!(
        get("/rest/v1/rpc/numbers_upto?n=3", None).await.json(),
        json!([1, 2, 3])
    );
    assert_eq!(
        get("/rest/v1/rpc/numbers_upto?n=0", None).await.json(),
        json!([])
    );
    let object = get("/rest/v1/rpc/first_category", None).await.json();
    assert_eq!(
        object,
        json!({"id": 1, "name": "Mugs", "position": 10, "labels": ["kitchen", "gift"], "attributes": {"material": "clay"}})
    );
    let echoed = request(
        Method::POST,
        "/rest/v1/rpc/echo_json",
        None,
        &[],
        Some(json!({"p_payload": {"a": [1, {"b": null}]}, "p_tags": ["x", "y"]})),
    )
    .await;
    assert_eq!(
        echoed.json(),
        json!({"payload": {"a": [1, {"b": null}]}, "tags": ["x", "y"]})
    );

    let single = request(
        Method::POST,
        "/rest/v1/rpc/categories_from",
        None,
        &[("accept", "application/vnd.pgrst.object+json")],
        Some(json!({"p_min": 5})),
    )
    .await;
    assert_eq!(single.json()["name"], "mugs and more");
    request(
        Method::POST,
        "/rest/v1/rpc/categories_from",
        None,
        &[("accept", "application/vnd.pgrst.object+json")],
        Some(json!({"p_min": 1})),
    )
    .await
    .error(406, "PGRST116");

    let reply = request(Method::POST, "/rest/v1/rpc/do_nothing", None, &[], None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.text.is_empty());
}

#[tokio::test]
async fn rpc_transactions_follow_volatility() {
    let s = service();
    let counter = |rows: Vec<tokio_postgres::Row>| rows.first().map(|r| r.get::<_, i32>(0));
    let reply = request(
        Method::POST,
        "/rest/v1/rpc/bump_counter",
        Some(&s),
        &[],
        Some(json!({"p_name": "volatility"})),
    )
    .await;
    assert_eq!(reply.json(), json!(1));
    let reply = request(
        Method::POST,
        "/rest/v1/rpc/bump_counter",
        Some(&s),
        &[],
        Some(json!({"p_name": "volatility"})),
    )
    .await;
    assert_eq!(reply.json(), json!(2));
    // GET is read-only: a volatile function that writes fails with 25006 -> 405.
    get("/rest/v1/rpc/bump_counter?p_name=volatility", Some(&s))
        .await
        .error(405, "25006");
    // A function declared STABLE runs read-only even with POST.
    let whoami = request(Method::POST, "/rest/v1/rpc/whoami", Some(&s), &[], None)
        .await
        .json();
    assert_eq!(whoami["read_only"], "on");
    request(
        Method::POST,
        "/rest/v1/rpc/sneaky_write",
        Some(&s),
        &[],
        Some(json!({"p_name": "sneaky"})),
    )
    .await
    .error(405, "25006");
    let client = postgres_client().await;
    let value = counter(
        client
            .query(
                "select value from public.counters where name = 'volatility'",
                &[],
            )
            .await
            .unwrap_or_default(),
    );
    assert_eq!(value, Some(2));
    let sneaky = counter(
        client
            .query(
                "select value from public.counters where name = 'sneaky'",
                &[],
            )
            .await
            .unwrap_or_default(),
    );
    assert_eq!(sneaky, None);
}

#[tokio::test]
async fn rpc_errors_map_like_postgrest() {
    let reply = request(Method::POST, "/rest/v1/rpc/raise_conflict", None, &[], None).await;
    let body = reply.error(409, "PT409");
    assert_eq!(body["message"], "insufficient_stock");
    assert_eq!(body["hint"], "Item 'Blue mug' has 2 in stock, 3 requested");
    let details: Value =
        serde_json::from_str(body["details"].as_str().unwrap_or_default()).unwrap_or_default();
    assert_eq!(details, json!({"available": 2, "requested": 3}));

    let body = request(
        Method::POST,
        "/rest/v1/rpc/raise_plain",
        None,
        &[],
        Some(json!({"p_text": "no way"})),
    )
    .await
    .error(400, "P0001");
    assert_eq!(
        (body["message"].as_str(), body["details"].as_str()),
        (Some("no way"), Some("plain detail"))
    );
    request(Method::POST, "/rest/v1/rpc/raise_no_data", None, &[], None)
        .await
        .error(500, "P0002");

    let body = request(
        Method::POST,
        "/rest/v1/rpc/nope",
        None,
        &[],
        Some(json!({"x": 1})),
    )
    .await
    .error(404, "PGRST202");
    assert_eq!(
        body["message"],
        "Could not find the function public.nope(x) in the schema cache"
    );
    let body = request(
        Method::POST,
        "/rest/v1/rpc/add_numbers",
        None,
        &[],
        Some(json!({"a": 1, "c": 2})),
    )
    .await
    .error(404, "PGRST202");
    assert_eq!(
        body["message"],
        "Could not find the function public.add_numbers(a, c) in the schema cache"
    );
    get("/rest/v1/rpc/add_numbers", None)
        .await
        .error(404, "PGRST202");
    request(
        Method::POST,
        "/rest/v1/rpc/pick",
        None,
        &[],
        Some(json!({"a": 1})),
    )
    .await
    .error(300, "PGRST203");
    request(
        Method::PUT,
        "/rest/v1/rpc/add_numbers",
        None,
        &[],
        Some(json!({"a": 1})),
    )
    .await
    .error(405, "PGRST101");
    get("/rest/v1/rpc/add_numbers?a=one", None)
        .await
        .error(400, "22P02");
    request(
        Method::POST,
        "/rest/v1/rpc/add_numbers",
        None,
        &[],
        Some(json!([1, 2])),
    )
    .await
    .error(400, "PGRST102");
}

#[tokio::test]
async fn injection_attempts_execute_nothing() {
    let before = fingerprint("no-such-sku-").await;
    let s = service();
    let paths = [
        "/rest/v1/canary%3B%20drop%20table%20canary",
        "/rest/v1/canary%22%3B%20drop%20table%20canary%3B--",
        "/rest/v1/public.canary",
        "/rest/v1/pg_catalog.pg_roles",
    ];
    for path in paths {
        get(path, Some(&s)).await.error(404, "PGRST205");
    }
    get(
        "/rest/v1/canary?select=label%22%3B%20drop%20table%20canary%3B--",
        Some(&s),
    )
    .await
    .error(400, "PGRST100");
    get("/rest/v1/canary?select=id,(select%201)", Some(&s))
        .await
        .error(400, "PGRST100");
    get(
        "/rest/v1/canary?label%22%3Bdrop%20table%20canary--=eq.1",
        Some(&s),
    )
    .await
    .error(400, "42703");
    get("/rest/v1/canary?order=id%3Bdrop%20table%20canary", Some(&s))
        .await
        .error(400, "42703");
    get("/rest/v1/canary?order=id.desc%3Bdrop", Some(&s))
        .await
        .error(400, "PGRST100");
    get("/rest/v1/canary?order=(select%201)", Some(&s))
        .await
        .error(400, "42703");
    // Values are parameters: an SQL-looking value is just a value.
    let reply = get(
        "/rest/v1/canary?label=eq.alive%27%20or%20%271%27%3D%271",
        Some(&s),
    )
    .await;
    assert_eq!((reply.status, reply.json()), (StatusCode::OK, json!([])));
    get(
        "/rest/v1/canary?id=eq.1%3B%20delete%20from%20canary",
        Some(&s),
    )
    .await
    .error(400, "22P02");
    let reply = get(
        "/rest/v1/canary?label=in.(alive%27)%3B%20drop%20table%20canary%3B--,x)",
        Some(&s),
    )
    .await;
    assert_eq!((reply.status, reply.json()), (StatusCode::OK, json!([])));
    let reply = request(
        Method::DELETE,
        "/rest/v1/canary?id=eq.1",
        Some(&s),
        &[],
        None,
    )
    .await;
    reply.error(403, "42501");
    // RPC argument names are matched against the catalog, never printed into SQL.
    let evil = json!({"a\" := 1); drop table public.canary; --": 1});
    request(
        Method::POST,
        "/rest/v1/rpc/add_numbers",
        Some(&s),
        &[],
        Some(evil),
    )
    .await
    .error(404, "PGRST202");
    get(
        "/rest/v1/rpc/add_numbers?a=1&b%22%29%3Bdrop%20table%20canary--=2",
        Some(&s),
    )
    .await
    .error(404, "PGRST202");
    let reply = request(
        Method::POST,
        "/rest/v1/rpc/echo_json",
        Some(&s),
        &[],
        Some(json!({"p_payload": "'); drop table public.canary; --"})),
    )
    .await;
    assert_eq!(reply.json()["payload"], "'); drop table public.canary; --");
    request(
        Method::POST,
        "/rest/v1/rpc/pg_sleep",
        Some(&s),
        &[],
        Some(json!({"seconds": 1})),
    )
    .await
    .error(404, "PGRST202");
    assert_eq!(fingerprint("no-such-sku-").await, before);
}

#[tokio::test]
async fn schema_reloads_on_notify() {
    get("/rest/v1/late_table", None)
        .await
        .error(404, "PGRST205");
    let client = postgres_client().await;
    client
        .batch_execute(
            "create table public.late_table (id integer primary key); \
             alter table public.late_table enable row level security; \
             create policy late_select on public.late_table for select to anon using (true); \
             grant select on public.late_table to anon; \
             insert into public.late_table values (7); \
             notify pgrst, 'reload schema';",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    eventually("/rest/v1/late_table", None, &json!([{"id": 7}])).await;
}

/// Polls `path` as `token` until it answers 200 with `expected` (a schema reload
/// reaches every pooled connection asynchronously).
async fn eventually(path: &str, token: Option<&str>, expected: &Value) {
    let mut last = String::new();
    for _ in 0..50 {
        let reply = get(path, token).await;
        if reply.status == StatusCode::OK && &reply.json() == expected {
            return;
        }
        last = format!("{} {}", reply.status, reply.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never answered {expected}; last: {last}");
}

/// The gateway prepares each statement text once per pooled connection (db.rs). A
/// cached plan must not show one caller's rows to another, nor outlive the schema
/// it was planned for.
#[tokio::test]
async fn prepared_statements_follow_the_caller_and_the_schema() {
    let (a, b) = (user(USER_A), user(USER_B));
    insert_item(&a, "prep-a-1", 1).await;
    insert_item(&b, "prep-b-1", 2).await;
    // Far more requests than the pool has connections, callers alternating, so
    // every connection runs the same prepared statement as both users.
    for _ in 0..24 {
        for (token, sku) in [(&a, "prep-a-1"), (&b, "prep-b-1")] {
            let rows = get("/rest/v1/items?select=sku&sku=like.prep-*", Some(token)).await;
            assert_eq!(rows.json(), json!([{"sku": sku}]));
        }
    }

    let client = postgres_client().await;
    client
        .batch_execute(
            "create table public.prep_table (id integer primary key); \
             alter table public.prep_table enable row level security; \
             create policy prep_select on public.prep_table for select to authenticated using (true); \
             grant select on public.prep_table to authenticated; \
             insert into public.prep_table values (1); \
             create function public.prep_version() returns integer language sql as 'select 1'; \
             grant execute on function public.prep_version() to authenticated; \
             notify pgrst, 'reload schema';",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    eventually("/rest/v1/prep_table", Some(&a), &json!([{"id": 1}])).await;
    eventually("/rest/v1/rpc/prep_version", Some(&a), &json!(1)).await;
    for _ in 0..24 {
        assert_eq!(
            get("/rest/v1/prep_table", Some(&a)).await.json(),
            json!([{"id": 1}])
        );
        assert_eq!(
            get("/rest/v1/rpc/prep_version", Some(&a)).await.json(),
            json!(1)
        );
    }
    // Same statement texts, changed schema: a new column in `*`, a new function body.
    client
        .batch_execute(
            "alter table public.prep_table add column note text not null default 'new'; \
             create or replace function public.prep_version() returns integer language sql as 'select 2'; \
             notify pgrst, 'reload schema';",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..24 {
        let table = get("/rest/v1/prep_table", Some(&a)).await;
        assert_eq!(
            (table.status, table.json()),
            (StatusCode::OK, json!([{"id": 1, "note": "new"}]))
        );
        let version = get("/rest/v1/rpc/prep_version", Some(&a)).await;
        assert_eq!((version.status, version.json()), (StatusCode::OK, json!(2)));
    }
}

#[tokio::test]
async fn functions_are_forwarded_intact() {
    let a = user(USER_A);
    let reply = request(
        Method::POST,
        "/functions/v1/echo-fn?x=1",
        Some(&a),
        &[("idempotency-key", "k-1")],
        Some(json!({"action": "update"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.header("x-upstream"), Some("deno"));
    let echoed = reply.json();
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["path"], "/functions/v1/echo-fn?x=1");
    assert_eq!(echoed["authorization"], format!("Bearer {a}"));
    assert_eq!(echoed["idempotency_key"], "k-1");
    assert_eq!(echoed["body"], json!({"action": "update"}).to_string());
    // The anon key is a valid project JWT too (verify_jwt accepts it).
    let reply = request(
        Method::POST,
        "/functions/v1/echo-fn",
        Some(&anon_key()),
        &[],
        Some(json!({})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn functions_require_a_valid_jwt_except_preflight() {
    for token in [
        None,
        Some("garbage"),
        Some(&*token_at(
            "authenticated",
            Some(USER_A),
            now() - 7200,
            60,
            SECRET,
        )),
    ] {
        let reply = request(
            Method::POST,
            "/functions/v1/echo-fn",
            token,
            &[],
            Some(json!({})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(reply.json()["error"]["code"], "unauthorized");
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    }
    let reply = request(
        Method::OPTIONS,
        "/functions/v1/echo-fn",
        None,
        &[("origin", "http://localhost:3000")],
        None,
    )
    .await;
    assert_eq!((reply.status, reply.text.as_str()), (StatusCode::OK, "ok"));
}

#[tokio::test]
async fn oversized_bodies_answer_json_413() {
    let a = user(USER_A);
    let limits = gateway::Limits::default();
    // Functions accept what the functions themselves accept (64 KiB): the
    // gateway refuses more without passing it on.
    let at_limit = "x".repeat(limits.function_body_bytes);
    let reply = request(
        Method::POST,
        "/functions/v1/echo-fn",
        Some(&a),
        &[],
        Some(Value::String(at_limit[2..].to_owned())),
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    // One byte over the limit is refused from the declared length, before the
    // body is read (a client still sending it would race the closing connection).
    for (path, limit, code) in [
        (
            "/functions/v1/echo-fn",
            limits.function_body_bytes,
            "\"code\":\"payload_too_large\"",
        ),
        (
            "/rest/v1/items",
            limits.rest_body_bytes,
            "\"code\":\"PGRST102\"",
        ),
        (
            "/rest/v1/rpc/echo_json",
            limits.rest_body_bytes,
            "\"code\":\"PGRST102\"",
        ),
        (
            "/rest/v1/items?id=eq.1",
            16 * 1024 * 1024,
            "\"code\":\"PGRST102\"",
        ),
    ] {
        let request = held_upload(path, &a, limit + 1, "{");
        let answer = raw_exchange(&harness().base, &request, Duration::from_secs(5)).await;
        let answer = answer.unwrap_or_else(|| panic!("{path}: no answer before the body"));
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains(code), "{path}: {answer}");
    }
}

#[tokio::test]
async fn unknown_or_down_functions_answer_json() {
    let a = user(USER_A);
    let reply = request(
        Method::POST,
        "/functions/v1/nope",
        Some(&a),
        &[],
        Some(json!({})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json()["error"]["code"], "not_found");
    let reply = request(
        Method::POST,
        "/functions/v1/down-fn",
        Some(&a),
        &[],
        Some(json!({})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["error"]["code"], "upstream_unavailable");
}

/// `key=(...)` nested `depth` levels deep (the key's own level included).
fn nested_tree(depth: usize) -> String {
    let levels = depth - 1;
    format!(
        "({}id.eq.1{})",
        "and(or(".repeat(levels / 2) + &"and(".repeat(levels % 2),
        ")".repeat(levels)
    )
}

#[tokio::test]
async fn deep_logic_trees_are_400_on_every_method_and_the_gateway_stays_up() {
    let a = user(USER_A);
    let before = fingerprint("deep-").await;
    // ~3,600 levels in ~30 KB overflowed the stack and aborted the process.
    let deep = nested_tree(3_600);
    for key in ["or", "and", "not.or", "not.and"] {
        for method in [Method::GET, Method::HEAD, Method::PATCH, Method::DELETE] {
            let path = format!("/rest/v1/categories?{key}={deep}");
            let body = (method == Method::PATCH).then(|| json!({"name": "x"}));
            let reply = request(method.clone(), &path, Some(&a), &[], body).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{key} {method}");
            if method != Method::HEAD {
                let body = reply.error(400, "PGRST100");
                assert_eq!(body["details"], "nested more than 16 levels deep", "{body}");
            }
        }
    }
    // The limit is the same for a select tree.
    let select = format!("{}id{}", "categories(".repeat(20), ")".repeat(20));
    get(&format!("/rest/v1/categories?select={select}"), Some(&a))
        .await
        .error(400, "PGRST100");
    // 16 levels are still a filter like any other.
    let reply = get(
        &format!("/rest/v1/categories?select=name&or={}", nested_tree(16)),
        Some(&a),
    )
    .await;
    assert_eq!(
        (reply.status, reply.json()),
        (StatusCode::OK, json!([{"name": "Mugs"}]))
    );
    assert_eq!(get("/health", None).await.status, StatusCode::OK);
    assert_eq!(fingerprint("deep-").await, before);
}

#[tokio::test]
async fn in_lists_of_any_length_and_quoting() {
    let a = user(USER_A);
    // 20,000 values in one array parameter (short ones: a URI is at most 64 KiB).
    let ids: Vec<String> = (0..20_000).map(|n| (n % 9 + 1).to_string()).collect();
    let reply = get(
        &format!(
            "/rest/v1/categories?select=name&order=id&id=in.({})",
            ids.join(",")
        ),
        Some(&a),
    )
    .await;
    assert_eq!(
        names(&reply.json()),
        ["Mugs", "Plates", "Bowls", "Cups", "mugs and more"]
    );
    let reply = get(
        "/rest/v1/categories?select=name&name=in.(\"mugs and more\",\"a,b\",\"c\\\"d\",Cups)&order=id",
        Some(&a),
    )
    .await;
    assert_eq!(names(&reply.json()), ["Cups", "mugs and more"]);
    // A value the column type cannot take is still the database's own 400.
    get("/rest/v1/categories?id=in.(1,x)", Some(&a))
        .await
        .error(400, "22P02");
    let reply = get(
        "/rest/v1/categories?id=not.in.()&select=id&order=id&limit=1",
        Some(&a),
    )
    .await;
    assert_eq!(reply.json(), json!([{"id": 1}]));
}

#[tokio::test]
async fn client_mistakes_are_4xx_and_timeouts_504() {
    let a = user(USER_A);
    // A NUL in a string: PostgreSQL's 22P05, answered 400, nothing written.
    let before = fingerprint("nul-").await;
    let reply = request(
        Method::POST,
        "/rest/v1/items",
        Some(&a),
        &[],
        Some(json!({"name": "a\u{0}b", "sku": "nul-1"})),
    )
    .await;
    reply.error(400, "22P05");
    let reply = request(
        Method::POST,
        "/rest/v1/rpc/echo_json",
        Some(&a),
        &[],
        Some(json!({"p_payload": {"x": 1}, "p_tags": ["a\u{0}"]})),
    )
    .await;
    reply.error(400, "22P05");
    assert_eq!(fingerprint("nul-").await, before);
    // More columns than PostgreSQL's 1,664: 54011, answered 400.
    let columns = vec!["id"; 1_700].join(",");
    get(&format!("/rest/v1/categories?select={columns}"), Some(&a))
        .await
        .error(400, "54011");
    // anon's statement_timeout (2.5 s in the fixture) cancels the statement: 504.
    let reply = request(
        Method::POST,
        "/rest/v1/rpc/sleep_for",
        Some(&anon_key()),
        &[],
        Some(json!({"p_seconds": 5})),
    )
    .await;
    reply.error(504, "57014");
}

/// A POST whose headers promise a body of `length` bytes, of which only `sent` is written.
fn held_upload(path: &str, token: &str, length: usize, sent: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n{sent}"
    )
    .into_bytes()
}

#[tokio::test]
async fn bad_tokens_are_refused_before_the_body_is_read() {
    let expired = token_at("authenticated", Some(USER_A), now() - 7200, 60, SECRET);
    for token in ["not-a-jwt", expired.as_str()] {
        for path in [
            "/rest/v1/items",
            "/rest/v1/rpc/echo_json",
            "/functions/v1/echo-fn",
        ] {
            // The body never comes: only the headers can have been checked.
            let request = held_upload(path, token, 1_000_000, "{");
            let answer = raw_exchange(&harness().base, &request, Duration::from_secs(5)).await;
            let answer = answer.unwrap_or_else(|| panic!("{path}: no answer before the body"));
            assert!(answer.starts_with("HTTP/1.1 401"), "{path}: {answer}");
        }
    }
}

#[tokio::test]
async fn slow_bodies_headers_and_idle_connections_time_out() {
    let base = gateway_with(gateway::Limits {
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        ..gateway::Limits::default()
    })
    .await;
    let a = user(USER_A);
    for (path, expected) in [
        ("/rest/v1/items", "\"code\":\"GW408\""),
        ("/rest/v1/rpc/echo_json", "\"code\":\"GW408\""),
        ("/functions/v1/echo-fn", "\"code\":\"invalid_request\""),
    ] {
        let request = held_upload(path, &a, 100, "{\"na");
        let answer = raw_exchange(&base, &request, Duration::from_secs(5)).await;
        let answer = answer.unwrap_or_else(|| panic!("{path}: the held body was never timed out"));
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(answer.contains(expected), "{path}: {answer}");
    }
    // Headers that never end, and a connection that never sends anything, are
    // closed after the header timeout.
    for request in [
        &b"GET /rest/v1/categories HTTP/1.1\r\nhost: x\r\n"[..],
        &b""[..],
    ] {
        let answer = raw_exchange(&base, request, Duration::from_secs(5)).await;
        assert!(answer.is_some(), "connection still open: {request:?}");
    }
}

#[tokio::test]
async fn connections_past_the_limit_are_answered_503_and_closed() {
    let base = gateway_with(gateway::Limits {
        max_connections: 4,
        ..gateway::Limits::default()
    })
    .await;
    // Four idle connections hold every place.
    let address = base.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(
            tokio::net::TcpStream::connect(&address)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rest = raw_exchange(
        &base,
        b"GET /rest/v1/categories HTTP/1.1\r\nhost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await
    .unwrap_or_default();
    assert!(rest.starts_with("HTTP/1.1 503"), "{rest}");
    assert!(rest.contains("\"code\":\"GW503\""), "{rest}");
    let function = raw_exchange(
        &base,
        b"POST /functions/v1/echo-fn HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}",
        Duration::from_secs(5),
    )
    .await
    .unwrap_or_default();
    assert!(function.starts_with("HTTP/1.1 503"), "{function}");
    assert!(
        function.contains("\"code\":\"upstream_unavailable\""),
        "{function}"
    );
    // Places freed are taken again.
    drop(idle);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reply = reqwest::get(format!("{base}/rest/v1/categories?select=id&id=eq.1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.status(), StatusCode::OK);
}

#[tokio::test]
async fn one_caller_cannot_take_every_connection_of_the_pool() {
    let base = gateway_with(gateway::Limits {
        caller_concurrency: 2,
        caller_queue: 2,
        caller_wait: Duration::from_secs(30),
        ..gateway::Limits::default()
    })
    .await;
    let a = user(USER_A);
    let b = user(USER_B);
    let client = reqwest::Client::new();
    let sleep = |token: String, seconds: f64| {
        let client = client.clone();
        let url = format!("{base}/rest/v1/rpc/sleep_for");
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"p_seconds": seconds}))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let status = response.status();
            (status, response.text().await.unwrap_or_default())
        }
    };
    // Both callers' connections are in the pool already.
    for token in [&a, &b] {
        assert_eq!(sleep(token.clone(), 0.0).await.0, StatusCode::NO_CONTENT);
    }
    // A's first two run, the next two wait, the fifth is refused at once.
    let running: Vec<_> = (0..4)
        .map(|_| tokio::spawn(sleep(a.clone(), 3.0)))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let (status, text) = sleep(a.clone(), 0.0).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{text}");
    assert!(text.contains("\"code\":\"GW429\""), "{text}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // Another caller is served meanwhile, not after A's 6 s of queued work.
    let started = std::time::Instant::now();
    let (status, _) = sleep(b, 0.0).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The waiting ones ran after the first two.
    for handle in running {
        let (status, text) = handle.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    }
}

/// Items of `owner` in category `category_id` (None: no category), with one
/// event per change, inserted directly (tests run in parallel, each with its own skus).
async fn seed_item(owner: &str, sku: &str, category_id: Option<i32>, changes: &[i32]) {
    let client = postgres_client().await;
    client
        .execute(
            "insert into public.items (owner_id, name, sku, category_id) values ($1::text::uuid, $2, $2, $3)",
            &[&owner, &sku, &category_id],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (index, change) in changes.iter().enumerate() {
        client
            .execute(
                "insert into public.item_events (item_id, owner_id, change, created_at) \
                 select id, owner_id, $2, now() + make_interval(secs => $3) from public.items where sku = $1",
                &[&sku, change, &(index as f64)],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[tokio::test]
async fn embedding_to_one_as_object_to_many_as_array() {
    seed_item(USER_A, "emb1-a", Some(1), &[5, -2, 7]).await;
    seed_item(USER_A, "emb1-b", None, &[]).await;
    let a = user(USER_A);
    // many-to-one: an object, null without a related row
    let reply = get(
        "/rest/v1/items?select=sku,categories(name)&sku=like.emb1-*&order=sku",
        Some(&a),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!([{"sku": "emb1-a", "categories": {"name": "Mugs"}}, {"sku": "emb1-b", "categories": null}])
    );
    // one-to-many through a composite key: an array with its own order and limit
    let reply = get(
        "/rest/v1/items?select=sku,events:item_events(change)&sku=like.emb1-*&order=sku\
         &events.order=created_at.desc&events.limit=2",
        Some(&a),
    )
    .await;
    assert_eq!(
        reply.json(),
        json!([{"sku": "emb1-a", "events": [{"change": 7}, {"change": -2}]}, {"sku": "emb1-b", "events": []}])
    );
    // many-to-one back through the composite key, nested twice
    let reply = get(
        "/rest/v1/item_events?select=change,items(sku,categories(name))&items.sku=eq.emb1-a&order=change&limit=1",
        Some(&a),
    )
    .await;
    assert_eq!(
        reply.json(),
        json!([{"change": -2, "items": {"sku": "emb1-a", "categories": {"name": "Mugs"}}}])
    );
    // offset and `or` on the embedded resource
    let reply = get(
        "/rest/v1/items?select=sku,item_events(change)&sku=eq.emb1-a\
         &item_events.or=(change.gt.6,change.lt.0)&item_events.order=change&item_events.offset=1",
        Some(&a),
    )
    .await;
    assert_eq!(
        reply.json(),
        json!([{"sku": "emb1-a", "item_events": [{"change": 7}]}])
    );
    // embedded objects keep the select's key order (jsonb would sort keys by length)
    let reply = get(
        "/rest/v1/items?select=sku,categories(name,id),item_events(created_at,change)\
         &sku=eq.emb1-a&item_events.limit=1",
        Some(&a),
    )
    .await;
    let text = &reply.text;
    let position = |key: &str| {
        text.find(&format!("\"{key}\""))
            .unwrap_or_else(|| panic!("no {key} in {text}"))
    };
    assert!(position("name") < position("id"), "{text}");
    assert!(position("created_at") < position("change"), "{text}");
}

#[tokio::test]
async fn embedded_rows_follow_the_callers_rls() {
    seed_item(USER_A, "emb2-a", Some(2), &[1]).await;
    seed_item(USER_B, "emb2-b", Some(2), &[3]).await;
    for (sub, sku) in [(USER_A, "emb2-a"), (USER_B, "emb2-b")] {
        let reply = get(
            "/rest/v1/categories?select=name,items(sku,item_events(change))&id=eq.2&items.sku=like.emb2-*",
            Some(&user(sub)),
        )
        .await;
        let body = reply.json();
        let items = body[0]["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), 1, "{body}");
        assert_eq!(items[0]["sku"], sku, "{body}");
    }
    // anon may read categories but not items: the embedded table's grants apply too
    get(
        "/rest/v1/categories?select=name,items(sku)",
        Some(&anon_key()),
    )
    .await
    .error(401, "42501");
}

#[tokio::test]
async fn one_to_one_hints_inner_spread_and_counts() {
    // one-to-one both ways
    let reply = get(
        "/rest/v1/categories?select=name,category_details(description)&id=in.(1,3)&order=id",
        None,
    )
    .await;
    assert_eq!(
        reply.json(),
        json!([{"name": "Mugs", "category_details": {"description": "Hand-thrown clay mugs"}},
               {"name": "Bowls", "category_details": null}])
    );
    let reply = get(
        "/rest/v1/category_details?select=category_id,categories(name)&category_id=eq.2",
        None,
    )
    .await;
    assert_eq!(
        reply.json(),
        json!([{"category_id": 2, "categories": {"name": "Plates"}}])
    );
    // two foreign keys to one table: a hint by constraint or by column picks one
    let reply = get(
        "/rest/v1/category_links?select=id,from:categories!from_id(name),to:categories!category_links_to_id_fkey(name)&order=id",
        None,
    )
    .await;
    assert_eq!(
        reply.json(),
        json!([{"id": 1, "from": {"name": "Mugs"}, "to": {"name": "Plates"}},
               {"id": 2, "from": {"name": "Cups"}, "to": {"name": "Mugs"}}])
    );
    // !inner drops parents without a match, and the exact count follows
    let reply = request(
        Method::GET,
        "/rest/v1/categories?select=name,category_links!from_id!inner(note)&order=id",
        None,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(reply.header("content-range"), Some("0-1/2"));
    assert_eq!(
        reply.json(),
        json!([{"name": "Mugs", "category_links": [{"note": "mugs go with plates"}]},
               {"name": "Cups", "category_links": [{"note": "cups sit by mugs"}]}])
    );
    let reply = request(
        Method::GET,
        "/rest/v1/categories?select=name,category_details!inner()&limit=1&order=id",
        None,
        &[("prefer", "count=exact")],
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(reply.header("content-range"), Some("0-0/2"));
    assert_eq!(reply.json(), json!([{"name": "Mugs"}]));
    // is.null on an embedded resource: parents without a related row
    let reply = get(
        "/rest/v1/categories?select=name,category_details()&category_details=is.null&order=id",
        None,
    )
    .await;
    assert_eq!(names(&reply.json()), ["Bowls", "Cups", "mugs and more"]);
    // spread: the related columns join the parent object
    let reply = get(
        "/rest/v1/category_links?select=id,...categories!from_id(from_name:name,position)&order=id",
        None,
    )
    .await;
    assert_eq!(
        reply.json(),
        json!([{"id": 1, "from_name": "Mugs", "position": 10}, {"id": 2, "from_name": "Cups", "position": 40}])
    );
    // left (the default) keeps parents whose embedded filter matches nothing
    let reply = get(
        "/rest/v1/categories?select=name,category_details!left(description)&category_details.description=eq.none&id=eq.1",
        None,
    )
    .await;
    assert_eq!(
        reply.json(),
        json!([{"name": "Mugs", "category_details": null}])
    );
}

#[tokio::test]
async fn relationship_errors_as_postgrest_answers_them() {
    let body = get("/rest/v1/category_links?select=*,categories(*)", None)
        .await
        .error(300, "PGRST201");
    assert_eq!(
        body,
        json!({
            "code": "PGRST201",
            "message": "Could not embed because more than one relationship was found for 'category_links' and 'categories'",
            "details": [
                {"cardinality": "many-to-one", "embedding": "category_links with categories",
                 "relationship": "category_links_from_id_fkey using category_links(from_id) and categories(id)"},
                {"cardinality": "many-to-one", "embedding": "category_links with categories",
                 "relationship": "category_links_to_id_fkey using category_links(to_id) and categories(id)"}
            ],
            "hint": "Try changing 'categories' to one of the following: 'categories!category_links_from_id_fkey', 'categories!category_links_to_id_fkey'. Find the desired relationship in the 'details' key."
        })
    );
    let body = get("/rest/v1/items?select=*,nope(*)", None)
        .await
        .error(400, "PGRST200");
    assert_eq!(
        body,
        json!({
            "code": "PGRST200",
            "message": "Could not find a relationship between 'items' and 'nope' in the schema cache",
            "details": "Searched for a foreign key relationship between 'items' and 'nope' in the schema 'public', but no matches were found.",
            "hint": null
        })
    );
    let body = get("/rest/v1/items?select=*,categorie(*)", None)
        .await
        .error(400, "PGRST200");
    assert_eq!(
        body["hint"],
        "Perhaps you meant 'categories' instead of 'categorie'."
    );
    let body = get("/rest/v1/items?select=*,categories!wrong(*)", None)
        .await
        .error(400, "PGRST200");
    assert_eq!(
        body["details"],
        "Searched for a foreign key relationship between 'items' and 'categories' using the hint 'wrong' in the schema 'public', but no matches were found."
    );
    let body = get("/rest/v1/categories?select=name&items.limit=1", None)
        .await
        .error(400, "PGRST108");
    assert_eq!(
        body["message"],
        "'items' is not an embedded resource in this request"
    );
    get("/rest/v1/categories?select=name,items()&items=eq.1", None)
        .await
        .error(400, "PGRST120");
    get(
        "/rest/v1/categories?select=name,...category_links!from_id(note)",
        None,
    )
    .await
    .error(400, "PGRST119");
    get(
        "/rest/v1/categories?select=name,category_details(secret)",
        None,
    )
    .await
    .error(400, "42703");
    // nesting past the limit is refused before any SQL
    let mut select = "name".to_owned();
    for level in 0..9 {
        let relation = if level % 2 == 0 {
            "category_details"
        } else {
            "categories"
        };
        select = format!("{relation}({select})");
    }
    let body = get(&format!("/rest/v1/categories?select={select}"), None)
        .await
        .error(400, "PGRST100");
    assert!(
        body["details"]
            .as_str()
            .unwrap_or_default()
            .contains("at most 8"),
        "{body}"
    );
}

#[tokio::test]
async fn json_paths_casts_and_full_text_search() {
    let reply = get(
        "/rest/v1/categories?select=id::text,material:attributes->>material,attributes->size\
         &attributes->>material=eq.clay&order=attributes->>size.desc.nullslast,id",
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!([{"id": "4", "material": "clay", "size": "s"}, {"id": "1", "material": "clay", "size": null}])
    );
    let reply = request(
        Method::GET,
        "/rest/v1/categories?select=id,name,position&id=in.(1,3,5)&order=id",
        None,
        &[("accept", "text/csv")],
        None,
    )
    .await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        reply.text,
        "id,name,position\n1,Mugs,10\n3,Bowls,\n5,\"mugs and more\",50"
    );
    get("/rest/v1/categories?select=id::no_such_type", None)
        .await
        .error(400, "PGRST100");
    // tsvector column, with and without a configuration
    for query in [
        "search=fts(english).clay",
        "search=plfts(english).clay%20mugs",
        "search=wfts(english).\"clay mugs\"",
    ] {
        let reply = get(
            &format!("/rest/v1/category_details?select=category_id&{query}"),
            None,
        )
        .await;
        assert_eq!(reply.json(), json!([{"category_id": 1}]), "{query}");
    }
    // text column: to_tsvector on the fly; phrase search; negation
    let reply = get(
        "/rest/v1/category_details?select=category_id&description=phfts(english).dinner%20plates",
        None,
    )
    .await;
    assert_eq!(reply.json(), json!([{"category_id": 2}]));
    let reply = get(
        "/rest/v1/category_details?select=category_id&description=not.fts.porcelain",
        None,
    )
    .await;
    assert_eq!(reply.json(), json!([{"category_id": 1}]));
    get(
        "/rest/v1/category_details?description=fts(no_such_config).x",
        None,
    )
    .await
    .error(400, "42704");
}

#[tokio::test]
async fn mutations_return_embedded_resources() {
    let a = user(USER_A);
    let reply = request(
        Method::POST,
        "/rest/v1/items?select=sku,categories(name)",
        Some(&a),
        &[("prefer", "return=representation")],
        Some(json!({"name": "emb3", "sku": "emb3-a", "category_id": 4})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!([{"sku": "emb3-a", "categories": {"name": "Cups"}}])
    );
    let reply = request(
        Method::PATCH,
        "/rest/v1/items?sku=eq.emb3-a&select=stock,categories(name)",
        Some(&a),
        &[("prefer", "return=representation")],
        Some(json!({"stock": 9, "category_id": 2})),
    )
    .await;
    assert_eq!(
        reply.json(),
        json!([{"stock": 9, "categories": {"name": "Plates"}}])
    );
}

#[tokio::test]
async fn planned_and_estimated_counts() {
    let client = postgres_client().await;
    client
        .batch_execute("analyze public.categories")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let reply = request(
        Method::GET,
        "/rest/v1/categories?select=id&limit=2&order=id",
        None,
        &[("prefer", "count=planned")],
        None,
    )
    .await;
    assert_eq!(reply.header("preference-applied"), Some("count=planned"));
    // The planner's estimate of the analyzed table is its row count.
    assert_eq!(reply.header("content-range"), Some("0-1/5"));
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    // Under the threshold, estimated is exact (with filters and !inner embeds).
    let reply = request(
        Method::GET,
        "/rest/v1/categories?select=id,category_details!inner()&id=gt.1",
        None,
        &[("prefer", "count=estimated")],
        None,
    )
    .await;
    assert_eq!(reply.header("preference-applied"), Some("count=estimated"));
    assert_eq!(reply.header("content-range"), Some("0-0/1"));
}

#[tokio::test]
async fn tx_rollback_answers_then_undoes() {
    let a = user(USER_A);
    let reply = request(
        Method::POST,
        "/rest/v1/items?select=sku,categories(name)",
        Some(&a),
        &[("prefer", "tx=rollback, return=representation")],
        Some(json!({"name": "tx", "sku": "tx-rollback-1", "category_id": 1})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!([{"sku": "tx-rollback-1", "categories": {"name": "Mugs"}}])
    );
    let applied = reply.header("preference-applied").unwrap_or_default();
    assert!(applied.contains("tx=rollback"), "{applied}");
    assert_eq!(
        fingerprint("tx-rollback-").await,
        fingerprint("no-such-sku-").await
    );
}

#[tokio::test]
async fn reads_go_to_the_replica_and_writes_to_the_primary() {
    // The "replica" is a second database with the same schema and one row
    // that differs, so each answer shows which database served it.
    const REPLICA: &str = "gateway_conformance_replica";
    let (server_config, replica_config) = create_fixture_database(REPLICA).await;
    let server = connect(&server_config).await;
    let replica = connect(&replica_config).await;
    replica
        .batch_execute("update public.categories set name = 'Mugs on the replica' where id = 1")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut config = harness().gateway_config.clone();
    config.replica_database_url = Some(config.database_url.replace(DATABASE, REPLICA));
    let base = serve_gateway(config).await;
    let a = user(USER_A);
    let name_of = |reply: &Reply| reply.json()[0]["name"].as_str().map(str::to_owned);

    let table = request_to(
        &base,
        Method::GET,
        "/rest/v1/categories?id=eq.1&select=name",
        Some(&a),
        &[],
        None,
    )
    .await;
    assert_eq!(
        name_of(&table).as_deref(),
        Some("Mugs on the replica"),
        "{}",
        table.text
    );
    let by_get = request_to(
        &base,
        Method::GET,
        "/rest/v1/rpc/categories_from?p_min=1",
        Some(&a),
        &[],
        None,
    )
    .await;
    assert_eq!(
        name_of(&by_get).as_deref(),
        Some("Mugs on the replica"),
        "{}",
        by_get.text
    );
    let by_post = request_to(
        &base,
        Method::POST,
        "/rest/v1/rpc/categories_from",
        Some(&a),
        &[],
        Some(json!({"p_min": 1})),
    )
    .await;
    assert_eq!(
        name_of(&by_post).as_deref(),
        Some("Mugs"),
        "{}",
        by_post.text
    );

    let bump = request_to(
        &base,
        Method::POST,
        "/rest/v1/rpc/bump_counter",
        Some(&service()),
        &[],
        Some(json!({"p_name": "replica-routing"})),
    )
    .await;
    assert_eq!(bump.status, StatusCode::OK, "{}", bump.text);
    let count = |client: tokio_postgres::Client| async move {
        client
            .query_one(
                "select count(*) from public.counters where name = 'replica-routing'",
                &[],
            )
            .await
            .map(|row| row.get::<_, i64>(0))
            .unwrap_or_else(|e| panic!("{e:?}"))
    };
    assert_eq!(
        count(postgres_client().await).await,
        1,
        "the write reached the primary"
    );
    assert_eq!(count(replica).await, 0, "and not the replica");
    server
        .batch_execute(&format!("drop database {REPLICA} with (force)"))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
}
