-- Case 4, second half: makes the order history 10 times larger (same shops,
-- 100 earlier days), so that generate_daily over day D can be timed again.
-- Bench stack only; loaded by scripts/bench after the first measurement.
\set ON_ERROR_STOP 1
begin;
set local session_replication_role = replica;
select bench.insert_orders(1, 1000, day - 100, day - 1,
                           ceil(9 * (select count(*) from public.form_submissions) / (1000.0 * 100))::integer)
  from bench.settings;
insert into private.order_number_counters (shop_id, last_order_number)
select o.shop_id, max(o.order_number) from public.form_submissions o group by o.shop_id
on conflict (shop_id) do update set last_order_number = excluded.last_order_number;
commit;
vacuum analyze public.form_submissions;
