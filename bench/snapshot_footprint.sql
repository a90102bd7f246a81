-- Snapshot storage: what recovery snapshots cost on disk with deduplicated
-- parts, measured on generated shops and extrapolated to 90 days' retention
-- at 10,000 shops. Run by `scripts/bench snapshots` on the bench stack's
-- database (migrations applied); never a migration. Prints the markdown
-- section scripts/bench writes into BENCHMARKS.md.
--
-- The platform (psql variables, defaults in scripts/bench):
--   :shops shops in UTC, :history_months months of history before this month,
--   three size classes (a long tail, as social-commerce shops are):
--     large   5% of shops, 15 orders on a day with orders, orders on 80% of days
--     medium 15% of shops,  5 orders,                                 25% of days
--     small  80% of shops,  2 orders,                                  3% of days
--   so about 10% of shops take orders on a given day. An order has 3 lines,
--   3 stock_history rows and 2 chat messages; a shop has 20 items and 40
--   customers (one conversation each). Every shop gets its daily_sales_metrics
--   row every day, as the nightly job writes it.
-- The nights measured are days 13, 14 and 15 of the current month (the
-- middle of a month: the recent part holds an average month's half), each
-- night: that day's orders, every shop's metrics of the day, then the
-- all-shop daily backup, as pg_cron runs them.

\set ON_ERROR_STOP 1
set client_min_messages = warning;

drop schema if exists snapbench cascade;
create schema snapbench;

create table snapbench.settings as
select :shops::integer as shops,
       :history_months::integer as history_months,
       date_trunc('month', now() at time zone 'UTC')::date as month_start,
       (date_trunc('month', now() at time zone 'UTC') - make_interval(months => :history_months))::date as first_day,
       date_trunc('month', now() at time zone 'UTC')::date + 12 as first_night;

create table snapbench.shops as
select s,
       md5('snap-shop-' || s)::uuid as id,
       case when s % 20 = 0 then 'large' when s % 20 < 4 then 'medium' else 'small' end as size
  from snapbench.settings, generate_series(1, shops) s;

create function snapbench.orders_on_active_day(p_size text) returns integer language sql immutable as $$
  select case p_size when 'large' then 15 when 'medium' then 5 else 2 end $$;
create function snapbench.active(p_shop integer, p_size text, p_day date) returns boolean language sql immutable as $$
  select abs(hashtext(p_shop || ':' || p_day)) % 1000
         < case p_size when 'large' then 800 when 'medium' then 250 else 30 end $$;

-- The orders of days [p_from, p_to] of every shop active that day, with
-- their stock movements and chat messages (triggers off: ids are made
-- consistent here, and stock_history is append-only for the API).
create function snapbench.add_activity(p_from date, p_to date) returns bigint language plpgsql as $$
declare
  v_orders bigint;
begin
  set local session_replication_role = replica;
  create temp table day_orders on commit drop as
  select md5('snap-order-' || sh.s || '-' || d::date || '-' || k)::uuid as id,
         sh.s, sh.id as shop_id, d::date as day, k,
         (d::date - date '2000-01-01') * 100 + k as order_number,
         (k + (d::date - date '2000-01-01')) % 40 as customer,
         d::date + make_interval(hours => 8, mins => k * 37) as at
    from snapbench.shops sh
   cross join generate_series(p_from, p_to, interval '1 day') d
   cross join lateral generate_series(1, snapbench.orders_on_active_day(sh.size)) k
   where snapbench.active(sh.s, sh.size, d::date);

  insert into public.form_submissions
    (id, shop_id, order_number, customer_name, customer_phone, customer_address, customer_ref, line_items,
     subtotal, discount, shipping_fee, total, status, payment_status, channel, conversation_id, notes,
     stock_deducted_at, submitted_at, created_at, updated_at)
  select o.id, o.shop_id, o.order_number, 'Customer ' || o.customer, '+8801700' || lpad(o.customer::text, 6, '0'),
         'House ' || o.customer || ', Road 7, Dhanmondi, Dhaka 1205', 'cust-' || o.customer,
         (select jsonb_agg(jsonb_build_object(
                   'item_id', md5('snap-item-' || o.s || '-' || ((o.k + j) % 20 + 1))::uuid,
                   'quantity', 1 + (o.k + j) % 3, 'unit_price', 250 + 50 * ((o.k + j) % 20), 'unit_cost', 120))
            from generate_series(0, 2) j),
         900, (o.k % 4) * 25, 60, 960 - (o.k % 4) * 25,
         (case o.k % 10 when 0 then 'cancelled' when 1 then 'pending' when 2 then 'shipped' else 'delivered' end)::public.order_status,
         'paid', 'messenger', md5('snap-conv-' || o.s || '-' || o.customer)::uuid,
         case when o.k % 3 = 0 then 'Please deliver after 5 pm' end,
         o.at, o.at, o.at, o.at
    from day_orders o;
  get diagnostics v_orders = row_count;

  insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason, reference_id, created_at)
  select o.shop_id, md5('snap-item-' || o.s || '-' || ((o.k + j) % 20 + 1))::uuid,
         -(1 + (o.k + j) % 3), 500, 500 - (1 + (o.k + j) % 3), 'sale', o.id, o.at
    from day_orders o cross join generate_series(0, 2) j;

  insert into public.messages (id, conversation_id, shop_id, sender_type, content, is_ai_generated, created_at, updated_at)
  select md5('snap-msg-' || o.id || '-' || m)::uuid, md5('snap-conv-' || o.s || '-' || o.customer)::uuid, o.shop_id,
         (case m when 0 then 'customer' else 'ai' end)::public.message_sender_type,
         case m when 0 then 'Hi! Is the blue one still available in size M? I would like 2 please.'
                else 'Yes, it is in stock. Your order #' || o.order_number || ' is confirmed, delivery in 2 days.' end,
         m = 1, o.at + make_interval(mins => m), o.at + make_interval(mins => m)
    from day_orders o cross join generate_series(0, 1) m;

  -- What the stock functions and the messages would have moved: the items'
  -- stock and the conversations' last message.
  update public.items i set stock = greatest(i.stock - sold.quantity, 0), updated_at = sold.at
    from (select md5('snap-item-' || o.s || '-' || ((o.k + j) % 20 + 1))::uuid as item_id,
                 sum(1 + (o.k + j) % 3) as quantity, max(o.at) as at
            from day_orders o cross join generate_series(0, 2) j group by 1) sold
   where i.id = sold.item_id;
  update public.conversations c set last_message_at = m.at, updated_at = m.at
    from (select md5('snap-conv-' || o.s || '-' || o.customer)::uuid as id, max(o.at) + interval '1 minute' as at
            from day_orders o group by 1) m
   where c.id = m.id;

  drop table day_orders;
  set local session_replication_role = origin;
  return v_orders;
