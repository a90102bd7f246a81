//! The `data` each action answers with: the jsonb the SQL function returns, passed through
//! unchanged (ARCHITECTURE.md, "The RPC contract"). Declared here for the TypeScript types
//! and checked against sample answers in the tests. Row fields follow docs/DATA_MODEL.md;
//! counts are `i32` (Postgres `integer`, and a JavaScript `number`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `generate_platform_metrics`: one `platform_metrics` row (one UTC day).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PlatformMetrics {
    pub date: String,
    pub gmv: f64,
    pub mrr: f64,
    pub mrr_new: f64,
    pub mrr_expansion: f64,
    pub mrr_contraction: f64,
    pub mrr_churned: f64,
    pub mrr_reactivation: f64,
    pub total_users: i32,
    pub new_users: i32,
    pub total_shops: i32,
    pub active_shops: i32,
    pub new_subscriptions: i32,
    pub churned_subscriptions: i32,
    pub churn_rate: Option<f64>,
    /// Shops per plan.
    pub plan_distribution: Value,
    pub total_orders: i32,
    pub new_conversations: i32,
    pub messages: i32,
    pub ai_messages_processed: i32,
    pub data_extension_revenue: f64,
    pub data_extension_status: Value,
    pub computed_at: String,
}

/// `get_platform_stats`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PlatformStatsResult {
    pub days: Vec<PlatformMetrics>,
    /// The newest row of the range (MRR and totals as of then); null when there is none.
    pub latest: Option<PlatformMetrics>,
}

/// One snapshot written by `create_backup`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SnapshotSummary {
    pub id: String,
    pub shop_id: String,
    /// Rows per table.
    pub row_counts: BTreeMap<String, i32>,
    /// sha256 of the canonical snapshot data.
    pub checksum: String,
}

/// A shop whose snapshot failed (the others are still taken).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct BackupFailure {
    pub shop_id: String,
    pub sqlstate: String,
    pub error: String,
}

/// `create_backup`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CreateBackupResult {
    pub backup_log_id: String,
    /// `completed`, or `failed` when any shop failed.
    pub status: String,
    pub snapshots: Vec<SnapshotSummary>,
    pub failures: Vec<BackupFailure>,
}

/// Rows of one table that a restore would insert, update or delete.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TableDifferences {
    pub insert: RowChanges,
    pub update: RowChanges,
    pub delete: RowChanges,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RowChanges {
    pub count: i32,
    /// Primary keys of the first 100 rows.
    pub keys: Vec<Value>,
}

/// `restore_backup`: the differences per table; when applied, the restored row counts.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RestoreBackupResult {
    pub snapshot_id: String,
    pub shop_id: String,
    pub dry_run: bool,
    pub checksum: String,
    pub differences: BTreeMap<String, TableDifferences>,
    /// Rows per table put back; null for a dry run.
    pub restored: Option<BTreeMap<String, i32>>,
    /// The shop as it was just before the restore, so the restore can be undone.
    pub pre_restore_snapshot_id: Option<String>,
    /// Null for a dry run.
    pub backup_log_id: Option<String>,
}

/// `list_backups`: `recovery_snapshots` and `backup_logs` rows, newest first.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ListBackupsResult {
    pub snapshots: Vec<Value>,
    pub logs: Vec<Value>,
}

/// `cleanup_snapshots`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CleanupSnapshotsResult {
    pub deleted: i32,
}
