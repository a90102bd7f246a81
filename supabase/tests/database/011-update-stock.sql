-- update_stock acting as real users: changes, set_to, compare-and-swap,
-- never negative, one history row per change, errors change nothing,
-- authorization (another shop's item is not_found, a viewer is forbidden),
-- idempotent replay.
begin;
select plan(33);

-- Fixture: shop A (owner, staff, viewer) and shop B (outsider) from
-- tests.create_two_shops (supabase/tests/helpers.sql), then items.
select tests.create_two_shops();
insert into public.items (id, shop_id, name, sku, price, cost, track_stock, stock) values
  ('00000000-0000-4000-a000-000000003001', '00000000-0000-4000-a000-000000002001', 'Blue mug', 'MUG', 12, 5, true, 10),
  ('00000000-0000-4000-a000-000000003003', '00000000-0000-4000-a000-000000002001', 'Gift wrap', null, 2, 0, false, null),
  ('00000000-0000-4000-a000-000000003101', '00000000-0000-4000-a000-000000002002', 'Shop B lamp', 'LAMP', 30, 10, true, 7);

create function pg_temp.mug_stock() returns integer language sql security definer as $$
  select stock from public.items where id = '00000000-0000-4000-a000-000000003001' $$;
-- Movements after the opening stock (its 'initial' row, see 016).
create function pg_temp.mug_history() returns bigint language sql security definer as $$
  select count(*) from public.stock_history
   where item_id = '00000000-0000-4000-a000-000000003001' and reason <> 'initial' $$;

-- ---- as staff --------------------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001002');

create temp table first_change as
  select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => -3, p_reason => 'sale',
                             p_note => 'counter sale') as r;

select is(
  (select r - 'history_id' from first_change),
  '{"item_id": "00000000-0000-4000-a000-000000003001", "previous_stock": 10, "new_stock": 7}'::jsonb,
  'staff: a change returns previous and new stock'
);
select is(pg_temp.mug_stock(), 7, 'the stock moved by the change');
select results_eq(
  $$select change, previous_stock, new_stock, reason, note, created_by
      from public.stock_history where id = (select (r ->> 'history_id')::bigint from first_change)$$,
  $$values (-3, 10, 7, 'sale'::text, 'counter sale'::text, '00000000-0000-4000-a000-000000001002'::uuid)$$,
  'exactly the history row the answer names, attributed to the caller'
);
select is(pg_temp.mug_history(), 1::bigint, 'one history row per change');

select is(
  public.update_stock('00000000-0000-4000-a000-000000003001', p_set_to => 20, p_reason => 'correction') - 'history_id',
  '{"item_id": "00000000-0000-4000-a000-000000003001", "previous_stock": 7, "new_stock": 20}'::jsonb,
  'set_to sets an absolute count'
);
select is(
  (select change from public.stock_history where item_id = '00000000-0000-4000-a000-000000003001'
    order by id desc limit 1),
  13,
  'set_to is recorded as the difference'
);
select is(
  public.update_stock('00000000-0000-4000-a000-000000003001', p_set_to => 20, p_reason => 'correction'),
  '{"item_id": "00000000-0000-4000-a000-000000003001", "previous_stock": 20, "new_stock": 20, "history_id": null}'::jsonb,
  'set_to equal to the stock is a confirmed count: no history row'
);
select is(pg_temp.mug_history(), 2::bigint, '... and the history has still two rows');

select is(
  public.update_stock('00000000-0000-4000-a000-000000003001', p_change => 5, p_reason => 'restock',
                      p_expected_stock => 20) ->> 'new_stock',
  '25',
  'compare-and-swap: the change applies when the stock is the expected one'
);

select is(
  tests.error_of($$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => -1,
                                                 p_reason => 'sale', p_expected_stock => 20)$$),
  jsonb_build_object('code', 'PT409', 'message', 'stale_stock',
    'detail', jsonb_build_object('item_id', '00000000-0000-4000-a000-000000003001', 'current_stock', 25, 'expected_stock', 20),
    'hint', 'Item ''Blue mug'' now has 25 in stock, not 20; reload and try again'),
  'compare-and-swap: a stale expected_stock is stale_stock with the current stock'
);
select is(pg_temp.mug_stock(), 25, 'stale_stock changed nothing');

