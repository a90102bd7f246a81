-- 050-realtime: exactly the tables a dashboard watches are in the
-- supabase_realtime publication, each with replica identity full (an update
-- carries the old row, a delete can be checked against the policies), and
-- row-level security stays on for every published table (Realtime checks
-- each change against it).
begin;
select plan(4);

select ok(
  exists (select 1 from pg_publication where pubname = 'supabase_realtime'),
  'the supabase_realtime publication exists');

select set_eq(
  $$select schemaname::text || '.' || tablename::text from pg_publication_tables
     where pubname = 'supabase_realtime'$$,
  array['public.items', 'public.stock_history', 'public.form_submissions'],
  'items, stock_history and form_submissions are published, nothing else');

select is(
  (select array_agg(c.relname::text order by c.relname)
     from pg_publication_tables p
     join pg_class c on c.relname = p.tablename
     join pg_namespace n on n.oid = c.relnamespace and n.nspname = p.schemaname
    where p.pubname = 'supabase_realtime' and c.relreplident <> 'f'),
  null,
  'every published table has replica identity full');

select is(
  (select array_agg(c.relname::text order by c.relname)
     from pg_publication_tables p
     join pg_class c on c.relname = p.tablename
     join pg_namespace n on n.oid = c.relnamespace and n.nspname = p.schemaname
    where p.pubname = 'supabase_realtime' and not c.relrowsecurity),
  null,
  'row-level security is on for every published table');

select * from finish();
rollback;
