-- process_order_stock_changes: lines of one item are summed, all or
-- nothing when one item is short, one sale history row per item, a second
-- call is a no-op that says so, other shops' items are never touched,
-- authorization and idempotent replay.
begin;
select plan(26);

-- Shop A (owner, staff, viewer) and shop B (outsider): supabase/tests/helpers.sql.
select tests.create_two_shops();
insert into public.items (id, shop_id, name, price, track_stock, stock) values
  ('00000000-0000-4000-a000-000000003001', '00000000-0000-4000-a000-000000002001', 'Blue mug', 12, true, 10),
  ('00000000-0000-4000-a000-000000003002', '00000000-0000-4000-a000-000000002001', 'T-shirt', 20, true, 3),
  ('00000000-0000-4000-a000-000000003003', '00000000-0000-4000-a000-000000002001', 'Gift wrap', 2, false, null),
  ('00000000-0000-4000-a000-000000003101', '00000000-0000-4000-a000-000000002002', 'Shop B lamp', 30, true, 7);

-- Orders of shop A (and one whose line points at shop B's item).
insert into public.form_submissions (id, shop_id, status, line_items) values
  ('00000000-0000-4000-a000-000000004001', '00000000-0000-4000-a000-000000002001', 'confirmed',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 2, "unit_price": 12},
     {"item_id": "00000000-0000-4000-a000-000000003002", "quantity": 1, "unit_price": 20},
     {"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 3, "unit_price": 12},
     {"item_id": "00000000-0000-4000-a000-000000003003", "quantity": 1, "unit_price": 2}]'),
  -- mug fits, T-shirt (2 left after the first order) does not
  ('00000000-0000-4000-a000-000000004002', '00000000-0000-4000-a000-000000002001', 'confirmed',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 1},
     {"item_id": "00000000-0000-4000-a000-000000003002", "quantity": 5}]'),
  -- each line fits the 2 T-shirts left, together they do not (Medusa #16502)
  ('00000000-0000-4000-a000-000000004003', '00000000-0000-4000-a000-000000002001', 'pending',
   '[{"item_id": "00000000-0000-4000-a000-000000003002", "quantity": 2},
     {"item_id": "00000000-0000-4000-a000-000000003002", "quantity": 1}]'),
  ('00000000-0000-4000-a000-000000004004', '00000000-0000-4000-a000-000000002001', 'confirmed',
   '[{"item_id": "00000000-0000-4000-a000-000000003101", "quantity": 1}]'),
  ('00000000-0000-4000-a000-000000004005', '00000000-0000-4000-a000-000000002001', 'cancelled',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 1}]'),
  ('00000000-0000-4000-a000-000000004006', '00000000-0000-4000-a000-000000002001', 'confirmed',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": -1}]'),
  ('00000000-0000-4000-a000-000000004007', '00000000-0000-4000-a000-000000002001', 'confirmed',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 1}]');

-- Stock of every item, read past RLS, to compare before and after.
create function pg_temp.stocks() returns jsonb language sql security definer as $$
  select jsonb_object_agg(name, stock) from public.items
   where id in ('00000000-0000-4000-a000-000000003001', '00000000-0000-4000-a000-000000003002',
                '00000000-0000-4000-a000-000000003101') $$;
-- Movements after the opening stock ('initial' rows, see 016).
create function pg_temp.history_count() returns bigint language sql security definer as $$
  select count(*) from public.stock_history
   where shop_id = '00000000-0000-4000-a000-000000002001' and reason <> 'initial' $$;
create function pg_temp.deducted_at(p_order uuid) returns timestamptz language sql security definer as $$
  select stock_deducted_at from public.form_submissions where id = p_order $$;

select tests.authenticate_as('00000000-0000-4000-a000-000000001002');

select is(
  public.process_order_stock_changes('00000000-0000-4000-a000-000000004001'),
  '{"order_id": "00000000-0000-4000-a000-000000004001", "already_processed": false,
    "items": [{"item_id": "00000000-0000-4000-a000-000000003001", "previous_stock": 10, "new_stock": 5},
              {"item_id": "00000000-0000-4000-a000-000000003002", "previous_stock": 3, "new_stock": 2}]}'::jsonb,
  'staff: the order is deducted, the two mug lines as one change of 5, the untracked service skipped'
);
select is(pg_temp.stocks(), '{"Blue mug": 5, "T-shirt": 2, "Shop B lamp": 7}'::jsonb, 'stock moved by the order');
select results_eq(
  $$select item_id, change, previous_stock, new_stock, reason from public.stock_history
     where reference_id = '00000000-0000-4000-a000-000000004001' order by item_id$$,
  $$values ('00000000-0000-4000-a000-000000003001'::uuid, -5, 10, 5, 'sale'::text),
           ('00000000-0000-4000-a000-000000003002'::uuid, -1, 3, 2, 'sale'::text)$$,
  'one sale history row per item, referencing the order'
);
select isnt(pg_temp.deducted_at('00000000-0000-4000-a000-000000004001'), null, 'stock_deducted_at is set');

