-- A restore refuses, with a stable code and without changing anything:
-- a snapshot whose data or checksum was altered (PT409 conflict,
-- reason checksum_mismatch, also for dry runs); a snapshot that would leave a
-- dangling reference (a member whose user is gone); a snapshot whose unique
-- values now belong to another shop.
begin;
select plan(12);

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-0000000430ad', 'h3-ref-admin@test.local'),
  ('00000000-0000-4000-a000-000000043001', 'h3-ref-owner@test.local'),
  ('00000000-0000-4000-a000-000000043002', 'h3-ref-staff@test.local'),
  ('00000000-0000-4000-a000-000000043003', 'h3-ref-other@test.local');
update public.profiles set is_platform_admin = true where id = '00000000-0000-4000-a000-0000000430ad';
insert into public.shops (id, owner_id, name, slug) values
  ('00000000-0000-4000-a000-000000043101', '00000000-0000-4000-a000-000000043001', 'Guarded', 'h3-guarded');
insert into public.team_members (shop_id, user_id, role) values
  ('00000000-0000-4000-a000-000000043101', '00000000-0000-4000-a000-000000043002', 'staff');
insert into public.items (id, shop_id, name, price, stock) values
  ('00000000-0000-4000-a000-000000043201', '00000000-0000-4000-a000-000000043101', 'Vase', 40, 2);

create function pg_temp.error_of(p_sql text) returns jsonb language plpgsql as $$
declare v_code text; v_message text; v_detail text;
begin
  execute p_sql;
  return null;
exception when others then
  get stacked diagnostics v_code = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail;
  return jsonb_build_object('code', v_code, 'message', v_message,
                            'reason', case when v_detail like '{%' then v_detail::jsonb ->> 'reason' end);
end $$;
create function pg_temp.shop_checksum(p_shop_id uuid) returns text language sql security definer as $$
  select private.snapshot_checksum(private.shop_snapshot_data(p_shop_id)) $$;
create function pg_temp.shop_state(p_shop_id uuid) returns jsonb language sql security definer as $$
  select jsonb_build_object(
    'checksum', private.snapshot_checksum(private.shop_snapshot_data(p_shop_id)),
    'logs', (select count(*) from public.backup_logs where shop_id = p_shop_id),
    'snapshots', (select count(*) from public.recovery_snapshots where shop_id = p_shop_id),
    'restored', (select count(*) from public.recovery_snapshots where shop_id = p_shop_id and restored_at is not null)) $$;

select public.create_backup_snapshot('00000000-0000-4000-a000-000000043101') -> 'snapshots' -> 0 ->> 'id' as snapshot_id \gset
-- the shop moves on after the snapshot
update public.items set price = 45 where id = '00000000-0000-4000-a000-000000043201';
create temp table state_before as select pg_temp.shop_state('00000000-0000-4000-a000-000000043101') as s;

-- ---- tampered data ----------------------------------------------------------------
-- items are in the snapshot's state part
update public.recovery_snapshot_parts p
   set data = jsonb_set(p.data, '{items,0,price}', '1')
  from public.recovery_snapshots s
 where s.id = :'snapshot_id' and p.id = s.state_part_id;

select tests.authenticate_as('00000000-0000-4000-a000-0000000430ad');
select is(
  pg_temp.error_of(format('select public.restore_backup_snapshot(%L, false)', :'snapshot_id')),
  '{"code": "PT409", "message": "conflict", "reason": "checksum_mismatch"}'::jsonb,
  'a snapshot whose data was altered is refused: PT409 conflict, reason checksum_mismatch');
select is(
  pg_temp.error_of(format('select public.restore_backup_snapshot(%L, true)', :'snapshot_id')),
  '{"code": "PT409", "message": "conflict", "reason": "checksum_mismatch"}'::jsonb,
  'a dry run of it is refused the same way');
select tests.clear_authentication();
select is(pg_temp.shop_state('00000000-0000-4000-a000-000000043101'), (select s from state_before),
  'the refused restore changed nothing (rows, logs, snapshots, restored_at)');
select is((select price from public.items where id = '00000000-0000-4000-a000-000000043201'), 45.00,
  'the tampered price never reached the item');

-- ---- tampered checksum -----------------------------------------------------------
select public.create_backup_snapshot('00000000-0000-4000-a000-000000043101') -> 'snapshots' -> 0 ->> 'id' as snapshot_id \gset
update public.recovery_snapshots set checksum = repeat('0', 64) where id = :'snapshot_id';
update public.items set price = 46 where id = '00000000-0000-4000-a000-000000043201';
create temp table state_second as select pg_temp.shop_state('00000000-0000-4000-a000-000000043101') as s;
select is(
  pg_temp.error_of(format('select public.restore_backup_snapshot(%L, false)', :'snapshot_id')),
  '{"code": "PT409", "message": "conflict", "reason": "checksum_mismatch"}'::jsonb,
  'a snapshot whose checksum was altered is refused too');
select is(pg_temp.shop_state('00000000-0000-4000-a000-000000043101'), (select s from state_second),
  'and nothing changed');

-- ---- a member whose user no longer exists --------------------------------------------
select public.create_backup_snapshot('00000000-0000-4000-a000-000000043101') -> 'snapshots' -> 0 ->> 'id' as member_snapshot_id \gset
delete from auth.users where id = '00000000-0000-4000-a000-000000043002';
update public.items set price = 50 where id = '00000000-0000-4000-a000-000000043201';
select pg_temp.shop_state('00000000-0000-4000-a000-000000043101') as state_without_staff \gset

select tests.authenticate_as('00000000-0000-4000-a000-0000000430ad');
select is(
  pg_temp.error_of(format('select public.restore_backup_snapshot(%L, false)', :'member_snapshot_id')),
  '{"code": "PT409", "message": "conflict", "reason": "dangling_reference"}'::jsonb,
  'restoring a member whose user was deleted is refused: PT409 conflict, reason dangling_reference');
select ok(
  public.restore_backup_snapshot(:'member_snapshot_id') -> 'differences' -> 'team_members' -> 'insert' ->> 'count' = '1',
  'its dry run shows the member it would re-insert');
select tests.clear_authentication();
select is(pg_temp.shop_state('00000000-0000-4000-a000-000000043101'), :'state_without_staff'::jsonb,
  'the refused restore changed nothing (the item edit made after the snapshot stays)');

-- ---- the shop's old slug now belongs to another shop --------------------------------
update public.shops set slug = 'h3-guarded-renamed' where id = '00000000-0000-4000-a000-000000043101';
insert into public.shops (owner_id, name, slug) values
  ('00000000-0000-4000-a000-000000043003', 'Newcomer', 'h3-guarded');
insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-000000043002', 'h3-ref-staff@test.local');
select pg_temp.shop_state('00000000-0000-4000-a000-000000043101') as state_renamed \gset

select tests.authenticate_as('00000000-0000-4000-a000-0000000430ad');
select is(
  pg_temp.error_of(format('select public.restore_backup_snapshot(%L, false)', :'member_snapshot_id')),
  '{"code": "PT409", "message": "conflict", "reason": "constraint_violation"}'::jsonb,
  'a snapshot whose unique slug now belongs to another shop is refused: PT409 conflict');
select tests.clear_authentication();
select is(pg_temp.shop_state('00000000-0000-4000-a000-000000043101'), :'state_renamed'::jsonb,
  'and nothing changed');
select is((select name from public.shops where slug = 'h3-guarded'), 'Newcomer',
  'the other shop keeps its slug');

select * from finish();
rollback;
