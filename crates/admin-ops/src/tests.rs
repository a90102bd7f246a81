//! Native tests: every action's RPC call, its refusals, routing and the TypeScript types.

use edge_core::testing::{self, error_of, invalid, post_json, rpc_of};
use edge_core::ErrorCode;
use serde_json::{json, Value};

use crate::AdminAction;

const SHOP: &str = "11111111-2222-4333-8444-555555555555";
const SNAPSHOT: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

fn call(body: Value) -> (String, Value) {
    testing::call::<AdminAction>(body)
}

/// The refusal of `body`: its code and `details.field`.
fn refusal(body: Value) -> (ErrorCode, Value) {
    testing::refusal::<AdminAction>(body)
}

#[test]
fn generate_platform_metrics() {
    let (function, args) = call(json!({"action": "generate_platform_metrics"}));
    assert_eq!(function, "generate_platform_metrics");
    assert_eq!(args, json!({}));
    let (_, args) = call(json!({"action": "generate_platform_metrics", "date": "2026-11-24"}));
    assert_eq!(args, json!({"p_date": "2026-11-24"}));
    assert_eq!(
        refusal(json!({"action": "generate_platform_metrics", "date": "yesterday"})),
        invalid("date")
    );
}

#[test]
fn get_platform_stats() {
    let (function, args) = call(json!({"action": "get_platform_stats"}));
    assert_eq!(function, "get_platform_stats");
    assert_eq!(args, json!({}));
    let (_, args) = call(json!({
        "action": "get_platform_stats", "start_date": "2026-11-01", "end_date": "2026-11-24",
    }));
    assert_eq!(
        args,
        json!({"p_start": "2026-11-01", "p_end": "2026-11-24"})
    );
    let (_, args) = call(json!({"action": "get_platform_stats", "start_date": "2026-11-01"}));
    assert_eq!(args, json!({"p_start": "2026-11-01"}));
    assert_eq!(
        refusal(json!({
            "action": "get_platform_stats", "start_date": "2024-01-01", "end_date": "2026-01-01",
        })),
        invalid("end_date")
    );
    assert_eq!(
        refusal(json!({"action": "get_platform_stats", "end_date": "2026-02-29"})),
        invalid("end_date")
    );
}

#[test]
fn create_backup() {
    let (function, args) = call(json!({"action": "create_backup", "shop_id": SHOP}));
    assert_eq!(function, "create_backup_snapshot");
    // Type manual: the SQL default.
    assert_eq!(args, json!({"p_shop_id": SHOP}));

    // Every shop at once is the scheduled job's work, never a request's.
    let all_shops = error_of::<AdminAction>(&post_json(
        &json!({"action": "create_backup", "backup_type": "daily"}),
    ));
    assert_eq!(all_shops.code, ErrorCode::InvalidRequest);
    assert_eq!(
        all_shops.details,
        Some(json!({"field": "shop_id", "scheduled_job": "daily-full-backup"}))
    );

    let mut request = post_json(&json!({
        "action": "create_backup", "shop_id": SHOP, "backup_type": "weekly",
    }));
    request
        .headers
        .insert("idempotency-key".into(), "backup-2026-11-25".into());
    let (_, args) = rpc_of::<AdminAction>(&request).expect("accepted");
    assert_eq!(
        args,
        json!({"p_shop_id": SHOP, "p_backup_type": "weekly",
               "p_idempotency_key": "backup-2026-11-25"})
    );

    assert_eq!(
        refusal(json!({"action": "create_backup", "backup_type": "hourly"})),
        invalid("backup_type")
    );
    assert_eq!(
        refusal(json!({"action": "create_backup", "shop_id": "all"})),
        invalid("shop_id")
    );
}

#[test]
fn restore_backup_defaults_to_a_dry_run() {
    let (function, args) = call(json!({"action": "restore_backup", "snapshot_id": SNAPSHOT}));
    assert_eq!(function, "restore_backup_snapshot");
    assert_eq!(args, json!({"p_snapshot_id": SNAPSHOT}));

    let (_, args) = call(json!({
        "action": "restore_backup", "snapshot_id": SNAPSHOT, "dry_run": false,
        "idempotency_key": "restore-1",
    }));
    assert_eq!(
        args,
        json!({"p_snapshot_id": SNAPSHOT, "p_dry_run": false, "p_idempotency_key": "restore-1"})
    );

    assert_eq!(
        refusal(json!({"action": "restore_backup"})),
        invalid("snapshot_id")
    );
    assert_eq!(
        refusal(json!({"action": "restore_backup", "snapshot_id": SNAPSHOT, "dry_run": "no"})),
        invalid("dry_run")
    );
}

#[test]
fn list_backups() {
    let (function, args) = call(json!({"action": "list_backups"}));
    assert_eq!(function, "list_backups");
    assert_eq!(args, json!({}));
    let (_, args) = call(json!({"action": "list_backups", "shop_id": SHOP, "limit": 100}));
    assert_eq!(args, json!({"p_shop_id": SHOP, "p_limit": 100}));
    for limit in [json!(0), json!(101), json!(-5), json!(1e12), json!("10")] {
        assert_eq!(
            refusal(json!({"action": "list_backups", "limit": limit})),
            invalid("limit"),
            "{limit}"
        );
    }
}

