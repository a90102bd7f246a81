-- A retried backup or restore with the same idempotency key returns the first
-- response and does nothing again; the same key with other arguments is
-- idempotency_conflict and does nothing either.
begin;
select plan(9);

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-0000000450ad', 'h3-idem-admin@test.local'),
  ('00000000-0000-4000-a000-000000045001', 'h3-idem-owner@test.local');
update public.profiles set is_platform_admin = true where id = '00000000-0000-4000-a000-0000000450ad';
insert into public.shops (id, owner_id, name, slug) values
  ('00000000-0000-4000-a000-000000045101', '00000000-0000-4000-a000-000000045001', 'Retry shop', 'h3-idem');
insert into public.items (id, shop_id, name, price, stock) values
  ('00000000-0000-4000-a000-000000045201', '00000000-0000-4000-a000-000000045101', 'Bowl', 9, 3);

create function pg_temp.counts() returns jsonb language sql security definer as $$
  select jsonb_build_object(
    'snapshots', (select count(*) from public.recovery_snapshots where shop_id = '00000000-0000-4000-a000-000000045101'),
    'logs', (select count(*) from public.backup_logs where shop_id = '00000000-0000-4000-a000-000000045101'),
    'bowl', (select name from public.items where id = '00000000-0000-4000-a000-000000045201')) $$;

select tests.authenticate_as('00000000-0000-4000-a000-0000000450ad');

create temp table first_backup as
  select public.create_backup_snapshot('00000000-0000-4000-a000-000000045101', 'manual', 'backup-key-1') as r;
select is(
  public.create_backup_snapshot('00000000-0000-4000-a000-000000045101', 'manual', 'backup-key-1'),
  (select r from first_backup),
  'a retried backup returns the first response');
select is(pg_temp.counts(), '{"snapshots": 1, "logs": 1, "bowl": "Bowl"}'::jsonb,
  'and takes no second snapshot');
select throws_ok(
  $$select public.create_backup_snapshot('00000000-0000-4000-a000-000000045101', 'daily', 'backup-key-1')$$,
  'PT422', 'idempotency_conflict', 'the same key with another backup type is idempotency_conflict');

-- All shops at once only runs in the database's own session (pg_cron's).
select tests.clear_authentication();
select count(*) as platform_runs_before from public.backup_logs where shop_id is null \gset
create temp table all_shops as select public.create_backup_snapshot(null, 'manual', 'all-shops-key') as r;
select is(public.create_backup_snapshot(null, 'manual', 'all-shops-key'), (select r from all_shops),
  'a retried backup of all shops (a platform-wide key) returns the first response');
select is(
  (select count(*)::integer from public.backup_logs where shop_id is null),
  :platform_runs_before + 1, 'and logs one run only');
select tests.authenticate_as('00000000-0000-4000-a000-0000000450ad');

-- restore with a key
select (select r from first_backup) -> 'snapshots' -> 0 ->> 'id' as snapshot_id \gset
select tests.clear_authentication();
update public.items set name = 'Chipped bowl' where id = '00000000-0000-4000-a000-000000045201';
select tests.authenticate_as('00000000-0000-4000-a000-0000000450ad');

create temp table first_restore as
  select public.restore_backup_snapshot(:'snapshot_id', false, 'restore-key-1') as r;
select pg_temp.counts() as after_first_restore \gset
select tests.clear_authentication();
-- the shop changes again after the restore; a retry must not undo that
update public.items set name = 'Glued bowl' where id = '00000000-0000-4000-a000-000000045201';
select tests.authenticate_as('00000000-0000-4000-a000-0000000450ad');

select is(public.restore_backup_snapshot(:'snapshot_id', false, 'restore-key-1'), (select r from first_restore),
  'a retried restore returns the first response');
select is(pg_temp.counts(), (:'after_first_restore'::jsonb) || '{"bowl": "Glued bowl"}'::jsonb,
  'and restores nothing again (no new snapshot, log or row change)');
select throws_ok(
  format('select public.restore_backup_snapshot(%L, true, %L)', :'snapshot_id', 'restore-key-1'),
  'PT422', 'idempotency_conflict', 'the same key as a dry run is idempotency_conflict');
select is(pg_temp.counts() ->> 'bowl', 'Glued bowl', 'the conflicting call changed nothing');

select * from finish();
rollback;
