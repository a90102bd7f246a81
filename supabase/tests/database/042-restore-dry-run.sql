-- Dry run (the default) reports, table by table, the rows a restore would
-- insert, update and delete, by primary key, and changes nothing. Then a shop
-- deleted by its owner is brought back whole from its snapshot.
begin;
select plan(16);

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-0000000420ad', 'h3-dry-admin@test.local'),
  ('00000000-0000-4000-a000-000000042001', 'h3-dry-owner@test.local');
update public.profiles set is_platform_admin = true where id = '00000000-0000-4000-a000-0000000420ad';
insert into public.shops (id, owner_id, name, slug) values
  ('00000000-0000-4000-a000-000000042101', '00000000-0000-4000-a000-000000042001', 'Dry shop', 'h3-dry-shop');
insert into public.items (id, shop_id, name, sku, price, stock) values
  ('00000000-0000-4000-a000-000000042201', '00000000-0000-4000-a000-000000042101', 'Kept', 'K', 10, 5),
  ('00000000-0000-4000-a000-000000042202', '00000000-0000-4000-a000-000000042101', 'Edited', 'E', 10, 5),
  ('00000000-0000-4000-a000-000000042203', '00000000-0000-4000-a000-000000042101', 'Deleted', 'D', 10, 0);  -- no stock, no history: deletable
insert into public.form_submissions (id, shop_id, customer_name, total, status) values
  ('00000000-0000-4000-a000-000000042301', '00000000-0000-4000-a000-000000042101', 'Ana', 10, 'completed'),
  ('00000000-0000-4000-a000-000000042302', '00000000-0000-4000-a000-000000042101', 'Ben', 12, 'pending');

create function pg_temp.shop_checksum(p_shop_id uuid) returns text language sql security definer as $$
  select private.snapshot_checksum(private.shop_snapshot_data(p_shop_id)) $$;
create function pg_temp.differences_summary(p_differences jsonb) returns jsonb language sql as $$
  -- only the tables with a difference, as {table: {insert|update|delete: [keys]}}
  select coalesce(jsonb_object_agg(t.key, t.changes), '{}'::jsonb)
  from (
    select d.key, jsonb_strip_nulls(jsonb_build_object(
      'insert', case when (d.value -> 'insert' ->> 'count')::integer > 0 then d.value -> 'insert' -> 'keys' end,
      'update', case when (d.value -> 'update' ->> 'count')::integer > 0 then d.value -> 'update' -> 'keys' end,
      'delete', case when (d.value -> 'delete' ->> 'count')::integer > 0 then d.value -> 'delete' -> 'keys' end)) as changes
    from jsonb_each(p_differences) d
  ) t
  where t.changes <> '{}'::jsonb
$$;

select tests.authenticate_as('00000000-0000-4000-a000-0000000420ad');
select public.create_backup_snapshot('00000000-0000-4000-a000-000000042101') -> 'snapshots' -> 0 ->> 'id' as snapshot_id \gset
select checksum as snapshot_checksum from public.recovery_snapshots where id = :'snapshot_id' \gset

-- The owner edits one item, deletes one, adds one (with opening stock), deletes an order.
select tests.authenticate_as('00000000-0000-4000-a000-000000042001');
update public.items set price = 11 where id = '00000000-0000-4000-a000-000000042202';
delete from public.items where id = '00000000-0000-4000-a000-000000042203';
insert into public.items (shop_id, name, price, stock) values ('00000000-0000-4000-a000-000000042101', 'Added', 3, 1);
delete from public.form_submissions where id = '00000000-0000-4000-a000-000000042302';
select id as added_item_id from public.items where name = 'Added' \gset
-- its opening stock is a history row the restore would delete with it
select id as added_history_id from public.stock_history where item_id = :'added_item_id' \gset

select tests.clear_authentication();
select pg_temp.shop_checksum('00000000-0000-4000-a000-000000042101') as edited_checksum \gset
create temp table logs_before as select count(*) as n from public.backup_logs;