#[test]
fn cleanup_snapshots_takes_no_fields() {
    let (function, args) = call(json!({"action": "cleanup_snapshots"}));
    assert_eq!(function, "cleanup_expired_snapshots");
    assert_eq!(args, json!({}));
    assert_eq!(
        refusal(json!({"action": "cleanup_snapshots", "older_than": "1 day"})),
        invalid("older_than")
    );
}

#[test]
fn reads_refuse_an_idempotency_key_field() {
    for action in [
        "generate_platform_metrics",
        "get_platform_stats",
        "list_backups",
        "cleanup_snapshots",
    ] {
        assert_eq!(
            refusal(json!({"action": action, "idempotency_key": "k"})),
            invalid("idempotency_key"),
            "{action}"
        );
    }
}

#[test]
fn results_match_the_sql_contract() {
    use crate::results::*;
    let created: CreateBackupResult = serde_json::from_value(json!({
        "backup_log_id": SNAPSHOT, "status": "completed",
        "snapshots": [{"id": SNAPSHOT, "shop_id": SHOP, "row_counts": {"items": 3, "shops": 1},
                       "checksum": "ab12"}],
        "failures": [],
    }))
    .expect("create_backup_snapshot answer");
    assert_eq!(created.snapshots[0].row_counts["items"], 3);
    let restored: RestoreBackupResult = serde_json::from_value(json!({
        "snapshot_id": SNAPSHOT, "shop_id": SHOP, "dry_run": true, "checksum": "ab12",
        "differences": {"items": {
            "insert": {"count": 1, "keys": [SHOP]},
            "update": {"count": 0, "keys": []},
            "delete": {"count": 0, "keys": []},
        }},
        "restored": null, "pre_restore_snapshot_id": null, "backup_log_id": null,
    }))
    .expect("restore_backup_snapshot answer");
    assert!(restored.restored.is_none());
    assert_eq!(restored.differences["items"].insert.count, 1);
    let cleaned: CleanupSnapshotsResult =
        serde_json::from_value(json!({"deleted": 4})).expect("cleanup answer");
    assert_eq!(cleaned.deleted, 4);
    let listed: ListBackupsResult =
        serde_json::from_value(json!({"snapshots": [], "logs": [{"id": SNAPSHOT}]}))
            .expect("list_backups answer");
    assert_eq!(listed.logs.len(), 1);
}

#[test]
fn types_ts() {
    use crate::actions::*;
    use crate::results::*;
    use edge_core::Action;
    use ts_rs::TS;
    let results = edge_core::typescript::result_map(
        "AdminResults",
        AdminAction::NAMES,
        &[
            ("generate_platform_metrics", PlatformMetrics::name()),
            ("get_platform_stats", PlatformStatsResult::name()),
            ("create_backup", CreateBackupResult::name()),
            ("restore_backup", RestoreBackupResult::name()),
            ("list_backups", ListBackupsResult::name()),
            ("cleanup_snapshots", CleanupSnapshotsResult::name()),
        ],
    );
    let block = edge_core::typescript::render(&[
        AdminAction::decl(),
        results,
        GeneratePlatformMetricsRequest::decl(),
        GetPlatformStatsRequest::decl(),
        CreateBackupRequest::decl(),
        BackupType::decl(),
        RestoreBackupRequest::decl(),
        ListBackupsRequest::decl(),
        CleanupSnapshotsRequest::decl(),
        PlatformMetrics::decl(),
        PlatformStatsResult::decl(),
        SnapshotSummary::decl(),
        BackupFailure::decl(),
        CreateBackupResult::decl(),
        TableDifferences::decl(),
        RowChanges::decl(),
        RestoreBackupResult::decl(),
        ListBackupsResult::decl(),
        CleanupSnapshotsResult::decl(),
    ]);
    let file = edge_core::typescript::types_file(env!("CARGO_MANIFEST_DIR"));
    if let Err(stale) = edge_core::typescript::sync_block(&file, "admin-operations", &block) {
        panic!("{stale}");
    }
}

edge_core::action_wiring_tests!(
    AdminAction,
    "admin-operations",
    [
        json!({"action": "generate_platform_metrics", "date": "2026-11-24"}),
        json!({"action": "get_platform_stats", "start_date": "2026-11-01", "end_date": "2026-11-24"}),
        json!({"action": "create_backup", "shop_id": SHOP, "backup_type": "weekly",
           "idempotency_key": "k1"}),
        json!({"action": "restore_backup", "snapshot_id": SNAPSHOT, "dry_run": false,
           "idempotency_key": "k2"}),
        json!({"action": "list_backups", "shop_id": SHOP, "limit": 5}),
    ]
);
