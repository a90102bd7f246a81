//! One websocket: the Phoenix channel events realtime-js sends (`phx_join`
//! with `postgres_changes`, `access_token`, `phx_leave`, heartbeats) and
//! the frames queued for it by the capture task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::time::{sleep_until, timeout, Instant};

use crate::hub::{Binding, Channel, Conn, Identity};
use crate::protocol::{self, Inbound, Vsn};
use crate::{catalog, filter, Realtime, TokenError};

/// Close code for a socket closed because it could not keep up (RFC 6455: try again later).
const CLOSE_TOO_SLOW: u16 = 1013;
/// Close code for a socket that stopped sending heartbeats.
const CLOSE_IDLE: u16 = 1000;

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn error_body(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

/// The identity of a verified token; Realtime requires `role` and `exp`
/// and refuses a token whose `exp` has passed (no leeway).
fn identity_of(claims: Map<String, Value>) -> Result<Identity, String> {
    let role = claims
        .get("role")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let exp = claims.get("exp").and_then(Value::as_i64);
    let (Some(role), Some(exp)) = (role, exp) else {
        return Err("Fields `role` and `exp` are required in JWT".into());
    };
    let now = now_secs();
    if exp <= now {
        return Err(format!("Token has expired {} seconds ago", now - exp));
    }
    Ok(Identity {
        role,
        claims: Value::Object(claims).to_string(),
        exp,
    })
}

fn verify(realtime: &Realtime, token: &str) -> Result<Identity, String> {
    match (realtime.config.verify)(token) {
        Ok(claims) => identity_of(claims),
        Err(TokenError::Expired) => Err("Token has expired".into()),
        Err(TokenError::Invalid(message)) => Err(message),
    }
}

fn is_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// `GET /realtime/v1/websocket?apikey=...&vsn=2.0.0`: the apikey, when it
/// is a JWT, must verify (an opaque `sb_publishable_...` key stands for anon).
pub async fn upgrade(
    State(realtime): State<Arc<Realtime>>,
    Query(params): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(vsn) = Vsn::parse(params.get("vsn").map(String::as_str)) else {
        return error_body(StatusCode::BAD_REQUEST, "vsn must be 1.0.0 or 2.0.0");
    };
    let apikey = match params.get("apikey").map(String::as_str) {
        None | Some("") => return error_body(StatusCode::UNAUTHORIZED, "apikey is required"),
        Some(key) if is_jwt(key) => match verify(&realtime, key) {
            Ok(identity) => identity,
            Err(message) => return error_body(StatusCode::UNAUTHORIZED, &message),
        },
        Some(_) => Identity {
            role: "anon".into(),
            claims: json!({ "role": "anon" }).to_string(),
            exp: i64::MAX,
        },
    };
    let limits = &realtime.config.limits;
    upgrade
        .max_message_size(limits.max_frame_bytes)
        .max_frame_size(limits.max_frame_bytes)
        .on_upgrade(move |socket| serve(realtime, socket, vsn, apikey))
}

async fn serve(realtime: Arc<Realtime>, socket: WebSocket, vsn: Vsn, apikey: Identity) {
    let limits = realtime.config.limits.clone();
    let (id, conn, mut queue) = realtime.hub.connect(vsn, limits.queue_frames);
    let session = Session {
        realtime: realtime.clone(),
        conn: conn.clone(),
        apikey,
    };
    let (mut sink, mut stream) = socket.split();
    let mut last_seen = Instant::now();
    let close = loop {
        let expiry = session.next_expiry();
        tokio::select! {
            inbound = stream.next() => match inbound {
                Some(Ok(Message::Text(text))) => {
                    last_seen = Instant::now();
                    session.handle(text.as_str()).await;
                }
                Some(Ok(Message::Binary(_))) => {
                    // realtime-js sends only client broadcasts as binary; not served here.
                    last_seen = Instant::now();
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => last_seen = Instant::now(),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
            },
            frame = queue.recv() => {
                let Some(frame) = frame else { break None };
                match timeout(limits.write_timeout, sink.send(Message::Text(frame.into()))).await {
                    Ok(Ok(())) => {}
                    _ => break None,
                }
            }
            () = conn.overflow.notified() => {
                tracing::warn!(socket = id, frames = limits.queue_frames, "realtime subscriber too slow; closing");
                break Some((CLOSE_TOO_SLOW, format!(
                    "subscriber too slow: more than {} messages waiting", limits.queue_frames)));
            }
            () = sleep_until(expiry.unwrap_or_else(far_future)), if expiry.is_some() => session.expire(),
            () = sleep_until(last_seen + limits.idle_timeout) => {
                break Some((CLOSE_IDLE, "no heartbeat".to_owned()));
            }
        }
    };
    realtime.hub.disconnect(id);
    if let Some((code, reason)) = close {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = timeout(limits.write_timeout, sink.send(frame)).await;
    }
}

fn far_future() -> Instant {
    Instant::now() + std::time::Duration::from_secs(86_400)
}

struct Session {
    realtime: Arc<Realtime>,
    conn: Arc<Conn>,
    apikey: Identity,
}

impl Session {
    fn send(&self, frame: String) {
        self.conn.send(frame);
    }

    /// When the first channel's token expires (to the millisecond, so the
    /// wake-up finds `exp` passed and does not spin).
    fn next_expiry(&self) -> Option<Instant> {
        let exp = self
            .conn
            .channels()
            .iter()
            .map(|c| c.identity().exp)
            .min()?;
        let exp = u64::try_from(exp).unwrap_or(0).min(u64::MAX / 2_000);
        let deadline = UNIX_EPOCH + std::time::Duration::from_secs(exp);
        let left = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        Some(Instant::now() + left.min(std::time::Duration::from_secs(86_400)))
    }

    /// Shuts down every channel whose token has expired, as Realtime does:
    /// a `system` error, then `phx_close`.
    fn expire(&self) {
        let now = now_secs();
        for channel in self.conn.channels() {
            let exp = channel.identity().exp;
            if exp <= now {
                self.shutdown(
                    &channel,
                    &format!("Token has expired {} seconds ago", now - exp),
                );
            }
        }
    }

    fn shutdown(&self, channel: &Channel, message: &str) {
        let vsn = self.conn.vsn;
        let join_ref = channel.join_ref.as_deref();
        self.conn.leave(&channel.topic);
        self.send(protocol::system(
            vsn,
            join_ref,
            &channel.topic,
            "system",
            "error",
            message,
        ));
        self.send(protocol::encode(
            vsn,
            join_ref,
            join_ref,
            &channel.topic,
            "phx_close",
            &json!({}),
        ));
    }

    async fn handle(&self, text: &str) {
        let vsn = self.conn.vsn;
        let inbound = match protocol::decode(vsn, text) {
            Ok(inbound) => inbound,
            Err(error) => {
                tracing::debug!(%error, "unreadable realtime frame");
                return;
            }
        };
        match (inbound.topic.as_str(), inbound.event.as_str()) {
            ("phoenix", "heartbeat") => self.send(protocol::reply(vsn, &inbound, "ok", &json!({}))),
            (_, "phx_join") => self.join(&inbound).await,
            (topic, "phx_leave") => {
                let channel = self.conn.leave(topic);
                self.send(protocol::reply(vsn, &inbound, "ok", &json!({})));
                if let Some(channel) = channel {
                    let join_ref = channel.join_ref.as_deref();
                    self.send(protocol::encode(vsn, join_ref, join_ref, topic, "phx_close", &json!({})));
                }
            }
            (topic, "access_token") => match self.conn.channel(topic) {
                Some(channel) => self.refresh_token(&channel, &inbound.payload),
                None => self.unmatched(&inbound),
            },
            (topic, _) if self.conn.channel(topic).is_some() => self.send(protocol::reply(
                vsn,
                &inbound,
                "error",
                &json!({"reason": format!("the local Realtime serves postgres_changes only, not {}", inbound.event)}),
            )),
            _ => self.unmatched(&inbound),
        }
    }

    fn unmatched(&self, inbound: &Inbound) {
        self.send(protocol::reply(
            self.conn.vsn,
            inbound,
            "error",
            &json!({"reason": "unmatched topic"}),
        ));
    }

    fn join_error(&self, inbound: &Inbound, reason: &str) {
        self.send(protocol::reply(
            self.conn.vsn,
            inbound,
            "error",
            &json!({ "reason": reason }),
        ));
    }

    /// `access_token` from `setAuth`: the new token replaces the channel's
    /// identity; an invalid or expired one shuts the channel down.
    fn refresh_token(&self, channel: &Channel, payload: &Value) {
        let Some(token) = payload.get("access_token").and_then(Value::as_str) else {
            return;
        };
        if token.starts_with("sb_") {
            return;
        }
        match verify(&self.realtime, token) {
            Ok(identity) => channel.set_identity(identity),
            Err(message) => self.shutdown(channel, &message),
        }
    }

    async fn join(&self, inbound: &Inbound) {
        let vsn = self.conn.vsn;
        let topic = inbound.topic.as_str();
        if !topic.starts_with("realtime:") {
            return self.unmatched(inbound);
        }
        if topic == "realtime:" {
            return self.join_error(inbound, "TopicNameRequired: You must provide a topic name");
        }
        let replaced = self.conn.channel(topic).is_some();
        if !replaced && self.conn.channel_count() >= self.realtime.config.limits.channels_per_socket
        {
            return self.join_error(inbound, "ChannelRateLimitReached: Too many channels");
        }
        let identity = match inbound.payload.get("access_token").and_then(Value::as_str) {
            Some(token) if !token.starts_with("sb_") => verify(&self.realtime, token),
            _ => match self.apikey.exp > now_secs() {
                true => Ok(self.apikey.clone()),
                false => Err("Token has expired".into()),
            },
        };
        let identity = match identity {
            Ok(identity) => identity,
            Err(reason) => return self.join_error(inbound, &reason),
        };
        let requested = inbound
            .payload
            .get("config")
            .and_then(|c| c.get("postgres_changes"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if requested.len() > self.realtime.config.limits.bindings_per_channel {
            return self.join_error(inbound, "too many postgres_changes in one channel");
        }
        // The reply echoes each entry with its id, as Realtime does.
        let response: Vec<Value> = requested
            .iter()
            .map(|params| {
                let mut echoed = params.as_object().cloned().unwrap_or_default();
                echoed.insert("id".into(), binding_id(params).into());
                Value::Object(echoed)
            })
            .collect();
        let bindings = self.bind(&requested).await;
        let has_changes = !requested.is_empty();
        let channel = Channel {
            topic: topic.to_owned(),
            join_ref: inbound.join_ref.clone(),
            identity: Mutex::new(Arc::new(identity)),
            bindings: bindings.clone().unwrap_or_default(),
            announced: std::sync::atomic::AtomicBool::new(false),
        };
        if let Some(old) = self.conn.join(channel) {
            // A second join of a topic replaces the first (Phoenix closes the old one).
            if old.join_ref != inbound.join_ref {
                let join_ref = old.join_ref.as_deref();
                self.send(protocol::encode(
                    vsn,
                    join_ref,
                    join_ref,
                    topic,
                    "phx_close",
                    &json!({}),
                ));
            }
        }
        self.send(protocol::reply(
            vsn,
            inbound,
            "ok",
            &json!({ "postgres_changes": response }),
        ));
        if !has_changes {
            return;
        }
        let join_ref = inbound.join_ref.as_deref();
        match bindings {
            Err(message) => self.send(protocol::system(
                vsn,
                join_ref,
                topic,
                "postgres_changes",
                "error",
                &message,
            )),
            // While the slot is not being read (the database is away), the
            // announcement waits for the capture task to send it.
            Ok(_) if *self.realtime.capturing.borrow() => {
                if let Some(channel) = self.conn.channel(topic) {
                    if channel.announce() {
                        self.send(subscribed(vsn, &channel));
                    }
                }
            }
            Ok(_) => {}
        }
    }

    /// Resolves each `postgres_changes` entry to the publication's tables
    /// and checks its filter; any failure refuses them all, with Realtime's words.
    async fn bind(&self, requested: &[Value]) -> Result<Vec<Binding>, String> {
        if requested.is_empty() {
            return Ok(Vec::new());
        }
        let client = self
            .realtime
            .pool
            .get()
            .await
            .map_err(|_| "Realtime was unable to connect to the project database".to_owned())?;
        let mut bindings = Vec::with_capacity(requested.len());
        for params in requested {
            let text = |key: &str| params.get(key).and_then(Value::as_str).unwrap_or_default();
            let event_text = text("event");
            let schema = match text("schema") {
                "" => "*",
                schema => schema,
            };
            let table = match text("table") {
                "" => "*",
                table => table,
            };
            let refused = |detail: &str| {
                format!(
                    "Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given connect parameters: [event: {event_text}, schema: {schema}, table: {table}, filters: {}]{detail}",
                    text("filter")
                )
            };
            let event = filter::Event::parse(event_text).ok_or_else(|| refused(""))?;
            let conditions =
                filter::parse(text("filter")).map_err(|e| refused(&format!(". {e}")))?;
            let tables = catalog::publication_tables(
                &**client,
                &self.realtime.config.publication,
                schema,
                table,
            )
            .await
            .map_err(|e| refused(&format!(". {}", catalog::describe(&e))))?;
            if tables.is_empty() {
                return Err(refused(""));
            }
            let mut bound = Vec::with_capacity(tables.len());
            for (schema, table) in &tables {
                let bound_table = catalog::bind_table(&**client, schema, table, &conditions)
                    .await
                    .map_err(|e| refused(&format!(". {e}")))?;
                bound.push(bound_table);
            }
            bindings.push(Binding {
                id: binding_id(params),
                event,
                tables: bound,
            });
        }
        Ok(bindings)
    }
}

/// The `system` message that tells realtime-js its postgres_changes are live.
pub fn subscribed(vsn: Vsn, channel: &Channel) -> String {
    protocol::system(
        vsn,
        channel.join_ref.as_deref(),
        &channel.topic,
        "postgres_changes",
        "ok",
        "Subscribed to PostgreSQL",
    )
}

/// A stable id per distinct entry (Realtime uses a hash of the params too):
/// FNV-1a over the canonical JSON, kept to 27 bits like Erlang's phash2.
fn binding_id(params: &Value) -> u32 {
    let text = params.to_string();
    let hash = text.bytes().fold(0x811c_9dc5u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    hash & 0x07ff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn identity_needs_role_and_a_future_exp() {
        let later = now_secs() + 60;
        let identity = identity_of(claims(
            json!({"role": "authenticated", "exp": later, "sub": "u"}),
        ));
        let identity = identity.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(identity.role, "authenticated");
        assert!(identity.claims.contains("\"sub\":\"u\""));
        assert_eq!(
            identity_of(claims(json!({"role": "anon"})))
                .err()
                .as_deref(),
            Some("Fields `role` and `exp` are required in JWT")
        );
        let expired = identity_of(claims(json!({"role": "anon", "exp": now_secs() - 5})));
        assert!(expired
            .err()
            .is_some_and(|m| m.starts_with("Token has expired")));
    }

    #[test]
    fn binding_ids_are_stable_per_params() {
        let a = json!({"event": "*", "schema": "public", "table": "items"});
        let b = json!({"event": "UPDATE", "schema": "public", "table": "items"});
        assert_eq!(binding_id(&a), binding_id(&a.clone()));
        assert_ne!(binding_id(&a), binding_id(&b));
        assert!(binding_id(&a) < (1 << 27));
    }
}
