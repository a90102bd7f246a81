//! Reads committed changes from a temporary logical replication slot
//! (wal2json) and hands each one to the channels allowed to see it.
//!
//! The slot is temporary: it belongs to this task's database session and
//! Postgres drops it when the session ends, so a stopped or crashed server
//! never makes the database keep WAL for it. A restarted server starts a
//! new slot at the current position (changes committed while it was down
//! are not replayed, as with Supabase Realtime). Changes come out of
//! `pg_logical_slot_get_changes` whole transactions at a time, in commit
//! order, and only once committed.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use tokio::sync::watch;

use crate::catalog::{self, Probe, RoleAccess, TableInfo};
use crate::filter::Event;
use crate::hub::{Channel, Conn, Identity};
use crate::protocol;
use crate::wal::{self, Change};
use crate::Realtime;

static SLOTS: AtomicU32 = AtomicU32::new(0);

/// Keeps a capture session running; reconnects with a growing pause when
/// the database goes away.
pub async fn run(
    realtime: Arc<Realtime>,
    replication: tokio_postgres::Config,
    capturing: watch::Sender<bool>,
) {
    let mut pause = Duration::from_millis(250);
    loop {
        let started = tokio::time::Instant::now();
        if let Err(error) = session(&realtime, &replication, &capturing).await {
            tracing::warn!(%error, "realtime capture stopped; reconnecting");
        }
        capturing.send_replace(false);
        if started.elapsed() > Duration::from_secs(30) {
            pause = Duration::from_millis(250);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

async fn session(
    realtime: &Realtime,
    replication: &tokio_postgres::Config,
    capturing: &watch::Sender<bool>,
) -> Result<(), String> {
    let (client, connection) = replication
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("connect: {}", catalog::describe(&e)))?;
    let connection = tokio::spawn(connection);
    let result = poll(realtime, &client, capturing).await;
    connection.abort();
    result
}

async fn poll(
    realtime: &Realtime,
    client: &tokio_postgres::Client,
    capturing: &watch::Sender<bool>,
) -> Result<(), String> {
    let limits = &realtime.config.limits;
    let slot = format!(
        "local_realtime_{}_{}",
        std::process::id(),
        SLOTS.fetch_add(1, Ordering::Relaxed)
    );
    client
        .execute(
            "select pg_catalog.pg_create_logical_replication_slot($1, 'wal2json', true)",
            &[&slot],
        )
        .await
        .map_err(|e| format!("create slot {slot}: {}", catalog::describe(&e)))?;
    let read = client
        .prepare(
            "select data from pg_catalog.pg_logical_slot_get_changes($1, null, $2,
               'format-version', '2', 'include-timestamp', '1', 'include-pk', '1',
               'include-transaction', '0', 'actions', 'insert,update,delete')",
        )
        .await
        .map_err(|e| catalog::describe(&e))?;
    // With nobody listening the slot is moved on without decoding rows for
    // anyone, to a position read before looking for listeners: a channel
    // that joins meanwhile gets every change committed after its join.
    let position = client
        .prepare("select pg_catalog.pg_current_wal_lsn()::text")
        .await
        .map_err(|e| catalog::describe(&e))?;
    let skip = client
        .prepare("select pg_catalog.pg_replication_slot_advance($1, $2::text::pg_lsn)")
        .await
        .map_err(|e| catalog::describe(&e))?;
    tracing::info!(slot, "realtime capture reading the slot");
    capturing.send_replace(true);
    // Channels that joined while the database was away learn now that they are live.
    for conn in realtime.hub.conns() {
        for channel in conn.channels() {
            if !channel.bindings.is_empty() && channel.announce() {
                conn.send(crate::socket::subscribed(conn.vsn, &channel));
            }
        }
    }
    loop {
        let end: String = client
            .query_one(&position, &[])
            .await
            .map_err(|e| format!("read the WAL position: {}", catalog::describe(&e)))?
            .get(0);
        if !realtime.hub.has_bindings() {
            client
                .execute(&skip, &[&slot, &end])
                .await
                .map_err(|e| format!("advance slot: {}", catalog::describe(&e)))?;
            tokio::time::sleep(limits.poll_interval).await;
            continue;
        }
        let rows = client
            .query(&read, &[&slot, &limits.poll_changes])
            .await
            .map_err(|e| format!("read slot: {}", catalog::describe(&e)))?;
        if rows.is_empty() {
            tokio::time::sleep(limits.poll_interval).await;
            continue;
        }
        let mut batch = Batch::new(realtime, client).await?;
        for row in &rows {
            let data: &str = row.get(0);
            match wal::parse(data) {
                Ok(Some(change)) => {
                    if let Err(error) = batch.deliver(&change).await {
                        tracing::warn!(%error, table = change.table, "realtime change not delivered");
                    }
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "unreadable wal2json row"),
            }
        }
    }
}

/// Catalog answers reused for the changes of one read (a schema change is
/// seen by the next read).
struct Batch<'a> {
    realtime: &'a Realtime,
    capture: &'a tokio_postgres::Client,
    published: HashSet<(String, String)>,
    tables: HashMap<(String, String), TableInfo>,
    access: HashMap<(String, String, String), RoleAccess>,
}

