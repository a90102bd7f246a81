-- snapshot_dedupe: a snapshot's data is stored in three parts, each kept
-- once per shop and checksum (recovery_snapshot_parts), so a shop whose data
-- has not changed since its last snapshot stores no second copy, and a shop
-- that changed stores again only the parts that changed. What a snapshot
-- holds, its checksum, row_counts and size_bytes, and every answer of the
-- backup functions stay as they were (backups, restores).
--
-- The parts, split by when a row happened (private.snapshot_time_columns):
--   state    the tables without a date: the shop, its team, catalogue,
--            forms, conversations, replies, integrations, add-ons;
--   recent   the dated rows (orders, messages, stock history, metrics)
--            of the snapshot's calendar month (UTC) and later;
--   history  the dated rows of earlier months.
-- History is most of a shop's data and settles once its month is over, so
-- the nightly backup of a shop that took orders yesterday stores a new state
-- and recent part and points at the history part it already has. Every shop
-- gets a new daily_sales_metrics row each night (analytics), so the recent
-- part of an idle shop changes daily too: only its small recent part is
-- stored again.

-- ---------------------------------------------------------------------------
-- Table
-- ---------------------------------------------------------------------------

-- shop_id has no foreign key, like recovery_snapshots: parts outlive the shop.
create table public.recovery_snapshot_parts (
  id bigint generated always as identity primary key,
  shop_id uuid not null,
  checksum text not null check (checksum ~ '^[0-9a-f]{64}$'),
  data jsonb not null,
  size_bytes bigint not null check (size_bytes >= 0),
  created_at timestamptz not null default now(),
  constraint recovery_snapshot_parts_shop_id_checksum_key unique (shop_id, checksum)
);
alter table public.recovery_snapshot_parts enable row level security;
comment on table public.recovery_snapshot_parts is
  'One part of one or more recovery snapshots of a shop (data: {table: rows}), stored once per shop and checksum '
  '(sha256 hex of the part''s jsonb text); size_bytes is that text''s length. Written and deleted only by the backup '
  'functions; read by platform admins.';

-- lz4 compresses snapshot json faster than pglz and, measured on the seed
-- shops, about 20% smaller (BENCHMARKS.md, "Snapshot storage"); a server
-- built without lz4 keeps the default.
do $$
begin
  if exists (select 1 from pg_catalog.pg_settings s
              where s.name = 'default_toast_compression' and 'lz4' = any (s.enumvals)) then
    alter table public.recovery_snapshot_parts alter column data set compression lz4;
  end if;
end;
$$;

create policy recovery_snapshot_parts_select on public.recovery_snapshot_parts for select to authenticated
  using ((select private.is_platform_admin()));

-- As recovery_snapshots: written only by the backup functions, platform admins read.
grant select, insert, update, delete on public.recovery_snapshot_parts to service_role;
grant select on public.recovery_snapshot_parts to authenticated;

-- ---------------------------------------------------------------------------
-- Splitting a snapshot into parts and putting it back together
-- ---------------------------------------------------------------------------

create function private.snapshot_time_columns()
returns table (table_name text, time_column text)
language sql
immutable
set search_path = ''
as $$
  -- Append-mostly tables and the column that dates a row. Every other table
  -- of private.backup_tables() goes whole into the state part.
  select t.table_name, t.time_column
  from (values
    ('form_submissions', 'submitted_at'),
    ('messages', 'created_at'),
    ('stock_history', 'created_at'),
    ('daily_sales_metrics', 'date'),
    ('product_analytics', 'period_start')
  ) as t (table_name, time_column)
$$;

comment on function private.snapshot_time_columns() is
  'The tables of private.backup_tables() whose rows a snapshot stores by date (recent or history part), with the '
  'not-null column that dates a row; every other table goes into the state part.';

