// Request and response types of the edge functions, generated from the Rust types in
// crates/edge-core, crates/inventory-ops, crates/analytics-ops and crates/admin-ops.
// Do not edit by hand. Regenerate with:
//   UPDATE_TYPES=1 cargo test -p edge-core -p inventory-ops -p analytics-ops -p admin-ops types_ts

// <edge-core>
export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

export type ErrorCode = "invalid_json" | "invalid_request" | "unknown_action" | "method_not_allowed" | "payload_too_large" | "unauthorized" | "forbidden" | "not_found" | "insufficient_stock" | "stale_stock" | "idempotency_conflict" | "conflict" | "upstream_unavailable" | "internal";

export type SuccessBody<T> = { data: T, };

export type ErrorBody = { error: ErrorObject, };

export type ErrorObject = { code: ErrorCode, 
/**
 * A sentence for humans; may change, unlike `code`.
 */
message: string, 
/**
 * Structured facts about the failure (e.g. `field`, `available`, `current_stock`).
 */
details: JsonValue | null, 
/**
 * Also in the `x-request-id` header; quote it when reporting a problem.
 */
request_id: string, };
// </edge-core>

// <inventory-operations>
export type InventoryAction = { "action": "update" } & UpdateStockRequest | { "action": "process_order" } & ProcessOrderRequest | { "action": "restore_order" } & RestoreOrderRequest | { "action": "get_low_stock" } & GetLowStockRequest;

export type InventoryResults = { update: UpdateStockResult, process_order: ProcessOrderResult, restore_order: RestoreOrderResult, get_low_stock: LowStockResult, };

export type UpdateStockRequest = { item_id: string, 
/**
 * Non-zero; negative takes stock out.
 */
change?: number, 
/**
 * The new absolute stock, >= 0.
 */
set_to?: number, reason: StockReason, note?: string, 
/**
 * Compare-and-swap guard: apply only if the stock is exactly this, else `stale_stock`.
 */
expected_stock?: number, idempotency_key?: string, };

export type StockReason = "restock" | "sale" | "order_cancelled" | "return" | "damage" | "correction" | "manual";

export type ProcessOrderRequest = { order_id: string, idempotency_key?: string, };

export type RestoreOrderRequest = { order_id: string, idempotency_key?: string, };

export type GetLowStockRequest = { shop_id: string, threshold?: number, };

export type UpdateStockResult = { item_id: string, previous_stock: number, new_stock: number, 
/**
 * The `stock_history` row; null when `set_to` equalled the stock (nothing changed).
 */
history_id: string | null, };

export type OrderItemStock = { item_id: string, previous_stock: number, new_stock: number, };

export type ProcessOrderResult = { order_id: string, already_processed: boolean, items: Array<OrderItemStock>, };

export type RestoreOrderResult = { order_id: string, already_restored: boolean, items: Array<OrderItemStock>, };

export type LowStockItem = { id: string, name: string, sku: string | null, stock: number, threshold: number, };

export type LowStockResult = { items: Array<LowStockItem>, };
// </inventory-operations>

// <admin-operations>
export type AdminAction = { "action": "generate_platform_metrics" } & GeneratePlatformMetricsRequest | { "action": "get_platform_stats" } & GetPlatformStatsRequest | { "action": "create_backup" } & CreateBackupRequest | { "action": "restore_backup" } & RestoreBackupRequest | { "action": "list_backups" } & ListBackupsRequest | { "action": "cleanup_snapshots" } & CleanupSnapshotsRequest;

export type AdminResults = { generate_platform_metrics: PlatformMetrics, get_platform_stats: PlatformStatsResult, create_backup: CreateBackupResult, restore_backup: RestoreBackupResult, list_backups: ListBackupsResult, cleanup_snapshots: CleanupSnapshotsResult, };

export type GeneratePlatformMetricsRequest = { 
/**
 * `YYYY-MM-DD`.
 */
date?: string, };

export type GetPlatformStatsRequest = { 
/**
 * `YYYY-MM-DD`, included.
 */
start_date?: string, 
/**
 * `YYYY-MM-DD`, included.
 */
end_date?: string, };

export type CreateBackupRequest = { 
/**
 * Required; absent is `invalid_request` pointing at the scheduled job.
 */
shop_id?: string, 
/**
 * `manual` when absent.
 */
backup_type?: BackupType, idempotency_key?: string, };

export type BackupType = "daily" | "weekly" | "manual";

export type RestoreBackupRequest = { snapshot_id: string, 
/**
 * Defaults to true: only report the differences.
 */
dry_run?: boolean, idempotency_key?: string, };

export type ListBackupsRequest = { shop_id?: string, 
/**
 * 1 to 100; 20 when absent.
 */
limit?: number, };

export type CleanupSnapshotsRequest = Record<never, never>;