/// A channel that wants this change (before row security).
struct Candidate {
    conn: Arc<Conn>,
    channel: Arc<Channel>,
    identity: Arc<Identity>,
    ids: Vec<u32>,
}

#[derive(Serialize)]
struct ChangePayload<'a> {
    ids: &'a [u32],
    data: &'a RawValue,
}

impl<'a> Batch<'a> {
    async fn new(
        realtime: &'a Realtime,
        capture: &'a tokio_postgres::Client,
    ) -> Result<Self, String> {
        let published = catalog::published(capture, &realtime.config.publication)
            .await
            .map_err(|e| catalog::describe(&e))?;
        Ok(Self {
            realtime,
            capture,
            published,
            tables: HashMap::new(),
            access: HashMap::new(),
        })
    }

    async fn deliver(&mut self, change: &Change) -> Result<(), String> {
        let key = (change.schema.clone(), change.table.clone());
        if !self.published.contains(&key) {
            return Ok(());
        }
        let wanted = self.wanting(change);
        if wanted.is_empty() {
            return Ok(());
        }
        let (commit_timestamp, new, old) = catalog::render_rows(
            self.capture,
            &change.schema,
            &change.table,
            &change.timestamp,
            &change.new,
            &change.old,
        )
        .await
        .map_err(|e| catalog::describe(&e))?;
        let filtered_row = if change.event == Event::Delete {
            &old
        } else {
            &new
        };
        let now = now_secs();
        let candidates: Vec<Candidate> = wanted
            .into_iter()
            .filter_map(|(conn, channel, bindings)| {
                let ids: Vec<u32> = bindings
                    .iter()
                    .filter(|(_, conditions)| conditions.iter().all(|c| c.accepts(filtered_row)))
                    .map(|(id, _)| *id)
                    .collect();
                let identity = channel.identity();
                // An expired token gets nothing, even before its channel is shut down.
                (!ids.is_empty() && identity.exp > now).then_some(Candidate {
                    conn,
                    channel,
                    identity,
                    ids,
                })
            })
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let client = self
            .realtime
            .pool
            .get()
            .await
            .map_err(|e| format!("pool: {e}"))?;
        if !self.tables.contains_key(&key) {
            let info = catalog::table_info(&**client, &change.schema, &change.table)
                .await
                .map_err(|e| catalog::describe(&e))?;
            self.tables.insert(key.clone(), info);
        }
        let roles: HashSet<&str> = candidates
            .iter()
            .map(|c| c.identity.role.as_str())
            .collect();
        for role in roles {
            let access_key = (key.0.clone(), key.1.clone(), role.to_owned());
            if let std::collections::hash_map::Entry::Vacant(entry) = self.access.entry(access_key)
            {
                let access = catalog::role_access(&**client, &change.schema, &change.table, role)
                    .await
                    .map_err(|e| catalog::describe(&e))?;
                entry.insert(access);
            }
        }
        let Some(info) = self.tables.get(&key) else {
            return Ok(());
        };
        let access_of = |role: &str| {
            self.access
                .get(&(key.0.clone(), key.1.clone(), role.to_owned()))
        };

        // Which identities must be asked, and how.
        let mut identities: Vec<&Identity> = Vec::new();
        let mut seen = HashSet::new();
        for candidate in &candidates {
            if seen.insert(candidate.identity.as_ref()) {
                identities.push(candidate.identity.as_ref());
            }
        }
        let mut visible: HashMap<&Identity, bool> = HashMap::new();
        let mut to_probe: Vec<(&Identity, Option<&str>)> = Vec::new();
        for identity in &identities {
            let Some(access) = access_of(&identity.role).filter(|a| a.select) else {
                visible.insert(identity, false);
                continue;
            };
            if !info.row_security || access.bypass_rls {
                visible.insert(identity, true);
            } else if change.event != Event::Delete {
                to_probe.push((identity, None));
            } else if info.full_identity {
                to_probe.push((identity, access.policy.as_deref()));
            } else {
                // Without the old row (only its key is in the WAL) nothing can
                // be checked: the key goes to every subscriber, as hosted
                // Realtime does.
                visible.insert(identity, true);
            }
        }
        if !to_probe.is_empty() {
            let probe = if change.event == Event::Delete {
                Probe::OldRow {
                    schema: &change.schema,
                    name: &change.table,
                    row: &old,
                }
            } else {
                Probe::ByKey {
                    table: info,
                    schema: &change.schema,
                    name: &change.table,
                    row: &new,
                }
            };
            let answers = catalog::visible_to(&client, &probe, &to_probe)
                .await
                .map_err(|e| catalog::describe(&e))?;
            for ((identity, _), answer) in to_probe.iter().zip(answers) {
                visible.insert(identity, answer);
            }
        }
        drop(client);

        // One rendering of the change per role (roles differ in the columns they may select).
        let mut rendered: HashMap<&str, Box<RawValue>> = HashMap::new();
        for candidate in &candidates {
            if !visible
                .get(candidate.identity.as_ref())
                .copied()
                .unwrap_or(false)
            {
                continue;
            }
            let role = candidate.identity.role.as_str();
            if !rendered.contains_key(role) {
                let columns = access_of(role).map(|a| &a.columns);
                let data = render(change, info, &commit_timestamp, &new, &old, columns);
                let raw = RawValue::from_string(data.to_string()).map_err(|e| e.to_string())?;
                rendered.insert(role, raw);
            }
            let Some(data) = rendered.get(role) else {
                continue;
            };
            let channel = &candidate.channel;
            let frame = protocol::encode(
                candidate.conn.vsn,
                channel.join_ref.as_deref(),
                None,
                &channel.topic,
                "postgres_changes",
                &ChangePayload {
                    ids: &candidate.ids,
                    data,
                },
            );
            candidate.conn.send(frame);
        }
        Ok(())
    }

