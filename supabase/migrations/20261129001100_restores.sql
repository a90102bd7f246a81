-- restores: restore_backup_snapshot puts one shop's rows back exactly as a
-- snapshot (backups) holds them, or with p_dry_run only reports the
-- differences; a pre_restore snapshot is taken first.

-- Differences between a snapshot's data and the shop's rows now, per table:
-- {insert|update|delete: {count, keys (first 100 primary keys)}}.
create function private.snapshot_differences(p_shop_id uuid, p_data jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
-- the live rows are rendered exactly as the snapshot was
set timezone = 'UTC'
set bytea_output = 'hex'
set intervalstyle = 'postgres'
set extra_float_digits = 1
as $$
declare
  v_table record;
  v_snapshot_keys text;
  v_live_keys text;
  v_key_match text;
  v_table_diff jsonb;
  v_differences jsonb := '{}'::jsonb;
begin
  for v_table in select * from private.backup_tables() order by restore_order loop
    -- Rows are matched on their typed primary key (hashable, cheap) and
    -- compared as jsonb; each side is rendered once (materialized).
    select k.snapshot_keys, k.live_keys, k.key_match
      into v_snapshot_keys, v_live_keys, v_key_match
    from private.primary_key_sql(v_table.table_name) k;

    execute format(
      $sql$
      with snapshot_rows as materialized (
        select r.value as row, %1$s
        from jsonb_array_elements(coalesce($2, '[]'::jsonb)) r
      ),
      live_rows as materialized (
        select to_jsonb(t) - %3$L::text[] as row, %2$s
        from public.%4$I t where t.%5$I = $1
      ),
      compared as materialized (
        select
          coalesce(s.row, l.row) as any_row,
          case
            when l.row is null then 'insert'
            when s.row is null then 'delete'
            when s.row <> l.row then 'update'
          end as change
        from snapshot_rows s
        full join live_rows l on %6$s
      ),
      changes as (
        select %7$s as key, change from compared where change is not null
      )
      select jsonb_build_object(
        'insert', jsonb_build_object(
          'count', count(*) filter (where change = 'insert'),
          'keys', coalesce(jsonb_path_query_array(jsonb_agg(key order by key) filter (where change = 'insert'), '$[0 to 99]'), '[]')),
        'update', jsonb_build_object(
          'count', count(*) filter (where change = 'update'),
          'keys', coalesce(jsonb_path_query_array(jsonb_agg(key order by key) filter (where change = 'update'), '$[0 to 99]'), '[]')),
        'delete', jsonb_build_object(
          'count', count(*) filter (where change = 'delete'),
          'keys', coalesce(jsonb_path_query_array(jsonb_agg(key order by key) filter (where change = 'delete'), '$[0 to 99]'), '[]'))
      )
      from changes
      $sql$,
      v_snapshot_keys,
      v_live_keys,
      v_table.excluded_columns,
      v_table.table_name,
      v_table.scope_column,
      v_key_match,
      private.primary_key_expression(v_table.table_name, 'any_row')
    )
    into v_table_diff
    using p_shop_id, p_data -> v_table.table_name;

    v_differences := v_differences || jsonb_build_object(v_table.table_name, v_table_diff);
  end loop;
  return v_differences;
end;
$$;

comment on function private.snapshot_differences(uuid, jsonb) is
  'Per table of private.backup_tables(): the rows a restore of p_data would insert, update and delete for the shop, '
  'as {insert|update|delete: {count, keys: first 100 primary keys}}. Read-only.';

-- Holds a shop still for a restore, until the transaction ends.
create function private.lock_shop_rows(p_shop_id uuid)
returns void
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_table record;
begin
  -- FOR UPDATE on the shop row blocks every new row referencing the shop
  -- (foreign-key checks take KEY SHARE on it); locking the shop's existing
  -- rows makes concurrent edits wait for the restore. Parents first, the
  -- same order on every path.
  perform 1 from public.shops s where s.id = p_shop_id for update;
  for v_table in select * from private.backup_tables() where table_name <> 'shops' order by restore_order loop
    execute format('select 1 from public.%I t where t.%I = $1 for update', v_table.table_name, v_table.scope_column)
      using p_shop_id;
  end loop;
end;
$$;

comment on function private.lock_shop_rows(uuid) is
  'Locks the shop row and every row of the shop in private.backup_tables() (FOR UPDATE) until the transaction ends, '
  'so no write of the shop can interleave with a restore.';

-- Puts the shop's rows back exactly as in p_data.
--
-- session_replication_role = replica switches off ordinary triggers while
-- this function writes (set back before it returns; an error rolls the SET
-- LOCAL back with everything else), so no trigger can alter a restored row: updated_at keeps its snapshotted value,
-- order numbers are not reassigned, the append-only guard on stock_history
-- lets the restore replace history, items' stock changes write no new
-- history, and the subscription ledger trigger stays quiet (billing columns
-- are not restored anyway). Replica mode also skips foreign-key triggers, so
-- every foreign key touching the shop's rows is re-checked at the end and a
-- dangling reference aborts the whole restore. It is a SET statement, not a
-- function SET clause: on hosted Supabase the postgres role (which owns and
-- runs this through restore_backup_snapshot) may SET session_replication_role
-- thanks to supautils' privileged_role_allowed_configs.
create function private.apply_shop_snapshot(p_shop_id uuid, p_data jsonb)
returns jsonb
language plpgsql
volatile
set search_path = ''
set timezone = 'UTC'
set bytea_output = 'hex'
set intervalstyle = 'postgres'
set extra_float_digits = 1
as $$
declare
  v_table record;
  v_keys record;
  v_columns text[];
  v_column_list text;
  v_pk_match text;
  v_orphans bigint;
  v_fk record;
  v_restored jsonb := '{}'::jsonb;
  v_count bigint;
  v_replication_role text := current_setting('session_replication_role');
begin
  set local session_replication_role = replica;

  -- Children first: delete every row that is not in the snapshot exactly as
  -- it is now (changed rows are deleted and re-inserted below, which also
  -- avoids transient unique conflicts when two rows swapped a unique value).
  for v_table in select * from private.backup_tables() where table_name <> 'shops' order by restore_order desc loop
    select * into v_keys from private.primary_key_sql(v_table.table_name);
    execute format(
      $sql$
      with snapshot_rows as materialized (
        select r.value as row, %1$s
        from jsonb_array_elements(coalesce($2, '[]'::jsonb)) r
      ),
      live_rows as materialized (
        select to_jsonb(t) - %3$L::text[] as row, %2$s from public.%4$I t where t.%5$I = $1
      ),
      -- a full join can only be hashed or merged: never a nested loop over
      -- jsonb_array_elements' row estimate
      stale as materialized (
        select l.*
        from snapshot_rows s
        full join live_rows l on %6$s
        where l.row is not null and s.row is distinct from l.row
      )
      delete from public.%4$I t using stale l where %7$s
      $sql$,
      v_keys.snapshot_keys, v_keys.live_keys, v_table.excluded_columns, v_table.table_name,
      v_table.scope_column, v_keys.key_match, v_keys.row_match)
      using p_shop_id, p_data -> v_table.table_name;
  end loop;

  -- Parents first: put back what is missing.
  for v_table in select * from private.backup_tables() order by restore_order loop
    v_columns := private.restorable_columns(v_table.table_name, v_table.excluded_columns);
    v_column_list := (select string_agg(format('%I', c), ', ') from unnest(v_columns) c);
    v_pk_match := (select string_agg(format('t.%1$I = s.%1$I', c), ' and ')
                   from unnest(private.primary_key_columns(v_table.table_name)) c);

    if v_table.table_name = 'shops' then
      -- The shop row is updated in place (its billing columns and every row
      -- referencing it stay), or re-created when it is gone.
      execute format(
        'update public.shops t set (%1$s) = (select %1$s from jsonb_populate_record(null::public.shops, $2 -> 0))
         where t.id = $1 and to_jsonb(t) - %2$L::text[] <> $2 -> 0',
        v_column_list, v_table.excluded_columns)
        using p_shop_id, p_data -> 'shops';
      execute format(
        'insert into public.shops (%1$s) select %1$s from jsonb_populate_record(null::public.shops, $2 -> 0) s
         where s.id = $1 and not exists (select 1 from public.shops t where t.id = $1)',
        v_column_list)
        using p_shop_id, p_data -> 'shops';
    else
      execute format(
        'insert into public.%1$I (%2$s) overriding system value
         select %2$s from jsonb_populate_recordset(null::public.%1$I, coalesce($2, ''[]''::jsonb)) s
         where s.%3$I = $1 and not exists (select 1 from public.%1$I t where %4$s)',
        v_table.table_name, v_column_list, v_table.scope_column, v_pk_match)
        using p_shop_id, p_data -> v_table.table_name;
    end if;

    if v_table.table_name = 'form_submissions' then
      -- The order-number trigger did not run: move the shop's counter past
      -- the restored numbers so the next order cannot reuse one.
      insert into private.order_number_counters as c (shop_id, last_order_number)
      select p_shop_id, max(o.order_number) from public.form_submissions o where o.shop_id = p_shop_id
      having max(o.order_number) is not null
      on conflict (shop_id) do update
        set last_order_number = greatest(c.last_order_number, excluded.last_order_number);
    end if;

    execute format('select count(*) from public.%I t where t.%I = $1', v_table.table_name, v_table.scope_column)
      into v_count using p_shop_id;
    v_restored := v_restored || jsonb_build_object(v_table.table_name, v_count);
  end loop;

  -- Re-check every foreign key from or into the restored tables, limited to
  -- this shop's rows where the referencing table is shop-scoped.
  for v_fk in
    select
      c.conname::text as constraint_name,
      child.relname::text as child_table,
      child_ns.nspname::text as child_schema,
      parent.relname::text as parent_table,
      parent_ns.nspname::text as parent_schema,
      (select string_agg(format('c.%I is not null', a.attname), ' and ')
       from unnest(c.conkey) k (attnum)
       join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum) as not_null,
      (select string_agg(format('p.%I = c.%I', pa.attname, ca.attname), ' and ')
       from unnest(c.conkey, c.confkey) k (child_attnum, parent_attnum)
       join pg_attribute ca on ca.attrelid = c.conrelid and ca.attnum = k.child_attnum
       join pg_attribute pa on pa.attrelid = c.confrelid and pa.attnum = k.parent_attnum) as match,
      case
        when child_ns.nspname = 'public' and child.relname = 'shops' then 'c.id = $1'
        when exists (select 1 from pg_attribute a
                     where a.attrelid = c.conrelid and a.attname = 'shop_id' and not a.attisdropped)
          then 'c.shop_id = $1'
        else 'true'
      end as scope
    from pg_constraint c
    join pg_class child on child.oid = c.conrelid
    join pg_namespace child_ns on child_ns.oid = child.relnamespace
    join pg_class parent on parent.oid = c.confrelid
    join pg_namespace parent_ns on parent_ns.oid = parent.relnamespace
    where c.contype = 'f'
      and (
        (child_ns.nspname = 'public' and child.relname in (select b.table_name from private.backup_tables() b))
        or (parent_ns.nspname = 'public' and parent.relname in (select b.table_name from private.backup_tables() b))
      )
  loop
    execute format(
      'select count(*) from %I.%I c where %s and %s and not exists (select 1 from %I.%I p where %s)',
      v_fk.child_schema, v_fk.child_table, v_fk.scope, v_fk.not_null,
      v_fk.parent_schema, v_fk.parent_table, v_fk.match)
      into v_orphans using p_shop_id;
    if v_orphans > 0 then
      perform private.raise_api_error(409, 'conflict',
        jsonb_build_object(
          'reason', 'dangling_reference', 'constraint', v_fk.constraint_name,
          'table', v_fk.child_table, 'references', v_fk.parent_table, 'rows', v_orphans),
        format('Restoring would leave %s row(s) of %s pointing at missing %s rows; nothing was restored.',
          v_orphans, v_fk.child_table, v_fk.parent_table));
    end if;
  end loop;

  execute format('set local session_replication_role = %L', v_replication_role);
  return v_restored;
end;
$$;

comment on function private.apply_shop_snapshot(uuid, jsonb) is
  'Makes the shop''s rows of every table of private.backup_tables() equal to p_data (delete rows not in it, insert the '
  'missing, update the shop row in place; billing columns untouched) with triggers off (session_replication_role = '
  'replica, this function only), then re-checks every foreign key touching the shop: a dangling one raises PT409 '
  'conflict and nothing is kept. Returns {table: rows of the shop after the restore}. Caller must be authorized.';

create function public.restore_backup_snapshot(
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
  -- corrupted after it was taken: never restore it.
  -- Decompress the payload once (|| detoasts its argument): every step below
  -- reads it again, and a compressed value would be inflated at each read.
  v_data := v_snapshot.data || '{}'::jsonb;
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
  'Verifies the snapshot''s checksum first (mismatch: PT409 conflict, reason checksum_mismatch, nothing changes). '
  'Dry run (default): returns {snapshot_id, shop_id, dry_run, checksum, differences: {table: {insert|update|delete: '
  '{count, keys}}}, restored: null} and changes nothing. Applied: makes the shop''s rows exactly the snapshot''s '
  '(see private.apply_shop_snapshot) under row locks, after saving the current state as a pre_restore snapshot (so a '
  'restore can be undone), sets restored_at, logs a backup_logs row (operation restore) and returns restored: '
  '{table: rows}, pre_restore_snapshot_id, backup_log_id; a new snapshot of the shop then has the same checksum. '
  'Rows that would dangle or collide with another shop''s unique values: PT409 conflict, nothing restored. '
  'Other shops are never touched. Replay-safe '
  'with p_idempotency_key. Trusted callers and platform admins only (PT403 forbidden); unknown snapshot PT404.';

-- Platform admins call it as authenticated users; it checks the caller itself.
grant execute on function public.restore_backup_snapshot(uuid, boolean, text) to authenticated, service_role;

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants above remain.
revoke execute on all functions in schema public, private from public;
