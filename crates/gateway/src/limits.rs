//! What one connection, request body or caller may hold of the gateway, so a
//! hostile client cannot take memory, descriptors or the database pool from
//! the others. The values and their environment variables are listed in the
//! README ("Limits").

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::Caller;

/// Every limit, with the defaults of a local stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Open client connections; past it a connection is answered 503 and closed.
    pub max_connections: usize,
    /// Time for a request's headers to arrive, also how long a kept-alive
    /// connection may sit idle.
    pub header_read_timeout: Duration,
    /// Time for a whole request body to arrive (408 past it).
    pub body_read_timeout: Duration,
    /// Largest `/rest/v1` body (413 past it).
    pub rest_body_bytes: usize,
    /// Largest `/functions/v1` body: the functions refuse more themselves.
    pub function_body_bytes: usize,
    /// `/rest/v1` requests of one caller running at once.
    pub caller_concurrency: usize,
    /// `/rest/v1` requests of one caller waiting for a turn (429 past it).
    pub caller_queue: usize,
    /// How long a waiting request waits for its turn (429 past it).
    pub caller_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            rest_body_bytes: 1024 * 1024,
            function_body_bytes: 64 * 1024,
            caller_concurrency: 4,
            caller_queue: 256,
            caller_wait: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// The defaults, each overridden by its `GATEWAY_*` variable when set.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let number = |name: &str, default: usize| -> Result<usize, String> {
            match var(name) {
                None => Ok(default),
                Some(text) => text
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name} is not a positive number: {text}")),
            }
        };
        let seconds = |name: &str, default: Duration| -> Result<Duration, String> {
            number(name, default.as_secs() as usize).map(|s| Duration::from_secs(s as u64))
        };
        let defaults = Self::default();
        Ok(Self {
            max_connections: number("GATEWAY_MAX_CONNECTIONS", defaults.max_connections)?,
            header_read_timeout: seconds(
                "GATEWAY_HEADER_TIMEOUT_SECS",
                defaults.header_read_timeout,
            )?,
            body_read_timeout: seconds("GATEWAY_BODY_TIMEOUT_SECS", defaults.body_read_timeout)?,
            rest_body_bytes: number("GATEWAY_REST_BODY_BYTES", defaults.rest_body_bytes)?,
            function_body_bytes: number(
                "GATEWAY_FUNCTION_BODY_BYTES",
                defaults.function_body_bytes,
            )?,
            caller_concurrency: number("GATEWAY_CALLER_CONCURRENCY", defaults.caller_concurrency)?,
            caller_queue: number("GATEWAY_CALLER_QUEUE", defaults.caller_queue)?,
            caller_wait: seconds("GATEWAY_CALLER_WAIT_SECS", defaults.caller_wait)?,
        })
    }
}

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    TimedOut,
    /// The client broke off or sent a malformed chunked body.
    Unreadable,
}

/// A refused body declared at most this long is read and dropped in the
/// background while the 413 goes out at once (a lingering close): a client
/// still sending then reads the answer instead of a reset connection, and a
/// client waiting for the answer before sending gets it. Longer ones are cut
/// off.
const DRAIN_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a request body of at most `max` bytes within `timeout`. A declared
/// `Content-Length` over `max` is refused without keeping a byte of it.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(length) = declared.filter(|length| *length > max as u64) {
        if length <= DRAIN_BYTES {
            tokio::spawn(async move {
                let _ = tokio::time::timeout(timeout, drain(body)).await;
            });
        }
        return Err(BodyError::TooLarge);
    }
    match tokio::time::timeout(timeout, Limited::new(body, max).collect()).await {
        Err(_) => Err(BodyError::TimedOut),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<LengthLimitError>() => Err(BodyError::TooLarge),
        Ok(Err(_)) => Err(BodyError::Unreadable),
    }
}

/// Reads a body to its end, dropping every frame (at most `DRAIN_BYTES`).
async fn drain(mut body: Body) {
    let mut left = DRAIN_BYTES;
    while let Some(Ok(frame)) = body.frame().await {
        let length = frame.data_ref().map_or(0, |data| data.len() as u64);
        match left.checked_sub(length) {
            Some(rest) => left = rest,
            None => return,
        }
    }
}

/// One caller's turns: a semaphore of running requests and a count of waiting ones.
struct Turns {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
}

/// Per-caller concurrency of `/rest/v1`: each caller (JWT `sub`, else its role,
/// which is the anon or service key) runs at most `caller_concurrency`
/// requests at once, so one caller's slow queries cannot hold the whole
/// database pool. Others wait their turn, up to `caller_queue` of them and
/// `caller_wait` long. Callers without requests in flight hold no entry.
pub struct CallerTurns {
    concurrency: usize,
    queue: usize,
    wait: Duration,
    callers: Mutex<HashMap<String, Arc<Turns>>>,
}

/// A running request's turn; given back when dropped.
pub struct Turn {
    key: String,
    turns: Arc<Turns>,
    owner: Arc<CallerTurns>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.owner.forget_if_idle(&self.key, &self.turns);
    }
}

/// A place in a caller's queue, left when dropped (also when the client goes
/// away and the request's future is dropped mid-wait).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(waiting: &'a AtomicUsize, queue: usize) -> Option<Self> {
        if waiting.fetch_add(1, Ordering::SeqCst) >= queue {
            waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Self(waiting))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The key a caller's turns are counted under.
