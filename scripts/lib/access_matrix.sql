-- Writes docs/ACCESS_MATRIX.md from the live database (db_access_matrix_print
-- in scripts/lib/db.sh runs it with psql -At as the database owner; nothing
-- it does is kept: it ends with rollback).
--
-- What each caller may do is not transcribed from the migrations: it is
-- tried. A fixture (two shops, A and B, with one row of every table each,
-- and a user for each persona of shop A) is inserted; then every persona
-- (anon, viewer, staff, admin and owner of A, a platform admin, service_role)
-- runs select, insert, update and delete on A's row and on B's row of every
-- table, each statement in its own subtransaction, rolled back, as the role
-- and JWT claims a request through the API would have. What the document
-- says about rows is what happened; the column rights, the policies and the
-- triggers are read from the catalog.
--
-- The statements are the plainest a client can send: select the row by its
-- primary key; update every column the role may update to the value it
-- already has; delete it by its primary key; insert the row again (it is
-- first removed, as the database owner with triggers and foreign keys off,
-- so no unique key collides), with the columns the role may insert. A row of
-- the persona's own shop is inserted as that persona would write it: columns
-- whose default is auth.uid() (owner_id, created_by, ...) take the default.
--
-- A new table without fixture rows, or an attempt ending in an error other
-- than a refusal (42501, or a PT error raised by a trigger), stops the
-- script: the fixture below must then be extended.

\set ON_ERROR_STOP 1
set client_min_messages = warning;
begin;
\o /dev/null

-- ---------------------------------------------------------------------------
-- Fixture (as the database owner)
-- ---------------------------------------------------------------------------

insert into auth.users (id, email) values
  ('ace00000-0000-4000-8000-000000000001', 'owner@access-matrix.invalid'),
  ('ace00000-0000-4000-8000-000000000002', 'admin@access-matrix.invalid'),
  ('ace00000-0000-4000-8000-000000000003', 'staff@access-matrix.invalid'),
  ('ace00000-0000-4000-8000-000000000004', 'viewer@access-matrix.invalid'),
  ('ace00000-0000-4000-8000-000000000005', 'teammate@access-matrix.invalid'),
  ('ace00000-0000-4000-8000-000000000006', 'platform@access-matrix.invalid'),
  ('ace00000-0000-4000-8000-000000000007', 'owner-b@access-matrix.invalid'),
  ('ace00000-0000-4000-8000-000000000008', 'member-b@access-matrix.invalid');
update public.profiles set is_platform_admin = true where id = 'ace00000-0000-4000-8000-000000000006';

insert into public.shops (id, owner_id, name, slug) values
  ('acea0000-0000-4000-8000-000000000000', 'ace00000-0000-4000-8000-000000000001', 'Access matrix A', 'access-matrix-a'),
  ('aceb0000-0000-4000-8000-000000000000', 'ace00000-0000-4000-8000-000000000007', 'Access matrix B', 'access-matrix-b');

-- Every table's rows are created alike in both shops.
create function pg_temp.populate(p_shop uuid, p_n integer) returns void language plpgsql as $$
declare
  v_id text := 'ace' || p_n || '0000-0000-4000-8000-0000000000';
  v_part bigint;
