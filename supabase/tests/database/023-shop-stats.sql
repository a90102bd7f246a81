-- get_shop_stats: one summary in the shop's local time: items and low
-- stock, orders and revenue today and this month, open conversations.
begin;
select plan(6);

-- Shop A (owner, staff, viewer) and shop B (outsider): supabase/tests/helpers.sql.
select tests.create_two_shops();
update public.shops set timezone = 'Pacific/Auckland', default_low_stock_threshold = 5
 where id = '00000000-0000-4000-a000-000000002001';
update public.shops set timezone = 'UTC', default_low_stock_threshold = 5
 where id = '00000000-0000-4000-a000-000000002002';
insert into public.items (shop_id, name, track_stock, stock, low_stock_threshold, is_active) values
  ('00000000-0000-4000-a000-000000002001', 'Low by shop default', true, 3, null, true),
  ('00000000-0000-4000-a000-000000002001', 'Empty', true, 0, null, true),
  ('00000000-0000-4000-a000-000000002001', 'Fine', true, 50, null, true),
  ('00000000-0000-4000-a000-000000002001', 'Service', false, null, null, true),
  ('00000000-0000-4000-a000-000000002001', 'Retired', true, 0, null, false),
  ('00000000-0000-4000-a000-000000002002', 'Shop B item', true, 0, null, true);

-- Today and yesterday in Auckland, whatever the time of day the test runs.
insert into public.form_submissions (shop_id, status, submitted_at, subtotal, discount) values
  ('00000000-0000-4000-a000-000000002001', 'completed',
   ((now() at time zone 'Pacific/Auckland')::date::timestamp at time zone 'Pacific/Auckland') + interval '1 minute', 100, 10),
  ('00000000-0000-4000-a000-000000002001', 'pending', now(), 40, 0),
  ('00000000-0000-4000-a000-000000002001', 'cancelled', now(), 70, 0),
  ('00000000-0000-4000-a000-000000002001', 'delivered',
   ((now() at time zone 'Pacific/Auckland')::date::timestamp at time zone 'Pacific/Auckland') - interval '1 minute', 20, 0),
  ('00000000-0000-4000-a000-000000002002', 'completed', now(), 999, 0);
insert into public.conversations (shop_id, platform, external_id, status) values
  ('00000000-0000-4000-a000-000000002001', 'messenger', 'c1', 'open'),
  ('00000000-0000-4000-a000-000000002001', 'messenger', 'c2', 'closed'),
  ('00000000-0000-4000-a000-000000002002', 'messenger', 'c3', 'open');

select tests.authenticate_as('00000000-0000-4000-a000-000000001003');

create temp table stats as select public.get_shop_stats('00000000-0000-4000-a000-000000002001') as r;

select is(
  (select r -> 'items' from stats),
  '{"total": 5, "active": 4, "tracked": 3, "low_stock": 2, "out_of_stock": 1}'::jsonb,
  'items: low stock by the shop default, inactive items not counted as low'
);
select is(
  (select r -> 'orders' -> 'today' from stats),
  '{"orders": 3, "revenue": 90}'::jsonb,
  'today in Auckland: the orders since local midnight; revenue = completed/delivered net of discounts'
);
select is(
  (select r ->> 'local_date' from stats),
  (now() at time zone 'Pacific/Auckland')::date::text,
  'the summary says which local date "today" is'
);
select is(
  (select r -> 'open_conversations' from stats),
  '1'::jsonb,
  'open conversations of this shop only'
);
-- The order a minute before local midnight is this month's unless today is the 1st.
select is(
  (select r -> 'orders' -> 'month' from stats),
  case when extract(day from now() at time zone 'Pacific/Auckland') > 1
       then '{"orders": 4, "revenue": 110}'::jsonb
       else '{"orders": 3, "revenue": 90}'::jsonb end,
  'this month in Auckland: from the local first of the month'
);
select throws_ok($$select public.get_shop_stats('00000000-0000-4000-a000-000000002002')$$,
  'PT404', 'not_found', 'another shop''s stats are not_found');

select * from finish();
rollback;