create function private.split_snapshot(
  p_data jsonb,
  p_month_start date,
  out state jsonb,
  out recent jsonb,
  out history jsonb
)
language sql
stable
set search_path = ''
-- a date column's text is read as a UTC midnight, like p_month_start
set timezone = 'UTC'
as $$
  with snapshot_rows as (
    select
      t.key as table_name,
      c.time_column is not null as dated,
      r.value as row,
      r.n,
      -- a row without a date (none today: the columns are not null) stays recent
      coalesce(c.time_column is not null
               and (r.value ->> c.time_column)::timestamptz < p_month_start::timestamptz, false) as old
    from jsonb_each(p_data) t
    left join private.snapshot_time_columns() c on c.table_name = t.key
    left join lateral jsonb_array_elements(t.value) with ordinality r (value, n) on true
  ),
  tables as (
    -- Each table keeps its key in state (undated) or recent (dated) even when
    -- empty, so the parts' keys are exactly the snapshot's; history only
    -- holds tables with older rows. Rows keep their order (primary key).
    select table_name, dated,
           coalesce(jsonb_agg(row order by n) filter (where row is not null and not old), '[]') as current_rows,
           jsonb_agg(row order by n) filter (where old) as old_rows
    from snapshot_rows
    group by table_name, dated
  )
  select
    coalesce(jsonb_object_agg(table_name, current_rows) filter (where not dated), '{}'),
    coalesce(jsonb_object_agg(table_name, current_rows) filter (where dated), '{}'),
    coalesce(jsonb_object_agg(table_name, old_rows) filter (where old_rows is not null), '{}')
  from tables
$$;

comment on function private.split_snapshot(jsonb, date) is
  'Splits a snapshot''s data into its three parts: state (tables without a date), recent (dated rows from p_month_start '
  'on) and history (dated rows before it), each {table: rows in the snapshot''s order}; '
  'private.assemble_snapshot puts them back together exactly.';

