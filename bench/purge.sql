-- Stock-history purge: the cost of purging one month of expired history, per
-- purged row, with a year of history kept and with ten times more kept. Run
-- by `scripts/bench purge` over two databases of its own in the bench cluster
-- (migrations applied, no pg_cron); never a migration. Prints the markdown
-- section scripts/bench writes into BENCHMARKS.md.
--
-- psql variables (defaults in scripts/bench):
--   :purge_rows   rows of an expired month (the same in both databases)
--   :kept_factor  how many times more history the second database keeps
--   :batch_size   rows per batch, as the pg_cron job runs it
--   :owner_url_1, :admin_url_1, :owner_url_2, :admin_url_2  the two databases
--                 as postgres (everything) and as supabase_admin (CHECKPOINT,
--                 /proc/loadavg)
--   :out, :loadavg  the section's file, the load average at the start
--
-- Database 1 keeps a year of 1,000 shops, 12 times :purge_rows rows (each
-- month as dense as the expired one); database 2 a year of :kept_factor x
-- 1,000 shops, :kept_factor times more rows (a platform grown tenfold). Then
-- three rounds, alternating between the two so both see the same load of the
-- machine: an expired month of the first 1,000 shops is written, and purged
-- (bench/sql/purge_round.sql). Figures are the median of the three rounds.

\set ON_ERROR_STOP 1

\echo database 1: a year of history
\connect :owner_url_1
select 1000 as shops, 12::bigint * :purge_rows as kept_rows \gset
\ir sql/purge_setup.sql
\echo database 2: ten times more
\connect :owner_url_2
select 1000 * :kept_factor as shops, 12::bigint * :purge_rows * :kept_factor as kept_rows \gset
\ir sql/purge_setup.sql

\set round 1
\echo round 1
\set owner_url :owner_url_1
\set admin_url :admin_url_1
\ir sql/purge_round.sql
\set owner_url :owner_url_2
\set admin_url :admin_url_2
\ir sql/purge_round.sql
\set round 2
\echo round 2
\set owner_url :owner_url_1
\set admin_url :admin_url_1
\ir sql/purge_round.sql
\set owner_url :owner_url_2
\set admin_url :admin_url_2
\ir sql/purge_round.sql
\set round 3
\echo round 3
\set owner_url :owner_url_1
\set admin_url :admin_url_1
\ir sql/purge_round.sql
\set owner_url :owner_url_2
\set admin_url :admin_url_2
\ir sql/purge_round.sql

-- ---- the report -----------------------------------------------------------------------
-- Each database's figures: the median of its rounds, with the range.
\connect :owner_url_1
select percentile_cont(0.5) within group (order by batch_us) as one_batch_us,
       format('%s–%s', round(min(batch_us), 1), round(max(batch_us), 1)) as one_batch_range,
       percentile_cont(0.5) within group (order by buffers) as one_buffers,
       percentile_cont(0.5) within group (order by reads) as one_reads,
       percentile_cont(0.5) within group (order by procedure_us) as one_procedure_us,
       format('%s–%s', round(min(procedure_us), 1), round(max(procedure_us), 1)) as one_procedure_range,
       string_agg(loadavg, ' / ' order by round) as one_loadavg,
       min(purged_rows) as one_purged,
       (select kept_rows from purgebench.history) as one_kept,
       (select relation_bytes from purgebench.history) as one_bytes
  from purgebench.per_row \gset
\connect :owner_url_2
set client_min_messages = warning;
create table purgebench.report_figures as
select 1 as scenario, :one_batch_us::numeric as batch_us, :'one_batch_range' as batch_range,
       :one_buffers::numeric as buffers, :one_reads::numeric as reads,
       :one_procedure_us::numeric as procedure_us, :'one_procedure_range' as procedure_range,
       :'one_loadavg' as loadavg, :one_purged::bigint as purged, :one_kept::bigint as kept_rows,
       :one_bytes::bigint as relation_bytes
union all
select 2, percentile_cont(0.5) within group (order by batch_us)::numeric,
       format('%s–%s', round(min(batch_us), 1), round(max(batch_us), 1)),
       percentile_cont(0.5) within group (order by buffers)::numeric,
       percentile_cont(0.5) within group (order by reads)::numeric,
       percentile_cont(0.5) within group (order by procedure_us)::numeric,
       format('%s–%s', round(min(procedure_us), 1), round(max(procedure_us), 1)),
       string_agg(loadavg, ' / ' order by round), min(purged_rows),
       (select kept_rows from purgebench.history), (select relation_bytes from purgebench.history)
  from purgebench.per_row;

