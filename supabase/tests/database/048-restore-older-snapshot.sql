-- A snapshot taken before a column was added still restores: the column
-- gets its default, as an insert without it would. daily_sales_metrics.gmv
-- came after the first snapshots: a day restored without it is queued, and
-- the nightly sales work puts the right gmv back.
begin;
select plan(6);

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-0000000480ad', 'older-admin@test.local'),
  ('00000000-0000-4000-a000-000000048001', 'older-owner@test.local');
update public.profiles set is_platform_admin = true where id = '00000000-0000-4000-a000-0000000480ad';
insert into public.shops (id, owner_id, name, slug) values
  ('00000000-0000-4000-a000-000000048101', '00000000-0000-4000-a000-000000048001', 'Older', 'older-shop');
insert into public.form_submissions (id, shop_id, subtotal, total, status, submitted_at) values
  ('00000000-0000-4000-a000-000000048201', '00000000-0000-4000-a000-000000048101', 40, 42, 'completed', '2025-03-01 10:00Z');
select private.compute_daily_sales_metrics('00000000-0000-4000-a000-000000048101', '2025-03-01') is not null as computed \gset
delete from private.dirty_sales_days where shop_id = '00000000-0000-4000-a000-000000048101';

-- The snapshot as it was taken before gmv existed: its rows have no gmv, its
-- checksum is that data's.
create temp table older as
  select jsonb_set(d, '{daily_sales_metrics}',
                   (select jsonb_agg(r - 'gmv' order by n)
                      from jsonb_array_elements(d -> 'daily_sales_metrics') with ordinality x (r, n))) as data
  from (select private.shop_snapshot_data('00000000-0000-4000-a000-000000048101') as d) s;
insert into public.recovery_snapshots
  (id, shop_id, snapshot_type, checksum, row_counts, size_bytes, state_part_id, recent_part_id, history_part_id)
select '00000000-0000-4000-a000-000000048301', '00000000-0000-4000-a000-000000048101', 'daily',
       private.snapshot_checksum(o.data),
       (select jsonb_object_agg(t.key, jsonb_array_length(t.value)) from jsonb_each(o.data) t),
       octet_length(convert_to(o.data::text, 'UTF8')),
       private.store_snapshot_part('00000000-0000-4000-a000-000000048101', p.state),
       private.store_snapshot_part('00000000-0000-4000-a000-000000048101', p.recent),
       private.store_snapshot_part('00000000-0000-4000-a000-000000048101', p.history)
  from older o, private.split_snapshot(o.data, date_trunc('month', now() at time zone 'UTC')::date) p;

-- Since then the order was deleted and its day recomputed.
delete from public.form_submissions where id = '00000000-0000-4000-a000-000000048201';
select private.refresh_shop_sales('00000000-0000-4000-a000-000000048101') is not null as refreshed \gset

select tests.authenticate_as('00000000-0000-4000-a000-0000000480ad');
select lives_ok(
  $$select public.restore_backup_snapshot('00000000-0000-4000-a000-000000048301', p_dry_run => false)$$,
  'a snapshot whose daily_sales_metrics rows have no gmv restores');
select tests.clear_authentication();

select is(
  (select count(*)::integer from public.form_submissions where id = '00000000-0000-4000-a000-000000048201'),
  1, 'the deleted order is back');
select is(
  (select jsonb_build_object('orders', orders, 'net_revenue', net_revenue, 'gmv', gmv) from public.daily_sales_metrics
    where shop_id = '00000000-0000-4000-a000-000000048101' and date = '2025-03-01'),
  '{"orders": 1, "net_revenue": 40, "gmv": 0}'::jsonb,
  'the day''s metrics are the snapshot''s, the column it did not have at its default');
select set_eq(
  $$select date from private.dirty_sales_days where shop_id = '00000000-0000-4000-a000-000000048101'$$,
  $$values ('2025-03-01'::date), ((now() at time zone 'UTC')::date - 1)$$,
  'that day is queued for the nightly sales work (with the shop''s other day, yesterday''s zero row the restore deleted)');

select private.refresh_shop_sales('00000000-0000-4000-a000-000000048101') is not null as refreshed \gset
select is(
  (select gmv from public.daily_sales_metrics
    where shop_id = '00000000-0000-4000-a000-000000048101' and date = '2025-03-01'),
  42.00, 'the nightly work computes its gmv from the restored order');
select ok(
  exists (select 1 from private.dirty_platform_days where date = '2025-03-01'),
  '... and queues the platform day it moves');

select * from finish();
rollback;