begin
  insert into public.shop_invitations (id, shop_id, role) values ((v_id || '01')::uuid, p_shop, 'staff');
  -- 11: the target item (no history, so it may be deleted); 12: the item history and analytics point at.
  insert into public.items (id, shop_id, name, sku, stock) values
    ((v_id || '11')::uuid, p_shop, 'Target item', 'T-1', 0),
    ((v_id || '12')::uuid, p_shop, 'Sold item', 'T-2', 0);
  insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason) values
    (p_shop, (v_id || '12')::uuid, 1, 0, 1, 'manual');
  insert into public.forms (id, shop_id, name, slug) values ((v_id || '21')::uuid, p_shop, 'Form', 'form');
  insert into public.payment_methods (id, shop_id, type) values ((v_id || '22')::uuid, p_shop, 'cod');
  insert into public.conversations (id, shop_id, platform, external_id) values
    ((v_id || '23')::uuid, p_shop, 'messenger', 'thread-1');
  insert into public.messages (id, conversation_id, shop_id, sender_type, content) values
    ((v_id || '24')::uuid, (v_id || '23')::uuid, p_shop, 'customer', 'hello');
  insert into public.form_submissions (id, shop_id, total) values ((v_id || '25')::uuid, p_shop, 100);
  insert into public.keyword_replies (id, shop_id, keywords, reply) values
    ((v_id || '26')::uuid, p_shop, '{price}', 'See the post');
  insert into public.saved_replies (id, shop_id, title, content) values
    ((v_id || '27')::uuid, p_shop, 'Thanks', 'Thank you!');
  insert into public.daily_sales_metrics (shop_id, date, orders) values (p_shop, '1999-01-01', 3);
  insert into public.product_analytics (shop_id, item_id, period_start, period_end, units_sold) values
    (p_shop, (v_id || '12')::uuid, '1999-01-01', '1999-01-31', 4);
  insert into public.backup_logs (id, backup_type, shop_id, status) values
    ((v_id || '31')::uuid, 'manual', p_shop, 'completed');
  -- The snapshot's part, and a part no snapshot uses (the target: a used one cannot be deleted).
  insert into public.recovery_snapshot_parts (shop_id, checksum, data, size_bytes) values
    (p_shop, repeat('a', 64), '{}', 2)
  returning id into v_part;
  insert into public.recovery_snapshot_parts (shop_id, checksum, data, size_bytes) values
    (p_shop, repeat('b', 64), '{}', 2);
  insert into public.recovery_snapshots
    (id, shop_id, snapshot_type, checksum, state_part_id, recent_part_id, history_part_id) values
    ((v_id || '32')::uuid, p_shop, 'manual', repeat('a', 64), v_part, v_part, v_part);
  insert into public.sync_status (id, shop_id, resource) values ((v_id || '33')::uuid, p_shop, 'items');
  insert into public.social_integrations (id, shop_id, platform, account_id) values
    ((v_id || '34')::uuid, p_shop, 'instagram', 'ig-1');
  insert into public.data_extensions (id, shop_id, kind) values ((v_id || '35')::uuid, p_shop, 'extra_storage');
  insert into public.subscription_events (shop_id, kind, plan, status, billing_interval, previous_mrr, new_mrr) values
    (p_shop, 'new', 'pro', 'active', 'month', 0, 29);
  insert into public.idempotency_keys (shop_id, key, action, request_hash, response) values
    (p_shop, 'access-matrix', 'update_stock', 'h', '{}');
end;
$$;
select pg_temp.populate('acea0000-0000-4000-8000-000000000000', 1);
select pg_temp.populate('aceb0000-0000-4000-8000-000000000000', 2);
insert into public.team_members (shop_id, user_id, role) values
  ('acea0000-0000-4000-8000-000000000000', 'ace00000-0000-4000-8000-000000000002', 'admin'),
  ('acea0000-0000-4000-8000-000000000000', 'ace00000-0000-4000-8000-000000000003', 'staff'),
  ('acea0000-0000-4000-8000-000000000000', 'ace00000-0000-4000-8000-000000000004', 'viewer'),
  ('acea0000-0000-4000-8000-000000000000', 'ace00000-0000-4000-8000-000000000005', 'viewer'),
  ('aceb0000-0000-4000-8000-000000000000', 'ace00000-0000-4000-8000-000000000008', 'viewer');
insert into public.platform_metrics (date, gmv) values ('1999-01-01', 1000);

