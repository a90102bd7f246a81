-- 001-structure: the schema-wide security rules hold for every object, not
-- just the ones someone remembered to test: RLS on every table, search_path
-- pinned on every function, execute revoked from public/anon, no anon grants,
-- token ciphertext unreadable by clients, an index behind every foreign key.
begin;
select plan(26);

-- The 24 tables of the data model.
select tables_are('public', array[
  'profiles', 'shops', 'team_members', 'items', 'stock_history', 'forms', 'form_submissions',
  'payment_methods', 'conversations', 'messages', 'keyword_replies', 'saved_replies',
  'daily_sales_metrics', 'product_analytics', 'platform_metrics', 'backup_logs',
  'recovery_snapshots', 'recovery_snapshot_parts', 'sync_status', 'social_integrations', 'data_extensions',
  'subscription_events', 'idempotency_keys', 'shop_invitations'
], 'public holds exactly the tables of the data model');

select is(
  (select array_agg(c.relname order by c.relname) from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity),
  null, 'every public table has RLS enabled');

select is(
  (select array_agg(c.relname order by c.relname) from pg_class c
    where c.relnamespace = 'private'::regnamespace and c.relkind = 'r'
      and (has_table_privilege('authenticated', c.oid, 'select, insert, update, delete')
           or has_table_privilege('anon', c.oid, 'select, insert, update, delete')
           or has_table_privilege('service_role', c.oid, 'select, insert, update, delete'))),
  null, 'no API role has any right on a private table (keys, counters)');

select ok(not has_schema_privilege('anon', 'private', 'usage'), 'anon cannot use schema private');

-- Functions of our schemas (extension members excluded).
create temporary view our_functions as
select p.oid, p.oid::regprocedure::text as signature, p.prosecdef, p.proconfig, p.proacl
from pg_proc p
where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
  and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e');

select cmp_ok((select count(*) from our_functions where prosecdef), '>', 10::bigint,
  'the schema has security definer functions to check');

select is(
  (select array_agg(signature order by signature) from our_functions
    where prosecdef and not coalesce(proconfig @> array['search_path=""'], false)),
  null, 'every security definer function sets search_path = ''''');

select is(
  (select array_agg(signature order by signature) from our_functions f
    where not coalesce(proconfig @> array['search_path=""'], false)
      and (select p.prokind from pg_proc p where p.oid = f.oid) <> 'p'),
  null, 'every function in public and private sets search_path = ''''');

-- A procedure with a SET clause may not COMMIT, so the batched jobs have
-- none: they run with the caller's rights and only the owner may call them.
select is(
  (select array_agg(signature order by signature) from our_functions f
     join pg_proc p on p.oid = f.oid
    where p.prokind = 'p'
      and (p.prosecdef
           or has_function_privilege('authenticated', p.oid, 'execute')
           or has_function_privilege('service_role', p.oid, 'execute')
           or has_function_privilege('anon', p.oid, 'execute'))),
  null, 'procedures are not security definer and no API role may call them');

select is(
  (select array_agg(signature order by signature) from our_functions f
    where f.proacl is null  -- null = the built-in default: execute for PUBLIC
       or exists (select 1 from aclexplode(f.proacl) a where a.grantee = 0 and a.privilege_type = 'EXECUTE')),
  null, 'execute is revoked from PUBLIC on every function');

select is(
  (select array_agg(signature order by signature) from our_functions f
    where has_function_privilege('anon', f.oid, 'execute')),
  null, 'anon cannot execute any function');

select is(
  (select array_agg(signature order by signature) from our_functions f
    where f.prosecdef and f.signature like 'public.%'
      and obj_description(f.oid, 'pg_proc') is null),
  null, 'every public security definer function says what it guarantees (comment on function)');

-- Grants
select is(
  (select array_agg(table_name || ':' || privilege_type order by table_name, privilege_type)
     from information_schema.role_table_grants
    where grantee = 'anon' and table_schema in ('public', 'private')),
  null, 'anon has no table privilege at all');

select is(
  (select array_agg(table_name || '.' || column_name order by 1)
     from information_schema.column_privileges
    where grantee = 'anon' and table_schema in ('public', 'private')),
  null, 'anon has no column privilege at all');

