//! Who listens to what: every open socket, its joined channels and their
//! `postgres_changes` bindings. The socket tasks write it, the capture task
//! reads a snapshot of it for each change.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, Notify};

use crate::filter::{Condition, Event};
use crate::protocol::Vsn;

/// Whose eyes a channel looks through: the verified JWT's role and claims.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub role: String,
    /// The claims as JSON text, as `request.jwt.claims` gets them.
    pub claims: String,
    /// `exp` in seconds since the epoch; no delivery from then on.
    pub exp: i64,
}

/// One table a binding covers, with its conditions normalized for that table.
#[derive(Debug, Clone)]
pub struct BoundTable {
    pub schema: String,
    pub table: String,
    pub conditions: Vec<Condition>,
}

/// One `postgres_changes` entry of a channel's join.
#[derive(Debug, Clone)]
pub struct Binding {
    /// The id the join reply gave realtime-js for this binding.
    pub id: u32,
    pub event: Event,
    pub tables: Vec<BoundTable>,
}

/// A joined channel.
#[derive(Debug)]
pub struct Channel {
    pub topic: String,
    pub join_ref: Option<String>,
    pub identity: Mutex<Arc<Identity>>,
    pub bindings: Vec<Binding>,
    /// Whether "Subscribed to PostgreSQL" went out (once the slot is read).
    pub announced: AtomicBool,
}

impl Channel {
    /// True the first time it is called: the caller sends the announcement.
    pub fn announce(&self) -> bool {
        !self.announced.swap(true, Ordering::SeqCst)
    }

    pub fn identity(&self) -> Arc<Identity> {
        self.identity
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_identity(&self, identity: Identity) {
        *self.identity.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(identity);
    }
}

/// One open socket, as the capture task sees it.
pub struct Conn {
    pub vsn: Vsn,
    queue: mpsc::Sender<String>,
    overflowed: AtomicBool,
    /// Wakes the socket task when its queue overflowed.
    pub overflow: Notify,
    channels: Mutex<HashMap<String, Arc<Channel>>>,
}

impl Conn {
    /// Queues a frame; a full queue marks the socket for disconnection
    /// (its task closes it with an error) instead of growing.
    pub fn send(&self, frame: String) -> bool {
        match self.queue.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !self.overflowed.swap(true, Ordering::SeqCst) {
                    self.overflow.notify_one();
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::SeqCst)
    }

    pub fn channels(&self) -> Vec<Arc<Channel>> {
        self.lock_channels().values().cloned().collect()
    }

    pub fn channel(&self, topic: &str) -> Option<Arc<Channel>> {
        self.lock_channels().get(topic).cloned()
    }

    pub fn channel_count(&self) -> usize {
        self.lock_channels().len()
    }

    /// Adds a channel, returning the one it replaces (a second join of a topic).
    pub fn join(&self, channel: Channel) -> Option<Arc<Channel>> {
        self.lock_channels()
            .insert(channel.topic.clone(), Arc::new(channel))
    }

    pub fn leave(&self, topic: &str) -> Option<Arc<Channel>> {
        self.lock_channels().remove(topic)
    }

    fn lock_channels(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Channel>>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every open socket.
#[derive(Default)]
pub struct Hub {
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Hub {
    /// Registers a socket with an outbound queue of `capacity` frames.
    pub fn connect(&self, vsn: Vsn, capacity: usize) -> (u64, Arc<Conn>, mpsc::Receiver<String>) {
        let (queue, receiver) = mpsc::channel(capacity);
        let conn = Arc::new(Conn {
            vsn,
            queue,
            overflowed: AtomicBool::new(false),
            overflow: Notify::new(),
            channels: Mutex::new(HashMap::new()),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, conn.clone());
        (id, conn, receiver)
    }

    pub fn disconnect(&self, id: u64) {
        self.lock().remove(&id);
    }

    pub fn conns(&self) -> Vec<Arc<Conn>> {
        self.lock().values().cloned().collect()
    }

    /// Whether any channel listens to postgres changes at all.
    pub fn has_bindings(&self) -> bool {
        self.conns()
            .iter()
            .any(|conn| conn.channels().iter().any(|c| !c.bindings.is_empty()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_marks_the_socket_once() {
        let hub = Hub::default();
        let (_, conn, mut receiver) = hub.connect(Vsn::V2, 2);
        assert!(conn.send("a".into()));
        assert!(conn.send("b".into()));
        assert!(!conn.overflowed());
        assert!(!conn.send("c".into()));
        assert!(conn.overflowed());
        // The socket task is woken (a permit is stored for it).
        tokio::time::timeout(std::time::Duration::from_secs(1), conn.overflow.notified())
            .await
            .unwrap_or_else(|_| panic!("the overflow woke nobody"));
        assert_eq!(receiver.recv().await.as_deref(), Some("a"));
    }

    #[test]
    fn joins_replace_and_leave() {
        let hub = Hub::default();
        let (id, conn, _receiver) = hub.connect(Vsn::V1, 4);
        let channel = |join_ref: &str| Channel {
            topic: "realtime:t".into(),
            join_ref: Some(join_ref.into()),
            identity: Mutex::new(Arc::new(Identity {
                role: "anon".into(),
                claims: "{}".into(),
                exp: 0,
            })),
            bindings: Vec::new(),
            announced: AtomicBool::new(false),
        };
        assert!(conn.join(channel("1")).is_none());
        assert!(conn.join(channel("2")).is_some());
        assert_eq!(conn.channel_count(), 1);
        assert!(!hub.has_bindings());
        assert!(conn.leave("realtime:t").is_some());
        hub.disconnect(id);
        assert!(hub.conns().is_empty());
    }
}
