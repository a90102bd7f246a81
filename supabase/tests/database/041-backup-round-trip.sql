-- Backup round trip: snapshot a shop, let its owner wreck it (orders and an
-- item deleted, items edited, a stock change logged, an integration removed,
-- a member removed), restore as a platform admin, and get back exactly the
-- snapshotted rows: a new snapshot has the same checksum. Triggers do not
-- alter restored rows (updated_at, order numbers, append-only stock history),
-- billing columns and other shops are not touched, and the shop works after.
begin;
select plan(22);

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-0000000410ad', 'h3-rt-admin@test.local'),
  ('00000000-0000-4000-a000-000000041001', 'h3-rt-owner1@test.local'),
  ('00000000-0000-4000-a000-000000041002', 'h3-rt-owner2@test.local'),
  ('00000000-0000-4000-a000-000000041003', 'h3-rt-staff@test.local');
update public.profiles set is_platform_admin = true where id = '00000000-0000-4000-a000-0000000410ad';
insert into public.shops (id, owner_id, name, slug) values
  ('00000000-0000-4000-a000-000000041101', '00000000-0000-4000-a000-000000041001', 'Shop one', 'h3-rt-one'),
  ('00000000-0000-4000-a000-000000041102', '00000000-0000-4000-a000-000000041002', 'Shop two', 'h3-rt-two');
insert into public.team_members (shop_id, user_id, role) values
  ('00000000-0000-4000-a000-000000041101', '00000000-0000-4000-a000-000000041003', 'staff');
insert into public.items (id, shop_id, name, sku, category, price, cost, track_stock, stock) values
  ('00000000-0000-4000-a000-000000041201', '00000000-0000-4000-a000-000000041101', 'Mug', 'MUG', 'kitchen', 12.50, 4, true, 10),
  ('00000000-0000-4000-a000-000000041202', '00000000-0000-4000-a000-000000041101', 'Tee', 'TEE', 'apparel', 20, 8, true, 5),
  ('00000000-0000-4000-a000-000000041203', '00000000-0000-4000-a000-000000041101', 'Gift wrap', null, null, 2, null, false, null),
  ('00000000-0000-4000-a000-000000041291', '00000000-0000-4000-a000-000000041102', 'Lamp', 'LAMP', null, 30, 10, true, 7);
insert into public.payment_methods (id, shop_id, type, provider, account_name, account_number) values
  ('00000000-0000-4000-a000-000000041301', '00000000-0000-4000-a000-000000041101', 'mobile_wallet', 'bKash', 'Shop one', '01700000000');
insert into public.forms (id, shop_id, name, slug, fields) values
  ('00000000-0000-4000-a000-000000041401', '00000000-0000-4000-a000-000000041101', 'Order form', 'order',
   '[{"name": "size", "type": "select", "options": ["S", "M"]}]');
insert into public.conversations (id, shop_id, platform, external_id, customer_name) values
  ('00000000-0000-4000-a000-000000041501', '00000000-0000-4000-a000-000000041101', 'messenger', 'psid-1', 'Rina');
insert into public.messages (id, conversation_id, shop_id, sender_type, content, is_ai_generated) values
  ('00000000-0000-4000-a000-000000041511', '00000000-0000-4000-a000-000000041501', '00000000-0000-4000-a000-000000041101', 'customer', 'Is the mug in stock?', false),
  ('00000000-0000-4000-a000-000000041512', '00000000-0000-4000-a000-000000041501', '00000000-0000-4000-a000-000000041101', 'ai', 'Yes, 10 left!', true);
insert into public.form_submissions (id, shop_id, form_id, customer_name, line_items, subtotal, total, status,
                                     payment_method_id, channel, conversation_id) values
  ('00000000-0000-4000-a000-000000041601', '00000000-0000-4000-a000-000000041101', '00000000-0000-4000-a000-000000041401', 'Rina',
   '[{"item_id": "00000000-0000-4000-a000-000000041201", "quantity": 2, "unit_price": 12.50, "unit_cost": 4}]',
   25, 25, 'confirmed', '00000000-0000-4000-a000-000000041301', 'messenger', '00000000-0000-4000-a000-000000041501'),
  ('00000000-0000-4000-a000-000000041602', '00000000-0000-4000-a000-000000041101', null, 'Karim',
   '[{"item_id": "00000000-0000-4000-a000-000000041202", "quantity": 1, "unit_price": 20, "unit_cost": 8}]',
   20, 20, 'pending', null, 'form', null),
  ('00000000-0000-4000-a000-000000041691', '00000000-0000-4000-a000-000000041102', null, 'Other',
   '[]', 30, 30, 'completed', null, 'manual', null);
insert into public.keyword_replies (shop_id, keywords, match_type, reply, priority) values
  ('00000000-0000-4000-a000-000000041101', array['price', 'cost'], 'contains', 'Mug 12.50', 10);
