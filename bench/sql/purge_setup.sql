-- bench/purge.sql's platform in the database connected to: :shops shops of
-- 10 items and a year of their stock history, :kept_rows rows written in time
-- order with triggers and foreign keys off and the secondary indexes built
-- after the load (as a restore from a dump builds them), then VACUUM
-- ANALYZE. Autovacuum is off for stock_history here, so no vacuum runs in
-- the middle of a measurement. Also the helpers of bench/sql/purge_round.sql.
-- Bench only.
set client_min_messages = warning;
drop schema if exists purgebench cascade;
create schema purgebench;

create table purgebench.rounds (
  round integer primary key,
  loadavg text not null,
  batch_rows bigint,
  batch_ms numeric,
  shared_hit bigint,
  shared_read bigint,
  procedure_rows bigint,
  procedure_started timestamptz,
  procedure_ended timestamptz
);

insert into auth.users (id, aud, role, email, created_at, updated_at)
values (md5('purge-user')::uuid, 'authenticated', 'authenticated', 'owner@purge.bench', now(), now());
set session_replication_role = replica;
insert into public.shops (id, owner_id, name, slug, currency, timezone)
select md5('purge-shop-' || s)::uuid, md5('purge-user')::uuid, 'Purge shop ' || s, 'purge-shop-' || s, 'BDT', 'UTC'
  from generate_series(1, :shops) s;
insert into public.items (id, shop_id, name, track_stock, stock)
select md5('purge-item-' || s || '-' || i)::uuid, md5('purge-shop-' || s)::uuid, 'Item ' || i, true, 50
  from generate_series(1, :shops) s, generate_series(0, 9) i;
set session_replication_role = origin;
alter table public.stock_history set (autovacuum_enabled = false);

-- p_rows rows of shops 1..p_shops, evenly over [p_from, p_to), in time
-- order: sales of one unit, three lines per order. Triggers and foreign keys
-- off (the ids are made consistent here).
create function purgebench.add_history(p_shops integer, p_from timestamptz, p_to timestamptz, p_rows bigint)
returns void language plpgsql as $$
begin
  set local session_replication_role = replica;
  insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason, reference_id, created_at)
  select md5('purge-shop-' || x.s)::uuid, md5('purge-item-' || x.s || '-' || g % 10)::uuid, -1, 50, 49, 'sale',
         md5('purge-order-' || p_from || '-' || g / 3)::uuid,
         p_from + (p_to - p_from) * (g::double precision / p_rows)
    from generate_series(0, p_rows - 1) g
   cross join lateral (select 1 + (g / 3) % p_shops as s) x;
  set local session_replication_role = origin;
end $$;

-- The secondary indexes are dropped for the load and built again after it,
-- from their own definitions.
create table purgebench.indexes as
select c.relname::text as name, pg_get_indexdef(i.indexrelid) as definition
  from pg_index i join pg_class c on c.oid = i.indexrelid
 where i.indrelid = 'public.stock_history'::regclass and not i.indisprimary;
do $$
declare v record;
begin
  for v in select * from purgebench.indexes loop execute format('drop index public.%I', v.name); end loop;
end $$;
-- The kept year starts a day after the cutoff (365 days), so the minutes of
-- the run move no kept row across it.
select purgebench.add_history(:shops, now() - interval '364 days', now() - interval '1 hour', :kept_rows);
do $$
declare v record;
begin
  for v in select * from purgebench.indexes loop execute v.definition; end loop;
end $$;
vacuum analyze public.stock_history;

-- What the table holds before the rounds.
create table purgebench.history as
select count(*) as kept_rows, pg_total_relation_size('public.stock_history') as relation_bytes
  from public.stock_history;

-- One batch under EXPLAIN (ANALYZE, BUFFERS), which counts every buffer it
-- touches (the created_at index, the heap by TID, the append-only guard's
-- lookup per row), from the cursor the job's procedure would have (the
-- oldest row left); added to the round's figures.
create function purgebench.explain_batch(p_round integer, p_batch_size integer) returns void language plpgsql as $$
declare
  v_after timestamptz;
  v_before bigint;
  v_plan json;
begin
  select min(h.created_at), count(*) into v_after, v_before
    from public.stock_history h where h.created_at < now() - interval '365 days';
  execute format('explain (analyze, buffers, format json) select * from private.purge_stock_history_batch(%L, %L, %s)',
                 interval '365 days', v_after, p_batch_size) into v_plan;
  update purgebench.rounds r
     set batch_rows = coalesce(r.batch_rows, 0) + v_before
                      - (select count(*) from public.stock_history h where h.created_at < now() - interval '365 days'),
         batch_ms = coalesce(r.batch_ms, 0) + (v_plan -> 0 ->> 'Execution Time')::numeric,
         shared_hit = coalesce(r.shared_hit, 0) + (v_plan -> 0 -> 'Plan' ->> 'Shared Hit Blocks')::bigint,
         shared_read = coalesce(r.shared_read, 0) + (v_plan -> 0 -> 'Plan' ->> 'Shared Read Blocks')::bigint
   where r.round = p_round;
end $$;

-- The figures per purged row of each round.
create view purgebench.per_row as
select r.round, r.loadavg,
       r.batch_ms * 1000 / r.batch_rows as batch_us,
       (r.shared_hit + r.shared_read)::numeric / r.batch_rows as buffers,
       r.shared_read::numeric / r.batch_rows as reads,
       extract(epoch from r.procedure_ended - r.procedure_started) * 1e6 / r.procedure_rows as procedure_us,
       r.batch_rows + r.procedure_rows as purged_rows
  from purgebench.rounds r;