end;
$$;

-- Every shop's daily_sales_metrics of one day, as the nightly job computes
-- it (a day without orders is the all-zero row the job would write).
create function snapbench.metrics_of(p_day date) returns bigint language sql as $$
  with zero as (
    insert into public.daily_sales_metrics (shop_id, date)
    select sh.id, p_day from snapbench.shops sh where not snapbench.active(sh.s, sh.size, p_day)
    returning 1
  )
  select (select count(*) from zero)
       + (select count(private.compute_daily_sales_metrics(sh.id, p_day))
            from snapbench.shops sh where snapbench.active(sh.s, sh.size, p_day)) $$;

-- ---- the platform up to the first night ---------------------------------------------
\echo generating the shops and their history
-- (its profile is made by the auth.users trigger)
insert into auth.users (id, aud, role, email, created_at, updated_at)
values (md5('snap-user')::uuid, 'authenticated', 'authenticated', 'owner@snapshots.bench', now(), now());

set session_replication_role = replica;
insert into public.shops (id, owner_id, name, slug, currency, timezone, created_at, updated_at)
select sh.id, md5('snap-user')::uuid, 'Snapshot shop ' || sh.s, 'snapshot-shop-' || sh.s, 'BDT', 'UTC',
       st.first_day, st.first_day
  from snapbench.shops sh, snapbench.settings st;
