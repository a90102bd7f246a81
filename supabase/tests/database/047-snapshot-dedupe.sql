-- Deduplicated snapshots: a snapshot is stored as three parts (state, the
-- month's dated rows, older dated rows), each once per shop and checksum.
-- An unchanged shop stores no second copy; a change stores only the part it
-- touched; restoring any snapshot gives exactly its data; the cleanup keeps a
-- part while a snapshot uses it and drops it with the last one.
-- (now() is fixed in a transaction: rows dated now() - 40 days are always in
-- an earlier month than the snapshots, rows dated now() in the same month.)
begin;
select plan(29);

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-0000000470ad', 'dedupe-admin@test.local'),
  ('00000000-0000-4000-a000-000000047001', 'dedupe-owner@test.local');
update public.profiles set is_platform_admin = true where id = '00000000-0000-4000-a000-0000000470ad';
insert into public.shops (id, owner_id, name, slug) values
  ('00000000-0000-4000-a000-000000047101', '00000000-0000-4000-a000-000000047001', 'Dedupe', 'dedupe-shop');
insert into public.items (id, shop_id, name, price, stock, created_at) values
  ('00000000-0000-4000-a000-000000047201', '00000000-0000-4000-a000-000000047101', 'Bowl', 9, 4, now() - interval '40 days');
-- Orders whose primary keys interleave their months: 1 and 3 are old, 2 and 4
-- this month's, so the table's rows come from two parts in key order 1, 2, 3, 4.
insert into public.form_submissions (id, shop_id, customer_name, total, status, submitted_at) values
  ('00000000-0000-4000-a000-000000047301', '00000000-0000-4000-a000-000000047101', 'Old one', 10, 'completed', now() - interval '40 days'),
  ('00000000-0000-4000-a000-000000047302', '00000000-0000-4000-a000-000000047101', 'New two', 20, 'pending', now()),
  ('00000000-0000-4000-a000-000000047303', '00000000-0000-4000-a000-000000047101', 'Old three', 30, 'delivered', now() - interval '45 days'),
  ('00000000-0000-4000-a000-000000047304', '00000000-0000-4000-a000-000000047101', 'New four', 40, 'pending', now());

create function pg_temp.shop_data(p_shop_id uuid) returns jsonb language sql security definer as $$
  select private.shop_snapshot_data(p_shop_id) $$;
create function pg_temp.shop_checksum(p_shop_id uuid) returns text language sql security definer as $$
  select private.snapshot_checksum(private.shop_snapshot_data(p_shop_id)) $$;
create function pg_temp.backup() returns uuid language sql as $$
  select (public.create_backup_snapshot('00000000-0000-4000-a000-000000047101') -> 'snapshots' -> 0 ->> 'id')::uuid $$;
create function pg_temp.parts(p_snapshot_id uuid) returns bigint[] language sql as $$
  select array[s.state_part_id, s.recent_part_id, s.history_part_id]
  from public.recovery_snapshots s where s.id = p_snapshot_id $$;
create function pg_temp.stored_parts() returns integer language sql as $$
  select count(*)::integer from public.recovery_snapshot_parts where shop_id = '00000000-0000-4000-a000-000000047101' $$;
create function pg_temp.error_reason(p_sql text) returns text language plpgsql as $$
declare v_detail text;
begin
  execute p_sql;
  return null;
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return v_detail::jsonb ->> 'reason';
end $$;

-- ---- splitting and assembling -------------------------------------------------------
create temp table split as
  select p.* from private.split_snapshot(pg_temp.shop_data('00000000-0000-4000-a000-000000047101'),
                                         date_trunc('month', now() at time zone 'UTC')::date) p;
select is(
  (select jsonb_path_query_array(history, '$.form_submissions[*].customer_name') from split),
  '["Old one", "Old three"]'::jsonb, 'the history part holds the rows of earlier months');
select is(
  (select jsonb_path_query_array(recent, '$.form_submissions[*].customer_name') from split),
  '["New two", "New four"]'::jsonb, 'the recent part holds the month''s rows');
select ok(
  (select state ? 'items' and not state ? 'form_submissions' and recent ? 'messages' and not history ? 'messages'
     from split),
  'undated tables go into the state part; dated tables keep their key in recent even when empty');
select is(
  (select private.assemble_snapshot(state, recent, history)::text from split),
  pg_temp.shop_data('00000000-0000-4000-a000-000000047101')::text,
  'the parts assemble to the very same data, rows of one table back in primary key order');

-- ---- an unchanged shop stores one copy ------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-0000000470ad');
select pg_temp.backup() as first_id \gset
select ok(
  exists (select 1 from pg_locks l
           where l.locktype = 'advisory' and l.pid = pg_backend_pid() and l.mode = 'ShareLock' and l.granted),
  'a backup writes its parts under the shared snapshot-parts lock');
select is(pg_temp.stored_parts(), 3, 'the first snapshot stores its three parts');
select pg_temp.backup() as second_id \gset
select is(pg_temp.parts(:'second_id'), pg_temp.parts(:'first_id'),
  'a second snapshot of the unchanged shop points at the same three parts');
select is(pg_temp.stored_parts(), 3, '... and stores no second copy');
select is(
  (select count(distinct checksum)::integer from public.recovery_snapshots where id in (:'first_id', :'second_id')),
  1, 'both snapshots carry the same checksum');
select is(
  (select array_agg(k order by k) from jsonb_object_keys(public.list_backups('00000000-0000-4000-a000-000000047101', 1)
                                                           -> 'snapshots' -> 0) k),
  array['backup_log_id', 'checksum', 'created_at', 'created_by', 'expires_at', 'id', 'restored_at', 'row_counts',
        'shop_id', 'size_bytes', 'snapshot_type'],
  'list_backups answers the same snapshot fields as before parts');

-- ---- a change stores only the part it touched --------------------------------------
select tests.clear_authentication();
insert into public.form_submissions (id, shop_id, customer_name, total, status, submitted_at) values
  ('00000000-0000-4000-a000-000000047305', '00000000-0000-4000-a000-000000047101', 'New five', 50, 'pending', now());
select tests.authenticate_as('00000000-0000-4000-a000-0000000470ad');
select pg_temp.backup() as third_id \gset
select is((pg_temp.parts(:'third_id'))[1:1] || (pg_temp.parts(:'third_id'))[3:3],
          (pg_temp.parts(:'first_id'))[1:1] || (pg_temp.parts(:'first_id'))[3:3],
  'a new order of this month: the state and history parts are shared with the earlier snapshots');
select isnt((pg_temp.parts(:'third_id'))[2], (pg_temp.parts(:'first_id'))[2],
  '... and a new recent part is stored');
select is(pg_temp.stored_parts(), 4, '... one part more in all');

select tests.clear_authentication();
update public.form_submissions set status = 'refunded' where id = '00000000-0000-4000-a000-000000047301';
select tests.authenticate_as('00000000-0000-4000-a000-0000000470ad');
select pg_temp.backup() as fourth_id \gset
select is((pg_temp.parts(:'fourth_id'))[1:2], (pg_temp.parts(:'third_id'))[1:2],
  'an old order edited: state and recent parts shared with the previous snapshot');
select isnt((pg_temp.parts(:'fourth_id'))[3], (pg_temp.parts(:'third_id'))[3], '... a new history part is stored');

-- ---- restoring either snapshot gives exactly its data ---------------------------------------
select public.restore_backup_snapshot(:'first_id', p_dry_run => false) ->> 'pre_restore_snapshot_id' as pre_restore_id \gset
select is(pg_temp.shop_checksum('00000000-0000-4000-a000-000000047101'),
  (select checksum from public.recovery_snapshots where id = :'first_id'),
  'restoring the first snapshot gives exactly its data back');
select is(pg_temp.parts(:'pre_restore_id'), pg_temp.parts(:'fourth_id'),
  'the pre_restore snapshot of the unchanged shop shares every part of the latest snapshot');
select is(pg_temp.stored_parts(), 5, '... so the restore stored nothing new');
select public.restore_backup_snapshot(:'fourth_id', p_dry_run => false) ->> 'pre_restore_snapshot_id' as undo_id \gset
select is(pg_temp.shop_checksum('00000000-0000-4000-a000-000000047101'),
  (select checksum from public.recovery_snapshots where id = :'fourth_id'),
  'restoring the latest snapshot (parts shared with three others) gives exactly its data back');
select ok(
  (select bool_and(c::integer = 0)
     from jsonb_path_query(public.restore_backup_snapshot(:'fourth_id') -> 'differences', '$.*.*.count') c),
  'a dry run of it right after finds nothing to change');

-- ---- the cleanup keeps a part while a snapshot uses it --------------------------------------
select tests.clear_authentication();
-- The first two snapshots and the second pre_restore one (the first's data
-- again) expire: their recent part is used by no other snapshot.
update public.recovery_snapshots set expires_at = now() - interval '1 second'
 where id in (:'first_id', :'second_id', :'undo_id');
select tests.authenticate_as('00000000-0000-4000-a000-0000000470ad');
select is(public.cleanup_expired_snapshots() -> 'deleted', '3'::jsonb, 'the three expired snapshots are deleted');
select ok(
  exists (select 1 from pg_locks l
           where l.locktype = 'advisory' and l.pid = pg_backend_pid() and l.mode = 'ExclusiveLock' and l.granted),
  'the cleanup runs under the exclusive snapshot-parts lock');
select is(pg_temp.stored_parts(), 4,
  'only the recent part no other snapshot used is gone; the shared state and history parts stay');
select tests.clear_authentication();
select ok(
  (select bool_and(private.snapshot_checksum(private.snapshot_data(s)) = s.checksum)
     from public.recovery_snapshots s where s.shop_id = '00000000-0000-4000-a000-000000047101'),
  'every remaining snapshot still assembles to its checksum');

-- A part altered after the fact is refused for every snapshot that shares it.
update public.recovery_snapshot_parts p set data = jsonb_set(p.data, '{items,0,price}', '1')
  from public.recovery_snapshots s where s.id = :'third_id' and p.id = s.state_part_id;
select tests.authenticate_as('00000000-0000-4000-a000-0000000470ad');
select is(
  array[pg_temp.error_reason(format('select public.restore_backup_snapshot(%L)', :'third_id')),
        pg_temp.error_reason(format('select public.restore_backup_snapshot(%L)', :'fourth_id'))],
  array['checksum_mismatch', 'checksum_mismatch'],
  'an altered part: every snapshot sharing it is refused (checksum_mismatch), never restored wrong');

select tests.clear_authentication();
update public.recovery_snapshots set expires_at = now() - interval '1 second'
 where shop_id = '00000000-0000-4000-a000-000000047101';
select tests.authenticate_as('00000000-0000-4000-a000-0000000470ad');
select is(public.cleanup_expired_snapshots() -> 'deleted', '3'::jsonb, 'the last three snapshots expire too');
select is(pg_temp.stored_parts(), 0, 'with the last snapshot that used them, every part is gone');

-- ---- list_backups at scale: a log is answered with its count of snapshots ----------
select is(
  (select array_agg(k order by k) filter (where k like 'snapshot%')
     from jsonb_object_keys(public.list_backups('00000000-0000-4000-a000-000000047101', 1) -> 'logs' -> 0) k),
  array['snapshot_count'],
  'list_backups answers a log with snapshot_count, without the snapshot ids');
-- the log of a scheduled run at 10,000 shops
select tests.clear_authentication();
insert into public.backup_logs (backup_type, shop_id, status, started_at, completed_at, snapshot_ids)
select 'daily', null, 'completed', now() + interval '1 second', now() + interval '1 second',
       array_agg(gen_random_uuid()) from generate_series(1, 10000);
select tests.authenticate_as('00000000-0000-4000-a000-0000000470ad');
select ok(
  (select (l -> 'snapshot_count') = '10000'::jsonb and octet_length(l::text) < 1024
     from (select public.list_backups(null, 1) -> 'logs' -> 0 as l) x),
  'a run of 10,000 shops is one short log in the answer (its count, not 10,000 ids)');

select * from finish();
rollback;
