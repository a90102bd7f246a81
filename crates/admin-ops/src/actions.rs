//! The actions of `admin-operations`, their payloads, validation and RPC calls.

use edge_core::{validate, Action, ApiError, Idempotency, RpcCall};
use serde::Deserialize;

/// Longest date range of `get_platform_stats`, in days (both ends included).
pub const MAX_RANGE_DAYS: i64 = 366;

/// Bounds of `list_backups.limit` (the SQL default is 20).
pub const MAX_LIST_LIMIT: i64 = 100;

/// `backup_logs.backup_type` (docs/DATA_MODEL.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename_all = "snake_case"))]
pub enum BackupType {
    Daily,
    Weekly,
    Manual,
}

impl BackupType {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupType::Daily => "daily",
            BackupType::Weekly => "weekly",
            BackupType::Manual => "manual",
        }
    }
}

/// One request to `admin-operations`: `{"action": "<name>", ...fields}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS), ts(tag = "action", rename_all = "snake_case"))]
pub enum AdminAction {
    GeneratePlatformMetrics(GeneratePlatformMetricsRequest),
    GetPlatformStats(GetPlatformStatsRequest),
    CreateBackup(CreateBackupRequest),
    RestoreBackup(RestoreBackupRequest),
    ListBackups(ListBackupsRequest),
    CleanupSnapshots(CleanupSnapshotsRequest),
    /// Panics on purpose, to test that a trap still answers 500 with the request id.
    #[cfg(feature = "fault-injection")]
    #[serde(rename = "__panic")]
    #[cfg_attr(test, ts(skip))]
    Panic(edge_core::dispatch::PanicRequest),
}

/// (Re)computes the platform row of a UTC day; `date` defaults to yesterday.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct GeneratePlatformMetricsRequest {
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
}

/// Platform rows of a range (at most 366 days when both ends are given) and the latest totals.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct GetPlatformStatsRequest {
    /// `YYYY-MM-DD`, included.
    pub start_date: Option<String>,
    /// `YYYY-MM-DD`, included.
    pub end_date: Option<String>,
}

/// Snapshots one shop now. Every shop is snapshotted by the scheduled
/// `daily-full-backup` job only: a request without `shop_id` is refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct CreateBackupRequest {
    /// Required; absent is `invalid_request` pointing at the scheduled job.
    pub shop_id: Option<String>,
    /// `manual` when absent.
    pub backup_type: Option<BackupType>,
    pub idempotency_key: Option<String>,
}

/// Compares a snapshot with the live rows (`dry_run`, the default) or puts them back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct RestoreBackupRequest {
    pub snapshot_id: String,
    /// Defaults to true: only report the differences.
    pub dry_run: Option<bool>,
    pub idempotency_key: Option<String>,
}

/// Snapshots and backup logs, newest first.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct ListBackupsRequest {
    pub shop_id: Option<String>,
    /// 1 to 100; 20 when absent.
    pub limit: Option<i32>,
}

/// Deletes snapshots past their expiry; takes no fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
// ts-rs would say `Record<string, never>`, which also forbids the `action` tag it is joined with.
#[cfg_attr(test, derive(ts_rs::TS), ts(type = "Record<never, never>"))]
pub struct CleanupSnapshotsRequest {}

impl Action for AdminAction {
    const NAMES: &'static [&'static str] = &[
        "generate_platform_metrics",
        "get_platform_stats",
        "create_backup",
        "restore_backup",
        "list_backups",
        "cleanup_snapshots",
        #[cfg(feature = "fault-injection")]
        "__panic",
    ];

    fn idempotency(&self) -> Idempotency<'_> {
        match self {
            AdminAction::CreateBackup(request) => Idempotency::Mutating {
                body_key: request.idempotency_key.as_deref(),
            },
            AdminAction::RestoreBackup(request) => Idempotency::Mutating {
                body_key: request.idempotency_key.as_deref(),
            },
            _ => Idempotency::ReadOnly,
        }
    }

    fn rpc_call(self, idempotency_key: Option<String>) -> Result<RpcCall, ApiError> {
        match self {
            AdminAction::GeneratePlatformMetrics(request) => {
                Ok(RpcCall::new("generate_platform_metrics")
                    .optional_arg("p_date", optional_date("date", request.date)?))
            }
            AdminAction::GetPlatformStats(request) => {
                if let (Some(start), Some(end)) = (&request.start_date, &request.end_date) {
                    validate::date_range(("start_date", start), ("end_date", end), MAX_RANGE_DAYS)?;
                }
                Ok(RpcCall::new("get_platform_stats")
                    .optional_arg("p_start", optional_date("start_date", request.start_date)?)
                    .optional_arg("p_end", optional_date("end_date", request.end_date)?))
            }
            AdminAction::CreateBackup(request) => {
                // An all-shop backup grows with the platform and would outlive
                // any request's timeout: it is the scheduled job's work.
                let shop_id = request.shop_id.ok_or_else(all_shops_backup_refusal)?;
                Ok(RpcCall::new("create_backup_snapshot")
                    .arg("p_shop_id", validate::uuid("shop_id", &shop_id)?)
                    .optional_arg("p_backup_type", request.backup_type.map(BackupType::as_str))
                    .optional_arg("p_idempotency_key", idempotency_key))
            }
            AdminAction::RestoreBackup(request) => Ok(RpcCall::new("restore_backup_snapshot")
                .arg(
                    "p_snapshot_id",
                    validate::uuid("snapshot_id", &request.snapshot_id)?,
                )
                .optional_arg("p_dry_run", request.dry_run)
                .optional_arg("p_idempotency_key", idempotency_key)),
            AdminAction::ListBackups(request) => {
                let shop_id = request
                    .shop_id
                    .map(|id| validate::uuid("shop_id", &id))
                    .transpose()?;
                let limit = request
                    .limit
                    .map(|limit| validate::int_in_range("limit", limit.into(), 1, MAX_LIST_LIMIT))
                    .transpose()?;
                Ok(RpcCall::new("list_backups")
                    .optional_arg("p_shop_id", shop_id)
                    .optional_arg("p_limit", limit))
            }
            AdminAction::CleanupSnapshots(CleanupSnapshotsRequest {}) => {
                Ok(RpcCall::new("cleanup_expired_snapshots"))
            }
            #[cfg(feature = "fault-injection")]
            AdminAction::Panic(_) => panic!("fault injection: __panic action"),
        }
    }
}

/// A validated optional `YYYY-MM-DD`, kept as written.
fn optional_date(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    value
        .map(|date| validate::date(field, &date).map(|_| date))
        .transpose()
}

/// The answer to `create_backup` without `shop_id`: every shop is backed up by
/// the scheduled job, in per-shop batches, never inside one request.
fn all_shops_backup_refusal() -> ApiError {
    ApiError::invalid_field(
        "shop_id",
        "Give shop_id: every shop is backed up by the scheduled daily-full-backup job (03:00 UTC), not by a request",
    )
    .with_details(serde_json::json!({"field": "shop_id", "scheduled_job": "daily-full-backup"}))
}
