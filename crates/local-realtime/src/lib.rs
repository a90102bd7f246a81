//! A local stand-in for Supabase Realtime's `postgres_changes`: the
//! websocket that realtime-js opens at `/realtime/v1/websocket`, changes
//! captured from the write-ahead log with wal2json, and each change
//! delivered only to the subscribers whose role and claims can select the
//! row under row-level security. Local tooling: it knows no table of ours.
//!
//! The embedding server (the gateway) mounts [`router`] under
//! `/realtime/v1` and hands over how to verify a JWT ([`VerifyToken`]), so
//! tokens are checked exactly as its REST API checks them.

mod capture;
mod catalog;
pub mod filter;
mod hub;
pub mod protocol;
mod socket;
pub mod wal;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use serde_json::{Map, Value};

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    /// Any other reason, as the verifier words it.
    Invalid(String),
}

/// Verifies a JWT and returns its claims (the gateway's own verification).
pub type VerifyToken = Arc<dyn Fn(&str) -> Result<Map<String, Value>, TokenError> + Send + Sync>;

/// Limits that keep one client from costing unbounded memory or work.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Frames queued for one socket before it is closed as too slow.
    pub queue_frames: usize,
    /// Largest frame read from a client.
    pub max_frame_bytes: usize,
    /// Channels one socket may join (Realtime's default is 100).
    pub channels_per_socket: usize,
    /// `postgres_changes` entries in one join.
    pub bindings_per_channel: usize,
    /// A socket that sends nothing (not even a heartbeat) for this long is closed.
    pub idle_timeout: Duration,
    /// A write to a socket that takes longer than this closes it.
    pub write_timeout: Duration,
    /// How often the replication slot is read.
    pub poll_interval: Duration,
    /// Most changes read from the slot at once.
    pub poll_changes: i32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            queue_frames: 1024,
            max_frame_bytes: 1024 * 1024,
            channels_per_socket: 100,
            bindings_per_channel: 100,
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(50),
            poll_changes: 1000,
        }
    }
}

/// What the Realtime stand-in needs.
#[derive(Clone)]
pub struct Config {
    /// The API login (the gateway's `authenticator`): subscriptions are
    /// checked and rows probed through it, after switching to each
    /// subscriber's role.
    pub database_url: String,
    /// A login with the REPLICATION attribute: it owns the temporary
    /// logical replication slot.
    pub replication_database_url: String,
    /// The publication whose tables are delivered (`supabase_realtime`).
    pub publication: String,
    pub verify: VerifyToken,
    pub limits: Limits,
}

/// State shared by the sockets and the capture task.
pub(crate) struct Realtime {
    config: Config,
    hub: hub::Hub,
    pool: deadpool_postgres::Pool,
    /// Whether the slot is being read (a join says so in its system message).
    capturing: tokio::sync::watch::Receiver<bool>,
}

/// Starts the capture task and returns the routes to mount under
/// `/realtime/v1` (`/websocket`, as realtime-js connects).
pub fn router<S: Clone + Send + Sync + 'static>(config: Config) -> Result<Router<S>, String> {
    let mut pg_config = tokio_postgres::Config::from_str(&config.database_url)
        .map_err(|e| format!("realtime database URL: {e}"))?;
    pg_config.application_name("local_realtime");
    let manager = deadpool_postgres::Manager::from_config(
        pg_config,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(4)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| e.to_string())?;
    let mut replication = tokio_postgres::Config::from_str(&config.replication_database_url)
        .map_err(|e| format!("realtime replication URL: {e}"))?;
    replication.application_name("local_realtime_capture");
    let (capturing_tx, capturing) = tokio::sync::watch::channel(false);
    let realtime = Arc::new(Realtime {
        config,
        hub: hub::Hub::default(),
        pool,
        capturing,
    });
    tokio::spawn(capture::run(realtime.clone(), replication, capturing_tx));
    Ok(Router::new()
        .route("/websocket", get(socket::upgrade))
        .with_state(realtime))
}
