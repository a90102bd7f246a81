-- The platform of `scripts/bench scale`: :shops shops with 13 months of
-- orders, stock movements, chat messages and daily metrics, generated in SQL
-- into a database of its own (migrations applied, no pg_cron jobs). Never a
-- migration. Shop n is the same shop at every size (its data is a function
-- of n and the day), so 1,000 shops are exactly the first tenth of 10,000
-- and the per-shop cost of a job can be compared across sizes.
--
-- Three size classes, a long tail as social-commerce shops are:
--   large   5% of shops, 12 orders on 90% of days
--   medium 15% of shops,  4 orders on 50% of days
--   small  80% of shops,  1 order  on 55% of days
-- about 1.28 orders per shop and day, so 505 orders per shop over the 395
-- days and 5.05M orders at 10,000 shops. An order has 2 lines (2
-- stock_history rows) and 1 chat message; a shop has 20 items and 40
-- conversations and is in Asia/Dhaka. Every ended day up to the day before
-- yesterday has its daily_sales_metrics row, as the nightly job leaves it;
-- yesterday is the job's to compute.

\set ON_ERROR_STOP 1
set client_min_messages = warning;
-- only the \echo lines: the generating statements print nothing
\o /dev/null

create schema scalebench;

create table scalebench.settings as
select :shops::integer as shops,
       'Asia/Dhaka'::text as timezone,
       (now() at time zone 'Asia/Dhaka')::date - 395 as first_day,
       (now() at time zone 'Asia/Dhaka')::date - 1 as yesterday;

create table scalebench.shops as
select s,
       md5('scale-shop-' || s)::uuid as id,
       case when s % 20 = 0 then 'large' when s % 20 < 4 then 'medium' else 'small' end as size
  from scalebench.settings, generate_series(1, shops) s;
alter table scalebench.shops add primary key (s);

create function scalebench.orders_on_active_day(p_size text) returns integer language sql immutable as $$
  select case p_size when 'large' then 12 when 'medium' then 4 else 1 end $$;
create function scalebench.active(p_shop integer, p_size text, p_day date) returns boolean language sql immutable as $$
  select abs(hashtext(p_shop || ':' || p_day)) % 1000
         < case p_size when 'large' then 900 when 'medium' then 500 else 550 end $$;

-- Loading is faster with the secondary indexes built once at the end: they
-- are dropped here and created again from their own definitions.
create table scalebench.dropped_indexes as
select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
  from pg_index i
 where i.indrelid in ('public.form_submissions'::regclass, 'public.stock_history'::regclass,
                      'public.messages'::regclass, 'public.daily_sales_metrics'::regclass)
   and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid);
select format('drop index %s', name) from scalebench.dropped_indexes \gexec

-- The orders of the days [p_from, p_to] of every shop active that day, with
-- their stock movements and chat messages (triggers off: ids are made
-- consistent here, and stock_history is append-only for the API).
create function scalebench.add_activity(p_from date, p_to date) returns bigint language plpgsql as $$
declare
  v_orders bigint;
begin
  set local session_replication_role = replica;
  create temp table day_orders on commit drop as
  select md5('scale-order-' || sh.s || '-' || d::date || '-' || k)::uuid as id,
         sh.s, sh.id as shop_id, k,
         (d::date - date '2000-01-01') * 100 + k as order_number,
         (k + (d::date - date '2000-01-01')) % 40 as customer,
         (d::date + make_interval(hours => 9, mins => k * 41)) at time zone 'Asia/Dhaka' as at
    from scalebench.shops sh
   cross join generate_series(p_from, p_to, interval '1 day') d
   cross join lateral generate_series(1, scalebench.orders_on_active_day(sh.size)) k
   where scalebench.active(sh.s, sh.size, d::date);

  insert into public.form_submissions
    (id, shop_id, order_number, customer_name, customer_phone, customer_address, customer_ref, line_items,
     subtotal, discount, shipping_fee, total, status, payment_status, channel, conversation_id, notes,
     stock_deducted_at, submitted_at, created_at, updated_at)
  select o.id, o.shop_id, o.order_number, 'Customer ' || o.customer, '+8801700' || lpad(o.customer::text, 6, '0'),
         'House ' || o.customer || ', Road 7, Dhanmondi, Dhaka 1205', 'cust-' || o.customer,
         jsonb_build_array(
           jsonb_build_object('item_id', md5('scale-item-' || o.s || '-' || (o.k % 20 + 1))::uuid,
                              'quantity', 1 + o.k % 3, 'unit_price', 250 + 50 * (o.k % 20), 'unit_cost', 120),
           jsonb_build_object('item_id', md5('scale-item-' || o.s || '-' || ((o.k + 7) % 20 + 1))::uuid,
                              'quantity', 1, 'unit_price', 250 + 50 * ((o.k + 7) % 20), 'unit_cost', 120)),
         600, (o.k % 4) * 25, 60, 660 - (o.k % 4) * 25,
         (case o.k % 10 when 0 then 'cancelled' when 1 then 'pending' when 2 then 'shipped' else 'delivered' end)::public.order_status,
         'paid', 'messenger', md5('scale-conv-' || o.s || '-' || o.customer)::uuid,
         case when o.k % 3 = 0 then 'Please deliver after 5 pm' end,
         o.at, o.at, o.at, o.at
    from day_orders o;
  get diagnostics v_orders = row_count;

  insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason, reference_id, created_at)
  select o.shop_id, md5('scale-item-' || o.s || '-' || ((o.k + 7 * j) % 20 + 1))::uuid,
         -1, 100000, 99999, 'sale', o.id, o.at
    from day_orders o cross join generate_series(0, 1) j;

  insert into public.messages (id, conversation_id, shop_id, sender_type, content, is_ai_generated, created_at, updated_at)
  select md5('scale-msg-' || o.id)::uuid, md5('scale-conv-' || o.s || '-' || o.customer)::uuid, o.shop_id,
         'customer'::public.message_sender_type,
         'Hi! Is the blue one still available in size M? I would like 2 please.', false, o.at, o.at
    from day_orders o;

  drop table day_orders;
  set local session_replication_role = origin;
  return v_orders;
