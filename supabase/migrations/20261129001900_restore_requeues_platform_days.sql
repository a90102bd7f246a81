-- restore_requeues_platform_days: a restore leaves the platform's figures and
-- the shop's metrics as the nightly jobs would compute them from the
-- restored rows.
--
-- A restore (private.apply_shop_snapshot) writes the shop's rows with
-- session_replication_role = replica, so ordinary triggers do not fire: the
-- daily_sales_metrics rows it deleted or put back queued no platform day,
-- and platform_metrics kept the figures of rows that were gone. And a
-- deleted metrics row (by a restore, with its shop, by service_role)
-- queued nothing at all.
--
-- Platform days. The queue triggers on daily_sales_metrics fire ALWAYS
-- (replica mode included) and on delete too. Chosen over queueing from the
-- restore function because the trigger sees exactly the rows that changed,
-- whoever changed them: a restore replaces a changed row by delete + insert
-- and leaves an unchanged row alone, so only the days that moved are
-- queued. Besides the restore, only a logical replication apply worker would
-- write these rows with triggers off (none here: hosted read replicas are
-- physical standbys), and a moved day is worth queueing there too. The
-- trigger function only inserts into the private queue: security definer
-- (the restore runs as postgres, service_role may delete rows), search_path
-- = '', no other table read, nothing that depends on the replication role.
--
-- Shop days. A snapshot's metrics rows can be older than its orders (an
-- order changed between the 02:00 run and the 03:00 backup; a snapshot from
-- before a column existed), and a restore deletes the live rows of the days
-- after the snapshot. So a restore queues, in private.dirty_sales_days, every
-- ended local day on which the shop had an order or a metrics row, before or
-- after: the next night recomputes each from the restored orders (an
-- unchanged day rewrites the same figures and queues no platform day). The
-- cost is the shop's own history once per restore (about 1,100 days for three
-- years: a range scan of one day's orders each), and restores are rare,
-- manual operations; finding the exact days whose orders changed would mean
-- comparing every order with the snapshot a second time.

-- ---------------------------------------------------------------------------
-- The platform-day queue follows every metrics row, triggers on or off
-- ---------------------------------------------------------------------------

create or replace function private.queue_dirty_platform_day()
returns trigger
language plpgsql
-- security definer: the queue is private; whoever may write or delete
-- daily_sales_metrics rows (its functions, a restore, service_role) must be
-- able to mark a day.
security definer
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' or (tg_op = 'UPDATE' and old.date <> new.date) then
    insert into private.dirty_platform_days (date) values (old.date) on conflict (date) do nothing;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    insert into private.dirty_platform_days (date) values (new.date) on conflict (date) do nothing;
  end if;
  return null;
end;
$$;

comment on function private.queue_dirty_platform_day() is
  'Trigger: queues the day (old and new) of a daily_sales_metrics row whose platform figures (orders, gmv) moved: '
  'inserted or deleted with orders, or changed. Fires with triggers off too (enable always), so restores queue.';

-- A deleted row with orders took them out of its day; a deleted zero row
-- moves nothing.
create trigger daily_sales_metrics_queue_platform_day_on_delete
  after delete on public.daily_sales_metrics
  for each row when (old.orders <> 0 or old.gmv <> 0)
  execute function private.queue_dirty_platform_day();

alter table public.daily_sales_metrics enable always trigger daily_sales_metrics_queue_platform_day_on_insert;
alter table public.daily_sales_metrics enable always trigger daily_sales_metrics_queue_platform_day_on_update;
alter table public.daily_sales_metrics enable always trigger daily_sales_metrics_queue_platform_day_on_delete;

comment on table private.dirty_platform_days is
  'Days whose platform order figures moved since their platform_metrics row may have been computed (a shop''s '
  'daily_sales_metrics row of that day inserted or deleted with orders, or changed, by any writer, a restore '
  'included); drained by private.run_platform_metrics.';

-- ---------------------------------------------------------------------------
-- A restore queues the shop's days for the nightly sales work
-- ---------------------------------------------------------------------------

