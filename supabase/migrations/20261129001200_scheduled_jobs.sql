-- scheduled_jobs: the pg_cron jobs (schedules in UTC).
--
-- cron.schedule(job_name, ...) updates the job of that name in place, so
-- re-applying this migration never duplicates a job. Jobs run as the database
-- owner (postgres) without JWT claims: private.is_trusted_caller() is true
-- for them, which is what the platform-wide functions require.
--
-- The commands name the SQL functions by their names and p_-arguments
-- (docs/DATA_MODEL.md); pg_cron stores them
-- as text and resolves them when the job runs.

create extension if not exists pg_cron;

-- Sales metrics, all shops: each shop's own yesterday (its time zone, so no
-- shop gets a UTC-bucketed or unfinished day) plus the past days whose orders
-- changed late (private.dirty_sales_days), 200 shops per transaction.
select cron.schedule(
  'generate-daily-sales-metrics', '0 2 * * *',
  $$call private.run_daily_sales_metrics(p_batch_size => 200)$$
);

-- The platform row for yesterday (UTC).
select cron.schedule(
  'generate-platform-metrics', '30 2 * * *',
  $$select public.generate_platform_metrics(p_date => (now() at time zone 'utc')::date - 1)$$
);

-- One snapshot of every shop.
select cron.schedule(
  'daily-full-backup', '0 3 * * *',
  $$select public.create_backup_snapshot(p_shop_id => null, p_backup_type => 'daily')$$
);

select cron.schedule(
  'weekly-backup', '0 4 * * 0',
  $$select public.create_backup_snapshot(p_shop_id => null, p_backup_type => 'weekly')$$
);

select cron.schedule(
  'cleanup-expired-snapshots', '0 5 * * *',
  $$select public.cleanup_expired_snapshots()$$
);

-- stock_history is append-only; private.purge_stock_history is the one path
-- its guard trigger lets delete rows (catalog_inventory).
select cron.schedule(
  'cleanup-old-stock-history', '0 6 1 * *',
  $$select private.purge_stock_history(p_older_than => interval '365 days')$$
);

select cron.schedule(
  'cleanup-idempotency-keys', '15 * * * *',
  $$delete from public.idempotency_keys where created_at < now() - interval '24 hours'$$
);

select cron.schedule(
  'cleanup-cron-run-details', '0 7 * * *',
  $$delete from cron.job_run_details where end_time < now() - interval '30 days'$$
);
