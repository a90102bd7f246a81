-- Who may call the platform admin functions: platform admins and trusted
-- callers (service_role, the owner's own session). A shop owner is forbidden
-- everywhere, even for their own shop's backups, and nothing changes; anon
-- cannot execute them at all; the private helpers behind them are not
-- callable by any API role. Bad input gets stable codes.
begin;
select plan(27);

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-0000000310ad', 'h3-auth-admin@test.local'),
  ('00000000-0000-4000-a000-000000031001', 'h3-auth-owner@test.local');
update public.profiles set is_platform_admin = true where id = '00000000-0000-4000-a000-0000000310ad';
insert into public.shops (id, owner_id, name, slug) values
  ('00000000-0000-4000-a000-000000031101', '00000000-0000-4000-a000-000000031001', 'Owner shop', 'h3-auth-shop');
insert into public.items (shop_id, name, price, stock) values
  ('00000000-0000-4000-a000-000000031101', 'Lamp', 30, 4);

-- A snapshot of the owner's shop, taken by the database owner (trusted).
select public.create_backup_snapshot('00000000-0000-4000-a000-000000031101') ->> 'backup_log_id' as log_id \gset
select id as snapshot_id from public.recovery_snapshots
 where shop_id = '00000000-0000-4000-a000-000000031101' \gset

create function pg_temp.admin_tables_state() returns jsonb language sql security definer as $$
  select jsonb_build_object(
    'snapshots', (select count(*) from public.recovery_snapshots),
    'logs', (select count(*) from public.backup_logs),
    'metrics', (select count(*) from public.platform_metrics),
    'lamp_stock', (select sum(stock) from public.items where shop_id = '00000000-0000-4000-a000-000000031101'))
$$;
create temp table state_before as select pg_temp.admin_tables_state() as s;

-- ---- a shop owner (authenticated, not a platform admin) --------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000031001');

select throws_ok($$select public.generate_platform_metrics('2024-03-15')$$,
  'PT403', 'forbidden', 'owner: generate_platform_metrics is forbidden');
select throws_ok($$select public.get_platform_stats()$$,
  'PT403', 'forbidden', 'owner: get_platform_stats is forbidden');
select throws_ok($$select public.create_backup_snapshot('00000000-0000-4000-a000-000000031101')$$,
  'PT403', 'forbidden', 'owner: create_backup_snapshot of their own shop is forbidden');
select throws_ok(format('select public.restore_backup_snapshot(%L, false)', :'snapshot_id'),
  'PT403', 'forbidden', 'owner: restore_backup_snapshot of their own shop is forbidden');
select throws_ok(format('select public.restore_backup_snapshot(%L, true)', :'snapshot_id'),
  'PT403', 'forbidden', 'owner: even a dry run is forbidden');
select throws_ok($$select public.list_backups()$$,
  'PT403', 'forbidden', 'owner: list_backups is forbidden');
select throws_ok($$select public.cleanup_expired_snapshots()$$,
  'PT403', 'forbidden', 'owner: cleanup_expired_snapshots is forbidden');

select is((select count(*)::integer from public.recovery_snapshots), 0,
  'owner: RLS hides the snapshots (they hold whole shops)');
select is((select count(*)::integer from public.backup_logs), 0, 'owner: RLS hides the backup logs');

select tests.clear_authentication();
select is(pg_temp.admin_tables_state(), (select s from state_before),
  'the forbidden calls changed nothing');

-- ---- anon and the private helpers ------------------------------------------
select is_empty(
  $$select p.oid::regprocedure::text from pg_proc p
     where p.oid in ('public.generate_platform_metrics(date)'::regprocedure,
                     'public.get_platform_stats(date, date)'::regprocedure,
                     'public.create_backup_snapshot(uuid, text, text)'::regprocedure,
                     'public.restore_backup_snapshot(uuid, boolean, text)'::regprocedure,
                     'public.list_backups(uuid, integer)'::regprocedure,
                     'public.cleanup_expired_snapshots()'::regprocedure)
       and has_function_privilege('anon', p.oid, 'execute')$$,
  'anon may execute none of the admin functions');

select is_empty(
  $$select p.oid::regprocedure::text from pg_proc p
     where p.oid in ('private.shop_snapshot_data(uuid)'::regprocedure,
                     'private.lock_shop_rows(uuid)'::regprocedure,
                     'private.write_snapshot(uuid, text, uuid)'::regprocedure,
                     'private.snapshot_differences(uuid, jsonb)'::regprocedure,
                     'private.apply_shop_snapshot(uuid, jsonb)'::regprocedure)
       and (has_function_privilege('authenticated', p.oid, 'execute')
            or has_function_privilege('service_role', p.oid, 'execute')
            or has_function_privilege('anon', p.oid, 'execute'))$$,
  'no API role may call the private backup helpers directly (e.g. apply a snapshot unchecked)');

select tests.authenticate_as_anon();
select throws_ok($$select public.list_backups()$$, '42501', null, 'anon: permission denied');

-- ---- a platform admin --------------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-0000000310ad');

select lives_ok($$select public.generate_platform_metrics('2024-03-15')$$, 'admin: generate_platform_metrics');
select is(jsonb_array_length(public.list_backups('00000000-0000-4000-a000-000000031101') -> 'snapshots'), 1,
  'admin: list_backups shows the shop''s snapshot');
select ok(public.list_backups() -> 'snapshots' -> 0 -> 'data' is null,
  'list_backups never returns the snapshot payload');
select is(public.cleanup_expired_snapshots(), '{"deleted": 0}'::jsonb, 'admin: cleanup_expired_snapshots');

-- bad input: stable codes
select throws_ok($$select public.create_backup_snapshot('00000000-0000-4000-a000-000000031101', 'hourly')$$,
  'PT400', 'invalid_request', 'an unknown backup type is invalid_request');
create temp table logs_before as select count(*) as n from public.backup_logs;
select is(tests.error_of($$select public.create_backup_snapshot(null, 'manual')$$) - 'hint',
  '{"code": "PT400", "message": "invalid_request",
    "detail": {"field": "shop_id", "scheduled_job": "daily-full-backup"}}'::jsonb,
  'an all-shop backup is never run inside a request: invalid_request pointing at the scheduled job');
select is((select count(*) from public.backup_logs), (select n from logs_before),
  '... and nothing is written');
select throws_ok($$select public.create_backup_snapshot('00000000-0000-4000-a000-00000003dead')$$,
  'PT404', 'not_found', 'a backup of a shop that does not exist is not_found');
select throws_ok($$select public.restore_backup_snapshot('00000000-0000-4000-a000-00000003dead')$$,
  'PT404', 'not_found', 'restoring a snapshot that does not exist is not_found');
select throws_ok($$select public.list_backups(null, 0)$$,
  'PT400', 'invalid_request', 'list_backups limit below 1 is invalid_request');
select throws_ok($$select public.list_backups(null, 101)$$,
  'PT400', 'invalid_request', 'list_backups limit above 100 is invalid_request');

-- ---- service_role (jobs, operators) ------------------------------------------
select tests.authenticate_as_service_role();
select throws_ok($$select public.create_backup_snapshot(null, 'daily')$$,
  'PT400', 'invalid_request', 'service_role is a request too: no all-shop backup through the API');
select is(
  jsonb_array_length(public.create_backup_snapshot('00000000-0000-4000-a000-000000031101', 'daily') -> 'snapshots'),
  1, 'service_role: create_backup_snapshot');
select lives_ok($$select public.get_platform_stats('2024-03-01', '2024-03-31')$$, 'service_role: get_platform_stats');

select * from finish();
rollback;
