-- 002-rls-matrix: for every table, select / insert / update / delete tried by
-- every kind of caller, each cell asserted as allowed or denied:
--   anon, a user of another shop (outsider), viewer, staff, admin and owner of
--   the shop, and a platform admin who is not a member of it.
-- Each attempt runs as the real role (tests.authenticate_as, helpers.sql) in a
-- subtransaction that is rolled back, so cells never affect each other.
-- "allowed" means the statement touched exactly the fixture row; "denied"
-- means it touched nothing (RLS) or was refused with 42501 (grant or RLS
-- check). Any other outcome (a constraint error, ...) fails the cell.
-- The fixture is created here, inside the transaction; the seed is not used.
begin;
select plan(687);

-- ---------------------------------------------------------------------------
-- Fixture (as the database owner)
-- ---------------------------------------------------------------------------

insert into auth.users (id, email) values
  ('b0000000-0000-4000-8000-000000000001', 'owner@matrix.test'),
  ('b0000000-0000-4000-8000-000000000002', 'admin@matrix.test'),
  ('b0000000-0000-4000-8000-000000000003', 'staff@matrix.test'),
  ('b0000000-0000-4000-8000-000000000004', 'viewer@matrix.test'),
  ('b0000000-0000-4000-8000-000000000005', 'outsider@matrix.test'),
  ('b0000000-0000-4000-8000-000000000006', 'platform@matrix.test'),
  ('b0000000-0000-4000-8000-000000000007', 'newbie@matrix.test');
update public.profiles set is_platform_admin = true where id = 'b0000000-0000-4000-8000-000000000006';

insert into public.shops (id, owner_id, name, slug) values
  ('a1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001', 'Matrix One', 'matrix-one'),
  ('a2000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000005', 'Matrix Two', 'matrix-two');
update public.shops set subscription_plan = 'pro', subscription_amount = 29
 where id = 'a1000000-0000-4000-8000-000000000001';

insert into public.team_members (shop_id, user_id, role) values
  ('a1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', 'admin'),
  ('a1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000003', 'staff'),
  ('a1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000004', 'viewer');

insert into public.shop_invitations (id, shop_id, role) values
  ('c1000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000001', 'staff');
insert into public.items (id, shop_id, name, stock) values
  ('c0000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000001', 'Item one', 0),
  ('c0000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000001', 'Item two', 10);
-- Item two's opening stock is its one history row (items_record_stock_change);
-- item one has none, so admins may delete it.
insert into public.forms (id, shop_id, name, slug) values
  ('d0000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000001', 'Form', 'form');
insert into public.payment_methods (id, shop_id, type) values
  ('d0000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000001', 'cod');
insert into public.conversations (id, shop_id, platform, external_id) values
  ('d0000000-0000-4000-8000-000000000003', 'a1000000-0000-4000-8000-000000000001', 'messenger', 'thread-1');
insert into public.messages (id, conversation_id, shop_id, sender_type, content) values
  ('d0000000-0000-4000-8000-000000000004', 'd0000000-0000-4000-8000-000000000003',
   'a1000000-0000-4000-8000-000000000001', 'customer', 'hello');
insert into public.form_submissions (id, shop_id, total) values
  ('d0000000-0000-4000-8000-000000000005', 'a1000000-0000-4000-8000-000000000001', 100);
insert into public.keyword_replies (id, shop_id, keywords, reply) values
  ('d0000000-0000-4000-8000-000000000006', 'a1000000-0000-4000-8000-000000000001', '{price}', 'See the post');
insert into public.saved_replies (id, shop_id, title, content) values
  ('d0000000-0000-4000-8000-000000000007', 'a1000000-0000-4000-8000-000000000001', 'Thanks', 'Thank you!');
insert into public.daily_sales_metrics (shop_id, date, orders) values
  ('a1000000-0000-4000-8000-000000000001', '2026-01-01', 3);
insert into public.product_analytics (shop_id, item_id, period_start, period_end, units_sold) values
  ('a1000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', '2026-01-01', '2026-01-31', 4);
insert into public.platform_metrics (date, gmv) values ('2026-01-01', 1000);
insert into public.backup_logs (id, backup_type, shop_id, status) values
  ('d0000000-0000-4000-8000-000000000008', 'manual', 'a1000000-0000-4000-8000-000000000001', 'completed');
