-- backups: per-shop logical snapshots (recovery_snapshots) and the log of every
-- backup and restore run (backup_logs); create_backup_snapshot, list_backups
-- and cleanup_expired_snapshots. Restoring is the next migration (restores).

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

-- shop_id has no foreign key on purpose: logs and snapshots must outlive the
-- shop they describe (restoring a deleted shop is what they are for).
create table public.backup_logs (
  id uuid primary key default gen_random_uuid(),
  operation text not null default 'backup' check (operation in ('backup', 'restore')),
  backup_type text not null check (backup_type in ('daily', 'weekly', 'manual')),
  shop_id uuid,
  status text not null default 'running' check (status in ('running', 'completed', 'failed')),
  started_at timestamptz not null default now(),
  completed_at timestamptz,
  snapshot_ids uuid[] not null default '{}',
  row_counts jsonb not null default '{}'::jsonb,
  size_bytes bigint check (size_bytes >= 0),
  error_message text,
  triggered_by uuid references public.profiles (id) on delete set null
);
alter table public.backup_logs enable row level security;
comment on table public.backup_logs is
  'Every backup or restore run (shop_id null = all shops). Written only by the backup functions; read by platform admins.';

create index backup_logs_shop_id_started_at_idx on public.backup_logs (shop_id, started_at);
create index backup_logs_started_at_idx on public.backup_logs (started_at);
create index backup_logs_triggered_by_idx on public.backup_logs (triggered_by);

create table public.recovery_snapshots (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null,
  snapshot_type text not null check (snapshot_type in ('daily', 'weekly', 'manual', 'pre_restore')),
  data jsonb not null,
  checksum text not null check (checksum ~ '^[0-9a-f]{64}$'),
  row_counts jsonb not null default '{}'::jsonb,
  size_bytes bigint check (size_bytes >= 0),
  backup_log_id uuid references public.backup_logs (id) on delete set null,
  created_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  -- now() is the transaction time, so this equals created_at + 90 days
  expires_at timestamptz not null default (now() + interval '90 days'),
  restored_at timestamptz
);
alter table public.recovery_snapshots enable row level security;
comment on table public.recovery_snapshots is
  'Logical point-in-time snapshot of one shop (data: per-table rows; checksum: sha256 hex of the canonical data).';

create index recovery_snapshots_shop_id_created_at_idx on public.recovery_snapshots (shop_id, created_at);
create index recovery_snapshots_expires_at_idx on public.recovery_snapshots (expires_at);
create index recovery_snapshots_backup_log_id_idx on public.recovery_snapshots (backup_log_id);
create index recovery_snapshots_created_by_idx on public.recovery_snapshots (created_by);

-- ---------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------

-- Platform admins read; written by the backup functions only.
create policy backup_logs_select on public.backup_logs for select to authenticated
  using ((select private.is_platform_admin()));
create policy recovery_snapshots_select on public.recovery_snapshots for select to authenticated
  using ((select private.is_platform_admin()));

-- Written only by the backup functions; platform admins read (policies above).
grant select, insert, update, delete on public.backup_logs, public.recovery_snapshots to service_role;
grant select on public.backup_logs, public.recovery_snapshots to authenticated;

