-- realtime: the tables a dashboard watches join the `supabase_realtime`
-- publication (hosted Supabase creates it empty; the local baseline does
-- the same). One appended file rather than a statement in each table's
-- concern file: what is published, and why, reads in one place, and a
-- project that already applied the other migrations gets it with a push. Realtime then delivers each change only to subscribers whose
-- role and JWT claims can select the row under row-level security.
--
--   items             live stock on the catalog, low-stock alerts
--   stock_history     the audit feed of every stock change
--   form_submissions  new orders and their status on the dashboard
--
-- Replica identity full on all three: an update then carries the old row
-- too (a low-stock alert needs the stock before and after, an order view
-- the status before and after), and a delete carries the whole old row, so
-- it can be checked against the policies instead of going to every
-- subscriber of the table with its key alone. stock_history is never
-- updated, so this costs WAL only when rows are deleted (with their shop,
-- or by the retention purge).
--
-- Not published: daily_sales_metrics and product_analytics are recomputed
-- in bulk by the analytics functions and pg_cron (a dashboard re-reads them
-- with get_metrics after the order events it sees); platform_metrics and the
-- backup tables are for platform admins, read on demand.

alter table public.items replica identity full;
alter table public.stock_history replica identity full;
alter table public.form_submissions replica identity full;

alter publication supabase_realtime add table public.items, public.stock_history, public.form_submissions;
