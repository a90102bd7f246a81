//! The actions of `admin-operations`, their payloads, validation and RPC calls.

use chrono::NaiveDate;
use edge_core::{validate, Action, ApiError, Idempotency, RpcCall};
use serde::Deserialize;
use uuid::Uuid;

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
}

/// (Re)computes the platform row of a UTC day; `date` defaults to yesterday.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct GeneratePlatformMetricsRequest {
    /// `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "validate::optional_date")]
    pub date: Option<NaiveDate>,
}

/// Platform rows of a range (at most 366 days when both ends are given) and the latest totals.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct GetPlatformStatsRequest {
    /// `YYYY-MM-DD`, included.
    #[serde(default, deserialize_with = "validate::optional_date")]
    pub start_date: Option<NaiveDate>,
    /// `YYYY-MM-DD`, included.
    #[serde(default, deserialize_with = "validate::optional_date")]
    pub end_date: Option<NaiveDate>,
}

/// Snapshots one shop now. Every shop is snapshotted by the scheduled
/// `daily-full-backup` job only: a request without `shop_id` is refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct CreateBackupRequest {
    /// Required; absent is `invalid_request` pointing at the scheduled job.
    #[serde(default, deserialize_with = "validate::optional_uuid")]
    pub shop_id: Option<Uuid>,
    /// `manual` when absent.
    pub backup_type: Option<BackupType>,
    pub idempotency_key: Option<String>,
}

/// Compares a snapshot with the live rows (`dry_run`, the default) or puts them back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct RestoreBackupRequest {
    #[serde(deserialize_with = "validate::uuid")]
    pub snapshot_id: Uuid,
    /// Defaults to true: only report the differences.
    pub dry_run: Option<bool>,
    pub idempotency_key: Option<String>,
}

/// Snapshots and backup logs, newest first.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct ListBackupsRequest {
    #[serde(default, deserialize_with = "validate::optional_uuid")]
    pub shop_id: Option<Uuid>,
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
                    .optional_arg("p_date", request.date.map(|date| date.to_string())))
            }
            AdminAction::GetPlatformStats(request) => {
                if let (Some(start), Some(end)) = (request.start_date, request.end_date) {
                    validate::date_range(("start_date", start), ("end_date", end), MAX_RANGE_DAYS)?;
                }
                Ok(RpcCall::read("get_platform_stats")
                    .optional_arg("p_start", request.start_date.map(|date| date.to_string()))
                    .optional_arg("p_end", request.end_date.map(|date| date.to_string())))
            }
            AdminAction::CreateBackup(request) => {
                // An all-shop backup grows with the platform and would outlive
                // any request's timeout: it is the scheduled job's work.
                let shop_id = request.shop_id.ok_or_else(all_shops_backup_refusal)?;
                Ok(RpcCall::new("create_backup_snapshot")
                    .arg("p_shop_id", shop_id.to_string())
                    .optional_arg("p_backup_type", request.backup_type.map(BackupType::as_str))
                    .optional_arg("p_idempotency_key", idempotency_key))
            }
            AdminAction::RestoreBackup(request) => Ok(RpcCall::new("restore_backup_snapshot")
                .arg("p_snapshot_id", request.snapshot_id.to_string())
                .optional_arg("p_dry_run", request.dry_run)
                .optional_arg("p_idempotency_key", idempotency_key)),
            AdminAction::ListBackups(request) => {
                let limit = request
                    .limit
                    .map(|limit| validate::int_in_range("limit", limit.into(), 1, MAX_LIST_LIMIT))
                    .transpose()?;
                Ok(RpcCall::read("list_backups")
                    .optional_arg("p_shop_id", request.shop_id.map(|id| id.to_string()))
                    .optional_arg("p_limit", limit))
            }
            AdminAction::CleanupSnapshots(CleanupSnapshotsRequest {}) => {
                Ok(RpcCall::new("cleanup_expired_snapshots"))
            }
        }
    }
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