select is(
  public.process_order_stock_changes('00000000-0000-4000-a000-000000004001'),
  '{"order_id": "00000000-0000-4000-a000-000000004001", "already_processed": true, "items": []}'::jsonb,
  'a second call says already_processed'
);
select is(pg_temp.stocks(), '{"Blue mug": 5, "T-shirt": 2, "Shop B lamp": 7}'::jsonb, '... and deducts nothing');
select is(pg_temp.history_count(), 2::bigint, '... and writes no history');

select is(
  tests.error_of($$select public.process_order_stock_changes('00000000-0000-4000-a000-000000004002')$$),
  jsonb_build_object('code', 'PT409', 'message', 'insufficient_stock',
    'detail', jsonb_build_object('order_id', '00000000-0000-4000-a000-000000004002',
      'item_id', '00000000-0000-4000-a000-000000003002', 'available', 2, 'requested', 5,
      'shortfalls', jsonb_build_array(jsonb_build_object('item_id', '00000000-0000-4000-a000-000000003002',
        'name', 'T-shirt', 'available', 2, 'requested', 5))),
    'hint', 'Item ''T-shirt'' has 2 in stock, 5 requested'),
  'one short line: insufficient_stock naming the short item'
);
select is(pg_temp.stocks(), '{"Blue mug": 5, "T-shirt": 2, "Shop B lamp": 7}'::jsonb,
  'all or nothing: the mug line that fitted was not deducted either');
select is(pg_temp.history_count(), 2::bigint, '... no history row was written');
select is(pg_temp.deducted_at('00000000-0000-4000-a000-000000004002'), null, '... and the order is not marked deducted');

select is(
  (tests.error_of($$select public.process_order_stock_changes('00000000-0000-4000-a000-000000004003')$$)
    -> 'detail') - array['shortfalls', 'order_id'],
  '{"item_id": "00000000-0000-4000-a000-000000003002", "available": 2, "requested": 3}'::jsonb,
  'two lines of one item that each fit but together do not are refused (summed first)'
);
select is(pg_temp.stocks() ->> 'T-shirt', '2', '... and nothing was deducted');

select throws_ok($$select public.process_order_stock_changes('00000000-0000-4000-a000-000000004004')$$,
  'PT400', 'invalid_request', 'a line pointing at another shop''s item is invalid_request');
select is(pg_temp.stocks() ->> 'Shop B lamp', '7', '... and the other shop''s stock is untouched');

select throws_ok($$select public.process_order_stock_changes('00000000-0000-4000-a000-000000004005')$$,
  'PT409', 'conflict', 'a cancelled order cannot be deducted');
select throws_ok($$select public.process_order_stock_changes('00000000-0000-4000-a000-000000004006')$$,
  'PT400', 'invalid_request', 'a non-positive quantity is invalid_request');
select throws_ok($$select public.process_order_stock_changes('00000000-0000-4000-a000-00000000ffff')$$,
  'PT404', 'not_found', 'a missing order is not_found');

-- Idempotent replay: the stored first answer, applied once.
create temp table keyed_first as
  select public.process_order_stock_changes('00000000-0000-4000-a000-000000004007', 'order-7') as r;
select is(
  public.process_order_stock_changes('00000000-0000-4000-a000-000000004007', 'order-7'),
  (select r from keyed_first),
  'a replay with the same key returns the first answer (not the already_processed one)'
);
select is(pg_temp.stocks() ->> 'Blue mug', '4', '... and deducted once');
select throws_ok($$select public.process_order_stock_changes('00000000-0000-4000-a000-000000004002', 'order-7')$$,
  'PT422', 'idempotency_conflict', 'the key reused for another order is idempotency_conflict');
select throws_ok($$select public.restore_order_stock('00000000-0000-4000-a000-000000004007', 'order-7')$$,
  'PT422', 'idempotency_conflict', 'the key reused for another function is idempotency_conflict');

-- The key is stored under the SQL function's own name (not the edge action).
select tests.clear_authentication();
select is((select action from public.idempotency_keys where key = 'order-7'), 'process_order_stock_changes',
  'the stored action is the SQL function name');

select tests.authenticate_as('00000000-0000-4000-a000-000000001003');
select throws_ok($$select public.process_order_stock_changes('00000000-0000-4000-a000-000000004003')$$,
  'PT403', 'forbidden', 'a viewer may not process an order');

select tests.authenticate_as('00000000-0000-4000-a000-000000001004');
select throws_ok($$select public.process_order_stock_changes('00000000-0000-4000-a000-000000004003')$$,
  'PT404', 'not_found', 'another shop''s owner gets not_found for shop A''s order');
select is(pg_temp.stocks(), '{"Blue mug": 4, "T-shirt": 2, "Shop B lamp": 7}'::jsonb,
  'the refused callers changed nothing');

select * from finish();
rollback;
