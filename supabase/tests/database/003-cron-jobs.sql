-- 003-cron-jobs: the eight pg_cron jobs exist with their exact schedules and
-- commands, run as the database owner (a trusted caller), and re-applying
-- the scheduled_jobs migration updates them in place instead of duplicating them.
-- Runs in the database pg_cron serves (cron.database_name, `postgres`).
begin;
select plan(15);

create temporary table expected_jobs (jobname text primary key, schedule text, command_calls text);
insert into expected_jobs values
  ('generate-daily-sales-metrics', '0 2 * * *', 'call private.run_daily_sales_metrics('),
  ('generate-platform-metrics', '30 2 * * *', 'private.run_platform_metrics('),
  ('daily-full-backup', '0 3 * * *', 'call private.run_backups('),
  ('weekly-backup', '0 4 * * 0', 'call private.run_backups('),
  ('cleanup-expired-snapshots', '0 5 * * *', 'public.cleanup_expired_snapshots('),
  ('cleanup-old-stock-history', '0 6 1 * *', 'call private.run_stock_history_purge('),
  ('cleanup-idempotency-keys', '15 * * * *', 'public.idempotency_keys'),
  ('cleanup-cron-run-details', '0 7 * * *', 'cron.job_run_details');

select set_eq(
  $$select jobname::text, schedule::text from cron.job where jobname in (select jobname from expected_jobs)$$,
  $$select jobname, schedule from expected_jobs$$,
  'the eight jobs exist with their schedules');

select is(
  (select array_agg(e.jobname order by e.jobname) from expected_jobs e
    join cron.job j on j.jobname = e.jobname
   where position(e.command_calls in j.command) = 0),
  null, 'each job runs its documented command');

select ok(
  (select bool_and(j.username = 'postgres' and j.database = current_database() and j.active)
     from cron.job j join expected_jobs e using (jobname)),
  'the jobs are active and run as postgres in this database');

select matches((select command from cron.job where jobname = 'generate-daily-sales-metrics'),
  'p_batch_size => 200', 'daily sales metrics run for all shops, 200 shops per transaction');
select matches((select command from cron.job where jobname = 'daily-full-backup'),
  'p_backup_type => ''daily'', p_batch_size => 100', 'the daily backup covers every shop, type daily, 100 shops per transaction');
select matches((select command from cron.job where jobname = 'weekly-backup'),
  'p_backup_type => ''weekly''', 'the weekly backup has type weekly');
select matches((select command from cron.job where jobname = 'cleanup-old-stock-history'),
  'p_older_than => interval ''365 days'', p_batch_size => 10000',
  'stock history is kept 365 days, purged 10,000 rows per transaction');
select matches((select command from cron.job where jobname = 'cleanup-idempotency-keys'),
  'interval ''24 hours''', 'idempotency keys are kept 24 hours');
select matches((select command from cron.job where jobname = 'cleanup-cron-run-details'),
  'interval ''30 days''', 'cron run details are kept 30 days');

-- Re-applying the migration keeps one job per name, with the same ids.
create temporary table jobs_before as select jobid, jobname from cron.job;
set local client_min_messages = warning;
\o /dev/null
\ir ../../migrations/20261129001200_scheduled_jobs.sql
\o
select is((select count(*) from cron.job), (select count(*) from jobs_before),
  're-applying the scheduled_jobs migration adds no job');
select is(
  (select count(*) from cron.job j join jobs_before b using (jobid, jobname)),
  (select count(*) from jobs_before), 're-applying the scheduled_jobs migration keeps every job id');
select is((select count(*) from cron.job where jobname in (select jobname from expected_jobs)), 8::bigint,
  'still exactly eight of our jobs');

-- Job commands really run as the job would (as postgres, no JWT claims):
-- the cleanup commands of the scheduled jobs executed verbatim do what they say.
-- (The stock-history purge commits per batch, so it runs outside pgTAP's
-- transaction: scripts/lib/db.sh db_check_stock_history_purge; its batches
-- are tested in 019-stock-history-purge.sql.)
select ok(private.is_trusted_caller(), 'a job session (postgres, no claims) is a trusted caller');

insert into auth.users (id, email) values ('e0000000-0000-4000-8000-000000000001', 'cron@jobs.test');
insert into public.shops (id, owner_id, name, slug)
values ('e1000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000001', 'Cron shop', 'cron-shop');
insert into public.idempotency_keys (shop_id, key, action, request_hash, created_at) values
  ('e1000000-0000-4000-8000-000000000001', 'old', 'update_stock', 'h', now() - interval '25 hours'),
  ('e1000000-0000-4000-8000-000000000001', 'fresh', 'update_stock', 'h', now() - interval '23 hours');

create function pg_temp.run_job(p_jobname text) returns void language plpgsql as $$
begin
  execute (select command from cron.job where jobname = p_jobname);
end;
$$;

select lives_ok($$select pg_temp.run_job('cleanup-idempotency-keys')$$, 'cleanup-idempotency-keys runs');
select results_eq(
  $$select key from public.idempotency_keys where shop_id = 'e1000000-0000-4000-8000-000000000001'$$,
  array['fresh'], 'only keys older than 24 hours are gone');

select * from finish();
rollback;
