-- 018: the catalog written as PostgREST writes an upsert
-- (supabase.from('items').upsert(rows, { onConflict: 'shop_id,sku' })):
--   insert ... on conflict (shop_id, sku) do update set <every payload column> = excluded.<column>
-- Staff and above of the shop may; a viewer, another shop's member and a
-- row aimed at another shop may not. An item never moves to another shop or
-- changes its id, and its stock never changes outside the stock functions,
-- whoever asks (PT409 conflict naming the column); a new item's opening
-- stock is its 'initial' history row.
begin;
select plan(27);

select tests.create_two_shops();
-- ...1005: admin of shop A; ...1006: staff of both A and B, so that RLS allows
-- them both shops and only the key guard can refuse a move.
insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-000000001005', 'h18-admin@test.local'),
  ('00000000-0000-4000-a000-000000001006', 'h18-both@test.local');
insert into public.team_members (shop_id, user_id, role) values
  ('00000000-0000-4000-a000-000000002001', '00000000-0000-4000-a000-000000001005', 'admin'),
  ('00000000-0000-4000-a000-000000002001', '00000000-0000-4000-a000-000000001006', 'staff'),
  ('00000000-0000-4000-a000-000000002002', '00000000-0000-4000-a000-000000001006', 'staff');

-- The statement PostgREST (and the local gateway) sends for an upsert of
-- p_rows (a JSON array of {shop_id, sku, name, price, stock}).
create function pg_temp.upsert_sql(p_rows jsonb) returns text language sql as $$
  select format(
    'insert into public.items as pgrst_target (shop_id, sku, name, price, stock) '
    'select shop_id, sku, name, price, stock from json_populate_recordset(null::public.items, %L::json) '
    'on conflict (shop_id, sku) do update set shop_id = excluded.shop_id, sku = excluded.sku, '
    'name = excluded.name, price = excluded.price, stock = excluded.stock', p_rows) $$;
create function pg_temp.row_of(p_shop uuid, p_sku text) returns jsonb language sql security definer as $$
  select jsonb_build_object('id', i.id, 'name', i.name, 'price', i.price, 'stock', i.stock)
    from public.items i where i.shop_id = p_shop and i.sku = p_sku $$;
create function pg_temp.history(p_shop uuid, p_sku text) returns text language sql security definer as $$
  select string_agg(format('%s:%s', h.reason, h.change), ' ' order by h.id)
    from public.stock_history h join public.items i on i.id = h.item_id
   where i.shop_id = p_shop and i.sku = p_sku $$;
create function pg_temp.count_in(p_shop uuid) returns bigint language sql security definer as $$
  select count(*) from public.items where shop_id = p_shop $$;

\set shop_a '00000000-0000-4000-a000-000000002001'
\set shop_b '00000000-0000-4000-a000-000000002002'

-- ---- staff create and update by (shop_id, sku) -------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001002');
select lives_ok(pg_temp.upsert_sql(jsonb_build_array(
  jsonb_build_object('shop_id', :'shop_a', 'sku', 'MUG-1', 'name', 'Blue mug', 'price', 12, 'stock', 5),
  jsonb_build_object('shop_id', :'shop_a', 'sku', 'MUG-2', 'name', 'Clay mug', 'price', 9, 'stock', 0))),
  'staff upsert two new items into their shop');
select tests.clear_authentication();
select is(pg_temp.history(:'shop_a', 'MUG-1'), 'initial:5', 'the opening stock of 5 is an ''initial'' history row');
select is(pg_temp.history(:'shop_a', 'MUG-2'), null, 'an opening stock of 0 has no row');
select is((select h.created_by from public.stock_history h join public.items i on i.id = h.item_id
            where i.sku = 'MUG-1'), '00000000-0000-4000-a000-000000001002'::uuid,
  '... credited to the staff member');

create temporary table before_update as select pg_temp.row_of(:'shop_a', 'MUG-1') as mug;
select tests.authenticate_as('00000000-0000-4000-a000-000000001002');
select lives_ok(pg_temp.upsert_sql(jsonb_build_array(
  jsonb_build_object('shop_id', :'shop_a', 'sku', 'MUG-1', 'name', 'Blue mug, large', 'price', 14, 'stock', 5),
  jsonb_build_object('shop_id', :'shop_a', 'sku', 'MUG-3', 'name', 'Green mug', 'price', 11, 'stock', 2))),
  'the same upsert again, with a new name and price and the stock it already has, plus a new sku');
select tests.clear_authentication();
select is(pg_temp.row_of(:'shop_a', 'MUG-1'),
  (select mug || '{"name": "Blue mug, large", "price": 14.00}' from before_update),
  'the existing item was updated in place: same id, new name and price, same stock');
select is(pg_temp.count_in(:'shop_a'), 3::bigint, 'MUG-1 was not duplicated: three items');
select is(pg_temp.history(:'shop_a', 'MUG-1'), 'initial:5', 'repeating the stock wrote no history');

select tests.authenticate_as('00000000-0000-4000-a000-000000001005');
select lives_ok(pg_temp.upsert_sql(jsonb_build_array(
  jsonb_build_object('shop_id', :'shop_a', 'sku', 'MUG-2', 'name', 'Clay mug', 'price', 10, 'stock', 0))),
  'an admin upserts too');
select tests.authenticate_as('00000000-0000-4000-a000-000000001001');
select lives_ok(pg_temp.upsert_sql(jsonb_build_array(
  jsonb_build_object('shop_id', :'shop_a', 'sku', 'MUG-2', 'name', 'Clay mug', 'price', 11, 'stock', 0))),
  'and the owner');