select is(
  (select array_agg(t || ':' || p order by t, p)
     from unnest(array['stock_history', 'daily_sales_metrics', 'product_analytics', 'platform_metrics',
                       'backup_logs', 'recovery_snapshots', 'recovery_snapshot_parts', 'subscription_events',
                       'idempotency_keys']) t
    cross join unnest(array['insert', 'update', 'delete']) p
    where has_table_privilege('authenticated', 'public.' || t, p)
       or exists (select 1 from information_schema.column_privileges cp
                   where cp.grantee = 'authenticated' and cp.table_schema = 'public'
                     and cp.table_name = t and cp.privilege_type = upper(p))),
  null, 'authenticated cannot write the tables that only functions write');

select ok(not has_table_privilege('authenticated', 'public.idempotency_keys', 'select'),
  'authenticated cannot read idempotency_keys');

select ok(not has_table_privilege('service_role', 'public.subscription_events', 'insert, update, delete'),
  'not even service_role writes subscription_events (the trigger does)');

select ok(not has_column_privilege('authenticated', 'public.social_integrations', 'access_token', 'select')
          and not has_column_privilege('authenticated', 'public.social_integrations', 'refresh_token', 'select'),
  'authenticated has no select right on the token columns');

select ok(not has_column_privilege('authenticated', 'public.profiles', 'is_platform_admin', 'update')
          and not has_table_privilege('authenticated', 'public.profiles', 'insert'),
  'authenticated can neither set is_platform_admin nor create profiles');

-- An upsert updates every column of its payload, so a client may name in an
-- update exactly what it may insert; the triggers keep id, shop_id and stock
-- from changing (018).
select is(
  (select array_agg(column_name::text order by column_name) from information_schema.column_privileges
    where grantee = 'authenticated' and table_schema = 'public' and table_name = 'items'
      and privilege_type = 'UPDATE'),
  (select array_agg(column_name::text order by column_name) from information_schema.column_privileges
    where grantee = 'authenticated' and table_schema = 'public' and table_name = 'items'
      and privilege_type = 'INSERT'),
  'items: the columns a client may update are those it may insert (created_at and updated_at are neither)');

select ok(
  not has_column_privilege('authenticated', 'public.form_submissions', 'order_number', 'insert')
  and not has_column_privilege('authenticated', 'public.form_submissions', 'order_number', 'update')
  and not has_column_privilege('authenticated', 'public.form_submissions', 'stock_deducted_at', 'update'),
  'order_number and stock_deducted_at are not client-writable');

select is(
  (select array_agg(tablename || '.' || policyname order by 1) from pg_policies
    where schemaname = 'public' and roles <> array['authenticated']::name[]),
  null, 'every policy is written to authenticated');

-- Helpers and auth.uid() are wrapped in a scalar subquery, so the planner
-- evaluates them once per statement instead of once per row.
select is(
  (select array_agg(tablename || '.' || policyname order by 1) from pg_policies p
    cross join lateral (select coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '') as expr) e
    where schemaname = 'public'
      and regexp_count(e.expr, '(private|auth)\.[a-z_]+\(')
          <> regexp_count(e.expr, 'SELECT (private|auth)\.[a-z_]+\(')),
  null, 'every policy calls auth.* and private.* helpers as (select fn(...))');

select is(
  (select array_agg(tablename || ':' || cmd order by 1)
     from (select tablename, cmd from pg_policies where schemaname = 'public'
           group by tablename, cmd having count(*) > 1) dup),
  null, 'one policy per table and operation');

-- Every foreign key's first column leads some index. For the composite
-- (id, shop_id) keys that is the unique id column, so the lookup the foreign
-- key needs on a parent delete is one index probe.
select is(
  (select array_agg(c.conrelid::regclass::text || '.' || c.conname order by 1)
     from pg_constraint c
    where c.contype = 'f' and c.connamespace = 'public'::regnamespace
      and not exists (
        select 1 from pg_index i
         where i.indrelid = c.conrelid and i.indkey[0] = c.conkey[1])),
  null, 'every foreign key has an index led by its (first) column');

-- The token columns really are unreadable, not just ungranted on paper.
select tests.authenticate_as('00000000-0000-4000-8000-000000000001');
select throws_ok('select access_token from public.social_integrations', '42501', null,
  'authenticated selecting access_token is refused');
select throws_ok('select public.get_social_integration_tokens(gen_random_uuid())', '42501', null,
  'authenticated cannot call the token-reading function');
select tests.clear_authentication();

select * from finish();
rollback;
