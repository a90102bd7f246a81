-- generate_daily_sales_metrics: days are the shop's local days (an
-- order at 23:30 local and one at 00:30 local the next day land on different
-- dates even though both are the same UTC date), revenue rules, re-running
-- gives identical rows and picks up edits, authorization.
begin;
select plan(18);

-- Shop A (owner, staff, viewer) and shop B (outsider): supabase/tests/helpers.sql.
select tests.create_two_shops();
update public.shops set timezone = 'America/New_York' where id = '00000000-0000-4000-a000-000000002001';
update public.shops set timezone = 'Asia/Tokyo' where id = '00000000-0000-4000-a000-000000002002';
insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-000000001005', 'h2-platform-admin@test.local');
update public.profiles set is_platform_admin = true where id = '00000000-0000-4000-a000-000000001005';
insert into public.items (id, shop_id, name, category, price, cost, track_stock, stock) values
  ('00000000-0000-4000-a000-000000003001', '00000000-0000-4000-a000-000000002001', 'Blue mug', 'kitchen', 40, 15, true, 10),
  ('00000000-0000-4000-a000-000000003002', '00000000-0000-4000-a000-000000002001', 'T-shirt', 'apparel', 20, 8, true, 10);

-- New York is UTC-5 in January.
insert into public.form_submissions (id, shop_id, status, submitted_at, subtotal, discount, total, customer_ref, line_items) values
  -- 23:30 local on the 15th (04:30 UTC on the 16th): counts on the 15th
  ('00000000-0000-4000-a000-000000004001', '00000000-0000-4000-a000-000000002001', 'completed',
   '2026-01-15 23:30-05', 100, 10, 95, 'c1',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 2, "unit_price": 40, "unit_cost": 15},
     {"item_id": "00000000-0000-4000-a000-000000003002", "quantity": 1, "unit_price": 20}]'),
  -- 00:30 local on the 16th (05:30 UTC on the 16th): counts on the 16th
  ('00000000-0000-4000-a000-000000004002', '00000000-0000-4000-a000-000000002001', 'delivered',
   '2026-01-16 00:30-05', 50, 0, 50, 'c3',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 1, "unit_price": 50, "unit_cost": 15}]'),
  ('00000000-0000-4000-a000-000000004003', '00000000-0000-4000-a000-000000002001', 'cancelled',
   '2026-01-15 12:00-05', 70, 0, 70, 'c4', '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 1, "unit_price": 70}]'),
  ('00000000-0000-4000-a000-000000004004', '00000000-0000-4000-a000-000000002001', 'pending',
   '2026-01-15 13:00-05', 20, 0, 20, 'c5', '[{"item_id": "00000000-0000-4000-a000-000000003002", "quantity": 1, "unit_price": 20}]'),
  -- 00:10 local on the 15th: counts on the 15th
  ('00000000-0000-4000-a000-000000004005', '00000000-0000-4000-a000-000000002001', 'completed',
   '2026-01-15 00:10-05', 30, 0, 30, 'c2',
   '[{"item_id": "00000000-0000-4000-a000-000000003002", "quantity": 1, "unit_price": 30, "unit_cost": 10}]'),
  -- 21:00 local on the 14th = 02:00 UTC on the 15th: a UTC report would put it on the 15th
  ('00000000-0000-4000-a000-000000004006', '00000000-0000-4000-a000-000000002001', 'completed',
   '2026-01-14 21:00-05', 999, 0, 999, 'c6', '[]');

select tests.authenticate_as('00000000-0000-4000-a000-000000001002');

create temp table first_run as
  select public.generate_daily_sales_metrics('2026-01-15', '00000000-0000-4000-a000-000000002001') as r;

select is(
  (select r - 'computed_at' from first_run),
  '{"shop_id": "00000000-0000-4000-a000-000000002001", "date": "2026-01-15",
    "orders": 4, "completed": 2, "cancelled": 1,
    "gross_revenue": 130, "discounts": 10, "net_revenue": 120, "cost_of_goods": 48, "gross_profit": 72,
    "items_sold": 4, "average_order_value": 60, "unique_customers": 2, "gmv": 125,
    "category_breakdown": {"apparel": {"units": 2, "revenue": 50}, "kitchen": {"units": 2, "revenue": 80}}}'::jsonb,
  'the 15th in New York: 23:30 and 00:10 local included, 21:00 on the 14th and 00:30 on the 16th not; completed/delivered are revenue, cancelled counted apart; a line without unit_cost uses the item cost; gmv sums the revenue orders'' totals (95 after discount and with shipping, 30)'
);