export type PlatformMetrics = { date: string, gmv: number, mrr: number, mrr_new: number, mrr_expansion: number, mrr_contraction: number, mrr_churned: number, mrr_reactivation: number, total_users: number, new_users: number, total_shops: number, active_shops: number, new_subscriptions: number, churned_subscriptions: number, churn_rate: number | null, 
/**
 * Shops per plan.
 */
plan_distribution: JsonValue, total_orders: number, new_conversations: number, messages: number, ai_messages_processed: number, data_extension_revenue: number, data_extension_status: JsonValue, computed_at: string, };

export type PlatformStatsResult = { days: Array<PlatformMetrics>, 
/**
 * The newest row of the range (MRR and totals as of then); null when there is none.
 */
latest: PlatformMetrics | null, };

export type SnapshotSummary = { id: string, shop_id: string, 
/**
 * Rows per table.
 */
row_counts: { [key in string]?: number }, 
/**
 * sha256 of the canonical snapshot data.
 */
checksum: string, };

export type BackupFailure = { shop_id: string, sqlstate: string, error: string, };

export type CreateBackupResult = { backup_log_id: string, 
/**
 * `completed`, or `failed` when any shop failed.
 */
status: string, snapshots: Array<SnapshotSummary>, failures: Array<BackupFailure>, };

export type TableDifferences = { insert: RowChanges, update: RowChanges, delete: RowChanges, };

export type RowChanges = { count: number, 
/**
 * Primary keys of the first 100 rows.
 */
keys: Array<JsonValue>, };

export type RestoreBackupResult = { snapshot_id: string, shop_id: string, dry_run: boolean, checksum: string, differences: { [key in string]?: TableDifferences }, 
/**
 * Rows per table put back; null for a dry run.
 */
restored: { [key in string]?: number } | null, 
/**
 * The shop as it was just before the restore, so the restore can be undone.
 */
pre_restore_snapshot_id: string | null, 
/**
 * Null for a dry run.
 */
backup_log_id: string | null, };

export type ListBackupsResult = { snapshots: Array<JsonValue>, logs: Array<JsonValue>, };

export type CleanupSnapshotsResult = { deleted: number, };
// </admin-operations>

// <analytics-operations>
export type AnalyticsAction = { "action": "generate_daily" } & GenerateDailyRequest | { "action": "generate_product" } & GenerateProductRequest | { "action": "get_metrics" } & GetMetricsRequest | { "action": "get_shop_stats" } & GetShopStatsRequest;

export type AnalyticsResults = { generate_daily: DailySalesMetrics, generate_product: GenerateProductResult, get_metrics: SalesMetricsResult, get_shop_stats: ShopStats, };

export type GenerateDailyRequest = { shop_id: string, 
/**
 * `YYYY-MM-DD`.
 */
date?: string, };

export type GenerateProductRequest = { shop_id: string, 
/**
 * `YYYY-MM-DD`, included.
 */
start_date: string, 
/**
 * `YYYY-MM-DD`, included.
 */
end_date: string, };

export type GetMetricsRequest = { shop_id: string, 
/**
 * `YYYY-MM-DD`, included.
 */
start_date: string, 
/**
 * `YYYY-MM-DD`, included.
 */
end_date: string, };

export type GetShopStatsRequest = { shop_id: string, };

export type DailySalesMetrics = { shop_id: string, date: string, orders: number, completed: number, cancelled: number, gross_revenue: number, discounts: number, net_revenue: number, cost_of_goods: number, gross_profit: number, items_sold: number, average_order_value: number, unique_customers: number, 
/**
 * Per category: revenue and units.
 */
category_breakdown: JsonValue, 
/**
 * Totals (shipping included) of the day's revenue orders: the shop's part of the platform GMV.
 */
gmv: number, computed_at: string, };

export type ProductAnalyticsRow = { shop_id: string, item_id: string, period_start: string, period_end: string, units_sold: number, revenue: number, cost: number, profit: number, margin_pct: number | null, order_count: number, stock_at_end: number | null, sell_through_rate: number | null, 
/**
 * Null when nothing sold in the period.
 */
days_of_cover: number | null, 
/**
 * `A`, `B` or `C`.
 */
abc_class: string, computed_at: string, };

export type GenerateProductResult = { rows: Array<ProductAnalyticsRow>, };

export type SalesMetricsResult = { days: Array<DailySalesMetrics>, totals: SalesTotals, };

export type SalesTotals = { days: number, orders: number, completed: number, cancelled: number, gross_revenue: number, discounts: number, net_revenue: number, cost_of_goods: number, gross_profit: number, items_sold: number, 
/**
 * Net revenue per completed order.
 */
average_order_value: number, };

export type ShopStats = { shop_id: string, currency: string, timezone: string, 
/**
 * Today in the shop's timezone, `YYYY-MM-DD`.
 */
local_date: string, items: ShopItemCounts, orders: ShopOrderStats, open_conversations: number, };

export type ShopItemCounts = { total: number, active: number, tracked: number, low_stock: number, out_of_stock: number, };

export type ShopOrderStats = { today: OrdersAndRevenue, month: OrdersAndRevenue, 
/**
 * Orders of this month not yet completed, delivered or cancelled.
 */
open_this_month: number, };

export type OrdersAndRevenue = { orders: number, revenue: number, };
// </analytics-operations>