insert into public.recovery_snapshot_parts (id, shop_id, checksum, data, size_bytes) overriding system value values
  (9001, 'a1000000-0000-4000-8000-000000000001', repeat('c', 64), '{}', 2);
insert into public.recovery_snapshots (id, shop_id, snapshot_type, checksum, state_part_id, recent_part_id, history_part_id) values
  ('d0000000-0000-4000-8000-000000000009', 'a1000000-0000-4000-8000-000000000001', 'manual', repeat('a', 64), 9001, 9001, 9001);
insert into public.sync_status (id, shop_id, resource) values
  ('d0000000-0000-4000-8000-00000000000a', 'a1000000-0000-4000-8000-000000000001', 'items');
insert into public.social_integrations (id, shop_id, platform, account_id) values
  ('d0000000-0000-4000-8000-00000000000b', 'a1000000-0000-4000-8000-000000000001', 'instagram', 'ig-1');
insert into public.data_extensions (id, shop_id, kind) values
  ('d0000000-0000-4000-8000-00000000000c', 'a1000000-0000-4000-8000-000000000001', 'extra_storage');
insert into public.idempotency_keys (shop_id, key, action, request_hash, response) values
  ('a1000000-0000-4000-8000-000000000001', 'k1', 'update_stock', 'h', '{}');

-- ---------------------------------------------------------------------------
-- The machinery
-- ---------------------------------------------------------------------------

-- Runs p_sql as p_actor in a subtransaction that is always rolled back and
-- reports 'rows:<n>' (for select: the count(*) it returned) or 'error:<sqlstate> <message>'.
create function pg_temp.attempt(p_actor text, p_op text, p_sql text)
returns text language plpgsql as $$
declare
  v_rows bigint;
  v_user uuid := case p_actor
    when 'owner' then 'b0000000-0000-4000-8000-000000000001'
    when 'admin' then 'b0000000-0000-4000-8000-000000000002'
    when 'staff' then 'b0000000-0000-4000-8000-000000000003'
    when 'viewer' then 'b0000000-0000-4000-8000-000000000004'
    when 'outsider' then 'b0000000-0000-4000-8000-000000000005'
    when 'platform_admin' then 'b0000000-0000-4000-8000-000000000006'
  end;
begin
  begin
    if p_actor = 'anon' then
      perform tests.authenticate_as_anon();
    else
      perform tests.authenticate_as(v_user);
    end if;
    if p_op = 'select' then
      execute p_sql into v_rows;
    else
      execute p_sql;
      get diagnostics v_rows = row_count;
    end if;
    raise exception using errcode = 'ZX000', message = v_rows::text;
  exception
    when sqlstate 'ZX000' then return 'rows:' || sqlerrm;
    when others then return 'error:' || sqlstate || ' ' || sqlerrm;
  end;
end;
$$;

create function pg_temp.cell(p_table text, p_op text, p_actor text, p_allowed boolean, p_sql text)
returns text language plpgsql as $$
declare
  v_outcome text := pg_temp.attempt(p_actor, p_op, p_sql);
  v_pass boolean := case when p_allowed then v_outcome = 'rows:1'
                         else v_outcome = 'rows:0' or v_outcome like 'error:42501 %' end;
begin
  return ok(v_pass, format('%s %s as %s is %s', p_table, p_op, p_actor,
                           case when p_allowed then 'allowed' else 'denied' end)
                    || case when v_pass then '' else ' (got ' || v_outcome || ')' end);
end;
$$;

create temporary table matrix (
  ord serial, tbl text, op text, allowed text[], sql text
);

-- Who may: the sets of callers that are allowed.
--   members  = viewer, staff, admin, owner
\set members '{viewer,staff,admin,owner}'
\set staff_up '{staff,admin,owner}'
\set admin_up '{admin,owner}'
\set nobody '{}'