    /// Channels with a binding for this table and event, with each binding's
    /// conditions for this table.
    #[allow(clippy::type_complexity)]
    fn wanting(
        &self,
        change: &Change,
    ) -> Vec<(
        Arc<Conn>,
        Arc<Channel>,
        Vec<(u32, Vec<crate::filter::Condition>)>,
    )> {
        let mut wanted = Vec::new();
        for conn in self.realtime.hub.conns() {
            if conn.overflowed() {
                continue;
            }
            for channel in conn.channels() {
                let bindings: Vec<(u32, Vec<crate::filter::Condition>)> = channel
                    .bindings
                    .iter()
                    .filter(|b| b.event.accepts(change.event))
                    .filter_map(|b| {
                        b.tables
                            .iter()
                            .find(|t| t.schema == change.schema && t.table == change.table)
                            .map(|t| (b.id, t.conditions.clone()))
                    })
                    .collect();
                if !bindings.is_empty() {
                    wanted.push((conn.clone(), channel, bindings));
                }
            }
        }
        wanted
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The `data` of a `postgres_changes` message, as Realtime builds it:
/// `{schema, table, commit_timestamp, type, columns, record, old_record,
/// errors}` with only the columns the role may select. `old` holds what the
/// WAL has of the old row: all columns with `replica identity full`, else
/// the key (deletes) or nothing (updates).
fn render(
    change: &Change,
    info: &TableInfo,
    commit_timestamp: &str,
    new: &Map<String, Value>,
    old: &Map<String, Value>,
    selectable: Option<&HashSet<String>>,
) -> Value {
    let may_select = |name: &str| selectable.is_some_and(|s| s.contains(name));
    let columns: Vec<Value> = info
        .columns
        .iter()
        .filter(|(name, ..)| may_select(name))
        .map(|(name, type_name, ..)| json!({ "name": name, "type": type_name }))
        .collect();
    let limit = |row: &Map<String, Value>| -> Value {
        Value::Object(
            row.iter()
                .filter(|(name, _)| may_select(name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        )
    };
    let mut data = json!({
        "schema": change.schema,
        "table": change.table,
        "commit_timestamp": commit_timestamp,
        "type": change.event.as_str(),
        "columns": columns,
        "errors": null,
    });
    if let Some(fields) = data.as_object_mut() {
        match change.event {
            Event::Insert => {
                fields.insert("record".into(), limit(new));
            }
            Event::Update => {
                fields.insert("record".into(), limit(new));
                fields.insert("old_record".into(), limit(old));
            }
            Event::Delete | Event::All => {
                fields.insert("old_record".into(), limit(old));
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> TableInfo {
        TableInfo {
            row_security: true,
            full_identity: false,
            columns: vec![
                ("id".into(), "uuid".into(), "uuid".into(), true),
                ("stock".into(), "int4".into(), "integer".into(), false),
                ("secret".into(), "text".into(), "text".into(), false),
            ],
        }
    }

    fn row(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn update_shows_only_selectable_columns() {
        let change = Change {
            event: Event::Update,
            schema: "public".into(),
            table: "items".into(),
            timestamp: String::new(),
            new: Map::new(),
            old: Map::new(),
        };
        let selectable: HashSet<String> = ["id", "stock"].iter().map(|s| s.to_string()).collect();
        let data = render(
            &change,
            &info(),
            "2024-05-01T10:00:00.000Z",
            &row(json!({"id": "a", "stock": 4, "secret": "s"})),
            &row(json!({})),
            Some(&selectable),
        );
        assert_eq!(
            data,
            json!({"schema": "public", "table": "items", "commit_timestamp": "2024-05-01T10:00:00.000Z",
                   "type": "UPDATE", "errors": null,
                   "columns": [{"name": "id", "type": "uuid"}, {"name": "stock", "type": "int4"}],
                   "record": {"id": "a", "stock": 4}, "old_record": {}})
        );
    }

    #[test]
    fn delete_carries_the_old_row_the_wal_has() {
        let change = Change {
            event: Event::Delete,
            schema: "public".into(),
            table: "items".into(),
            timestamp: String::new(),
            new: Map::new(),
            old: Map::new(),
        };
        let selectable: HashSet<String> = ["id", "stock"].iter().map(|s| s.to_string()).collect();
        let old = row(json!({"id": "a", "stock": 4, "secret": "s"}));
        let data = render(&change, &info(), "t", &Map::new(), &old, Some(&selectable));
        assert_eq!(
            data.get("old_record"),
            Some(&json!({"id": "a", "stock": 4}))
        );
        assert_eq!(data.get("record"), None);
    }
}