-- ---------------------------------------------------------------------------
-- Backups: what a snapshot holds and how it is written down
-- ---------------------------------------------------------------------------
--
-- A snapshot is one shop's rows of every shop-scoped table:
--   data = {"<table>": [row, ...], ...}, each row to_jsonb(row) (minus the
--   excluded columns below), rows ordered by primary key.
-- Canonical form: the text output of that jsonb value. PostgreSQL renders
-- jsonb deterministically (object keys sorted by length then bytes, one space
-- after ',' and ':', arrays in order), and the snapshot is built with
-- timezone = UTC, bytea_output = hex, intervalstyle = postgres and
-- extra_float_digits = 1, so the same rows always give the same text.
-- checksum = lower-case hex sha256 of that text's UTF-8 bytes;
-- size_bytes = its length in bytes.
--
-- Not in snapshots: the shop's billing columns (subscription_*,
-- billing_interval: billing is the platform's ledger, a restore must not
-- resurrect a cancelled plan or undo a payment), subscription_events (the
-- platform's ledger), idempotency_keys (24 h replay cache), backup_logs and
-- recovery_snapshots themselves. Test 040 fails when a new table with a
-- shop_id is neither listed here nor excluded on purpose.

create function private.backup_tables()
returns table (table_name text, restore_order integer, scope_column text, excluded_columns text[])
language sql
immutable
set search_path = ''
as $$
  -- restore_order: parents before children (inserts go in this order,
  -- deletes in reverse).
  select t.table_name, t.restore_order, t.scope_column, t.excluded_columns
  from (values
    ('shops', 1, 'id', array['subscription_plan', 'subscription_status', 'subscription_amount',
                             'billing_interval', 'subscription_started_at', 'subscription_canceled_at']),
    ('team_members', 2, 'shop_id', array[]::text[]),
    ('payment_methods', 3, 'shop_id', array[]::text[]),
    ('forms', 4, 'shop_id', array[]::text[]),
    ('items', 5, 'shop_id', array[]::text[]),
    ('conversations', 6, 'shop_id', array[]::text[]),
    ('form_submissions', 7, 'shop_id', array[]::text[]),
    ('messages', 8, 'shop_id', array[]::text[]),
    ('stock_history', 9, 'shop_id', array[]::text[]),
    ('keyword_replies', 10, 'shop_id', array[]::text[]),
    ('saved_replies', 11, 'shop_id', array[]::text[]),
    ('daily_sales_metrics', 12, 'shop_id', array[]::text[]),
    ('product_analytics', 13, 'shop_id', array[]::text[]),
    ('sync_status', 14, 'shop_id', array[]::text[]),
    ('social_integrations', 15, 'shop_id', array[]::text[]),
    ('data_extensions', 16, 'shop_id', array[]::text[])
  ) as t (table_name, restore_order, scope_column, excluded_columns)
$$;

comment on function private.backup_tables() is
  'The shop-scoped tables a recovery snapshot holds, in restore order (parents first), with the column that scopes them '
  'to a shop and the columns left out of snapshots.';

-- The primary key columns of a public table, in key order.
create function private.primary_key_columns(p_table text)
returns text[]
language sql
stable
set search_path = ''
as $$
  select array_agg(a.attname::text order by k.ordinality)
  from pg_index i
  cross join lateral unnest(i.indkey) with ordinality as k (attnum, ordinality)
  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
  where i.indrelid = to_regclass('public.' || quote_ident(p_table))
    and i.indisprimary
$$;

comment on function private.primary_key_columns(text) is
  'The primary key columns of public.<p_table>, in key order.';

-- The writable columns of a public table (generated columns are recomputed,
-- never written), minus the given ones.
create function private.restorable_columns(p_table text, p_excluded text[])
returns text[]
language sql
stable
set search_path = ''
as $$
  select array_agg(a.attname::text order by a.attnum)
  from pg_attribute a
  where a.attrelid = to_regclass('public.' || quote_ident(p_table))
    and a.attnum > 0
    and not a.attisdropped
    and a.attgenerated = ''
    and a.attname::text <> all (p_excluded)
$$;

comment on function private.restorable_columns(text, text[]) is
  'The columns of public.<p_table> a restore writes: not dropped, not generated, not excluded from snapshots.';

-- A jsonb expression for a row's primary key, from the jsonb row in p_row_expr:
-- the bare value for a one-column key, an object for a composite key.
create function private.primary_key_expression(p_table text, p_row_expr text)
returns text
language sql
stable
set search_path = ''
as $$
  select case
    when array_length(pk.columns, 1) = 1 then format('(%s -> %L)', p_row_expr, pk.columns[1])
    else format('jsonb_build_object(%s)',
                (select string_agg(format('%L, %s -> %L', c, p_row_expr, c), ', ') from unnest(pk.columns) c))
  end
  from (select private.primary_key_columns(p_table) as columns) pk
$$;

comment on function private.primary_key_expression(text, text) is
  'SQL text of a jsonb expression giving the primary key of the jsonb row p_row_expr of public.<p_table>.';

-- SQL fragments to match snapshot rows (jsonb elements r.value) with live
-- rows (t) on their typed primary key, as pk_1, pk_2, ... columns.
create function private.primary_key_sql(
  p_table text,
  out snapshot_keys text,  -- (r.value ->> 'id')::uuid as pk_1, ...
  out live_keys text,      -- t.id as pk_1, ...
  out key_match text,      -- s.pk_1 = l.pk_1 and ...
  out row_match text       -- t.id = l.pk_1 and ...
)
language sql
stable
set search_path = ''
as $$
  select
    string_agg(format('(r.value ->> %L)::%s as pk_%s', a.attname, format_type(a.atttypid, a.atttypmod), k.n), ', '),
    string_agg(format('t.%I as pk_%s', a.attname, k.n), ', '),
    string_agg(format('s.pk_%1$s = l.pk_%1$s', k.n), ' and '),
    string_agg(format('t.%I = l.pk_%s', a.attname, k.n), ' and ')
  from pg_index i
  cross join lateral unnest(i.indkey) with ordinality as k (attnum, n)
  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
  where i.indrelid = to_regclass('public.' || quote_ident(p_table))
    and i.indisprimary
$$;

comment on function private.primary_key_sql(text) is
  'SQL fragments that match snapshot rows with live rows of public.<p_table> on their typed primary key.';

-- One statement reads every table of the shop, so the snapshot is a single
-- MVCC view of the shop (no order half-written between two tables).
create function private.shop_snapshot_data(p_shop_id uuid)
returns jsonb
language plpgsql
stable
set search_path = ''
-- fixed output settings: the canonical text (and so the checksum) must not
-- depend on the caller's session
set timezone = 'UTC'
set bytea_output = 'hex'
set intervalstyle = 'postgres'
set extra_float_digits = 1
as $$
declare
  v_parts text;
  v_data jsonb;
begin
  select string_agg(
           format(
             '%L, (select coalesce(jsonb_agg(to_jsonb(t) - %L::text[] order by %s), ''[]''::jsonb) from public.%I t where t.%I = $1)',
             b.table_name,
             b.excluded_columns,
             (select string_agg(format('t.%I', c), ', ') from unnest(private.primary_key_columns(b.table_name)) c),
             b.table_name,
             b.scope_column
           ),
           ', ' order by b.restore_order)
    into v_parts
  from private.backup_tables() b;

  execute 'select jsonb_build_object(' || v_parts || ')' into v_data using p_shop_id;
  return v_data;
end;
$$;

comment on function private.shop_snapshot_data(uuid) is
  'One shop''s rows of every table of private.backup_tables(), as {table: [rows ordered by primary key]}, read in one '
  'statement (one consistent view) with session-independent output settings.';

create function private.snapshot_checksum(p_data jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select encode(sha256(convert_to(p_data::text, 'UTF8')), 'hex')
$$;

comment on function private.snapshot_checksum(jsonb) is
  'Lower-case hex sha256 of the UTF-8 bytes of the canonical (jsonb text) form of a snapshot''s data.';

create function private.write_snapshot(p_shop_id uuid, p_snapshot_type text, p_backup_log_id uuid)
returns public.recovery_snapshots
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_data jsonb := private.shop_snapshot_data(p_shop_id);
  v_canonical bytea := convert_to(v_data::text, 'UTF8');
  v_snapshot public.recovery_snapshots;
begin
  insert into public.recovery_snapshots
    (shop_id, snapshot_type, data, checksum, row_counts, size_bytes, backup_log_id, created_by)
  values (
    p_shop_id,
    p_snapshot_type,
    v_data,
    -- the bytes private.snapshot_checksum hashes, rendered once
    encode(sha256(v_canonical), 'hex'),
    (select jsonb_object_agg(t.key, jsonb_array_length(t.value)) from jsonb_each(v_data) t),
    octet_length(v_canonical),
    p_backup_log_id,
    auth.uid()
  )
  returning * into v_snapshot;
  return v_snapshot;
end;
$$;

comment on function private.write_snapshot(uuid, text, uuid) is
  'Takes and stores one snapshot of the shop (data, checksum, row_counts, size_bytes) and returns the row. '
  'Caller must be authorized.';

-- ---------------------------------------------------------------------------
-- create_backup_snapshot
-- ---------------------------------------------------------------------------

create function public.create_backup_snapshot(
  p_shop_id uuid default null,
  p_backup_type text default 'manual',
  p_idempotency_key text default null
)
returns jsonb
language plpgsql
volatile
-- security definer: reads every row of the shops it backs up, whatever RLS
-- would show the caller, and writes recovery_snapshots / backup_logs, which no
-- client role may write; the caller is checked first.
security definer
set search_path = ''
as $$
declare
  v_action constant text := 'create_backup_snapshot';
  v_request_hash text := private.request_hash(
    jsonb_build_object('shop_id', p_shop_id, 'backup_type', p_backup_type));
  v_stored jsonb;
  v_log_id uuid;
  v_shop record;
  v_snapshot public.recovery_snapshots;
  v_snapshots jsonb := '[]'::jsonb;
  v_failures jsonb := '[]'::jsonb;
  v_total_counts jsonb := '{}'::jsonb;
  v_total_bytes bigint := 0;
  v_response jsonb;
begin
  perform private.assert_platform_operator(v_action);

  if p_backup_type is null or p_backup_type not in ('daily', 'weekly', 'manual') then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('field', 'backup_type', 'allowed', jsonb_build_array('daily', 'weekly', 'manual')),
      'backup_type must be daily, weekly or manual.');
  end if;

  -- Every shop at once grows with the platform and would outlive any
  -- request's statement timeout: it is the scheduled job's work only.
  -- Only the database's own session (pg_cron) may: any JWT, service_role
  -- included, means a request.
  if p_shop_id is null and not (session_user = 'postgres' and auth.jwt() is null) then
    perform private.raise_api_error(400, 'invalid_request',
      '{"field": "shop_id", "scheduled_job": "daily-full-backup"}',
      'Give shop_id: every shop is backed up by the scheduled daily-full-backup job (03:00 UTC), not by a request');
  end if;

  if p_shop_id is not null and not exists (select 1 from public.shops s where s.id = p_shop_id) then
    perform private.raise_api_error(404, 'not_found',
      jsonb_build_object('shop_id', p_shop_id),
      'No such shop.');
  end if;

  v_stored := private.idempotency_lookup(p_shop_id, p_idempotency_key, v_action, v_request_hash);
  if v_stored is not null then
    return v_stored;
  end if;

  insert into public.backup_logs (operation, backup_type, shop_id, status, started_at, triggered_by)
  values ('backup', p_backup_type, p_shop_id, 'running', now(), auth.uid())
  returning id into v_log_id;

  for v_shop in
    select s.id from public.shops s
    where p_shop_id is null or s.id = p_shop_id
    order by s.id
  loop
    -- One shop failing (e.g. too large to render in memory) must not lose
    -- the others' snapshots: each shop is its own subtransaction, failures
    -- are logged. A statement timeout cancels the whole call instead.
    begin
      v_snapshot := private.write_snapshot(v_shop.id, p_backup_type, v_log_id);

      v_snapshots := v_snapshots || jsonb_build_array(jsonb_build_object(
        'id', v_snapshot.id,
        'shop_id', v_snapshot.shop_id,
        'row_counts', v_snapshot.row_counts,
        'checksum', v_snapshot.checksum));
      v_total_bytes := v_total_bytes + v_snapshot.size_bytes;
      select coalesce(jsonb_object_agg(k, coalesce((v_total_counts ->> k)::bigint, 0)
                                          + coalesce((v_snapshot.row_counts ->> k)::bigint, 0)), '{}'::jsonb)
        into v_total_counts
      from (select jsonb_object_keys(v_total_counts) union select jsonb_object_keys(v_snapshot.row_counts)) keys (k);
    exception when others then
      v_failures := v_failures || jsonb_build_array(jsonb_build_object(
        'shop_id', v_shop.id, 'sqlstate', sqlstate, 'error', sqlerrm));
    end;
  end loop;

  update public.backup_logs l set
    status = case when jsonb_array_length(v_failures) = 0 then 'completed' else 'failed' end,
    completed_at = now(),
    snapshot_ids = (select coalesce(array_agg((s ->> 'id')::uuid), array[]::uuid[])
                    from jsonb_array_elements(v_snapshots) s),
    row_counts = v_total_counts,
    size_bytes = v_total_bytes,
    error_message = case when jsonb_array_length(v_failures) = 0 then null else v_failures::text end
  where l.id = v_log_id;

  v_response := jsonb_build_object(
    'backup_log_id', v_log_id,
    'status', case when jsonb_array_length(v_failures) = 0 then 'completed' else 'failed' end,
    'snapshots', v_snapshots,
    'failures', v_failures);

  perform private.idempotency_store(p_shop_id, p_idempotency_key, v_action, v_request_hash, v_response);
  return v_response;
end;
$$;

comment on function public.create_backup_snapshot(uuid, text, text) is
  'Writes one recovery_snapshots row per shop (all shops when p_shop_id is null): data = {table: [rows ordered by '
  'primary key]} of every table of private.backup_tables(), read in one consistent statement per shop; checksum = '
  'sha256 hex of data''s jsonb text; row_counts; size_bytes. Logged in backup_logs (completed, or failed with the '
  'per-shop errors in error_message; snapshots of the shops that succeeded are kept). Returns {backup_log_id, status, '
  'snapshots: [{id, shop_id, row_counts, checksum}], failures: [...]}. With p_idempotency_key, a replay returns the '
  'first response and writes nothing; other arguments with the same key are PT422 idempotency_conflict. '
  'Trusted callers and platform admins only (PT403 forbidden); all shops (p_shop_id null) only in the database '
  'owner''s own session without JWT (the pg_cron job): any API caller gets PT400 invalid_request {field: shop_id, scheduled_job: daily-full-backup}; '
  'unknown shop PT404 not_found; bad type PT400.';

-- ---------------------------------------------------------------------------
-- list_backups, cleanup_expired_snapshots
-- ---------------------------------------------------------------------------

create function public.list_backups(p_shop_id uuid default null, p_limit integer default 20)
returns jsonb
language plpgsql
stable
-- invoker's rights: RLS lets platform admins read the backup tables and
-- service_role bypasses it; the explicit check gives others a clear forbidden.
-- The snapshot payload is never returned.
set search_path = ''
as $$
begin
  perform private.assert_platform_operator('list_backups');

  if p_limit is null or p_limit < 1 or p_limit > 100 then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('field', 'limit', 'min', 1, 'max', 100),
      'limit must be between 1 and 100.');
  end if;

  return jsonb_build_object(
    'snapshots', coalesce(
      (select jsonb_agg(to_jsonb(s) - 'data' order by s.created_at desc, s.id desc)
       from (select * from public.recovery_snapshots s
             where p_shop_id is null or s.shop_id = p_shop_id
             order by s.created_at desc, s.id desc
             limit p_limit) s),
      '[]'::jsonb),
    'logs', coalesce(
      (select jsonb_agg(to_jsonb(l) order by l.started_at desc, l.id desc)
       from (select * from public.backup_logs l
             where p_shop_id is null or l.shop_id = p_shop_id
             order by l.started_at desc, l.id desc
             limit p_limit) l),
      '[]'::jsonb)
  );
