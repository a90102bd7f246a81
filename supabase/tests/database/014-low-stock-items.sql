-- get_low_stock_items: threshold precedence (argument, else the item's,
-- else the shop default), only tracked active items of the caller's shop,
-- any member may read, non-members get not_found.
begin;
select plan(9);

-- Shop A (owner, staff, viewer) and shop B (outsider): supabase/tests/helpers.sql.
select tests.create_two_shops();
update public.shops set default_low_stock_threshold = 5
 where id in ('00000000-0000-4000-a000-000000002001', '00000000-0000-4000-a000-000000002002');
insert into public.items (id, shop_id, name, sku, track_stock, stock, low_stock_threshold, is_active) values
  -- no own threshold: the shop default 5 applies -> low
  ('00000000-0000-4000-a000-000000003001', '00000000-0000-4000-a000-000000002001', 'Shop default', 'A1', true, 4, null, true),
  -- own threshold 2 wins over the shop default -> not low
  ('00000000-0000-4000-a000-000000003002', '00000000-0000-4000-a000-000000002001', 'Own lower', 'A2', true, 4, 2, true),
  -- own threshold 10 wins over the shop default -> low
  ('00000000-0000-4000-a000-000000003003', '00000000-0000-4000-a000-000000002001', 'Own higher', 'A3', true, 8, 10, true),
  ('00000000-0000-4000-a000-000000003004', '00000000-0000-4000-a000-000000002001', 'Inactive', 'A4', true, 0, null, false),
  ('00000000-0000-4000-a000-000000003005', '00000000-0000-4000-a000-000000002001', 'Service', null, false, null, null, true),
  ('00000000-0000-4000-a000-000000003101', '00000000-0000-4000-a000-000000002002', 'Shop B empty', 'B1', true, 0, null, true);

select tests.authenticate_as('00000000-0000-4000-a000-000000001003');

select is(
  public.get_low_stock_items('00000000-0000-4000-a000-000000002001'),
  '{"items": [
     {"id": "00000000-0000-4000-a000-000000003001", "name": "Shop default", "sku": "A1", "stock": 4, "threshold": 5},
     {"id": "00000000-0000-4000-a000-000000003003", "name": "Own higher", "sku": "A3", "stock": 8, "threshold": 10}]}'::jsonb,
  'no argument: the item''s threshold, else the shop default; inactive and untracked items left out'
);

select is(
  public.get_low_stock_items('00000000-0000-4000-a000-000000002001', 4),
  '{"items": [
     {"id": "00000000-0000-4000-a000-000000003002", "name": "Own lower", "sku": "A2", "stock": 4, "threshold": 4},
     {"id": "00000000-0000-4000-a000-000000003001", "name": "Shop default", "sku": "A1", "stock": 4, "threshold": 4}]}'::jsonb,
  'an argument overrides every item''s threshold (stock <= threshold, lowest first)'
);

select is(
  public.get_low_stock_items('00000000-0000-4000-a000-000000002001', 0),
  '{"items": []}'::jsonb,
  'threshold 0 lists only empty active items (here none)'
);

select is(
  jsonb_array_length(public.get_low_stock_items('00000000-0000-4000-a000-000000002001', 1000) -> 'items'),
  3,
  'never another shop''s items'
);

select throws_ok($$select public.get_low_stock_items('00000000-0000-4000-a000-000000002001', -1)$$,
  'PT400', 'invalid_request', 'a negative threshold is invalid_request');

select throws_ok($$select public.get_low_stock_items('00000000-0000-4000-a000-000000002002')$$,
  'PT404', 'not_found', 'a shop the caller is not a member of is not_found');

select throws_ok($$select public.get_low_stock_items('00000000-0000-4000-a000-00000000ffff')$$,
  'PT404', 'not_found', 'a missing shop is not_found');

select tests.authenticate_as_service_role();
select is(
  jsonb_array_length(public.get_low_stock_items('00000000-0000-4000-a000-000000002002') -> 'items'),
  1,
  'a trusted caller (service_role) may read any shop'
);

select is(
  (select provolatile from pg_proc where oid = 'public.get_low_stock_items(uuid, integer)'::regprocedure),
  's'::"char",
  'get_low_stock_items is stable (PostgREST runs it read-only)'
);

select * from finish();
rollback;