insert into matrix (tbl, op, allowed, sql) values
  -- profiles: the target is the staff member's profile
  ('profiles', 'select', '{viewer,staff,admin,owner,platform_admin}',
   $$select count(*) from public.profiles where id = 'b0000000-0000-4000-8000-000000000003'$$),
  ('profiles', 'insert', :'nobody',
   $$insert into public.profiles (id) values ('b0000000-0000-4000-8000-000000000007')$$),
  ('profiles', 'update', '{staff}',
   $$update public.profiles set full_name = 'Changed' where id = 'b0000000-0000-4000-8000-000000000003'$$),
  ('profiles', 'delete', :'nobody',
   $$delete from public.profiles where id = 'b0000000-0000-4000-8000-000000000003'$$),
  -- shops: anyone signed in may create a shop of their own
  ('shops', 'select', '{viewer,staff,admin,owner,platform_admin}',
   $$select count(*) from public.shops where id = 'a1000000-0000-4000-8000-000000000001'$$),
  ('shops', 'insert', '{outsider,viewer,staff,admin,owner,platform_admin}',
   $$insert into public.shops (owner_id, name, slug) values (auth.uid(), 'New shop', 'matrix-new-shop')$$),
  ('shops', 'update', :'admin_up',
   $$update public.shops set name = 'Renamed' where id = 'a1000000-0000-4000-8000-000000000001'$$),
  ('shops', 'delete', '{owner}',
   $$delete from public.shops where id = 'a1000000-0000-4000-8000-000000000001'$$),
  -- shop_invitations: admins see their shop's; every write goes through the functions
  ('shop_invitations', 'select', :'admin_up',
   $$select count(*) from public.shop_invitations where id = 'c1000000-0000-4000-8000-000000000001'$$),
  ('shop_invitations', 'insert', :'nobody',
   $$insert into public.shop_invitations (shop_id, role) values ('a1000000-0000-4000-8000-000000000001', 'admin')$$),
  ('shop_invitations', 'update', :'nobody',
   $$update public.shop_invitations set role = 'admin' where id = 'c1000000-0000-4000-8000-000000000001'$$),
  ('shop_invitations', 'delete', :'nobody',
   $$delete from public.shop_invitations where id = 'c1000000-0000-4000-8000-000000000001'$$),
  -- team_members: the target is the viewer's membership
  ('team_members', 'select', '{viewer,staff,admin,owner,platform_admin}',
   $$select count(*) from public.team_members where shop_id = 'a1000000-0000-4000-8000-000000000001' and user_id = 'b0000000-0000-4000-8000-000000000004'$$),
  ('team_members', 'insert', :'nobody',
   $$insert into public.team_members (shop_id, user_id, role) values ('a1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000007', 'staff')$$),
  ('team_members', 'update', :'admin_up',
   $$update public.team_members set role = 'staff' where shop_id = 'a1000000-0000-4000-8000-000000000001' and user_id = 'b0000000-0000-4000-8000-000000000004'$$),
  ('team_members', 'delete', :'admin_up',
   $$delete from public.team_members where shop_id = 'a1000000-0000-4000-8000-000000000001' and user_id = 'b0000000-0000-4000-8000-000000000004'$$),
  ('items', 'select', :'members',
   $$select count(*) from public.items where id = 'c0000000-0000-4000-8000-000000000001'$$),
  ('items', 'insert', :'staff_up',
   $$insert into public.items (shop_id, name, stock) values ('a1000000-0000-4000-8000-000000000001', 'New item', 3)$$),
  ('items', 'update', :'staff_up',
   $$update public.items set name = 'Renamed', price = 12.50 where id = 'c0000000-0000-4000-8000-000000000001'$$),
  ('items', 'delete', :'admin_up',
   $$delete from public.items where id = 'c0000000-0000-4000-8000-000000000001'$$),
  ('stock_history', 'select', :'members',
   $$select count(*) from public.stock_history where item_id = 'c0000000-0000-4000-8000-000000000002'$$),
  ('stock_history', 'insert', :'nobody',
   $$insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason) values ('a1000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000002', 1, 10, 11, 'manual')$$),
  ('stock_history', 'update', :'nobody',
   $$update public.stock_history set note = 'edited' where item_id = 'c0000000-0000-4000-8000-000000000002'$$),
  ('stock_history', 'delete', :'nobody',
   $$delete from public.stock_history where item_id = 'c0000000-0000-4000-8000-000000000002'$$),
  ('forms', 'select', :'members',
   $$select count(*) from public.forms where id = 'd0000000-0000-4000-8000-000000000001'$$),
  ('forms', 'insert', :'admin_up',
   $$insert into public.forms (shop_id, name, slug) values ('a1000000-0000-4000-8000-000000000001', 'New form', 'new-form')$$),
  ('forms', 'update', :'admin_up',
   $$update public.forms set name = 'Renamed' where id = 'd0000000-0000-4000-8000-000000000001'$$),
  ('forms', 'delete', :'admin_up',
   $$delete from public.forms where id = 'd0000000-0000-4000-8000-000000000001'$$),
  ('form_submissions', 'select', :'members',
   $$select count(*) from public.form_submissions where id = 'd0000000-0000-4000-8000-000000000005'$$),
  ('form_submissions', 'insert', :'staff_up',
   $$insert into public.form_submissions (shop_id, customer_name, total) values ('a1000000-0000-4000-8000-000000000001', 'Walk-in', 50)$$),
  ('form_submissions', 'update', :'staff_up',
   $$update public.form_submissions set status = 'confirmed' where id = 'd0000000-0000-4000-8000-000000000005'$$),
  ('form_submissions', 'delete', :'admin_up',
   $$delete from public.form_submissions where id = 'd0000000-0000-4000-8000-000000000005'$$),
  ('payment_methods', 'select', :'members',
   $$select count(*) from public.payment_methods where id = 'd0000000-0000-4000-8000-000000000002'$$),
  ('payment_methods', 'insert', :'admin_up',
   $$insert into public.payment_methods (shop_id, type, provider) values ('a1000000-0000-4000-8000-000000000001', 'mobile_wallet', 'bKash')$$),
  ('payment_methods', 'update', :'admin_up',
   $$update public.payment_methods set instructions = 'Pay on delivery' where id = 'd0000000-0000-4000-8000-000000000002'$$),
  ('payment_methods', 'delete', :'admin_up',
   $$delete from public.payment_methods where id = 'd0000000-0000-4000-8000-000000000002'$$),
  ('conversations', 'select', :'members',
   $$select count(*) from public.conversations where id = 'd0000000-0000-4000-8000-000000000003'$$),
  ('conversations', 'insert', :'staff_up',
   $$insert into public.conversations (shop_id, platform, external_id) values ('a1000000-0000-4000-8000-000000000001', 'whatsapp', 'thread-new')$$),
  ('conversations', 'update', :'staff_up',
   $$update public.conversations set status = 'closed' where id = 'd0000000-0000-4000-8000-000000000003'$$),
  ('conversations', 'delete', :'admin_up',
   $$delete from public.conversations where id = 'd0000000-0000-4000-8000-000000000003'$$),
  ('messages', 'select', :'members',
   $$select count(*) from public.messages where id = 'd0000000-0000-4000-8000-000000000004'$$),
  ('messages', 'insert', :'staff_up',
   $$insert into public.messages (conversation_id, shop_id, sender_type, content) values ('d0000000-0000-4000-8000-000000000003', 'a1000000-0000-4000-8000-000000000001', 'agent', 'On its way')$$),
  ('messages', 'update', :'staff_up',
   $$update public.messages set content = 'edited' where id = 'd0000000-0000-4000-8000-000000000004'$$),
  ('messages', 'delete', :'admin_up',
   $$delete from public.messages where id = 'd0000000-0000-4000-8000-000000000004'$$),
  ('keyword_replies', 'select', :'members',
   $$select count(*) from public.keyword_replies where id = 'd0000000-0000-4000-8000-000000000006'$$),
  ('keyword_replies', 'insert', :'admin_up',
   $$insert into public.keyword_replies (shop_id, keywords, reply) values ('a1000000-0000-4000-8000-000000000001', '{hours}', '9 to 5')$$),
  ('keyword_replies', 'update', :'admin_up',
   $$update public.keyword_replies set reply = 'changed' where id = 'd0000000-0000-4000-8000-000000000006'$$),
  ('keyword_replies', 'delete', :'admin_up',
   $$delete from public.keyword_replies where id = 'd0000000-0000-4000-8000-000000000006'$$),
  ('saved_replies', 'select', :'members',
   $$select count(*) from public.saved_replies where id = 'd0000000-0000-4000-8000-000000000007'$$),
  ('saved_replies', 'insert', :'admin_up',
   $$insert into public.saved_replies (shop_id, title, content) values ('a1000000-0000-4000-8000-000000000001', 'Hi', 'Hello!')$$),
  ('saved_replies', 'update', :'admin_up',
   $$update public.saved_replies set title = 'changed' where id = 'd0000000-0000-4000-8000-000000000007'$$),
  ('saved_replies', 'delete', :'admin_up',
   $$delete from public.saved_replies where id = 'd0000000-0000-4000-8000-000000000007'$$),
  ('daily_sales_metrics', 'select', :'members',
   $$select count(*) from public.daily_sales_metrics where shop_id = 'a1000000-0000-4000-8000-000000000001' and date = '2026-01-01'$$),
  ('daily_sales_metrics', 'insert', :'nobody',
   $$insert into public.daily_sales_metrics (shop_id, date) values ('a1000000-0000-4000-8000-000000000001', '2026-01-02')$$),
  ('daily_sales_metrics', 'update', :'nobody',
   $$update public.daily_sales_metrics set orders = 99 where shop_id = 'a1000000-0000-4000-8000-000000000001' and date = '2026-01-01'$$),
  ('daily_sales_metrics', 'delete', :'nobody',
   $$delete from public.daily_sales_metrics where shop_id = 'a1000000-0000-4000-8000-000000000001' and date = '2026-01-01'$$),
  ('product_analytics', 'select', :'members',
   $$select count(*) from public.product_analytics where item_id = 'c0000000-0000-4000-8000-000000000001'$$),
  ('product_analytics', 'insert', :'nobody',
   $$insert into public.product_analytics (shop_id, item_id, period_start, period_end) values ('a1000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', '2026-02-01', '2026-02-28')$$),
  ('product_analytics', 'update', :'nobody',
   $$update public.product_analytics set units_sold = 99 where item_id = 'c0000000-0000-4000-8000-000000000001'$$),
  ('product_analytics', 'delete', :'nobody',
   $$delete from public.product_analytics where item_id = 'c0000000-0000-4000-8000-000000000001'$$),
  ('platform_metrics', 'select', '{platform_admin}',
   $$select count(*) from public.platform_metrics where date = '2026-01-01'$$),
  ('platform_metrics', 'insert', :'nobody',
   $$insert into public.platform_metrics (date) values ('2026-01-02')$$),
  ('platform_metrics', 'update', :'nobody',
   $$update public.platform_metrics set gmv = 0 where date = '2026-01-01'$$),
  ('platform_metrics', 'delete', :'nobody',
   $$delete from public.platform_metrics where date = '2026-01-01'$$),
  ('backup_logs', 'select', '{platform_admin}',
   $$select count(*) from public.backup_logs where id = 'd0000000-0000-4000-8000-000000000008'$$),
  ('backup_logs', 'insert', :'nobody',
   $$insert into public.backup_logs (backup_type) values ('manual')$$),
  ('backup_logs', 'update', :'nobody',
   $$update public.backup_logs set status = 'failed' where id = 'd0000000-0000-4000-8000-000000000008'$$),
  ('backup_logs', 'delete', :'nobody',
   $$delete from public.backup_logs where id = 'd0000000-0000-4000-8000-000000000008'$$),
  ('recovery_snapshots', 'select', '{platform_admin}',
   $$select count(*) from public.recovery_snapshots where id = 'd0000000-0000-4000-8000-000000000009'$$),
  ('recovery_snapshots', 'insert', :'nobody',
   $$insert into public.recovery_snapshots (shop_id, snapshot_type, checksum, state_part_id, recent_part_id, history_part_id) values ('a1000000-0000-4000-8000-000000000001', 'manual', repeat('b', 64), 9001, 9001, 9001)$$),
  ('recovery_snapshots', 'update', :'nobody',
   $$update public.recovery_snapshots set checksum = repeat('b', 64) where id = 'd0000000-0000-4000-8000-000000000009'$$),
  ('recovery_snapshots', 'delete', :'nobody',
   $$delete from public.recovery_snapshots where id = 'd0000000-0000-4000-8000-000000000009'$$),
  ('recovery_snapshot_parts', 'select', '{platform_admin}',
   $$select count(*) from public.recovery_snapshot_parts where id = 9001$$),
  ('recovery_snapshot_parts', 'insert', :'nobody',
   $$insert into public.recovery_snapshot_parts (shop_id, checksum, data, size_bytes) values ('a1000000-0000-4000-8000-000000000001', repeat('d', 64), '{}', 2)$$),
  ('recovery_snapshot_parts', 'update', :'nobody',
   $$update public.recovery_snapshot_parts set data = '{"items": []}' where id = 9001$$),
  ('recovery_snapshot_parts', 'delete', :'nobody',
   $$delete from public.recovery_snapshot_parts where id = 9001$$),
  ('sync_status', 'select', :'members',
   $$select count(*) from public.sync_status where id = 'd0000000-0000-4000-8000-00000000000a'$$),
  ('sync_status', 'insert', :'staff_up',
   $$insert into public.sync_status (shop_id, resource) values ('a1000000-0000-4000-8000-000000000001', 'orders')$$),
  ('sync_status', 'update', :'staff_up',
   $$update public.sync_status set cursor = 'c2', status = 'running' where id = 'd0000000-0000-4000-8000-00000000000a'$$),
  ('sync_status', 'delete', :'admin_up',
   $$delete from public.sync_status where id = 'd0000000-0000-4000-8000-00000000000a'$$),
  ('social_integrations', 'select', :'members',
   $$select count(id) from public.social_integrations where id = 'd0000000-0000-4000-8000-00000000000b'$$),
  ('social_integrations', 'insert', :'admin_up',
   $$insert into public.social_integrations (shop_id, platform, account_id) values ('a1000000-0000-4000-8000-000000000001', 'tiktok', 'tt-1')$$),
  ('social_integrations', 'update', :'admin_up',
   $$update public.social_integrations set account_name = '@renamed' where id = 'd0000000-0000-4000-8000-00000000000b'$$),
  ('social_integrations', 'delete', :'admin_up',
   $$delete from public.social_integrations where id = 'd0000000-0000-4000-8000-00000000000b'$$),
  ('data_extensions', 'select', '{viewer,staff,admin,owner,platform_admin}',
   $$select count(*) from public.data_extensions where id = 'd0000000-0000-4000-8000-00000000000c'$$),
  ('data_extensions', 'insert', :'admin_up',
   $$insert into public.data_extensions (shop_id, kind, amount) values ('a1000000-0000-4000-8000-000000000001', 'ai_credits', 49)$$),
  ('data_extensions', 'update', '{platform_admin}',
   $$update public.data_extensions set status = 'active', starts_at = now() where id = 'd0000000-0000-4000-8000-00000000000c'$$),
  ('data_extensions', 'delete', :'nobody',
   $$delete from public.data_extensions where id = 'd0000000-0000-4000-8000-00000000000c'$$),
  ('subscription_events', 'select', '{owner,platform_admin}',
   $$select count(*) from public.subscription_events where shop_id = 'a1000000-0000-4000-8000-000000000001'$$),
  ('subscription_events', 'insert', :'nobody',
   $$insert into public.subscription_events (shop_id, kind, plan, status, billing_interval, previous_mrr, new_mrr) values ('a1000000-0000-4000-8000-000000000001', 'expansion', 'business', 'active', 'month', 29, 99)$$),
  ('subscription_events', 'update', :'nobody',
   $$update public.subscription_events set new_mrr = 0 where shop_id = 'a1000000-0000-4000-8000-000000000001'$$),
  ('subscription_events', 'delete', :'nobody',
   $$delete from public.subscription_events where shop_id = 'a1000000-0000-4000-8000-000000000001'$$),
  ('idempotency_keys', 'select', :'nobody',
   $$select count(*) from public.idempotency_keys where key = 'k1'$$),
  ('idempotency_keys', 'insert', :'nobody',
   $$insert into public.idempotency_keys (shop_id, key, action, request_hash) values ('a1000000-0000-4000-8000-000000000001', 'k2', 'update_stock', 'h')$$),
  ('idempotency_keys', 'update', :'nobody',
   $$update public.idempotency_keys set response = '{"forged": true}' where key = 'k1'$$),
  ('idempotency_keys', 'delete', :'nobody',
   $$delete from public.idempotency_keys where key = 'k1'$$);