create function private.queue_shop_sales_days(p_shop_id uuid)
returns void
language sql
volatile
set search_path = ''
as $$
  insert into private.dirty_sales_days (shop_id, date)
  select s.id, d.date
    from public.shops s
   cross join lateral (
     select m.date from public.daily_sales_metrics m where m.shop_id = s.id
     union
     select (o.submitted_at at time zone s.timezone)::date from public.form_submissions o where o.shop_id = s.id
   ) d
   where s.id = p_shop_id
     and d.date < (now() at time zone s.timezone)::date
  on conflict (shop_id, date) do nothing
$$;

comment on function private.queue_shop_sales_days(uuid) is
  'Queues in private.dirty_sales_days every ended local day (the shop''s time zone) on which the shop has an order or '
  'a daily_sales_metrics row; no-op for a shop that does not exist. No authorization: callers check.';

-- The restore as before, with the shop's days queued before and after.
create or replace function private.apply_shop_snapshot(p_shop_id uuid, p_data jsonb)
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
  v_defaults jsonb;
  v_replication_role text := current_setting('session_replication_role');
begin
  -- Every past day the shop has before the restore (see
  -- private.queue_shop_sales_days) ...
  perform private.queue_shop_sales_days(p_shop_id);

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
    -- A snapshot taken before a column was added has no value for it: the
    -- row gets the column's default, as an insert without it would.
    v_defaults := private.column_defaults(v_table.table_name, v_columns);

    if v_table.table_name = 'shops' then
      -- The shop row is updated in place (its billing columns and every row
      -- referencing it stay), or re-created when it is gone.
      execute format(
        'update public.shops t set (%1$s) = (select %1$s from jsonb_populate_record(null::public.shops, $3 || ($2 -> 0)))
         where t.id = $1 and to_jsonb(t) - %2$L::text[] <> $2 -> 0',
        v_column_list, v_table.excluded_columns)
        using p_shop_id, p_data -> 'shops', v_defaults;
      execute format(
        'insert into public.shops (%1$s) select %1$s from jsonb_populate_record(null::public.shops, $3 || ($2 -> 0)) s
         where s.id = $1 and not exists (select 1 from public.shops t where t.id = $1)',
        v_column_list)
        using p_shop_id, p_data -> 'shops', v_defaults;
    else
      execute format(
        'insert into public.%1$I (%2$s) overriding system value
         select %2$s from jsonb_array_elements(coalesce($2, ''[]''::jsonb)) r,
                          jsonb_populate_record(null::public.%1$I, $3 || r.value) s
         where s.%3$I = $1 and not exists (select 1 from public.%1$I t where %4$s)',
        v_table.table_name, v_column_list, v_table.scope_column, v_pk_match)
        using p_shop_id, p_data -> v_table.table_name, v_defaults;
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

  -- ... and every day the shop has after it: the nightly sales work
  -- recomputes them all from the restored orders.
  perform private.queue_shop_sales_days(p_shop_id);

  execute format('set local session_replication_role = %L', v_replication_role);
  return v_restored;
end;
$$;

comment on function private.apply_shop_snapshot(uuid, jsonb) is
  'Makes the shop''s rows of every table of private.backup_tables() equal to p_data (delete rows not in it, insert the '
  'missing, update the shop row in place; billing columns untouched; a column the snapshot has no value for, being '
  'newer than it, gets its default) with triggers off (session_replication_role = replica, this function only; the '
  'queue triggers of daily_sales_metrics still fire, so every platform day whose rows changed is queued), then '
  're-checks every foreign key touching the shop: a dangling one raises PT409 conflict and nothing is kept. Every '
  'ended day on which the shop had an order or a metrics row, before or after, is queued for the nightly sales work, '
  'which recomputes it from the restored orders. Returns {table: rows of the shop after the restore}. Caller must be '
  'authorized.';

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants of the functions above remain.
revoke execute on all functions in schema public, private from public;