-- ---- dry run ------------------------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-0000000420ad');
create temp table dry as select public.restore_backup_snapshot(:'snapshot_id') as r;

select is((select r -> 'dry_run' from dry), 'true'::jsonb, 'without p_dry_run the restore is a dry run');
select is(
  (select pg_temp.differences_summary(r -> 'differences') from dry),
  jsonb_build_object(
    'items', jsonb_build_object(
      'insert', jsonb_build_array('00000000-0000-4000-a000-000000042203'),
      'update', jsonb_build_array('00000000-0000-4000-a000-000000042202'),
      'delete', jsonb_build_array(:'added_item_id'::text)),
    'stock_history', jsonb_build_object(
      'delete', jsonb_build_array(:'added_history_id'::bigint)),
    'form_submissions', jsonb_build_object(
      'insert', jsonb_build_array('00000000-0000-4000-a000-000000042302'))),
  'the dry run lists, by primary key, exactly the rows to re-insert, to put back and to delete');
select is(
  (select r -> 'differences' -> 'items' -> 'update' -> 'count' from dry), '1'::jsonb,
  'each list comes with its count');
select ok((select r -> 'restored' = 'null'::jsonb from dry), 'a dry run restores nothing');

select tests.clear_authentication();
select is(pg_temp.shop_checksum('00000000-0000-4000-a000-000000042101'), :'edited_checksum',
  'the dry run changed no row of the shop');
select is((select count(*) from public.backup_logs), (select n from logs_before),
  'a dry run writes no log');
select ok((select restored_at is null from public.recovery_snapshots where id = :'snapshot_id'),
  'a dry run does not mark the snapshot restored');
select is(
  (select count(*)::integer from public.recovery_snapshots where shop_id = '00000000-0000-4000-a000-000000042101'),
  1, 'a dry run takes no pre_restore snapshot');

-- ---- the owner deletes the whole shop; the admin brings it back ----------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000042001');
delete from public.shops where id = '00000000-0000-4000-a000-000000042101';
select is((select count(*)::integer from public.shops where id = '00000000-0000-4000-a000-000000042101'), 0,
  'the owner deleted the shop (its rows are gone with it)');

select tests.authenticate_as('00000000-0000-4000-a000-0000000420ad');
create temp table revived as select public.restore_backup_snapshot(:'snapshot_id', false) as r;
select is(
  (select public.create_backup_snapshot('00000000-0000-4000-a000-000000042101') -> 'snapshots' -> 0 ->> 'checksum'),
  :'snapshot_checksum',
  'the deleted shop is restored exactly: a new snapshot has the same checksum');
select ok((select r -> 'pre_restore_snapshot_id' = 'null'::jsonb from revived),
  'no pre_restore snapshot of a shop that no longer exists');

select tests.authenticate_as('00000000-0000-4000-a000-000000042001');
select is(
  (select array_agg(name order by name) from public.items),
  array['Deleted', 'Edited', 'Kept'],
  'the owner sees the shop''s items again (membership restored too)');
select is(
  (select array_agg(order_number order by order_number) from public.form_submissions),
  array[1, 2], 'orders are back with their numbers');
insert into public.form_submissions (shop_id, customer_name, total) values
  ('00000000-0000-4000-a000-000000042101', 'Cara', 8);
select is(
  (select order_number from public.form_submissions where customer_name = 'Cara'),
  3, 'a new order after restoring a deleted shop does not reuse an order number');

select tests.clear_authentication();
select is(
  (select subscription_plan::text || '/' || subscription_status::text from public.shops
    where id = '00000000-0000-4000-a000-000000042101'),
  'free/active', 'a re-created shop starts on the default plan (billing is never restored)');
select is(
  (select count(*)::integer from public.subscription_events where shop_id = '00000000-0000-4000-a000-000000042101'),
  0, 're-creating a shop writes no subscription event');

select * from finish();
rollback;