pub fn caller_key(caller: &Caller) -> String {
    match caller.sub() {
        Some(sub) => format!("sub:{sub}"),
        None => format!("role:{}", caller.role),
    }
}

impl CallerTurns {
    pub fn new(limits: &Limits) -> Arc<Self> {
        Arc::new(Self {
            concurrency: limits.caller_concurrency,
            queue: limits.caller_queue,
            wait: limits.caller_wait,
            callers: Mutex::new(HashMap::new()),
        })
    }

    /// Waits for a turn of `key`; `None` when its queue is full or the wait ran out.
    pub async fn take(self: &Arc<Self>, key: String) -> Option<Turn> {
        let turns = {
            let mut callers = self.callers.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(callers.entry(key.clone()).or_insert_with(|| {
                Arc::new(Turns {
                    running: Arc::new(Semaphore::new(self.concurrency)),
                    waiting: AtomicUsize::new(0),
                })
            }))
        };
        let running = Arc::clone(&turns.running);
        // From here on `turn` holds the only reference besides the map's, so
        // dropping it on any path below forgets an idle caller.
        let mut turn = Turn {
            key,
            turns,
            owner: Arc::clone(self),
            permit: None,
        };
        if let Ok(permit) = Arc::clone(&running).try_acquire_owned() {
            turn.permit = Some(permit);
            return Some(turn);
        }
        let acquired = {
            let _waiting = Waiting::enter(&turn.turns.waiting, self.queue)?;
            tokio::time::timeout(self.wait, running.acquire_owned()).await
        };
        turn.permit = Some(acquired.ok()?.ok()?);
        Some(turn)
    }

    /// Drops `key`'s entry when no request holds or awaits it (the map only
    /// clones entries under its lock, so the count cannot grow meanwhile).
    fn forget_if_idle(&self, key: &str, turns: &Arc<Turns>) {
        let mut callers = self.callers.lock().unwrap_or_else(PoisonError::into_inner);
        // The map's reference and the caller's own: nobody else holds it.
        if Arc::strong_count(turns) == 2 {
            callers.remove(key);
        }
    }

    /// Callers with an entry (requests in flight); for tests.
    pub fn tracked(&self) -> usize {
        self.callers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn limits(concurrency: usize, queue: usize, wait_ms: u64) -> Limits {
        Limits {
            caller_concurrency: concurrency,
            caller_queue: queue,
            caller_wait: Duration::from_millis(wait_ms),
            ..Limits::default()
        }
    }

    #[tokio::test]
    async fn one_caller_waits_its_turn_while_others_run() {
        let turns = CallerTurns::new(&limits(2, 1, 50));
        let first = turns.take("a".into()).await;
        let second = turns.take("a".into()).await;
        assert!(first.is_some() && second.is_some());
        // A third waits, runs out of time and is refused; another caller is not affected.
        assert!(turns.take("a".into()).await.is_none());
        assert!(turns.take("b".into()).await.is_some());
        // A waiting request gets the turn a finished one gives back.
        let waiting = tokio::spawn({
            let turns = Arc::clone(&turns);
            async move { turns.take("a".into()).await.is_some() }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        // The queue holds one: a second waiter is refused at once.
        assert!(turns.take("a".into()).await.is_none());
        drop(first);
        assert!(waiting.await.unwrap_or(false));
        drop(second);
        assert_eq!(turns.tracked(), 0, "idle callers leave no entry");
    }

    #[tokio::test]
    async fn bodies_are_capped_before_and_while_reading() {
        let mut headers = HeaderMap::new();
        let read = |headers: HeaderMap, body: &'static str| async move {
            read_body(&headers, Body::from(body), 4, Duration::from_secs(1)).await
        };
        assert_eq!(read(headers.clone(), "abcd").await, Ok(Bytes::from("abcd")));
        assert_eq!(
            read(headers.clone(), "abcde").await,
            Err(BodyError::TooLarge)
        );
        headers.insert(
            header::CONTENT_LENGTH,
            "5".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(read(headers, "").await, Err(BodyError::TooLarge));
    }

    #[tokio::test]
    async fn a_refused_body_is_answered_at_once_and_read_to_its_end() {
        let (finished, drained) = tokio::sync::oneshot::channel();
        let (resume, held) = tokio::sync::oneshot::channel::<()>();
        // The upload goes on only after the answer: answering must not wait for it.
        let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("abc"))])
            .chain(futures_util::stream::once(async move {
                let _ = held.await;
                Ok(Bytes::from("de"))
            }))
            .chain(futures_util::stream::once(async move {
                let _ = finished.send(());
                Ok(Bytes::new())
            }));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_LENGTH,
            "5".parse().unwrap_or_else(|_| unreachable!()),
        );
        let answer = read_body(
            &headers,
            Body::from_stream(chunks),
            4,
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(answer, Err(BodyError::TooLarge));
        let _ = resume.send(());
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(1), drained).await,
            Ok(Ok(())),
            "the client's upload was drained"
        );
    }

    #[test]
    fn limits_read_the_environment() {
        let env = |name: &str| (name == "GATEWAY_CALLER_CONCURRENCY").then(|| "7".to_owned());
        assert_eq!(Limits::from_env(env).map(|l| l.caller_concurrency), Ok(7));
        let bad = |name: &str| (name == "GATEWAY_MAX_CONNECTIONS").then(|| "0".to_owned());
        assert!(Limits::from_env(bad).is_err());
    }
}