insert into public.saved_replies (shop_id, title, content, shortcut) values
  ('00000000-0000-4000-a000-000000041101', 'Thanks', 'Thank you for your order!', '/ty');
insert into public.sync_status (shop_id, resource, target, cursor) values
  ('00000000-0000-4000-a000-000000041101', 'orders', 'eu-west', 'c-42');
insert into public.social_integrations (id, shop_id, platform, account_id, account_name) values
  ('00000000-0000-4000-a000-000000041701', '00000000-0000-4000-a000-000000041101', 'messenger', 'page-1', 'Shop one page');
select public.set_social_integration_tokens('00000000-0000-4000-a000-000000041701', 'access-token-1', 'refresh-token-1');
insert into public.data_extensions (shop_id, kind, amount, status, starts_at) values
  ('00000000-0000-4000-a000-000000041101', 'extra-storage', 15, 'active', '2025-01-01 00:00+00');

-- Real stock movements, by the owner: the confirmed order deducts 2 mugs,
-- a restock adds 3 tees (with the opening stocks of mug and tee, four
-- stock_history rows).
select tests.authenticate_as('00000000-0000-4000-a000-000000041001');
select public.process_order_stock_changes('00000000-0000-4000-a000-000000041601') is not null as processed \gset
select public.update_stock('00000000-0000-4000-a000-000000041202', p_change => 3, p_reason => 'restock') is not null as restocked \gset
select public.generate_daily_sales_metrics(p_date => (now() at time zone 'utc')::date,
                                           p_shop_id => '00000000-0000-4000-a000-000000041101') is not null as metrics \gset
select tests.clear_authentication();

-- Last edited long ago, so a restore that let the updated_at trigger run
-- would show.
set local session_replication_role = replica;
update public.items set updated_at = '2025-01-01 10:00+00' where shop_id = '00000000-0000-4000-a000-000000041101';
set local session_replication_role = origin;

-- The checksum a snapshot of the shop would have right now.
create function pg_temp.shop_checksum(p_shop_id uuid) returns text language sql security definer as $$
  select private.snapshot_checksum(private.shop_snapshot_data(p_shop_id)) $$;
create function pg_temp.shop_rows(p_shop_id uuid) returns jsonb language sql security definer as $$
  select private.shop_snapshot_data(p_shop_id) $$;
select pg_temp.shop_checksum('00000000-0000-4000-a000-000000041102') as shop_two_checksum \gset

-- ---- a platform admin takes the snapshot ------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-0000000410ad');
create temp table backup as
  select public.create_backup_snapshot('00000000-0000-4000-a000-000000041101') as r;
select r -> 'snapshots' -> 0 ->> 'id' as snapshot_id, r -> 'snapshots' -> 0 ->> 'checksum' as snapshot_checksum
  from backup \gset

select is(
  (select r -> 'snapshots' -> 0 -> 'row_counts' from backup),
  '{"shops": 1, "team_members": 2, "payment_methods": 1, "forms": 1, "items": 3, "conversations": 1,
    "form_submissions": 2, "messages": 2, "stock_history": 4, "keyword_replies": 1, "saved_replies": 1,
    "daily_sales_metrics": 1, "product_analytics": 0, "sync_status": 1, "social_integrations": 1,
    "data_extensions": 1}'::jsonb,
  'the snapshot counts every row of the shop, table by table');
select is(:'snapshot_checksum', pg_temp.shop_checksum('00000000-0000-4000-a000-000000041101'),
  'the stored checksum is the sha256 of the shop''s canonical rows');

-- ---- the owner wrecks the shop --------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000041001');
delete from public.form_submissions where shop_id = '00000000-0000-4000-a000-000000041101';
delete from public.items where id = '00000000-0000-4000-a000-000000041203';
update public.items set name = 'Mug v2', price = 99 where id = '00000000-0000-4000-a000-000000041201';
select public.update_stock('00000000-0000-4000-a000-000000041201', p_change => -1, p_reason => 'damage') is not null as damaged \gset
insert into public.items (shop_id, name, price, stock) values
  ('00000000-0000-4000-a000-000000041101', 'Hat', 15, 3);
delete from public.messages where id = '00000000-0000-4000-a000-000000041512';
update public.conversations set status = 'closed' where id = '00000000-0000-4000-a000-000000041501';
delete from public.team_members where user_id = '00000000-0000-4000-a000-000000041003';
delete from public.social_integrations where id = '00000000-0000-4000-a000-000000041701';
update public.shops set name = 'Renamed' where id = '00000000-0000-4000-a000-000000041101';
select tests.clear_authentication();
-- billing moves on meanwhile (service_role territory)
update public.shops set subscription_plan = 'pro', subscription_amount = 49
 where id = '00000000-0000-4000-a000-000000041101';
select pg_temp.shop_checksum('00000000-0000-4000-a000-000000041101') as wrecked_checksum \gset