end;
$$;

comment on function public.list_backups(uuid, integer) is
  'Returns {snapshots: [recovery_snapshots rows without data], logs: [backup_logs rows]}, newest first, at most p_limit '
  '(1..100, else PT400 invalid_request) of each, for one shop or all. Read-only. Trusted callers and platform admins '
  'only (PT403 forbidden).';

create function public.cleanup_expired_snapshots()
returns jsonb
language plpgsql
volatile
-- security definer: deletes from recovery_snapshots, which no client role may
-- write; the caller is checked first.
security definer
set search_path = ''
as $$
declare
  v_deleted integer;
begin
  perform private.assert_platform_operator('cleanup_expired_snapshots');

  delete from public.recovery_snapshots s where s.expires_at <= now();
  get diagnostics v_deleted = row_count;

  return jsonb_build_object('deleted', v_deleted);
end;
$$;

comment on function public.cleanup_expired_snapshots() is
  'Deletes the recovery snapshots whose expires_at has passed and returns {deleted: n}; snapshots not yet expired are '
  'kept. Trusted callers and platform admins only (PT403 forbidden).';

-- Platform admins call these as authenticated users, jobs as service_role
-- or the owner; the functions check the caller themselves.
grant execute on function
  public.create_backup_snapshot(uuid, text, text),
  public.list_backups(uuid, integer),
  public.cleanup_expired_snapshots()
  to authenticated, service_role;

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants above remain.
revoke execute on all functions in schema public, private from public;