end;
$$;

\echo generating the shops
-- (the owner's profile is made by the auth.users trigger)
insert into auth.users (id, aud, role, email, created_at, updated_at)
values (md5('scale-user')::uuid, 'authenticated', 'authenticated', 'owner@scale.bench', now(), now());

set session_replication_role = replica;
insert into public.shops (id, owner_id, name, slug, currency, timezone, created_at, updated_at)
select sh.id, md5('scale-user')::uuid, 'Scale shop ' || sh.s, 'scale-shop-' || sh.s, 'BDT', st.timezone,
       st.first_day, st.first_day
  from scalebench.shops sh, scalebench.settings st;
insert into public.team_members (shop_id, user_id, role)
select sh.id, md5('scale-user')::uuid, 'owner' from scalebench.shops sh;
insert into public.items (id, shop_id, name, sku, category, description, price, cost, track_stock, stock,
                          low_stock_threshold, created_at, updated_at)
select md5('scale-item-' || sh.s || '-' || i)::uuid, sh.id, 'Cotton kurti ' || i, 'KRT-' || lpad(i::text, 3, '0'),
       'category-' || (i % 5), 'Hand-printed cotton, machine washable. Sizes S to XL.', 250 + 50 * (i - 1), 120, true,
       -- a few items of every shop are low on stock
       case when i <= 3 then 2 else 99999 end, 5, st.first_day, st.first_day
  from scalebench.shops sh, scalebench.settings st, generate_series(1, 20) i;
insert into public.conversations (id, shop_id, platform, external_id, customer_name, customer_ref, status,
                                  last_message_at, created_at, updated_at)
select md5('scale-conv-' || sh.s || '-' || c)::uuid, sh.id, 'messenger', 'psid-' || sh.s || '-' || c,
       'Customer ' || c, 'cust-' || c, 'open', st.yesterday, st.first_day, st.first_day
  from scalebench.shops sh, scalebench.settings st, generate_series(0, 39) c;
set session_replication_role = origin;

\echo generating 13 months of orders, a month per transaction
select format('select scalebench.add_activity(%L, %L)', st.first_day + n, least(st.first_day + n + 29, st.yesterday))
  from scalebench.settings st, generate_series(0, st.yesterday - st.first_day, 30) n \gexec

\echo the daily metrics of every ended day but yesterday
-- The nightly job's row of each shop and day (the formulas of
-- compute_daily_sales_metrics, a set at once instead of a call per shop-day).
set session_replication_role = replica;
insert into public.daily_sales_metrics
  (shop_id, date, orders, completed, cancelled, gross_revenue, discounts, net_revenue, cost_of_goods, gross_profit,
   items_sold, average_order_value, unique_customers, gmv, computed_at)
select sh.id, d::date, coalesce(o.orders, 0), coalesce(o.completed, 0), coalesce(o.cancelled, 0),
       coalesce(o.gross, 0), coalesce(o.discounts, 0), coalesce(o.gross - o.discounts, 0), coalesce(o.cogs, 0),
       coalesce(o.gross - o.discounts - o.cogs, 0), coalesce(o.items, 0),
       coalesce(round((o.gross - o.discounts) / nullif(o.completed, 0), 2), 0), coalesce(o.customers, 0),
       coalesce(o.gmv, 0), now()
  from scalebench.shops sh
 cross join scalebench.settings st
 cross join generate_series(st.first_day, st.yesterday - 1, interval '1 day') d
  left join (
    select f.shop_id, (f.submitted_at at time zone 'Asia/Dhaka')::date as day,
           count(*) as orders,
           count(*) filter (where f.status = 'delivered') as completed,
           count(*) filter (where f.status = 'cancelled') as cancelled,
           sum(f.subtotal) filter (where f.status = 'delivered') as gross,
           sum(f.discount) filter (where f.status = 'delivered') as discounts,
           sum(240) filter (where f.status = 'delivered') as cogs,
           sum(3) filter (where f.status = 'delivered') as items,
           count(distinct f.customer_ref) as customers,
           sum(f.total) filter (where f.status = 'delivered') as gmv
      from public.form_submissions f
     group by 1, 2
  ) o on o.shop_id = sh.id and o.day = d::date;
set session_replication_role = origin;
-- Those rows queued their platform days (the queue triggers fire always);
-- the platform job of each past night has drained them.
delete from private.dirty_platform_days;

\echo building the indexes
select definition from scalebench.dropped_indexes \gexec