-- ---- the platform admin restores -----------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-0000000410ad');
create temp table restore as select public.restore_backup_snapshot(:'snapshot_id', p_dry_run => false) as r;
select is(current_setting('session_replication_role'), 'origin',
  'triggers are on again once the restore returns');

select is((select r -> 'restored' from restore), (select r -> 'snapshots' -> 0 -> 'row_counts' from backup),
  'the restore reports the snapshot''s row counts as restored');
select is(
  (select public.create_backup_snapshot('00000000-0000-4000-a000-000000041101') -> 'snapshots' -> 0 ->> 'checksum'),
  :'snapshot_checksum',
  'a new snapshot after the restore has the restored snapshot''s checksum');
select ok(
  (select bool_and(c::integer = 0)
     from jsonb_path_query(public.restore_backup_snapshot(:'snapshot_id') -> 'differences', '$.*.*.count') c),
  'a dry run right after the restore finds nothing left to change');

-- (row checks as the database owner: RLS shows shop rows to members only)
select tests.clear_authentication();
select results_eq(
  $$select id, order_number, status::text from public.form_submissions
     where shop_id = '00000000-0000-4000-a000-000000041101' order by order_number$$,
  $$values ('00000000-0000-4000-a000-000000041601'::uuid, 1, 'confirmed'), ('00000000-0000-4000-a000-000000041602'::uuid, 2, 'pending')$$,
  'the deleted orders are back with their own order numbers');
select results_eq(
  $$select name, price, stock, updated_at from public.items
     where shop_id = '00000000-0000-4000-a000-000000041101' order by name$$,
  $$values ('Gift wrap'::text, 2.00::numeric, null::integer, '2025-01-01 10:00+00'::timestamptz),
           ('Mug', 12.50, 8, '2025-01-01 10:00+00'), ('Tee', 20.00, 8, '2025-01-01 10:00+00')$$,
  'items are back as snapshotted: deleted one re-created, edits and stock undone, new one gone, updated_at kept');
select is(
  (select array_agg(h.change order by h.id) from public.stock_history h
    where h.shop_id = '00000000-0000-4000-a000-000000041101'),
  array[10, 5, -2, 3],
  'stock history is the snapshotted history: the later damage row is gone despite the append-only guard');
select is(
  (select count(*)::integer from public.messages where conversation_id = '00000000-0000-4000-a000-000000041501'),
  2, 'the deleted message is back');
select is(
  (select status::text from public.conversations where id = '00000000-0000-4000-a000-000000041501'),
  'open', 'the conversation edit is undone');
select is(
  (select role::text from public.team_members
    where shop_id = '00000000-0000-4000-a000-000000041101' and user_id = '00000000-0000-4000-a000-000000041003'),
  'staff', 'the removed team member is back');
select is(
  (select name from public.shops where id = '00000000-0000-4000-a000-000000041101'),
  'Shop one', 'the shop row is back as snapshotted');
select is(
  (select subscription_plan::text || ' ' || subscription_amount from public.shops
    where id = '00000000-0000-4000-a000-000000041101'),
  'pro 49.00', 'billing columns are not rolled back by a restore');
select is(
  public.get_social_integration_tokens('00000000-0000-4000-a000-000000041701') ->> 'access_token',
  'access-token-1', 'the encrypted integration tokens survive the round trip byte for byte');
select is(pg_temp.shop_checksum('00000000-0000-4000-a000-000000041102'), :'shop_two_checksum',
  'the other shop is untouched');
select ok(
  (select restored_at is not null from public.recovery_snapshots where id = :'snapshot_id'),
  'the snapshot records when it was restored');
select set_eq(
  $$select operation, status, snapshot_ids = array[(select r -> 'snapshots' -> 0 ->> 'id' from backup)::uuid]
      from public.backup_logs where shop_id = '00000000-0000-4000-a000-000000041101'$$,
  $$values ('backup'::text, 'completed'::text, true), ('restore', 'completed', true), ('backup', 'completed', false)$$,
  'the backup, the restore (of that snapshot) and the later backup are logged as completed');
select is(
  (select checksum from public.recovery_snapshots where id = (select (r ->> 'pre_restore_snapshot_id')::uuid from restore)),
  :'wrecked_checksum',
  'a pre_restore snapshot keeps the shop as it was just before, so the restore can be undone');

-- ---- the shop works after the restore ----------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000041001');
select is((select count(*)::integer from public.items), 3, 'the owner sees the restored items');
insert into public.form_submissions (shop_id, customer_name, total) values
  ('00000000-0000-4000-a000-000000041101', 'After restore', 5);
select is(
  (select order_number from public.form_submissions where customer_name = 'After restore'),
  3, 'the next order continues after the restored order numbers');
select is(
  (public.update_stock('00000000-0000-4000-a000-000000041201', p_change => -1, p_reason => 'sale') ->> 'new_stock')::integer,
  7, 'stock moves from the restored value');

select * from finish();
rollback;
