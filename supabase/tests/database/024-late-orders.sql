-- Late orders: an order inserted, edited, cancelled, delivered, moved or
-- deleted after its local day ended queues that shop-day; the nightly
-- per-shop work (private.refresh_shop_sales) recomputes exactly the queued
-- days plus yesterday, and the product analytics periods covering them;
-- untouched days are not recomputed; a failing shop is logged and skipped.
-- (The batched procedure commits, so it is checked outside pgTAP's
-- transaction by scripts/lib/db.sh db_check_nightly_jobs.)
begin;
select plan(17);

select tests.create_two_shops();
-- Shop A in UTC, shop B in Tokyo.
update public.shops set timezone = 'UTC' where id = '00000000-0000-4000-a000-000000002001';
update public.shops set timezone = 'Asia/Tokyo' where id = '00000000-0000-4000-a000-000000002002';
insert into public.items (id, shop_id, name, price, cost, track_stock, stock) values
  ('00000000-0000-4000-a000-000000003001', '00000000-0000-4000-a000-000000002001', 'Blue mug', 10, 4, true, 50);

insert into public.form_submissions (id, shop_id, status, submitted_at, subtotal, line_items) values
  ('00000000-0000-4000-a000-000000004001', '00000000-0000-4000-a000-000000002001', 'completed',
   '2026-01-10 10:00Z', 20, '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 2, "unit_price": 10}]'),
  ('00000000-0000-4000-a000-000000004002', '00000000-0000-4000-a000-000000002001', 'completed',
   '2026-01-11 10:00Z', 30, '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 3, "unit_price": 10}]');

select set_eq(
  $$select date from private.dirty_sales_days where shop_id = '00000000-0000-4000-a000-000000002001'$$,
  $$values ('2026-01-10'::date), ('2026-01-11'::date)$$,
  'orders inserted for past days queue those shop-days');

-- An order placed today queues nothing: tomorrow's run computes today anyway.
insert into public.form_submissions (shop_id, status, subtotal)
values ('00000000-0000-4000-a000-000000002002', 'pending', 5);
select is((select count(*) from private.dirty_sales_days where shop_id = '00000000-0000-4000-a000-000000002002'),
  0::bigint, 'an order of today queues no day');

-- The first run: yesterday (2026-01-20 here) plus both dirty days.
select is(
  private.refresh_shop_sales('00000000-0000-4000-a000-000000002001', '2026-01-20') -> 'days',
  '["2026-01-10", "2026-01-11", "2026-01-20"]'::jsonb,
  'the run computes yesterday and every queued day');
select is((select count(*) from private.dirty_sales_days where shop_id = '00000000-0000-4000-a000-000000002001'),
  0::bigint, '... and drains the shop''s queue');
select is(
  (select gross_revenue from public.daily_sales_metrics
    where shop_id = '00000000-0000-4000-a000-000000002001' and date = '2026-01-10'),
  20.00, 'the past day has its metrics');

-- Product analytics of a period covering the 10th.
select tests.authenticate_as('00000000-0000-4000-a000-000000001002');
select public.generate_product_analytics('00000000-0000-4000-a000-000000002001', '2026-01-01', '2026-01-10');
select tests.clear_authentication();

-- Sentinel on the untouched 11th: it must survive the next run.
update public.daily_sales_metrics set orders = 777
 where shop_id = '00000000-0000-4000-a000-000000002001' and date = '2026-01-11';

-- A late delivered order on the 10th.
insert into public.form_submissions (shop_id, status, submitted_at, subtotal, line_items) values
  ('00000000-0000-4000-a000-000000002001', 'delivered', '2026-01-10 18:00Z', 50,
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 5, "unit_price": 10}]');
select is(
  private.refresh_shop_sales('00000000-0000-4000-a000-000000002001', '2026-01-20') -> 'days',
  '["2026-01-10", "2026-01-20"]'::jsonb,
  'a late delivered order: only its day (and yesterday) is recomputed');
select results_eq(
  $$select orders, completed, gross_revenue from public.daily_sales_metrics
     where shop_id = '00000000-0000-4000-a000-000000002001' and date = '2026-01-10'$$,
  $$values (2, 2, 70.00::numeric(12, 2))$$,
  '... and that past day''s metrics include it');