create function private.assemble_snapshot(p_state jsonb, p_recent jsonb, p_history jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  -- read once: a part fetched from its table may still be compressed
  v_parts jsonb[] := array[p_state || '{}', p_recent || '{}', p_history || '{}'];
  v_table text;
  v_pieces jsonb[];
  v_rows jsonb;
  v_keys record;
  v_tables text[] := '{}'::text[];
  v_table_rows jsonb[] := '{}'::jsonb[];
begin
  if p_state is null or p_recent is null or p_history is null then
    return null;
  end if;

  for v_table in
    select distinct k from unnest(v_parts) p, jsonb_object_keys(p) k
  loop
    select array_agg(p -> v_table) filter (where jsonb_array_length(p -> v_table) > 0)
      into v_pieces
    from unnest(v_parts) p
    where p ? v_table;

    if coalesce(array_length(v_pieces, 1), 0) = 0 then
      v_rows := '[]'::jsonb;
    elsif array_length(v_pieces, 1) = 1 then
      v_rows := v_pieces[1];
    else
      -- Rows of one table from two parts: back into primary key order, the
      -- order the snapshot was taken in (keys compared as their column types).
      select * into v_keys from private.primary_key_sql(v_table);
      execute format(
        'select jsonb_agg(k.row order by %s) from (select r.value as row, %s from unnest($1) p, jsonb_array_elements(p) r) k',
        (select string_agg(format('k.pk_%s', n), ', ')
           from generate_series(1, array_length(private.primary_key_columns(v_table), 1)) n),
        v_keys.snapshot_keys)
        into v_rows
        using v_pieces;
    end if;
    v_tables := array_append(v_tables, v_table);
    v_table_rows := array_append(v_table_rows, v_rows);
  end loop;
  -- built once at the end: concatenating in the loop would copy the growing
  -- document once per table
  return (select coalesce(jsonb_object_agg(t.name, t.rows), '{}'::jsonb)
            from unnest(v_tables, v_table_rows) t (name, rows));
end;
$$;

comment on function private.assemble_snapshot(jsonb, jsonb, jsonb) is
  'A snapshot''s data from its three parts: every table of the parts, its rows in primary key order; equal (as jsonb, '
  'so in text and checksum) to the data that was split. Null when a part is missing.';

-- ---------------------------------------------------------------------------
-- Writers and the cleanup never overlap
-- ---------------------------------------------------------------------------

-- A part is shared by the snapshots that need it; the cleanup deletes a part
-- when no snapshot refers to it. Backups (and the restores' pre_restore
-- snapshots) hold this lock shared while they write, the cleanup holds it
-- alone, so a writer never points at a part the cleanup is deleting, and the
-- cleanup never sees a part as unused while a writer is about to use it.
create function private.lock_snapshot_parts(p_exclusive boolean)
returns void
language plpgsql
volatile
set search_path = ''
as $$
declare
  -- one key for the lock, derived from the table it protects
  v_key constant bigint := 'public.recovery_snapshot_parts'::regclass::oid::bigint;
begin
  if p_exclusive then
    perform pg_advisory_xact_lock(v_key);
  else
    perform pg_advisory_xact_lock_shared(v_key);
  end if;
end;
$$;

comment on function private.lock_snapshot_parts(boolean) is
  'Transaction-level advisory lock over recovery_snapshot_parts: shared for writers of snapshots, exclusive for the '
  'cleanup, so the cleanup never deletes a part a writer is pointing a new snapshot at.';

-- Stores one part (unless the shop already has it) and returns its id.
create function private.store_snapshot_part(p_shop_id uuid, p_data jsonb)
returns bigint
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_canonical bytea := convert_to(p_data::text, 'UTF8');
  v_checksum text := encode(sha256(v_canonical), 'hex');
  v_id bigint;
begin
  insert into public.recovery_snapshot_parts (shop_id, checksum, data, size_bytes)
  values (p_shop_id, v_checksum, p_data, octet_length(v_canonical))
  on conflict (shop_id, checksum) do nothing
  returning id into v_id;

  if v_id is null then
    select p.id into v_id
    from public.recovery_snapshot_parts p
    where p.shop_id = p_shop_id and p.checksum = v_checksum;
  end if;
  return v_id;
end;
$$;

comment on function private.store_snapshot_part(uuid, jsonb) is
  'Returns the id of the shop''s part with this data, inserting it first when the shop has no part with its checksum. '
  'Caller must hold private.lock_snapshot_parts.';

-- ---------------------------------------------------------------------------
-- recovery_snapshots: parts instead of data
-- ---------------------------------------------------------------------------

alter table public.recovery_snapshots
  add column state_part_id bigint references public.recovery_snapshot_parts (id),
  add column recent_part_id bigint references public.recovery_snapshot_parts (id),
  add column history_part_id bigint references public.recovery_snapshot_parts (id);

-- The snapshots taken so far, split as if taken now in their month; their
-- checksum is kept as stored, so a snapshot whose data had been altered is
-- still refused by a restore.
do $$
declare
  v_snapshot record;
  v_parts record;
begin
  for v_snapshot in select s.id, s.shop_id, s.data, s.created_at from public.recovery_snapshots s loop
    select * into v_parts
    from private.split_snapshot(v_snapshot.data, date_trunc('month', v_snapshot.created_at at time zone 'UTC')::date);
    update public.recovery_snapshots s set
      state_part_id = private.store_snapshot_part(v_snapshot.shop_id, v_parts.state),
      recent_part_id = private.store_snapshot_part(v_snapshot.shop_id, v_parts.recent),
      history_part_id = private.store_snapshot_part(v_snapshot.shop_id, v_parts.history)
    where s.id = v_snapshot.id;
  end loop;
end;
$$;

alter table public.recovery_snapshots
  alter column state_part_id set not null,
  alter column recent_part_id set not null,
  alter column history_part_id set not null,
  drop column data;

create index recovery_snapshots_state_part_id_idx on public.recovery_snapshots (state_part_id);
create index recovery_snapshots_recent_part_id_idx on public.recovery_snapshots (recent_part_id);
create index recovery_snapshots_history_part_id_idx on public.recovery_snapshots (history_part_id);

comment on table public.recovery_snapshots is
  'Logical point-in-time snapshot of one shop: its data is the union of three recovery_snapshot_parts (state, recent, '
  'history), shared with other snapshots of the shop when equal; checksum: sha256 hex of the canonical whole data.';

-- ---------------------------------------------------------------------------
-- Functions that wrote or read recovery_snapshots.data
-- ---------------------------------------------------------------------------

create or replace function private.write_snapshot(p_shop_id uuid, p_snapshot_type text, p_backup_log_id uuid)
returns public.recovery_snapshots
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_data jsonb := private.shop_snapshot_data(p_shop_id);
  v_canonical bytea := convert_to(v_data::text, 'UTF8');
  v_parts record;
  v_snapshot public.recovery_snapshots;
begin
  perform private.lock_snapshot_parts(false);
  select * into v_parts
  from private.split_snapshot(v_data, date_trunc('month', now() at time zone 'UTC')::date);

  insert into public.recovery_snapshots
    (shop_id, snapshot_type, checksum, row_counts, size_bytes, backup_log_id, created_by,
     state_part_id, recent_part_id, history_part_id)
  values (
    p_shop_id,
    p_snapshot_type,
    -- the bytes private.snapshot_checksum hashes, rendered once
    encode(sha256(v_canonical), 'hex'),
    (select jsonb_object_agg(t.key, jsonb_array_length(t.value)) from jsonb_each(v_data) t),
    octet_length(v_canonical),
    p_backup_log_id,
    auth.uid(),
    private.store_snapshot_part(p_shop_id, v_parts.state),
    private.store_snapshot_part(p_shop_id, v_parts.recent),
    private.store_snapshot_part(p_shop_id, v_parts.history)
  )
  returning * into v_snapshot;
  return v_snapshot;
end;
$$;

comment on function private.write_snapshot(uuid, text, uuid) is
  'Takes one snapshot of the shop and returns its row: checksum, row_counts and size_bytes of the whole data, which is '
  'stored as its three parts (private.split_snapshot at the current UTC month), each only when the shop does not have '
  'that part yet. Caller must be authorized.';

-- The snapshot's whole data, put together from its parts.
create function private.snapshot_data(p_snapshot public.recovery_snapshots)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select private.assemble_snapshot(
    (select p.data from public.recovery_snapshot_parts p where p.id = p_snapshot.state_part_id),
    (select p.data from public.recovery_snapshot_parts p where p.id = p_snapshot.recent_part_id),
    (select p.data from public.recovery_snapshot_parts p where p.id = p_snapshot.history_part_id))
$$;

comment on function private.snapshot_data(public.recovery_snapshots) is
  'The whole data of a snapshot ({table: rows ordered by primary key}), assembled from its three parts.';

create or replace function public.restore_backup_snapshot(
  p_snapshot_id uuid,
  p_dry_run boolean default true,
  p_idempotency_key text default null
)
returns jsonb
language plpgsql
volatile
-- security definer: reads and rewrites every row of the snapshot's shop,
-- whatever RLS would show the caller, with triggers off (see
-- private.apply_shop_snapshot); the caller is checked first.
security definer
set search_path = ''
as $$
declare
  v_action constant text := 'restore_backup_snapshot';
  v_dry_run boolean := coalesce(p_dry_run, true);
  v_request_hash text := private.request_hash(
    jsonb_build_object('snapshot_id', p_snapshot_id, 'dry_run', v_dry_run));
  v_snapshot public.recovery_snapshots;
  v_data jsonb;
  v_stored jsonb;
  v_actual_checksum text;
  v_differences jsonb;
  v_restored jsonb;
  v_log_id uuid;
  v_pre_restore public.recovery_snapshots;
  v_response jsonb;
begin
  perform private.assert_platform_operator(v_action);

  -- The cleanup cannot take the snapshot's parts away while this runs.
  perform private.lock_snapshot_parts(false);

  select * into v_snapshot from public.recovery_snapshots s where s.id = p_snapshot_id;
  if not found then
    perform private.raise_api_error(404, 'not_found',
      jsonb_build_object('snapshot_id', p_snapshot_id),
      'No such snapshot.');
  end if;

  v_stored := private.idempotency_lookup(v_snapshot.shop_id, p_idempotency_key, v_action, v_request_hash);
  if v_stored is not null then
    return v_stored;
  end if;

  -- A snapshot whose data no longer matches its checksum was altered or
  -- corrupted after it was taken (any of its parts): never restore it.
  v_data := private.snapshot_data(v_snapshot);
  v_actual_checksum := private.snapshot_checksum(v_data);
  if v_actual_checksum is distinct from v_snapshot.checksum then
    perform private.raise_api_error(409, 'conflict',
      jsonb_build_object(
        'reason', 'checksum_mismatch', 'snapshot_id', v_snapshot.id,
        'expected_checksum', v_snapshot.checksum, 'actual_checksum', v_actual_checksum),
      'The snapshot''s data does not match its checksum; it was not restored.');
  end if;

  if not v_dry_run then
    -- locked before comparing, so the differences reported are the ones applied
    perform private.lock_shop_rows(v_snapshot.shop_id);
  end if;
  v_differences := private.snapshot_differences(v_snapshot.shop_id, v_data);

  if not v_dry_run then
    insert into public.backup_logs (operation, backup_type, shop_id, status, started_at, snapshot_ids, triggered_by)
    values ('restore', 'manual', v_snapshot.shop_id, 'running', now(), array[v_snapshot.id], auth.uid())
    returning id into v_log_id;

    -- The shop as it is now, so that the restore itself can be undone.
    if exists (select 1 from public.shops s where s.id = v_snapshot.shop_id) then
      v_pre_restore := private.write_snapshot(v_snapshot.shop_id, 'pre_restore', v_log_id);
    end if;

    begin
      v_restored := private.apply_shop_snapshot(v_snapshot.shop_id, v_data);
    exception when unique_violation or check_violation or not_null_violation or foreign_key_violation then
      perform private.raise_api_error(409, 'conflict',
        jsonb_build_object('reason', 'constraint_violation', 'sqlstate', sqlstate,
          'snapshot_id', v_snapshot.id),
        'The snapshot conflicts with data outside the shop (' || sqlerrm || '); nothing was restored.');
    end;

    update public.recovery_snapshots s set restored_at = now() where s.id = v_snapshot.id;

    update public.backup_logs l
       set status = 'completed', completed_at = now(), row_counts = v_restored, size_bytes = v_snapshot.size_bytes
     where l.id = v_log_id;
  end if;

  v_response := jsonb_build_object(
    'snapshot_id', v_snapshot.id,
    'shop_id', v_snapshot.shop_id,
    'dry_run', v_dry_run,
    'checksum', v_snapshot.checksum,
    'differences', v_differences,
    'restored', v_restored,
    'pre_restore_snapshot_id', v_pre_restore.id,
    'backup_log_id', v_log_id);

  perform private.idempotency_store(v_snapshot.shop_id, p_idempotency_key, v_action, v_request_hash, v_response);
  return v_response;
end;
$$;

comment on function public.restore_backup_snapshot(uuid, boolean, text) is
  'Assembles the snapshot''s data from its parts and verifies its checksum first (mismatch, whichever part was '
  'altered: PT409 conflict, reason checksum_mismatch, nothing changes). '
  'Dry run (default): returns {snapshot_id, shop_id, dry_run, checksum, differences: {table: {insert|update|delete: '
  '{count, keys}}}, restored: null} and changes nothing. Applied: makes the shop''s rows exactly the snapshot''s '
  '(see private.apply_shop_snapshot) under row locks, after saving the current state as a pre_restore snapshot (so a '
  'restore can be undone), sets restored_at, logs a backup_logs row (operation restore) and returns restored: '
  '{table: rows}, pre_restore_snapshot_id, backup_log_id; a new snapshot of the shop then has the same checksum. '
  'Rows that would dangle or collide with another shop''s unique values: PT409 conflict, nothing restored. '
  'Other shops are never touched. Replay-safe '
  'with p_idempotency_key. Trusted callers and platform admins only (PT403 forbidden); unknown snapshot PT404.';

create or replace function public.list_backups(p_shop_id uuid default null, p_limit integer default 20)
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
    -- the answer's snapshot fields stay those of a snapshot row before parts
    'snapshots', coalesce(
      (select jsonb_agg(to_jsonb(s) - array['state_part_id', 'recent_part_id', 'history_part_id']
                        order by s.created_at desc, s.id desc)
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
  'Returns {snapshots: [recovery_snapshots rows without their part ids], logs: [backup_logs rows]}, newest first, at '
  'most p_limit (1..100, else PT400 invalid_request) of each, for one shop or all. Never returns snapshot data. '
  'Read-only. Trusted callers and platform admins only (PT403 forbidden).';

create or replace function public.cleanup_expired_snapshots()
returns jsonb
language plpgsql
volatile
-- security definer: deletes from recovery_snapshots and recovery_snapshot_parts,
-- which no client role may write; the caller is checked first.
security definer
set search_path = ''
as $$
declare
  v_deleted integer;
  v_parts bigint[];
begin
  perform private.assert_platform_operator('cleanup_expired_snapshots');

  -- No snapshot is written while the unused parts are found and deleted.
  perform private.lock_snapshot_parts(true);

  with expired as (
    delete from public.recovery_snapshots s where s.expires_at <= now()
    returning s.state_part_id, s.recent_part_id, s.history_part_id
  )
  select (select count(*)::integer from expired),
         coalesce((select array_agg(distinct p.id)
                   from expired e, unnest(array[e.state_part_id, e.recent_part_id, e.history_part_id]) p (id)), '{}')
    into v_deleted, v_parts;

  -- A part goes with the last snapshot that used it, never before.
  delete from public.recovery_snapshot_parts p
  where p.id = any (v_parts)
    and not exists (select 1 from public.recovery_snapshots s where s.state_part_id = p.id)
    and not exists (select 1 from public.recovery_snapshots s where s.recent_part_id = p.id)
    and not exists (select 1 from public.recovery_snapshots s where s.history_part_id = p.id);

  return jsonb_build_object('deleted', v_deleted);
end;
$$;

comment on function public.cleanup_expired_snapshots() is
  'Deletes the recovery snapshots whose expires_at has passed, then the parts no remaining snapshot uses (a part '
  'shared with a snapshot not yet expired stays), and returns {deleted: snapshots deleted}; snapshots not yet expired '
  'are kept. Runs alone against snapshot writers (private.lock_snapshot_parts). Trusted callers and platform admins '
  'only (PT403 forbidden).';

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants of the functions above remain.
revoke execute on all functions in schema public, private from public;
