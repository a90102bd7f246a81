-- The platform's order figures come from daily_sales_metrics, not from the
-- orders, and match what a raw computation over the same orders gives:
--   * shops in UTC: exactly the previous definition (orders of the UTC day);
--   * shops elsewhere: every shop's own day D in its time zone;
-- and late orders flow through: a late order queues its shop-day, the nightly
-- sales work recomputes it and queues the platform day, the platform job
-- recomputes that day. D = 2024-06-10 (Dhaka UTC+6, Los Angeles UTC-7).
begin;
select plan(16);

-- The queue as the platform job left it (the seed's days are queued too).
delete from private.dirty_platform_days;

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-0000000320ad', 'aggregates-admin@test.local'),
  ('00000000-0000-4000-a000-000000032001', 'aggregates-owner@test.local');
update public.profiles set is_platform_admin = true where id = '00000000-0000-4000-a000-0000000320ad';
insert into public.shops (id, owner_id, name, slug, timezone) values
  ('00000000-0000-4000-a000-0000000321a1', '00000000-0000-4000-a000-000000032001', 'U', 'agg-u', 'UTC'),
  ('00000000-0000-4000-a000-0000000321a2', '00000000-0000-4000-a000-000000032001', 'K', 'agg-k', 'UTC'),
  ('00000000-0000-4000-a000-0000000321a3', '00000000-0000-4000-a000-000000032001', 'L', 'agg-l', 'UTC');

--            submitted (UTC)         UTC day   Dhaka day  LA day
-- U u1 95    2024-06-10 00:30 completed  D        -          -       (subtotal 100, discount 10, shipping 5)
-- U u2 40    2024-06-10 23:30 delivered  D
-- U u3 70    2024-06-10 12:00 cancelled  D
-- U u4 1000  2024-06-09 23:59 completed  D-1
-- K k1 200   2024-06-09 19:00 completed  D-1       D
-- K k2 30    2024-06-10 17:00 delivered  D         D
-- K k3 500   2024-06-10 19:00 completed  D         D+1
-- L l1 300   2024-06-10 06:00 completed  D                    D-1
-- L l2 60    2024-06-11 06:00 completed  D+1                  D
-- L l3 25    2024-06-10 08:00 pending    D                    D
insert into public.form_submissions (id, shop_id, subtotal, discount, shipping_fee, total, status, submitted_at) values
  ('00000000-0000-4000-a000-000000032201', '00000000-0000-4000-a000-0000000321a1', 100, 10, 5, 95, 'completed', '2024-06-10 00:30Z'),
  ('00000000-0000-4000-a000-000000032202', '00000000-0000-4000-a000-0000000321a1', 40, 0, 0, 40, 'delivered', '2024-06-10 23:30Z'),
  ('00000000-0000-4000-a000-000000032203', '00000000-0000-4000-a000-0000000321a1', 70, 0, 0, 70, 'cancelled', '2024-06-10 12:00Z'),
  ('00000000-0000-4000-a000-000000032204', '00000000-0000-4000-a000-0000000321a1', 1000, 0, 0, 1000, 'completed', '2024-06-09 23:59Z'),
  ('00000000-0000-4000-a000-000000032211', '00000000-0000-4000-a000-0000000321a2', 200, 0, 0, 200, 'completed', '2024-06-09 19:00Z'),
  ('00000000-0000-4000-a000-000000032212', '00000000-0000-4000-a000-0000000321a2', 30, 0, 0, 30, 'delivered', '2024-06-10 17:00Z'),
  ('00000000-0000-4000-a000-000000032213', '00000000-0000-4000-a000-0000000321a2', 500, 0, 0, 500, 'completed', '2024-06-10 19:00Z'),
  ('00000000-0000-4000-a000-000000032221', '00000000-0000-4000-a000-0000000321a3', 300, 0, 0, 300, 'completed', '2024-06-10 06:00Z'),
  ('00000000-0000-4000-a000-000000032222', '00000000-0000-4000-a000-0000000321a3', 60, 0, 0, 60, 'completed', '2024-06-11 06:00Z'),
  ('00000000-0000-4000-a000-000000032223', '00000000-0000-4000-a000-0000000321a3', 25, 0, 0, 25, 'pending', '2024-06-10 08:00Z');

-- The raw computation, straight from the orders: the orders of day p_date
-- in the given zone (null: each shop's own).
create function pg_temp.raw_figures(p_date date, p_zone text) returns jsonb language sql as $$
  select jsonb_build_object(
    'gmv', coalesce(sum(o.total) filter (where o.status in ('completed', 'delivered')), 0),
    'total_orders', count(*),
    'active_shops', count(distinct o.shop_id))
  from public.form_submissions o
  join public.shops s on s.id = o.shop_id
  where (o.submitted_at at time zone coalesce(p_zone, s.timezone))::date = p_date $$;
-- The nightly sales work of the three shops for D-1..D+1.
create function pg_temp.compute_days() returns bigint language sql as $$
  select count(private.compute_daily_sales_metrics(s.id, d::date))
  from public.shops s, generate_series(date '2024-06-09', date '2024-06-11', interval '1 day') d
  where s.owner_id = '00000000-0000-4000-a000-000000032001' $$;
create function pg_temp.platform(p_date date) returns jsonb language sql as $$
  select jsonb_build_object('gmv', m.gmv, 'total_orders', m.total_orders, 'active_shops', m.active_shops)
  from public.platform_metrics m where m.date = p_date $$;

-- ---- every shop in UTC: the figures of the previous, raw definition ---------------
select pg_temp.compute_days() as computed \gset
select tests.authenticate_as('00000000-0000-4000-a000-0000000320ad');
select public.generate_platform_metrics('2024-06-10') is not null as generated \gset
select tests.clear_authentication();
select is(pg_temp.platform('2024-06-10'), pg_temp.raw_figures('2024-06-10', 'UTC'),
  'shops in UTC: gmv, total_orders and active_shops equal the raw computation over the UTC day''s orders');
select is(pg_temp.platform('2024-06-10'), '{"gmv": 965, "total_orders": 7, "active_shops": 3}'::jsonb,
  '... worked out by hand: 95 + 40 + 30 + 500 + 300, seven orders, three shops');

-- ---- shops in their own zones: each shop's own day ----------------------------------
update public.shops set timezone = 'Asia/Dhaka' where id = '00000000-0000-4000-a000-0000000321a2';
update public.shops set timezone = 'America/Los_Angeles' where id = '00000000-0000-4000-a000-0000000321a3';
select pg_temp.compute_days() as computed \gset
select is(
  (select jsonb_object_agg(s.name, m.gmv order by s.name) from public.daily_sales_metrics m
     join public.shops s on s.id = m.shop_id where m.date = '2024-06-10'),
  '{"K": 230, "L": 60, "U": 135}'::jsonb,
  'daily_sales_metrics.gmv: totals (shipping included, discounts off) of each shop''s revenue orders of its day');
select public.generate_platform_metrics('2024-06-10') is not null as generated \gset
select is(pg_temp.platform('2024-06-10'), pg_temp.raw_figures('2024-06-10', null),
  'shops in other zones: the figures equal the raw computation over each shop''s own day');
select is(pg_temp.platform('2024-06-10'), '{"gmv": 425, "total_orders": 7, "active_shops": 3}'::jsonb,
  '... worked out by hand: U 95 + 40, K 200 + 30, L 60');

-- ---- the nightly order: sales rows queue the platform days, the job drains them --------
select set_eq($$select date from private.dirty_platform_days$$,
  $$values ('2024-06-09'::date), ('2024-06-10'::date), ('2024-06-11'::date)$$,
  'the days whose shop rows gained or changed orders are queued for the platform job');
select ok(
  (private.run_platform_metrics() -> 'days') @> '["2024-06-09", "2024-06-10", "2024-06-11"]'::jsonb,
  'the platform job recomputes the queued days (and yesterday)');
select ok(
  exists (select 1 from pg_locks l
           where l.locktype = 'advisory' and l.pid = pg_backend_pid() and l.mode = 'ExclusiveLock' and l.granted),
  'the platform job first takes the lock the nightly sales run holds, so it runs after it');
select is((select count(*)::integer from private.dirty_platform_days), 0, '... and drains the queue');

select pg_temp.compute_days() as computed \gset
select is((select count(*)::integer from private.dirty_platform_days), 0,
  'recomputing unchanged days queues nothing');
select count(private.compute_daily_sales_metrics(s.id, '2024-06-01')) as idle
  from public.shops s where s.owner_id = '00000000-0000-4000-a000-000000032001' \gset
select is((select count(*)::integer from private.dirty_platform_days), 0,
  'a day without orders (the nightly zero rows of idle shops) queues nothing');

-- ---- late orders flow through -------------------------------------------------------
-- A late delivered order of L's day D, and U's first order of D cancelled late.
insert into public.form_submissions (shop_id, subtotal, total, status, submitted_at) values
  ('00000000-0000-4000-a000-0000000321a3', 11, 11, 'delivered', '2024-06-10 20:00Z');
update public.form_submissions set status = 'cancelled' where id = '00000000-0000-4000-a000-000000032201';
select is(pg_temp.platform('2024-06-10') -> 'gmv', '425'::jsonb,
  'until the nightly work runs, the platform row keeps its figures (it never reads the orders)');

select count(private.refresh_shop_sales(s.id)) as refreshed
  from public.shops s where s.owner_id = '00000000-0000-4000-a000-000000032001' \gset
select set_eq($$select date from private.dirty_platform_days$$, $$values ('2024-06-10'::date)$$,
  'the nightly sales work recomputes the late shop-days, which queue their platform day');
select private.run_platform_metrics() is not null as ran \gset
select is(pg_temp.platform('2024-06-10'), pg_temp.raw_figures('2024-06-10', null),
  'after the platform job the row matches the raw computation again');
select is(pg_temp.platform('2024-06-10'), '{"gmv": 341, "total_orders": 8, "active_shops": 3}'::jsonb,
  '... 425 + 11 (late delivery) - 95 (late cancellation), one order more');

insert into private.dirty_platform_days (date) values ((now() at time zone 'utc')::date + 1);
select private.run_platform_metrics() is not null as ran \gset
select is((select array_agg(date) from private.dirty_platform_days), array[(now() at time zone 'utc')::date + 1],
  'a day that has not begun (UTC) stays queued');

select * from finish();
rollback;