\pset format unaligned
\pset tuples_only on
\pset footer off
\o :out
with one as (select * from purgebench.report_figures where scenario = 1),
two as (select * from purgebench.report_figures where scenario = 2),
report (ord, line) as (
  select 1, '<!-- purge -->'
  union all select 2, '## Stock-history purge'
  union all select 3, ''
  union all select 4, format('Written by `scripts/bench purge` (`bench/purge.sql`). Run: %s; 2 cores shared with other '
    || 'work: load average %s at the start, before each round %s (a year) and %s (%sx).',
    to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'), :'loadavg', one.loadavg, two.loadavg, :kept_factor)
    from one, two
  union all select 5, ''
  union all select 6, format('**Method.** The monthly job purges the history older than 365 days, %s rows per '
    || 'transaction (`call private.run_stock_history_purge`). Two databases: one keeps a year of history of 1,000 shops '
    || '(%s rows, 12 months as dense as the purged one), the other %s times more (a year of %s shops). Rows are written '
    || 'in time order with the indexes built after the load, then VACUUM ANALYZE (autovacuum off for the table during '
    || 'the run). Three rounds alternate between the two, each: an expired month of %s rows of 1,000 shops is written, '
    || 'a CHECKPOINT, 3 batches under `EXPLAIN (ANALYZE, BUFFERS)` (every buffer a batch touches: the created_at index '
    || 'from the cursor, the heap pages by TID, the append-only guard''s lookup per row), then the rest of the month by '
    || 'the procedure as pg_cron calls it, timed. Figures per purged row, median of the rounds (range).',
    :batch_size, to_char(one.kept_rows, 'FM999,999,999'), :kept_factor, to_char(1000 * :kept_factor, 'FM999,999'),
    to_char(one.purged, 'FM999,999,999'))
    from one
  union all select 7, ''
  union all select 8, '| history kept | rows kept | table + indexes | batch µs per row | buffers per row (read) | procedure µs per row |'
  union all select 9, '|---|---:|---:|---:|---:|---:|'
  union all select 10 + f.scenario, format('| %s | %s | %s | %s (%s) | %s (%s) | %s (%s) |',
    case f.scenario when 1 then 'a year, 1,000 shops' else format('%sx', :kept_factor) end,
    to_char(f.kept_rows, 'FM999,999,999'), pg_size_pretty(f.relation_bytes), round(f.batch_us, 1), f.batch_range,
    round(f.buffers, 2), round(f.reads, 2), round(f.procedure_us, 1), f.procedure_range)
    from purgebench.report_figures f
  union all select 20, format('| **ratio** | %s | %s | **%s** | **%s** | **%s** |',
    round(two.kept_rows::numeric / one.kept_rows, 1), round(two.relation_bytes::numeric / one.relation_bytes, 1),
    round(two.batch_us / one.batch_us, 2), round(two.buffers / one.buffers, 2),
    round(two.procedure_us / one.procedure_us, 2))
    from one, two
  union all select 21, ''
  union all select 22, format('A batch touches %s buffers per purged row in both (the heap tuple, the guard''s lookup of '
    || 'its transaction in `private.stock_history_purges`, the created_at index walked from the cursor): the purge '
    || 'reads the rows it removes, never the kept history, so its work per row does not grow with the table (the times '
    || 'are medians of three rounds on a shared machine, their range in brackets). The month was just written, so its pages are in '
    || 'shared buffers in both (reads 0); a cold month adds the same reads per row to either. At %s '
    || 'shops as dense as these, a month is %s rows: about %s s at the second database''s rate, in transactions of %s '
    || 'rows.',
    round((one.buffers + two.buffers) / 2, 1), to_char(1000 * :kept_factor, 'FM999,999'),
    to_char(one.purged * :kept_factor, 'FM999,999,999'), round(one.purged * :kept_factor * two.procedure_us / 1e6),
    :batch_size)
    from one, two
  union all select 23, '<!-- /purge -->'
)
select line from report order by ord;
\o
