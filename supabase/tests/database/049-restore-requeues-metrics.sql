-- A restore writes with triggers off, yet the platform's figures follow it:
-- every daily_sales_metrics row it deletes or puts back queues its platform
-- day, and the platform job then sums the restored rows. The shop's days are
-- queued for the nightly sales work too, which recomputes them from the
-- restored orders (a snapshot's metrics can be older than its orders), and
-- the platform follows again. A metrics row deleted any other way queues its
-- day as well. D = 2025-05-10, D2 = 2025-05-11, shop in UTC.
begin;
select plan(14);

-- The queue as the platform job left it (the seed's days are queued too).
delete from private.dirty_platform_days;

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-0000000490ad', 'requeue-admin@test.local'),
  ('00000000-0000-4000-a000-000000049001', 'requeue-owner@test.local');
update public.profiles set is_platform_admin = true where id = '00000000-0000-4000-a000-0000000490ad';
insert into public.shops (id, owner_id, name, slug, timezone) values
  ('00000000-0000-4000-a000-000000049101', '00000000-0000-4000-a000-000000049001', 'Requeue', 'requeue-shop', 'UTC');

-- The raw figures of a day, straight from the orders.
create function pg_temp.raw_figures(p_date date) returns jsonb language sql as $$
  select jsonb_build_object(
    'gmv', coalesce(sum(o.total) filter (where o.status in ('completed', 'delivered')), 0),
    'total_orders', count(*),
    'active_shops', count(distinct o.shop_id))
  from public.form_submissions o
  where (o.submitted_at at time zone 'UTC')::date = p_date $$;
create function pg_temp.platform(p_date date) returns jsonb language sql as $$
  select jsonb_build_object('gmv', m.gmv, 'total_orders', m.total_orders, 'active_shops', m.active_shops)
  from public.platform_metrics m where m.date = p_date $$;
create function pg_temp.shop_gmv() returns jsonb language sql as $$
  select coalesce(jsonb_object_agg(m.date, m.gmv), '{}') from public.daily_sales_metrics m
   where m.shop_id = '00000000-0000-4000-a000-000000049101' and m.orders > 0 $$;

-- Two orders of D, computed; a third arrives late and is in the snapshot
-- before the nightly work has recomputed D (the snapshot's row of D is stale).
insert into public.form_submissions (id, shop_id, subtotal, total, status, submitted_at) values
  ('00000000-0000-4000-a000-000000049201', '00000000-0000-4000-a000-000000049101', 100, 100, 'completed', '2025-05-10 09:00Z'),
  ('00000000-0000-4000-a000-000000049202', '00000000-0000-4000-a000-000000049101', 50, 50, 'delivered', '2025-05-10 15:00Z');
select private.compute_daily_sales_metrics('00000000-0000-4000-a000-000000049101', '2025-05-10') is not null as computed \gset
insert into public.form_submissions (id, shop_id, subtotal, total, status, submitted_at) values
  ('00000000-0000-4000-a000-000000049203', '00000000-0000-4000-a000-000000049101', 20, 20, 'delivered', '2025-05-10 18:00Z');

select tests.authenticate_as('00000000-0000-4000-a000-0000000490ad');
select public.create_backup_snapshot('00000000-0000-4000-a000-000000049101') -> 'snapshots' -> 0 ->> 'id' as snapshot_id \gset
select tests.clear_authentication();

-- After the snapshot: the nightly work, then a late order of D and one of D2,
-- the nightly work again and the platform job.
select private.refresh_shop_sales('00000000-0000-4000-a000-000000049101') is not null as refreshed \gset
insert into public.form_submissions (id, shop_id, subtotal, total, status, submitted_at) values
  ('00000000-0000-4000-a000-000000049204', '00000000-0000-4000-a000-000000049101', 30, 30, 'completed', '2025-05-10 20:00Z'),
  ('00000000-0000-4000-a000-000000049205', '00000000-0000-4000-a000-000000049101', 70, 70, 'completed', '2025-05-11 10:00Z');
select private.refresh_shop_sales('00000000-0000-4000-a000-000000049101') is not null as refreshed \gset
select private.run_platform_metrics() is not null as ran \gset
select is(
  jsonb_build_array(pg_temp.platform('2025-05-10'), pg_temp.platform('2025-05-11')),
  jsonb_build_array(pg_temp.raw_figures('2025-05-10'), pg_temp.raw_figures('2025-05-11')),
  'before the restore the platform rows of D and D2 match their orders (D: 200 from four orders, D2: 70)');

-- ---- the restore ------------------------------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-0000000490ad');
select public.restore_backup_snapshot(:'snapshot_id', p_dry_run => false) is not null as restored \gset
select tests.clear_authentication();

select is(pg_temp.shop_gmv(), '{"2025-05-10": 150}'::jsonb,
  'the restore put back the snapshot''s metrics: D as it was then, no row of D2');
select set_eq($$select date from private.dirty_platform_days$$,
  $$values ('2025-05-10'::date), ('2025-05-11'::date)$$,
  'the platform days of the metrics rows the restore replaced (D) and deleted (D2) are queued, triggers off or not');
select set_eq(
  $$select date from private.dirty_sales_days where shop_id = '00000000-0000-4000-a000-000000049101'$$,
  $$values ('2025-05-10'::date), ('2025-05-11'::date), ((now() at time zone 'UTC')::date - 1)$$,
  'every ended day the shop had an order or a metrics row on, before or after the restore, is queued for the nightly sales work');

select private.run_platform_metrics() is not null as ran \gset
select is(pg_temp.platform('2025-05-10'), '{"gmv": 150, "total_orders": 2, "active_shops": 1}'::jsonb,
  'the platform job sums the restored metrics of D');
select is(pg_temp.platform('2025-05-11'), '{"gmv": 0, "total_orders": 0, "active_shops": 0}'::jsonb,
  '... and D2 has no order left');
select tests.authenticate_as('00000000-0000-4000-a000-0000000490ad');
select is(
  (select jsonb_build_object('gmv', r -> 'gmv', 'total_orders', r -> 'total_orders', 'active_shops', r -> 'active_shops')
     from public.generate_platform_metrics('2025-05-10') r),
  pg_temp.platform('2025-05-10'),
  'the row of D is what generate_platform_metrics computes from scratch');
select tests.clear_authentication();

-- ---- the next night: the shop's days from the restored orders ------------------------------
select private.refresh_shop_sales('00000000-0000-4000-a000-000000049101') is not null as refreshed \gset
select is(pg_temp.shop_gmv(), '{"2025-05-10": 170}'::jsonb,
  'the nightly sales work recomputes D from the restored orders (the late 20 the snapshot''s row missed)');
select set_eq($$select date from private.dirty_platform_days$$, $$values ('2025-05-10'::date)$$,
  '... which queues D; the days it recomputed to the same figures queue nothing');
select private.run_platform_metrics() is not null as ran \gset
select is(pg_temp.platform('2025-05-10'), pg_temp.raw_figures('2025-05-10'),
  'the platform row of D matches the restored orders: 100 + 50 + 20, three orders');

-- ---- a deleted metrics row queues its day -------------------------------------------------
select tests.authenticate_as_service_role();
delete from public.daily_sales_metrics
 where shop_id = '00000000-0000-4000-a000-000000049101' and date in ('2025-05-10', '2025-05-11');
select tests.clear_authentication();
select set_eq($$select date from private.dirty_platform_days$$, $$values ('2025-05-10'::date)$$,
  'deleting a metrics row with orders queues its day (service_role deleted D and the zero row of D2, which moves nothing)');
select private.run_platform_metrics() is not null as ran \gset
select is(pg_temp.platform('2025-05-10'), '{"gmv": 0, "total_orders": 0, "active_shops": 0}'::jsonb,
  'the platform job takes the deleted row out of D');

-- D computed again, then the whole shop deleted: its rows go by cascade.
select private.compute_daily_sales_metrics('00000000-0000-4000-a000-000000049101', '2025-05-10') is not null as computed \gset
select private.run_platform_metrics() is not null as ran \gset
delete from public.shops where id = '00000000-0000-4000-a000-000000049101';
select set_eq($$select date from private.dirty_platform_days$$, $$values ('2025-05-10'::date)$$,
  'deleting a shop queues the days its metrics rows had orders on');

select is(
  (select array_agg(t.tgname::text || '=' || t.tgenabled::text order by t.tgname) from pg_trigger t
    where t.tgrelid = 'public.daily_sales_metrics'::regclass and t.tgname like '%queue_platform_day%'),
  array['daily_sales_metrics_queue_platform_day_on_delete=A', 'daily_sales_metrics_queue_platform_day_on_insert=A',
        'daily_sales_metrics_queue_platform_day_on_update=A'],
  'the three queue triggers fire always, session_replication_role = replica included');

select * from finish();
rollback;