insert into public.team_members (shop_id, user_id, role)
select sh.id, md5('snap-user')::uuid, 'owner' from snapbench.shops sh;
insert into public.items (id, shop_id, name, sku, category, description, price, cost, track_stock, stock,
                          low_stock_threshold, created_at, updated_at)
select md5('snap-item-' || sh.s || '-' || i)::uuid, sh.id, 'Cotton kurti ' || i, 'KRT-' || lpad(i::text, 3, '0'),
       'category-' || (i % 5), 'Hand-printed cotton, machine washable. Sizes S to XL.', 250 + 50 * (i - 1), 120, true,
       100000, 5, st.first_day, st.first_day
  from snapbench.shops sh, snapbench.settings st, generate_series(1, 20) i;
insert into public.conversations (id, shop_id, platform, external_id, customer_name, customer_ref, status,
                                  last_message_at, created_at, updated_at)
select md5('snap-conv-' || sh.s || '-' || c)::uuid, sh.id, 'messenger', 'psid-' || sh.s || '-' || c,
       'Customer ' || c, 'cust-' || c, 'open', null, st.first_day, st.first_day
  from snapbench.shops sh, snapbench.settings st, generate_series(0, 39) c;
set session_replication_role = origin;

select snapbench.add_activity(st.first_day, st.first_night - 1) as history_orders from snapbench.settings st \gset
\echo :history_orders orders before the first night
select count(snapbench.metrics_of(d::date)) as metric_days
  from snapbench.settings st, generate_series(st.first_day, st.first_night - 1, interval '1 day') d \gset
vacuum analyze;

-- ---- three nights -----------------------------------------------------------------------
create table snapbench.nights (
  night integer primary key,
  day date not null,
  shops_with_orders integer not null,
  orders integer not null,
  backup_seconds numeric not null,
  parts_relation_bytes bigint not null,
  snapshots_relation_bytes bigint not null,
  new_parts integer not null,
  new_state_parts integer not null,
  new_recent_parts integer not null,
  new_history_parts integer not null,
  new_parts_stored_bytes bigint not null,
  snapshot_bytes bigint not null
);

create function snapbench.night(p_night integer) returns void language plpgsql as $$
declare
  v_day date := (select st.first_night + p_night - 1 from snapbench.settings st);
  v_orders bigint;
  v_started timestamptz;
  v_seconds numeric;
  v_log_id uuid;
begin
  v_orders := snapbench.add_activity(v_day, v_day);
  perform snapbench.metrics_of(v_day);
  v_started := clock_timestamp();
  v_log_id := (public.create_backup_snapshot(p_shop_id => null, p_backup_type => 'daily') ->> 'backup_log_id')::uuid;
  v_seconds := extract(epoch from clock_timestamp() - v_started);

  insert into snapbench.nights
  select p_night, v_day,
         (select count(*) from snapbench.shops sh where snapbench.active(sh.s, sh.size, v_day)),
         v_orders, round(v_seconds, 1),
         pg_total_relation_size('public.recovery_snapshot_parts'),
         pg_total_relation_size('public.recovery_snapshots'),
         (select count(*) from public.recovery_snapshot_parts p where p.created_at = now()),
         (select count(*) from public.recovery_snapshots s join public.recovery_snapshot_parts p on p.id = s.state_part_id
           where s.backup_log_id = v_log_id and p.created_at = now()),
         (select count(*) from public.recovery_snapshots s join public.recovery_snapshot_parts p on p.id = s.recent_part_id
           where s.backup_log_id = v_log_id and p.created_at = now()),
         (select count(*) from public.recovery_snapshots s join public.recovery_snapshot_parts p on p.id = s.history_part_id
           where s.backup_log_id = v_log_id and p.created_at = now()),
         (select coalesce(sum(pg_column_size(p.data)), 0) from public.recovery_snapshot_parts p where p.created_at = now()),
         (select sum(s.size_bytes) from public.recovery_snapshots s where s.backup_log_id = v_log_id);
end;
$$;