-- The matrix covers every table of the schema, each with all four operations.
select is(
  (select array_agg(distinct tbl order by tbl) from matrix),
  (select array_agg(c.relname::text order by c.relname) from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'),
  'the matrix covers every public table');
select is((select count(*) from matrix), 96::bigint, '24 tables x 4 operations');

-- 92 rows x 7 callers = 644 cells.
select pg_temp.cell(m.tbl, m.op, a.actor, a.actor = any (m.allowed), m.sql)
from matrix m
cross join unnest(array['anon', 'outsider', 'viewer', 'staff', 'admin', 'owner', 'platform_admin'])
  with ordinality as a (actor, n)
order by m.ord, a.n;

-- ---------------------------------------------------------------------------
-- Escalations the matrix rows do not show
-- ---------------------------------------------------------------------------

select pg_temp.cell('team_members', 'insert', 'admin', false,
  $$insert into public.team_members (shop_id, user_id, role) values ('a1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000007', 'owner')$$)
  as "an admin cannot add an owner";
select pg_temp.cell('team_members', 'update', 'admin', false,
  $$update public.team_members set role = 'owner' where shop_id = 'a1000000-0000-4000-8000-000000000001' and user_id = 'b0000000-0000-4000-8000-000000000004'$$)
  as "an admin cannot promote to owner";
select pg_temp.cell('team_members', 'delete', 'admin', false,
  $$delete from public.team_members where shop_id = 'a1000000-0000-4000-8000-000000000001' and user_id = 'b0000000-0000-4000-8000-000000000001'$$)
  as "an admin cannot remove the owner";
select pg_temp.cell('team_members', 'update', 'viewer', false,
  $$update public.team_members set role = 'admin' where shop_id = 'a1000000-0000-4000-8000-000000000001' and user_id = 'b0000000-0000-4000-8000-000000000004'$$)
  as "a viewer cannot promote themselves";
select pg_temp.cell('team_members', 'insert', 'outsider', false,
  $$insert into public.team_members (shop_id, user_id, role) values ('a1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000005', 'owner')$$)
  as "an outsider cannot join a shop";
select is(pg_temp.attempt('owner', 'delete',
  $$delete from public.team_members where shop_id = 'a1000000-0000-4000-8000-000000000001' and user_id = 'b0000000-0000-4000-8000-000000000001'$$),
  'error:PT409 conflict', 'the owner cannot remove their own owner membership (the shop would be orphaned)');
select pg_temp.cell('shops', 'insert', 'outsider', false,
  $$insert into public.shops (owner_id, name, slug) values ('b0000000-0000-4000-8000-000000000001', 'Forged', 'forged-shop')$$)
  as "nobody creates a shop owned by someone else";
select pg_temp.cell('shops', 'update', 'owner', false,
  $$update public.shops set subscription_plan = 'business', subscription_amount = 0 where id = 'a1000000-0000-4000-8000-000000000001'$$)
  as "an owner cannot change their own subscription";
-- Items may name shop_id and stock in an update (an upsert sets every payload
-- column), so triggers refuse the change itself (018).
select is(pg_temp.attempt('admin', 'update',
  $$update public.items set shop_id = 'a2000000-0000-4000-8000-000000000002' where id = 'c0000000-0000-4000-8000-000000000001'$$),
  'error:PT409 conflict', 'rows cannot be moved to another shop');
select is(pg_temp.attempt('owner', 'update',
  $$update public.items set stock = 1000 where id = 'c0000000-0000-4000-8000-000000000001'$$),
  'error:PT409 conflict', 'stock cannot be written directly, even by the owner');
select pg_temp.cell('items', 'insert', 'owner', false,
  $$insert into public.items (shop_id, name) values ('a2000000-0000-4000-8000-000000000002', 'Planted')$$)
  as "an owner cannot insert into another shop";
select pg_temp.cell('data_extensions', 'insert', 'owner', false,
  $$insert into public.data_extensions (shop_id, kind, status) values ('a1000000-0000-4000-8000-000000000001', 'free_lunch', 'active')$$)
  as "a shop cannot grant itself an active extension";
-- The outsider passes RLS here (shop_id is their own shop); the composite
-- foreign key (conversation_id, shop_id) is what refuses it.
select matches(pg_temp.attempt('outsider', 'insert',
  $$insert into public.messages (conversation_id, shop_id, sender_type, content) values ('d0000000-0000-4000-8000-000000000003', 'a2000000-0000-4000-8000-000000000002', 'agent', 'spoof')$$),
  '^error:23503 ', 'a message cannot be attached to another shop''s conversation');

select * from finish();
rollback;
