-- Benchmark dataset, loaded by scripts/bench into the bench stack only
-- (STACK_NAME=bench, its own cluster on port 56322). Never a migration.
--
-- Deterministic: every id is md5-derived, every number is arithmetic on a row
-- index, so the load driver and pgbench can name rows without a lookup.
--
--   user   md5('bench-user')::uuid, owner (so a member) of every bench shop
--   shops  md5('bench-shop-<s>')::uuid, s = 1..1000, time zone UTC
--   items  shop 1: md5('bench-item-<n>')::uuid, n = 1..1000 (items 1..20 are the
--          "hot" items every process_order order touches); shops 2..1000: 10 items each
--   orders day D = yesterday (UTC): 100 orders per shop (case 4);
--          shop 1 also has 100 orders on each of the 364 days before D (case 3);
--          process_order orders: md5('bench-po-<path>-<n>')::uuid, pending, 10 lines
--          (2 hot items + 8 of items 21..1000), n = 1..:po_orders per path (case 2)
--
-- Bulk rows are written with session_replication_role = replica (no triggers,
-- no foreign-key checks): the ids are generated consistent, and what the
-- triggers would do (order numbers) is done here explicitly.
--
-- psql variables: po_orders (process_order orders per path).

\set ON_ERROR_STOP 1
\timing on
begin;
set local client_min_messages = warning;

drop schema if exists bench cascade;
create schema bench;
create table bench.settings (day date not null, shop_id uuid not null, user_id uuid not null);
insert into bench.settings
values ((now() at time zone 'UTC')::date - 1, md5('bench-shop-1')::uuid, md5('bench-user')::uuid);

insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values (md5('bench-user')::uuid, 'authenticated', 'authenticated', 'owner@bench.shop', now(),
        '{"provider": "email", "providers": ["email"]}', '{"full_name": "Bench Owner"}', now(), now());

set local session_replication_role = replica;

-- What the shops' triggers would add: the owner's membership. (With triggers
-- on, validating 1,000 time zones against pg_timezone_names takes half a minute.)
insert into public.shops (id, owner_id, name, slug, currency, timezone, created_at)
select md5('bench-shop-' || s)::uuid, md5('bench-user')::uuid, 'Bench shop ' || s, 'bench-shop-' || s,
       'USD', 'UTC', now() - interval '800 days'
  from generate_series(1, 1000) s;
insert into public.team_members (shop_id, user_id, role)
select md5('bench-shop-' || s)::uuid, md5('bench-user')::uuid, 'owner' from generate_series(1, 1000) s;

insert into public.items (id, shop_id, name, sku, category, price, cost, track_stock, stock, low_stock_threshold)
select md5('bench-item-' || n)::uuid, md5('bench-shop-1')::uuid, 'Item ' || n, 'SKU-' || n,
       'category-' || (n % 8), 5 + (n % 50), 2 + (n % 20), true, 100000, 5
  from generate_series(1, 1000) n
union all
select md5('bench-shop-' || s || '-item-' || k)::uuid, md5('bench-shop-' || s)::uuid, 'Item ' || k, 'SKU-' || k,
       'category-' || (k % 4), 5 + k, 2 + k, true, 1000, 5
  from generate_series(2, 1000) s, generate_series(1, 10) k;

-- An order of shop s with 3 lines; item numbers follow the shop's catalogue.
create function bench.order_lines(p_shop integer, p_seed integer)
returns jsonb
language sql
immutable
as $$
  select jsonb_agg(jsonb_build_object(
           'item_id', case when p_shop = 1 then md5('bench-item-' || ((p_seed * 7 + j * 131) % 1000 + 1))
                           else md5('bench-shop-' || p_shop || '-item-' || ((p_seed + j) % 10 + 1)) end::uuid,
           'quantity', 1 + (p_seed + j) % 3,
           'unit_price', 10 + j,
           'unit_cost', 4 + j))
    from generate_series(0, 2) j