\echo night 1: the first snapshot of every shop
select snapbench.night(1);
\echo night 2
select snapbench.night(2);
\echo night 3
select snapbench.night(3);

-- ---- what the same snapshots would cost whole, and at the next month's turn ---------------
\echo compressing whole snapshots and the history parts of the next month
-- One row per shop: its last snapshot's whole data (what a snapshot stored
-- before parts), and the history part it would store at the next month's
-- turn; each in a table of its own, measured like the parts.
create table snapbench.whole_copies (shop_id uuid, size text, logical_bytes bigint, data jsonb);
create table snapbench.next_history (shop_id uuid, data jsonb);
do $$
begin
  -- lz4 as the parts are stored, where the server has it
  if exists (select 1 from pg_catalog.pg_settings s
              where s.name = 'default_toast_compression' and 'lz4' = any (s.enumvals)) then
    alter table snapbench.whole_copies alter column data set compression lz4;
    alter table snapbench.next_history alter column data set compression lz4;
  end if;
end;
$$;
insert into snapbench.whole_copies
select sh.id, sh.size, snap.size_bytes, private.snapshot_data(snap)
  from snapbench.shops sh
 cross join lateral (select r.id from public.recovery_snapshots r where r.shop_id = sh.id
                      order by r.created_at desc, r.id desc limit 1) last
  join public.recovery_snapshots snap on snap.id = last.id;
insert into snapbench.next_history
select w.shop_id, p.history
  from snapbench.whole_copies w
 cross join lateral private.split_snapshot(w.data, (date_trunc('month', now() at time zone 'UTC') + interval '1 month')::date) p;