-- ---- who may not -------------------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001003');
select throws_ok(pg_temp.upsert_sql(jsonb_build_array(
  jsonb_build_object('shop_id', :'shop_a', 'sku', 'MUG-1', 'name', 'Viewer was here', 'price', 1, 'stock', 5))),
  '42501', null, 'a viewer cannot upsert');
select tests.authenticate_as('00000000-0000-4000-a000-000000001002');
select throws_ok(pg_temp.upsert_sql(jsonb_build_array(
  jsonb_build_object('shop_id', :'shop_b', 'sku', 'PLANT-1', 'name', 'Planted', 'price', 1, 'stock', 0))),
  '42501', null, 'staff of shop A cannot upsert into shop B');
select tests.authenticate_as('00000000-0000-4000-a000-000000001004');
select throws_ok(pg_temp.upsert_sql(jsonb_build_array(
  jsonb_build_object('shop_id', :'shop_a', 'sku', 'MUG-1', 'name', 'Hijacked', 'price', 0, 'stock', 5))),
  '42501', null, 'another shop''s owner cannot overwrite shop A''s item by its sku');
select tests.authenticate_as_anon();
select throws_ok(pg_temp.upsert_sql(jsonb_build_array(
  jsonb_build_object('shop_id', :'shop_a', 'sku', 'MUG-9', 'name', 'Anon', 'price', 0, 'stock', 0))),
  '42501', null, 'anon cannot upsert');
select tests.clear_authentication();
select is((pg_temp.row_of(:'shop_a', 'MUG-1')) ->> 'name', 'Blue mug, large', 'the refused upserts changed nothing');
select is(pg_temp.count_in(:'shop_b'), 0::bigint, 'and planted nothing in shop B');

-- ---- stock changes only through the stock functions ----------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001002');
select is(tests.error_of(pg_temp.upsert_sql(jsonb_build_array(
  jsonb_build_object('shop_id', :'shop_a', 'sku', 'MUG-1', 'name', 'Blue mug, large', 'price', 14, 'stock', 50)))),
  jsonb_build_object('code', 'PT409', 'message', 'conflict',
    'detail', jsonb_build_object('table', 'items', 'column', 'stock', 'item_id', (pg_temp.row_of(:'shop_a', 'MUG-1')) ->> 'id'),
    'hint', 'Stock changes only through update_stock or the order functions, which record stock_history'),
  'an upsert changing the stock of an existing item: PT409 conflict naming the column');
select is(tests.error_of(format($$update public.items set stock = 50 where id = %L$$,
                                (pg_temp.row_of(:'shop_a', 'MUG-1')) ->> 'id')) ->> 'message',
  'conflict', 'so is a plain update of the stock');
select is((pg_temp.row_of(:'shop_a', 'MUG-1')) ->> 'stock', '5', 'the stock is still 5');

-- ---- an item never changes shop or id -----------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001006');
select is(tests.error_of(format($$update public.items set shop_id = %L where id = %L$$,
                                :'shop_b', (pg_temp.row_of(:'shop_a', 'MUG-3')) ->> 'id')),
  jsonb_build_object('code', 'PT409', 'message', 'conflict',
    'detail', jsonb_build_object('table', 'items', 'column', 'shop_id', 'item_id', (pg_temp.row_of(:'shop_a', 'MUG-3')) ->> 'id'),
    'hint', 'An item never moves to another shop; create it in the other shop instead'),
  'staff of both shops cannot move an item from A to B: PT409 conflict naming shop_id');
select is(tests.error_of(format(
  $$insert into public.items as pgrst_target (id, shop_id, sku, name) values (%L, %L, 'MUG-3', 'Green mug')
    on conflict (id) do update set id = excluded.id, shop_id = excluded.shop_id, sku = excluded.sku, name = excluded.name$$,
  (pg_temp.row_of(:'shop_a', 'MUG-3')) ->> 'id', :'shop_b')) ->> 'message',
  'conflict', 'nor by an upsert on the primary key naming the other shop');
select is(tests.error_of(format($$update public.items set id = gen_random_uuid() where id = %L$$,
                                (pg_temp.row_of(:'shop_a', 'MUG-3')) ->> 'id')) -> 'detail' ->> 'column',
  'id', 'an item''s id never changes');
select tests.authenticate_as_service_role();
select is(tests.error_of(format($$update public.items set shop_id = %L where id = %L$$,
                                :'shop_b', (pg_temp.row_of(:'shop_a', 'MUG-3')) ->> 'id')) ->> 'message',
  'conflict', 'service_role cannot move an item either');
select tests.clear_authentication();
select is(pg_temp.count_in(:'shop_b'), 0::bigint, 'shop B still has no item');

-- ---- items without a sku -------------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001002');
select lives_ok(pg_temp.upsert_sql(jsonb_build_array(
  jsonb_build_object('shop_id', :'shop_a', 'name', 'Gift wrapping', 'price', 2, 'stock', 0))),
  'an upsert of a row without a sku');
select lives_ok(pg_temp.upsert_sql(jsonb_build_array(
  jsonb_build_object('shop_id', :'shop_a', 'name', 'Gift wrapping', 'price', 2, 'stock', 0))),
  'the same row again');
select tests.clear_authentication();
select is((select count(*) from public.items where shop_id = :'shop_a' and name = 'Gift wrapping'), 2::bigint,
  'a row without a sku never matches an existing item: each upsert inserts one');

select * from finish();
rollback;
