-- 003-cron-jobs: the eight pg_cron jobs exist with their exact schedules and
-- commands, run as the database owner (a trusted caller), and re-applying
-- the scheduled_jobs migration updates them in place instead of duplicating them.
-- Runs in the database pg_cron serves (cron.database_name, `postgres`).
begin;
select plan(20);

create temporary table expected_jobs (jobname text primary key, schedule text, command_calls text);
insert into expected_jobs values
  ('generate-daily-sales-metrics', '0 2 * * *', 'call private.run_daily_sales_metrics('),
  ('generate-platform-metrics', '30 2 * * *', 'private.run_platform_metrics('),
  ('daily-full-backup', '0 3 * * *', 'call private.run_backups('),
  ('weekly-backup', '0 4 * * 0', 'call private.run_backups('),
  ('cleanup-expired-snapshots', '0 5 * * *', 'public.cleanup_expired_snapshots('),
  ('cleanup-old-stock-history', '0 6 1 * *', 'private.purge_stock_history('),
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
  'interval ''365 days''', 'stock history is kept 365 days');
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
select ok(private.is_trusted_caller(), 'a job session (postgres, no claims) is a trusted caller');

insert into auth.users (id, email) values ('e0000000-0000-4000-8000-000000000001', 'cron@jobs.test');
insert into public.shops (id, owner_id, name, slug)
values ('e1000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000001', 'Cron shop', 'cron-shop');
-- Created 400 days ago: its opening stock is an 'initial' history row of that date.
insert into public.items (id, shop_id, name, stock, created_at)
values ('e2000000-0000-4000-8000-000000000001', 'e1000000-0000-4000-8000-000000000001', 'Cron item', 5,
        now() - interval '400 days');
insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason, created_at) values
  ('e1000000-0000-4000-8000-000000000001', 'e2000000-0000-4000-8000-000000000001', 1, 5, 6, 'restock', now() - interval '364 days');
insert into public.idempotency_keys (shop_id, key, action, request_hash, created_at) values
  ('e1000000-0000-4000-8000-000000000001', 'old', 'update_stock', 'h', now() - interval '25 hours'),
  ('e1000000-0000-4000-8000-000000000001', 'fresh', 'update_stock', 'h', now() - interval '23 hours');

create function pg_temp.run_job(p_jobname text) returns void language plpgsql as $$
begin
  execute (select command from cron.job where jobname = p_jobname);
end;
$$;

select lives_ok($$select pg_temp.run_job('cleanup-old-stock-history')$$,
  'cleanup-old-stock-history runs despite the append-only guard');
select results_eq(
  $$select change from public.stock_history where item_id = 'e2000000-0000-4000-8000-000000000001'$$,
  array[1], 'only history older than 365 days is gone');
select throws_ok(
  $$delete from public.stock_history where item_id = 'e2000000-0000-4000-8000-000000000001'$$,
  'PT409', 'conflict', 'outside the purge, even the owner cannot delete history');
select throws_ok(
  $$select private.purge_stock_history(interval '1 day')$$,
  'PT400', 'invalid_request', 'the purge refuses to cut history shorter than 30 days');

select lives_ok($$select pg_temp.run_job('cleanup-idempotency-keys')$$, 'cleanup-idempotency-keys runs');
select results_eq(
  $$select key from public.idempotency_keys where shop_id = 'e1000000-0000-4000-8000-000000000001'$$,
  array['fresh'], 'only keys older than 24 hours are gone');

select tests.authenticate_as('e0000000-0000-4000-8000-000000000001');
select throws_ok($$select private.purge_stock_history()$$, '42501', null,
  'a signed-in user cannot run the purge');
select tests.clear_authentication();

select * from finish();
rollback;