-- ---- the report -----------------------------------------------------------------------
\pset format unaligned
\pset tuples_only on
\pset footer off
\o :out
with st as (select * from snapbench.settings),
n as (select * from snapbench.nights),
increment as (
  -- the relations' growth per night, nights 2 and 3
  select avg((n.parts_relation_bytes + n.snapshots_relation_bytes)
             - (p.parts_relation_bytes + p.snapshots_relation_bytes)) as bytes,
         avg(n.snapshots_relation_bytes - p.snapshots_relation_bytes) as row_bytes,
         avg(n.new_parts_stored_bytes) as parts_stored,
         avg(n.shops_with_orders) as shops_with_orders
    from n join n p on p.night = n.night - 1
),
shop as (
  select count(*) as shops,
         pg_total_relation_size('snapbench.whole_copies') as whole_bytes,
         pg_total_relation_size('snapbench.next_history') as rollover_bytes,
         sum(pg_column_size(data)) as whole_stored,
         percentile_cont(0.5) within group (order by logical_bytes) as median_logical,
         avg(logical_bytes) as mean_logical
    from snapbench.whole_copies
),
classes as (
  select string_agg(format('%s %s / %s', c.size, pg_size_pretty(c.logical::bigint), pg_size_pretty(c.stored::bigint)),
                    ', ' order by c.size) as text
    from (select size, avg(logical_bytes) as logical, avg(pg_column_size(data)) as stored
            from snapbench.whole_copies group by size) c
),
-- Steady state of 90 days' retention: 90 nightly and 13 weekly snapshots per
-- shop. Deduplicated: 90 nights of new parts and rows, 4 history parts per
-- shop (the window spans three month turns), 13 weekly rows (a weekly backup
-- an hour after the daily one shares its parts). Whole: 103 copies.
footprint as (
  select 90 * i.bytes + 4 * sh.rollover_bytes + 13 * i.row_bytes as dedup,
         103 * (sh.whole_bytes + i.row_bytes) as whole,
         10000.0 / sh.shops as factor
    from increment i, shop sh
),
report (ord, line) as (
  select 1, '<!-- snapshots -->'
  union all select 2, '## Snapshot storage'
  union all select 3, ''
  union all select 4, format('Written by `scripts/bench snapshots` (`bench/snapshot_footprint.sql`). Run: %s; load average %s at the start.',
                             to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'), :'loadavg')
  union all select 5, ''
  union all select 6, format('**Method.** %s shops generated in SQL with %s months of history before this month and 12 days '
    || 'of it, in three size classes (5%% large: 15 orders on 80%% of days; 15%% medium: 5 orders on 25%% of days; 80%% '
    || 'small: 2 orders on 3%% of days), so about 10%% of shops take orders on a given day; an order has 3 lines, 3 '
    || 'stock_history rows and 2 chat messages; 20 items and 40 conversations per shop; every shop gets its '
    || 'daily_sales_metrics row every day. Then three nights (days 13 to 15 of the month, so a recent part holds half a '
    || 'month, its average), each: the day''s orders, every shop''s metrics of the day, the all-shop daily backup as '
    || 'pg_cron runs it. Sizes are `pg_total_relation_size` (table, TOAST, indexes) of `recovery_snapshot_parts` and '
    || '`recovery_snapshots`; values are stored lz4-compressed.', st.shops, st.history_months)
    from st
  union all select 7, ''
  union all select 8, '| night | shops with orders | orders | backup s | new parts (state / recent / history) | new parts, compressed | snapshots, logical | both relations |'
  union all select 9, '|---:|---:|---:|---:|---|---:|---:|---:|'
  union all select 10 + n.night, format('| %s | %s | %s | %s | %s (%s / %s / %s) | %s | %s | %s |',
    n.night, n.shops_with_orders, n.orders, n.backup_seconds, n.new_parts, n.new_state_parts, n.new_recent_parts,
    n.new_history_parts, pg_size_pretty(n.new_parts_stored_bytes), pg_size_pretty(n.snapshot_bytes),
    pg_size_pretty(n.parts_relation_bytes + n.snapshots_relation_bytes))
    from n
  union all select 20, ''
  union all select 21, format('**Snapshot bytes per shop** (canonical JSON, `size_bytes`): median %s, mean %s; a whole '
    || 'snapshot compressed: %s on average. By class (mean logical / compressed): %s.',
    pg_size_pretty(sh.median_logical::bigint), pg_size_pretty(sh.mean_logical::bigint),
    pg_size_pretty((sh.whole_stored / sh.shops)::bigint), c.text)
    from shop sh, classes c
  union all select 22, ''
  union all select 23, format('**Per night** (nights 2 and 3; %s of %s shops took orders): the two relations grow by %s '
    || '(%s per shop), of which %s are the snapshot rows and their indexes. Every shop stores a new recent part (its '
    || 'metrics row of the day is in it), a shop that took orders also a new state part (its stock moved); no history '
    || 'part is stored. At the turn of a month every shop stores its history again, the month just ended added: %s for '
    || 'these shops.',
    round(i.shops_with_orders), sh.shops, pg_size_pretty(i.bytes::bigint), pg_size_pretty((i.bytes / sh.shops)::bigint),
    pg_size_pretty(i.row_bytes::bigint), pg_size_pretty(sh.rollover_bytes))
    from increment i, shop sh
  union all select 24, ''
  union all select 25, '| 90 days'' retention | deduplicated parts | a whole copy per snapshot (before) |'
  union all select 26, '|---|---:|---:|'
  union all select 27, format('| **10,000 shops** | **%s** | %s |', pg_size_pretty((f.dedup * f.factor)::bigint),
    pg_size_pretty((f.whole * f.factor)::bigint)) from footprint f
  union all select 28, format('| per shop | %s | %s |', pg_size_pretty((f.dedup / sh.shops)::bigint),
    pg_size_pretty((f.whole / sh.shops)::bigint)) from footprint f, shop sh
  union all select 29, ''
  union all select 30, '90 nightly and 13 weekly snapshots per shop. Deduplicated: 90 nights of new parts and rows, 4 '
    || 'history parts per shop (90 days span three month turns) and 13 weekly rows (a weekly backup an hour after the '
    || 'daily one shares its parts); whole: 103 compressed copies per shop and their rows. Extrapolated linearly from '
    || 'these shops (same mix of classes). Shops with more history store a larger history copy each month; the nightly '
    || 'parts stay the same.'
  union all select 31, '<!-- /snapshots -->'
)
select line from report order by ord;
\o
