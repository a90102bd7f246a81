//! `gateway` serves the local API; `gateway token --role R` prints a JWT.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use gateway::auth::{sign, TokenRequest};
use gateway::Config;
use local_auth::KeySet;

const USAGE: &str = "usage:
  gateway [serve]      serve /rest/v1 and /functions/v1 (env: GATEWAY_PORT, GATEWAY_DATABASE_URL or DATABASE_URL,
                       SUPABASE_JWT_SECRET, FUNCTIONS_UPSTREAMS, GATEWAY_POOL_SIZE, GATEWAY_DB_SCHEMA)
  gateway token --role <anon|authenticated|service_role> [--sub <uuid>] [--email <email>] [--ttl-secs <n>]
                       print a JWT: anon and service_role keys HS256 with SUPABASE_JWT_SECRET; user tokens
                       ES256 with the first key of AUTH_SIGNING_KEYS_PATH (unset: HS256), iss $SUPABASE_URL/auth/v1";

/// Default lifetime: an hour for user sessions, ten years for the anon and
/// service keys (as the keys `supabase start` prints).
const SESSION_TTL_SECS: u64 = 3600;
const KEY_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => serve(),
        Some("token") => token(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gateway: {message}");
            ExitCode::FAILURE
        }
    }
}

fn token(args: &[String]) -> Result<(), String> {
    let mut role = None;
    let mut sub = None;
    let mut email = None;
    let mut ttl_secs = None;
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .clone();
        match flag.as_str() {
            "--role" => role = Some(value),
            "--sub" => sub = Some(value),
            "--email" => email = Some(value),
            "--ttl-secs" => {
                ttl_secs = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| "--ttl-secs needs a number")?,
                )
            }
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    let role = role.ok_or("--role is required")?;
    if !matches!(role.as_str(), "anon" | "authenticated" | "service_role") {
        return Err(format!(
            "--role must be anon, authenticated or service_role, not {role}"
        ));
    }
    let secret = std::env::var("SUPABASE_JWT_SECRET").map_err(|_| "set SUPABASE_JWT_SECRET")?;
    let signing_keys = match std::env::var("AUTH_SIGNING_KEYS_PATH") {
        Ok(path) if !path.is_empty() => Some(
            std::fs::read_to_string(&path)
                .map_err(|e| format!("AUTH_SIGNING_KEYS_PATH {path}: {e}"))?,
        ),
        _ => None,
    };
    let keys = KeySet::new(signing_keys.as_deref(), &secret)?;
    let site_url = std::env::var("SUPABASE_URL").map_err(|_| "set SUPABASE_URL")?;
    let default_ttl = if role == "authenticated" {
        SESSION_TTL_SECS
    } else {
        KEY_TTL_SECS
    };
    let request = TokenRequest {
        role,
        sub,
        email,
        ttl_secs: ttl_secs.unwrap_or(default_ttl),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let issuer = format!("{}/auth/v1", site_url.trim_end_matches('/'));
    println!("{}", sign(&request, &keys, &issuer, now)?);
    Ok(())
}

fn serve() -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let config = Config::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], config.port));
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e}"))?;
        tracing::info!(%address, "gateway listening");
        gateway::serve(config, listener, shutdown_signal()).await
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => return interrupt.await.unwrap_or_default(),
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or_default();
    tracing::info!("shutting down");
}