-- The callers, in the document's column order.
create temporary table personas (ord integer, name text, db_role text, user_id uuid);
insert into personas values
  (1, 'anon', 'anon', null),
  (2, 'viewer', 'authenticated', 'ace00000-0000-4000-8000-000000000004'),
  (3, 'staff', 'authenticated', 'ace00000-0000-4000-8000-000000000003'),
  (4, 'admin', 'authenticated', 'ace00000-0000-4000-8000-000000000002'),
  (5, 'owner', 'authenticated', 'ace00000-0000-4000-8000-000000000001'),
  (6, 'platform admin', 'authenticated', 'ace00000-0000-4000-8000-000000000006'),
  (7, 'service_role', 'service_role', null);

-- The rows tried, per table: the one of shop A ('own', the personas' shop),
-- the one of shop B ('other'). profiles has the persona's own row too
-- ('self', chosen per persona), A's row is a teammate's, B's a stranger's.
create temporary table targets (tbl text, scope text, row_data jsonb);
create function pg_temp.target(p_table text, p_scope text, p_where text) returns void language plpgsql as $$
declare
  v_rows jsonb;
begin
  execute format('select jsonb_agg(to_jsonb(t)) from public.%I t where %s', p_table, p_where) into v_rows;
  if jsonb_array_length(coalesce(v_rows, '[]')) <> 1 then
    raise exception 'access matrix fixture: % % matches % rows, not 1', p_table, p_scope, jsonb_array_length(coalesce(v_rows, '[]'));
  end if;
  insert into targets values (p_table, p_scope, v_rows -> 0);
end;
$$;

insert into targets values ('profiles', 'self', null);
select pg_temp.target('profiles', 'own', $$id = 'ace00000-0000-4000-8000-000000000005'$$);
select pg_temp.target('profiles', 'other', $$id = 'ace00000-0000-4000-8000-000000000008'$$);
select pg_temp.target('shops', s.scope, format('id = %L', s.shop))
  from (values ('own', 'acea0000-0000-4000-8000-000000000000'), ('other', 'aceb0000-0000-4000-8000-000000000000')) s (scope, shop);
select pg_temp.target('team_members', 'own', $$user_id = 'ace00000-0000-4000-8000-000000000005'$$);
select pg_temp.target('team_members', 'other', $$user_id = 'ace00000-0000-4000-8000-000000000008'$$);
select pg_temp.target('items', s.scope, format('shop_id = %L and sku = %L', s.shop, 'T-1'))
  from (values ('own', 'acea0000-0000-4000-8000-000000000000'), ('other', 'aceb0000-0000-4000-8000-000000000000')) s (scope, shop);
select pg_temp.target(t.tbl, s.scope, format('shop_id = %L', s.shop))
  from (values ('shop_invitations'), ('stock_history'), ('forms'), ('payment_methods'), ('conversations'),
               ('messages'), ('form_submissions'), ('keyword_replies'), ('saved_replies'), ('daily_sales_metrics'),
               ('product_analytics'), ('backup_logs'), ('recovery_snapshots'), ('sync_status'),
               ('social_integrations'), ('data_extensions'), ('subscription_events'), ('idempotency_keys')) t (tbl)
 cross join (values ('own', 'acea0000-0000-4000-8000-000000000000'), ('other', 'aceb0000-0000-4000-8000-000000000000')) s (scope, shop);
select pg_temp.target('recovery_snapshot_parts', s.scope, format('shop_id = %L and checksum = %L', s.shop, repeat('b', 64)))
  from (values ('own', 'acea0000-0000-4000-8000-000000000000'), ('other', 'aceb0000-0000-4000-8000-000000000000')) s (scope, shop);
select pg_temp.target('platform_metrics', 'all', $$date = '1999-01-01'$$);

do $$
declare
  v_missing text;
begin
  select string_agg(c.relname, ', ' order by c.relname) into v_missing
    from pg_catalog.pg_class c
   where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
     and not exists (select 1 from targets t where t.tbl = c.relname);
  if v_missing is not null then
    raise exception 'access matrix fixture: no rows for %; add them to scripts/lib/access_matrix.sql', v_missing;
  end if;
end;
$$;

-- ---------------------------------------------------------------------------
-- The attempts
-- ---------------------------------------------------------------------------

-- "(a, b) = (select a, b from jsonb_populate_record(null::public.t, row))": the row by its primary key.
create function pg_temp.key_match(p_table text, p_row jsonb) returns text language sql as $$
  select format('(%s) = (select %s from jsonb_populate_record(null::public.%I, %L::jsonb))',
                string_agg(quote_ident(a.attname), ', ' order by k.ord),
                string_agg(quote_ident(a.attname), ', ' order by k.ord), p_table, p_row)
    from pg_catalog.pg_index i
    cross join unnest(i.indkey) with ordinality k (attnum, ord)
    join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
   where i.indrelid = ('public.' || quote_ident(p_table))::regclass and i.indisprimary $$;

-- The columns of p_table p_role holds p_privilege on (identity-always and generated columns left out).
create function pg_temp.granted(p_table text, p_role text, p_privilege text) returns text[] language sql as $$
  select array_agg(a.attname::text order by a.attnum)
    from pg_catalog.pg_attribute a
   where a.attrelid = ('public.' || quote_ident(p_table))::regclass and a.attnum > 0 and not a.attisdropped
     and a.attidentity <> 'a' and a.attgenerated = ''
     and has_column_privilege(p_role, a.attrelid, a.attnum, p_privilege) $$;

-- 'yes' (the row was reached), 'no' (filtered or refused with 42501), 'no grant'
-- (the role holds no privilege for it), or '<sqlstate> <message>' for a PT error
-- a trigger or function raised. Anything else is a fixture problem: raised.
create function pg_temp.attempt(p_persona text, p_table text, p_op text, p_scope text) returns text
language plpgsql as $$
declare
  v_persona record;
  v_row jsonb;
  v_columns text[];
  v_sql text;
  v_rows bigint;
begin
  select * into v_persona from personas where name = p_persona;
  if p_scope = 'self' then
    if v_persona.user_id is null then
      return null;
    end if;
    select to_jsonb(p) into v_row from public.profiles p where p.id = v_persona.user_id;
  else
    select t.row_data into v_row from targets t where t.tbl = p_table and t.scope = p_scope;
  end if;

  if p_op = 'select' then
    if not has_any_column_privilege(v_persona.db_role, ('public.' || quote_ident(p_table))::regclass, 'select') then
      return 'no grant';
    end if;
    v_sql := format('select count(*) from public.%I where %s', p_table, pg_temp.key_match(p_table, v_row));
  elsif p_op = 'insert' then
    v_columns := pg_temp.granted(p_table, v_persona.db_role, 'insert');
    if v_columns is null then
      return 'no grant';
    end if;
    -- A row of the persona's own shop, as they would write it: auth.uid() defaults are theirs.
    if p_scope in ('own', 'self') and v_persona.user_id is not null then
      select array_agg(c) into v_columns from unnest(v_columns) c
       where not exists (select 1 from pg_catalog.pg_attrdef d join pg_catalog.pg_attribute a
                           on a.attrelid = d.adrelid and a.attnum = d.adnum
                          where d.adrelid = ('public.' || quote_ident(p_table))::regclass
                            and a.attname = c and pg_get_expr(d.adbin, d.adrelid) = 'auth.uid()');
    end if;
    v_sql := format('insert into public.%I (%s) select %2$s from jsonb_populate_record(null::public.%1$I, %3$L::jsonb)',
                    p_table, (select string_agg(quote_ident(c), ', ') from unnest(v_columns) c), v_row);
  elsif p_op = 'update' then
    v_columns := pg_temp.granted(p_table, v_persona.db_role, 'update');
    if v_columns is null then
      return 'no grant';
    end if;
    v_sql := format('update public.%I set %s where %s', p_table,
                    (select string_agg(format('%I = (jsonb_populate_record(null::public.%I, %L::jsonb)).%1$I', c, p_table, v_row), ', ')
                       from unnest(v_columns) c),
                    pg_temp.key_match(p_table, v_row));
  else
    if not has_table_privilege(v_persona.db_role, ('public.' || quote_ident(p_table))::regclass, 'delete') then
      return 'no grant';
    end if;
    v_sql := format('delete from public.%I where %s', p_table, pg_temp.key_match(p_table, v_row));
  end if;

  begin
    if p_op = 'insert' then
      -- The row is inserted again: first removed, with triggers and foreign keys off.
      perform set_config('session_replication_role', 'replica', true);
      execute format('delete from public.%I where %s', p_table, pg_temp.key_match(p_table, v_row));
      perform set_config('session_replication_role', 'origin', true);
    end if;
    perform set_config('role', v_persona.db_role, true);
    perform set_config('request.jwt.claims',
      jsonb_strip_nulls(jsonb_build_object('sub', v_persona.user_id, 'role', v_persona.db_role))::text, true);
    if p_op = 'select' then
      execute v_sql into v_rows;
    else
      execute v_sql;
      get diagnostics v_rows = row_count;
    end if;
    raise exception using errcode = 'ZX000', message = v_rows::text;
  exception
    when sqlstate 'ZX000' then
      return case sqlerrm when '1' then 'yes' when '0' then 'no' end;
    when insufficient_privilege then
      return 'no';
    when others then
      if sqlstate like 'PT%' then
        return sqlstate || ' ' || sqlerrm;
      end if;
      raise exception 'access matrix: % on % (%) as % failed: % %', p_op, p_table, p_scope, p_persona, sqlstate, sqlerrm;
  end;
end;
$$;

create temporary table outcomes as
select t.tbl, o.op, o.ord as op_ord, p.name as persona, p.ord as persona_ord, t.scope,
       pg_temp.attempt(p.name, t.tbl, o.op, t.scope) as outcome
  from (select distinct tbl, scope from targets) t
 cross join (values (1, 'select'), (2, 'insert'), (3, 'update'), (4, 'delete')) o (ord, op)
 cross join personas p;

-- ---------------------------------------------------------------------------
-- The document
-- ---------------------------------------------------------------------------

-- One cell: which of the rows tried the persona reached.
create function pg_temp.compute_cell(p_table text, p_op text, p_persona text) returns text language sql as $$
  with tried as (
    select o.scope, o.outcome from outcomes o
     where o.tbl = p_table and o.op = p_op and o.persona = p_persona and o.outcome is not null
  ), reached as (
    select array_agg(case
             when s.scope = 'self' then 'own'
             when s.scope = 'own' and p_table = 'profiles' then 'teammates'
             when s.scope = 'own' then 'own shop'
             when s.scope = 'other' and p_table = 'profiles' then 'others'
             when s.scope = 'other' then 'other shops' end
             order by case s.scope when 'self' then 1 when 'own' then 2 else 3 end) as labels
      from tried s where s.outcome = 'yes'
  )
  select case
           when (select count(*) from tried where outcome = 'yes') = (select count(*) from tried) then 'all'
           when r.labels is null then '—'
           else array_to_string(r.labels, ', ')
         end
         || coalesce(' (' || (select string_agg(distinct replace(outcome, 'PT', ''), ', ')
                                from tried where outcome like 'PT%') || ')', '')
         || case when (select bool_and(outcome = 'no grant') from tried) then ' ¹' else '' end
    from reached r $$;

create index on outcomes (tbl, op, persona);
create temporary table cells as
select t.tbl, o.op, p.name as persona, pg_temp.compute_cell(t.tbl, o.op, p.name) as cell
  from (select distinct tbl from targets) t
 cross join (values ('select'), ('insert'), ('update'), ('delete')) o (op)
 cross join personas p;
create function pg_temp.cell(p_table text, p_op text, p_persona text) returns text language sql as $$
  select c.cell from cells c where c.tbl = p_table and c.op = p_op and c.persona = p_persona $$;

-- The summary's cell: the operations that reached a row (S I U D), starred when every row tried.
create function pg_temp.letters(p_table text, p_persona text) returns text language sql as $$
  select coalesce(string_agg(o.letter || case when x.cell = 'all' then '*' else '' end, ' ' order by o.ord), '—')
    from (values (1, 'select', 'S'), (2, 'insert', 'I'), (3, 'update', 'U'), (4, 'delete', 'D')) o (ord, op, letter)
   cross join lateral (select pg_temp.cell(p_table, o.op, p_persona) as cell) x
   where x.cell not like '—%' $$;

-- Policy expressions without the noise pg_get_expr adds.
create function pg_temp.compact(p_expr text, p_table text) returns text language sql as $$
  select regexp_replace(regexp_replace(regexp_replace(regexp_replace(p_expr,
           '\( SELECT (?:private|auth)\.(\w+)\(([^()]*)\) AS \w+\)', '\1(\2)', 'g'),
           '\m' || p_table || '\.', '', 'g'),
           '''(\w+)''::\w+', '''\1''', 'g'),
           '^\((.*)\)$', '\1') $$;

create function pg_temp.table_section(p_table text) returns text language plpgsql as $$
declare
  v_oid regclass := ('public.' || quote_ident(p_table))::regclass;
  v_out text;
  v_roles text[];
begin
  v_out := format(E'## %s\n\n', p_table);
  if obj_description(v_oid, 'pg_class') is not null then
    v_out := v_out || obj_description(v_oid, 'pg_class') || E'\n\n';
  end if;

  -- Rows, per persona, as tried.
  v_out := v_out || E'| | ' || (select string_agg(name, ' | ' order by ord) from personas) || E' |\n'
                 || '|---|' || (select string_agg('---', '|') from personas) || E'|\n';
  v_out := v_out || (
    select string_agg(format('| %s | %s |', o.op,
             (select string_agg(pg_temp.cell(p_table, o.op, p.name), ' | ' order by p.ord) from personas p)),
           E'\n' order by o.ord)
      from (values (1, 'select'), (2, 'insert'), (3, 'update'), (4, 'delete')) o (ord, op)) || E'\n\n';

  -- Columns, per database role that holds any right on them.
  select array_agg(r order by r) into v_roles
    from unnest(array['anon', 'authenticated', 'service_role']) r
   where has_any_column_privilege(r, v_oid, 'select, insert, update');
  if v_roles is null then
    v_out := v_out || E'No role may read or write any column.\n\n';
  else
    v_out := v_out || format(E'Columns (S select, I insert, U update)%s:\n\n',
                             coalesce('; ' || (select string_agg(r, ', ') from unnest(array['anon', 'authenticated', 'service_role']) r
                                                where r <> all (v_roles)) || ' may use none', ''))
                   || '| column | ' || array_to_string(v_roles, ' | ') || E' |\n'
                   || '|---|' || (select string_agg(':-:', '|') from unnest(v_roles)) || E'|\n'
                   || (select string_agg(format('| %s | %s |', a.attname,
                              (select string_agg(
                                        concat_ws(' ',
                                          case when has_column_privilege(r, v_oid, a.attnum, 'select') then 'S' else '·' end,
                                          case when has_column_privilege(r, v_oid, a.attnum, 'insert') then 'I' else '·' end,
                                          case when has_column_privilege(r, v_oid, a.attnum, 'update') then 'U' else '·' end),
                                        ' | ' order by r)
                                 from unnest(v_roles) r)),
                            E'\n' order by a.attnum)
                         from pg_catalog.pg_attribute a
                        where a.attrelid = v_oid and a.attnum > 0 and not a.attisdropped)
                   || E'\n\n';
  end if;

  -- Policies.
  v_out := v_out || coalesce(E'Policies:\n\n' || (
    select string_agg(format('- `%s` (%s, to %s)%s%s', p.policyname, lower(p.cmd), array_to_string(p.roles, ', '),
                             coalesce(': using `' || pg_temp.compact(p.qual, p_table) || '`', ''),
                             coalesce(case when p.qual is null then ': ' else '; ' end
                                      || 'check `' || pg_temp.compact(p.with_check, p_table) || '`', '')),
                      E'\n' order by array_position(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'ALL'], p.cmd::text), p.policyname)
      from pg_catalog.pg_policies p where p.schemaname = 'public' and p.tablename = p_table) || E'\n\n',
    E'Policies: none (row-level security on: no row for authenticated or anon).\n\n');

  -- Triggers, with what their function guarantees.
  v_out := v_out || coalesce(E'Triggers:\n\n' || (
    select string_agg(format('- `%s` (%s): `%s`%s', t.tgname,
                             lower(substring(pg_get_triggerdef(t.oid) from ' ((?:BEFORE|AFTER|INSTEAD OF) .*) ON ')),
                             t.tgfoid::regproc,
                             coalesce(' — ' || obj_description(t.tgfoid, 'pg_proc'), '')),
                      E'\n' order by t.tgname)
      from pg_catalog.pg_trigger t where t.tgrelid = v_oid and not t.tgisinternal) || E'\n\n', '');
  return v_out;
end;
$$;

\o
select concat(
E'# Access matrix

Generated from the database by `scripts/lib/access_matrix.sql`; do not edit.
`scripts/test` regenerates it after applying the migrations and fails when
this file differs (regenerate: `db_access_matrix_generate` in
`scripts/lib/db.sh`, on a database with the migrations applied).

What each caller may do to each table, **as tried** against the database:
two shops, A and B, each with one row of every table; every caller runs
select, insert, update and delete on A''s row and on B''s row, as the role and
JWT claims a request through the API has, each statement rolled back. The
callers: `anon` (the anon key, no user); a `viewer`, `staff`, `admin` and
`owner` of shop A; a `platform admin` (`profiles.is_platform_admin`, member
of no shop); `service_role` (the service_role key, which bypasses row-level
security but not grants or triggers). The statements are the plainest a
client sends: the row by its primary key; an update of every column the role
may update, to the value it already has; the row inserted again (as the
caller would write it in their own shop: `auth.uid()` defaults are theirs).
So a cell says which rows a caller reaches; which values a trigger refuses
(moving an item to another shop, changing stock outside the stock functions,
demoting an owner) is under each table''s triggers, and in
[DATA_MODEL.md](DATA_MODEL.md).

- `own shop`: the row of the caller''s shop (for `profiles`: `own` is the
  caller''s profile, `teammates` a member of their shop, `others` a user who
  shares no shop with them); `all`: every row tried.
- `—`: none; `¹`: the role holds no privilege for this at all (refused
  before any policy runs); `(409 conflict)`: a trigger refused it with that
  status and code.

The column rights are the grants (S select, I insert, U update); delete is
granted per table. Policies are written `to authenticated`; their helpers
(`is_shop_member`, `has_shop_role`, `is_platform_admin`, `shares_shop_with`,
`uid`) are in `private` and `auth`.

## Summary

Operations each caller may run on the row of their own shop (S select,
I insert, U update, D delete); `*`: on every shop''s rows.

| table | ', (select string_agg(name, ' | ' order by ord) from personas), E' |
|---|', (select string_agg('---', '|') from personas), E'|
',
(select string_agg(format('| [%s](#%s) | %s |', c.relname, c.relname,
          (select string_agg(pg_temp.letters(c.relname, p.name), ' | ' order by p.ord) from personas p)),
        E'\n' order by c.relname)
   from pg_catalog.pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')),
E'\n\n',
(select string_agg(pg_temp.table_section(c.relname), '' order by c.relname)
   from pg_catalog.pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')));

rollback;