$$;

-- Inserts p_per_shop orders per shop per day for shops [p_first, p_last] and
-- days [p_from, p_to]; order numbers start above what the shop already has.
create function bench.insert_orders(p_first integer, p_last integer, p_from date, p_to date, p_per_shop integer)
returns bigint
language sql
as $$
  with existing as materialized (
    select s as shop, coalesce((select max(o.order_number) from public.form_submissions o
                                 where o.shop_id = md5('bench-shop-' || s)::uuid), 0) as top
      from generate_series(p_first, p_last) s
  ), inserted as (
    insert into public.form_submissions
      (id, shop_id, order_number, customer_ref, line_items, subtotal, discount, total, status, payment_status,
       channel, submitted_at, created_at, updated_at)
    select gen_random_uuid(), md5('bench-shop-' || e.shop)::uuid,
           e.top + d.offset_days * p_per_shop + k,
           'customer-' || (k % 40),
           bench.order_lines(e.shop, k + d.offset_days),
           36 + 3 * ((k + d.offset_days) % 3), (k % 5), 36 + 3 * ((k + d.offset_days) % 3) - (k % 5),
           (case k % 10 when 0 then 'cancelled' when 1 then 'pending' when 2 then 'delivered' else 'completed' end)::public.order_status,
           'paid', 'form',
           d.at, d.at, d.at
      from existing e
     cross join generate_series(1, p_per_shop) k
     cross join lateral (select o as offset_days,
                                (p_from + o)::timestamp at time zone 'UTC'
                                  + make_interval(secs => k * 86399.0 / (p_per_shop + 1)) as at
                           from generate_series(0, p_to - p_from) o) d
    returning 1
  )
  select count(*) from inserted
$$;

-- Case 4: every shop's orders of day D.
select bench.insert_orders(1, 1000, (select day from bench.settings), (select day from bench.settings), 100);
analyze public.form_submissions;
-- Case 3: shop 1's 364 earlier days, so 365 days have orders.
select bench.insert_orders(1, 1, (select day - 364 from bench.settings), (select day - 1 from bench.settings), 100);

-- Case 2: pending orders of shop 1 with 10 lines each, per path.
insert into public.form_submissions
  (id, shop_id, order_number, line_items, subtotal, total, status, channel, submitted_at)
select md5('bench-po-' || p.path || '-' || n)::uuid, md5('bench-shop-1')::uuid,
       1000000 + p.ordinal * 100000 + n,
       (select jsonb_agg(jsonb_build_object(
                 'item_id', md5('bench-item-' || case when j < 2 then (n * 3 + j * 7 + p.ordinal) % 20 + 1
                                                      else 21 + (n * 97 + j * 389 + p.ordinal * 13) % 980 end)::uuid,
                 'quantity', 1 + (n + j) % 3, 'unit_price', 10, 'unit_cost', 4))
          from generate_series(0, 9) j),
       200, 200, 'pending', 'form', now()
  from unnest(array['ours', 'peer', 'floor']) with ordinality as p(path, ordinal),
       generate_series(1, :po_orders) n;

insert into private.order_number_counters (shop_id, last_order_number)
select o.shop_id, max(o.order_number) from public.form_submissions o group by o.shop_id
on conflict (shop_id) do update set last_order_number = excluded.last_order_number;

set local session_replication_role = origin;

-- pgbench (the floor) picks its next process_order order and its next shop
-- of case 4 from these, acting as the bench user (role authenticated).
create sequence bench.floor_order_seq;
create sequence bench.floor_shop_seq;
grant usage on schema bench to authenticated;
grant usage on sequence bench.floor_order_seq, bench.floor_shop_seq to authenticated;

-- Case 3: shop 1's pre-aggregated days, as the nightly job would have made them.
select count(public.generate_daily_sales_metrics(d::date, md5('bench-shop-1')::uuid))
  from bench.settings, generate_series(day - 364, day, interval '1 day') d;

commit;
