-- 016: stock never changes without a stock_history row, whoever asks. The
-- opening stock of an item is an 'initial' row (dated its created_at); turning
-- tracking off records the stock leaving, turning it on records the new
-- count; a direct update of items.stock is refused for every role (owner,
-- service_role, the database owner), and the stock functions still work. At
-- every step the stock equals the sum of the item's history.
begin;
select plan(16);

select tests.create_two_shops();

-- Stock equals the end of the item's history chain (read past RLS).
create function pg_temp.consistent(p_item uuid) returns boolean language sql security definer as $$
  select coalesce(i.stock, 0) = coalesce((select sum(h.change) from public.stock_history h where h.item_id = i.id), 0)
    from public.items i where i.id = p_item $$;
create function pg_temp.history(p_item uuid) returns text language sql security definer as $$
  select string_agg(format('%s:%s', h.reason, h.change), ' ' order by h.id)
    from public.stock_history h where h.item_id = p_item $$;

-- ---- opening stock ----------------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001001');
insert into public.items (id, shop_id, name, stock) values
  ('00000000-0000-4000-a000-000000003001', '00000000-0000-4000-a000-000000002001', 'Mug', 4),
  ('00000000-0000-4000-a000-000000003002', '00000000-0000-4000-a000-000000002001', 'Empty', 0);
select is(pg_temp.history('00000000-0000-4000-a000-000000003001'), 'initial:4',
  'an item created with 4 in stock has one ''initial'' row of 4');
select is((select created_by from public.stock_history where item_id = '00000000-0000-4000-a000-000000003001'),
  '00000000-0000-4000-a000-000000001001'::uuid, '... credited to the user who created it');
select is(pg_temp.history('00000000-0000-4000-a000-000000003002'), null,
  'an item created with 0 has no history row');

-- ---- direct writes, every role ------------------------------------------------
select throws_ok(
  $$update public.items set stock = 40 where id = '00000000-0000-4000-a000-000000003001'$$,
  'PT409', 'conflict', 'owner: a direct stock update is refused');
select tests.authenticate_as_service_role();
select throws_ok(
  $$update public.items set stock = 40 where id = '00000000-0000-4000-a000-000000003001'$$,
  'PT409', 'conflict', 'service_role: a direct stock update is refused');
select tests.clear_authentication();
select throws_ok(
  $$update public.items set stock = 40 where id = '00000000-0000-4000-a000-000000003001'$$,
  'PT409', 'conflict', 'the database owner: refused too');
select tests.authenticate_as_service_role();
select throws_ok(
  $$select private.begin_stock_write()$$,
  '42501', null, 'service_role cannot mark its transaction as a stock function''s');
select tests.clear_authentication();
select is((select stock from public.items where id = '00000000-0000-4000-a000-000000003001'), 4, 'the stock is still 4');

-- ---- the stock functions still move it, with history --------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001002');
select is(public.update_stock('00000000-0000-4000-a000-000000003001', p_change => -1, p_reason => 'sale') ->> 'new_stock',
  '3', 'update_stock still changes the stock');
select tests.clear_authentication();
select throws_ok(
  $$update public.items set stock = 40 where id = '00000000-0000-4000-a000-000000003001'$$,
  'PT409', 'conflict', 'after update_stock in the same transaction, a direct update is refused again');

-- ---- tracking off and on --------------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001001');
update public.items set track_stock = false where id = '00000000-0000-4000-a000-000000003001';
select is(pg_temp.history('00000000-0000-4000-a000-000000003001'), 'initial:4 sale:-1 correction:-3',
  'turning tracking off records the 3 units leaving the count');
update public.items set track_stock = true where id = '00000000-0000-4000-a000-000000003001';
select is(pg_temp.history('00000000-0000-4000-a000-000000003001'), 'initial:4 sale:-1 correction:-3',
  'turning it on again starts at 0, nothing to record');
select ok(pg_temp.consistent('00000000-0000-4000-a000-000000003001'), 'stock = sum of history');

select tests.authenticate_as_service_role();
update public.items set track_stock = false where id = '00000000-0000-4000-a000-000000003002';
update public.items set track_stock = true, stock = 7 where id = '00000000-0000-4000-a000-000000003002';
select tests.clear_authentication();
select is(pg_temp.history('00000000-0000-4000-a000-000000003002'), 'initial:7',
  'service_role turning tracking on with a count records it as opening stock');
select ok(pg_temp.consistent('00000000-0000-4000-a000-000000003002'), 'stock = sum of history');

-- The seed's items too: every tracked item's stock is the sum of its history.
select is(
  (select count(*) from public.items i
    where i.track_stock
      and i.stock <> coalesce((select sum(h.change) from public.stock_history h where h.item_id = i.id), 0)),
  0::bigint, 'no tracked item in the database has stock its history does not explain');

select * from finish();
rollback;