select is(
  (select orders from public.daily_sales_metrics
    where shop_id = '00000000-0000-4000-a000-000000002001' and date = '2026-01-11'),
  777, 'an untouched past day is not recomputed');
select is(
  (select units_sold from public.product_analytics
    where shop_id = '00000000-0000-4000-a000-000000002001' and item_id = '00000000-0000-4000-a000-000000003001'
      and period_start = '2026-01-01' and period_end = '2026-01-10'),
  7, 'the product analytics period covering the day is brought up to date');

-- An edited amount.
update public.form_submissions set subtotal = 25 where id = '00000000-0000-4000-a000-000000004001';
select private.refresh_shop_sales('00000000-0000-4000-a000-000000002001', '2026-01-20');
select is(
  (select gross_revenue from public.daily_sales_metrics
    where shop_id = '00000000-0000-4000-a000-000000002001' and date = '2026-01-10'),
  75.00, 'an edited amount reaches its past day');

-- A cancellation.
update public.form_submissions set status = 'cancelled' where id = '00000000-0000-4000-a000-000000004001';
select private.refresh_shop_sales('00000000-0000-4000-a000-000000002001', '2026-01-20');
select results_eq(
  $$select completed, cancelled, gross_revenue from public.daily_sales_metrics
     where shop_id = '00000000-0000-4000-a000-000000002001' and date = '2026-01-10'$$,
  $$values (1, 1, 50.00::numeric(12, 2))$$,
  'a cancellation reaches its past day');

-- A change no metric reads queues nothing.
update public.form_submissions set notes = 'gift' where id = '00000000-0000-4000-a000-000000004002';
select is((select count(*) from private.dirty_sales_days where shop_id = '00000000-0000-4000-a000-000000002001'),
  0::bigint, 'editing the notes of a past order queues no day');

-- Moving an order to another day queues both its old and its new day.
update public.form_submissions set submitted_at = '2026-01-12 09:00Z' where id = '00000000-0000-4000-a000-000000004002';
select set_eq(
  $$select date from private.dirty_sales_days where shop_id = '00000000-0000-4000-a000-000000002001'$$,
  $$values ('2026-01-11'::date), ('2026-01-12'::date)$$,
  'moving an order queues its old and its new day');

-- Error isolation: shop B's metrics fail to write; shop A's work goes on.
insert into public.form_submissions (shop_id, status, submitted_at, subtotal)
values ('00000000-0000-4000-a000-000000002002', 'completed', '2026-01-05 10:00Z', 9);
create function pg_temp.fail_for_shop_b() returns trigger language plpgsql as $$
begin
  if new.shop_id = '00000000-0000-4000-a000-000000002002' then
    raise exception 'disk on fire' using errcode = 'XX001';
  end if;
  return new;
end;
$$;
create trigger fail_for_shop_b before insert or update on public.daily_sales_metrics
  for each row execute function pg_temp.fail_for_shop_b();

-- The warning each failure raises is expected here.
set local client_min_messages = error;
select results_eq(
  $$select private.refresh_shop_sales_or_log(s, '2026-01-20')
      from unnest(array['00000000-0000-4000-a000-000000002002',
                        '00000000-0000-4000-a000-000000002001']::uuid[]) with ordinality u(s, n)
     order by n$$,
  $$values (false), (true)$$,
  'a failing shop returns false, the next shop still succeeds');
select results_eq(
  $$select job, shop_id, sqlstate, message from private.job_errors$$,
  $$values ('daily-sales-metrics', '00000000-0000-4000-a000-000000002002'::uuid, 'XX001', 'disk on fire')$$,
  'the failure is logged with the shop, SQLSTATE and message');
select is((select count(*) from private.dirty_sales_days where shop_id = '00000000-0000-4000-a000-000000002002'),
  1::bigint, 'the failed shop keeps its queued day for the next run');
select is((select count(*) from private.dirty_sales_days where shop_id = '00000000-0000-4000-a000-000000002001'),
  0::bigint, 'the shop that succeeded has drained its queue');

select * from finish();
rollback;