select is(
  tests.error_of($$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => -26, p_reason => 'sale')$$),
  jsonb_build_object('code', 'PT409', 'message', 'insufficient_stock',
    'detail', jsonb_build_object('item_id', '00000000-0000-4000-a000-000000003001', 'available', 25, 'requested', 26),
    'hint', 'Item ''Blue mug'' has 25 in stock, 26 requested'),
  'a change below zero is insufficient_stock with available/requested and a hint naming the item'
);
select is(pg_temp.mug_stock(), 25, 'insufficient_stock left the stock unchanged');
select is(pg_temp.mug_history(), 3::bigint, '... and wrote no history row');

select is(
  public.update_stock('00000000-0000-4000-a000-000000003001', p_change => -25, p_reason => 'damage') ->> 'new_stock',
  '0',
  'stock can reach exactly zero'
);

select throws_ok($$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => 0)$$,
  'PT400', 'invalid_request', 'change 0 is invalid_request');
select throws_ok($$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => 1, p_set_to => 3)$$,
  'PT400', 'invalid_request', 'both change and set_to is invalid_request');
select throws_ok($$select public.update_stock('00000000-0000-4000-a000-000000003001')$$,
  'PT400', 'invalid_request', 'neither change nor set_to is invalid_request');
select throws_ok($$select public.update_stock('00000000-0000-4000-a000-000000003001', p_set_to => -1)$$,
  'PT400', 'invalid_request', 'a negative set_to is invalid_request');
select throws_ok($$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => 1, p_reason => 'gift')$$,
  'PT400', 'invalid_request', 'an unknown reason is invalid_request');
select throws_ok($$select public.update_stock('00000000-0000-4000-a000-000000003003', p_change => 1)$$,
  'PT400', 'invalid_request', 'an item that does not track stock is invalid_request');

select is(
  tests.error_of($$select public.update_stock('00000000-0000-4000-a000-000000003101', p_change => -1)$$)
    - 'hint',
  '{"code": "PT404", "message": "not_found", "detail": {"item_id": "00000000-0000-4000-a000-000000003101"}}'::jsonb,
  'another shop''s item is not_found, exactly like a missing one'
);
select throws_ok($$select public.update_stock('00000000-0000-4000-a000-00000000ffff', p_change => 1)$$,
  'PT404', 'not_found', 'a missing item is not_found');

select throws_ok($$update public.items set stock = 100 where id = '00000000-0000-4000-a000-000000003001'$$,
  'PT409', 'conflict', 'staff cannot write items.stock directly, only through update_stock');

-- Idempotency: a retried request applies once and answers the same.
create temp table keyed_first as
  select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => 4, p_reason => 'restock',
                             p_idempotency_key => 'retry-1') as r;
select is(
  public.update_stock('00000000-0000-4000-a000-000000003001', p_change => 4, p_reason => 'restock',
                      p_idempotency_key => 'retry-1'),
  (select r from keyed_first),
  'a replay with the same key returns the first response'
);
select is(pg_temp.mug_stock(), 4, 'the replay did not apply the change again');
select throws_ok(
  $$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => 5, p_reason => 'restock',
                               p_idempotency_key => 'retry-1')$$,
  'PT422', 'idempotency_conflict', 'the same key with another change is idempotency_conflict');

-- ---- as viewer ---------------------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001003');
select throws_ok($$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => 1)$$,
  'PT403', 'forbidden', 'a viewer may not change stock');
select is(pg_temp.mug_stock(), 4, 'the viewer''s attempt changed nothing');

-- ---- as the owner of shop B --------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001004');
select throws_ok($$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => -1)$$,
  'PT404', 'not_found', 'the owner of another shop gets not_found for shop A''s item');
select is(pg_temp.mug_stock(), 4, 'the other shop''s attempt changed nothing');

select tests.clear_authentication();
select ok(
  not has_function_privilege('anon', 'public.update_stock(uuid, integer, text, text, uuid, text, integer, integer)', 'execute')
  and has_function_privilege('authenticated', 'public.update_stock(uuid, integer, text, text, uuid, text, integer, integer)', 'execute'),
  'anon cannot call update_stock; authenticated can'
);
select is(
  (select prosecdef and proconfig @> array['search_path=""']
     from pg_proc where oid = 'public.update_stock(uuid, integer, text, text, uuid, text, integer, integer)'::regprocedure),
  true,
  'update_stock is security definer with an empty search_path'
);

select * from finish();
rollback;