select is(
  public.generate_daily_sales_metrics('2026-01-16', '00000000-0000-4000-a000-000000002001')
    -> 'orders',
  '1'::jsonb,
  'the order at 00:30 local on the 16th is on the 16th (same UTC date as the 23:30 one)'
);

select is(
  public.generate_daily_sales_metrics('2026-01-14', '00000000-0000-4000-a000-000000002001')
    -> 'gross_revenue',
  '999'::jsonb,
  'the order at 21:00 local on the 14th (02:00 UTC on the 15th) is on the 14th'
);

select is(
  public.generate_daily_sales_metrics('2026-01-15', '00000000-0000-4000-a000-000000002001') - 'computed_at',
  (select r - 'computed_at' from first_run),
  're-running gives the identical row'
);

select is(
  (select count(*) from public.daily_sales_metrics
    where shop_id = '00000000-0000-4000-a000-000000002001' and date = '2026-01-15'),
  1::bigint,
  're-running upserts: still one row for the day'
);

-- A late edit: the pending order is completed; re-running picks it up.
update public.form_submissions set status = 'completed' where id = '00000000-0000-4000-a000-000000004004';
select is(
  public.generate_daily_sales_metrics('2026-01-15', '00000000-0000-4000-a000-000000002001') -> 'completed',
  '3'::jsonb,
  're-running picks up an edited order'
);

select is(
  public.generate_daily_sales_metrics(null, '00000000-0000-4000-a000-000000002001') ->> 'date',
  ((now() at time zone 'America/New_York')::date - 1)::text,
  'no date: yesterday in the shop''s own time zone'
);

select throws_ok($$select public.generate_daily_sales_metrics('2026-01-15', null)$$,
  'PT403', 'forbidden', 'a shop member may not generate metrics for all shops');

select tests.authenticate_as('00000000-0000-4000-a000-000000001003');
select throws_ok($$select public.generate_daily_sales_metrics('2026-01-15', '00000000-0000-4000-a000-000000002001')$$,
  'PT403', 'forbidden', 'a viewer may read metrics but not generate them');

select tests.authenticate_as('00000000-0000-4000-a000-000000001004');
select throws_ok($$select public.generate_daily_sales_metrics('2026-01-15', '00000000-0000-4000-a000-000000002001')$$,
  'PT404', 'not_found', 'another shop''s owner gets not_found');

select tests.authenticate_as('00000000-0000-4000-a000-000000001005');
select is(
  public.generate_daily_sales_metrics('2026-01-15', null) ->> 'date',
  '2026-01-15',
  'a platform admin may generate metrics for every shop'
);
select tests.clear_authentication();
select ok(
  (select count(*) = (select count(*) from public.shops)
     from public.daily_sales_metrics where date = '2026-01-15'),
  '... one row per shop, including shops without orders'
);
select tests.clear_authentication();
select is(
  (public.generate_daily_sales_metrics('2026-01-16', null) -> 'shops')::integer,
  (select count(*)::integer from public.shops),
  'the database owner without a JWT (pg_cron) is a trusted caller for all shops'
);

select is(
  (public.generate_daily_sales_metrics(null, null) -> 'shops')::integer,
  (select count(*)::integer from public.shops),
  'pg_cron''s call (no date, no shop) covers every shop'
);
select ok(
  exists (select 1 from public.daily_sales_metrics
           where shop_id = '00000000-0000-4000-a000-000000002002'
             and date = (now() at time zone 'Asia/Tokyo')::date - 1),
  '... each on its own local yesterday (Tokyo''s for the Tokyo shop)'
);

select is(
  (select day_end - day_start from private.local_day_bounds('2026-03-08', 'America/New_York')),
  interval '23 hours',
  'the spring-forward day is 23 hours long'
);
select is(
  (select day_end - day_start from private.local_day_bounds('2026-11-01', 'America/New_York')),
  interval '25 hours',
  'the fall-back day is 25 hours long'
);
select is(
  (select provolatile from pg_proc where oid = 'public.generate_daily_sales_metrics(date, uuid)'::regprocedure),
  'v'::"char",
  'generate_daily_sales_metrics is volatile (it writes)'
);

select * from finish();
rollback;
