-- backup_batches: the scheduled all-shop backups (daily-full-backup,
-- weekly-backup) as a procedure that commits after every batch of shops,
-- as the sales metrics job does (analytics).
--
-- Until now the jobs called create_backup_snapshot(p_shop_id => null), one
-- transaction over every shop with a subtransaction per shop. At 10,000
-- shops that transaction lasts as long as the whole run: it holds the
-- snapshot-parts lock (the cleanup waits), keeps vacuum's horizon back on
-- every table for the duration, and carries thousands of subtransaction ids,
-- past the 64 a snapshot tracks before standbys must look each one up
-- (pg_subtrans), which slows every read on a read replica. Per batch, each of
-- those lasts one batch. create_backup_snapshot(null) stays for the owner's
-- own session (one call, one transaction: a manual run on a small platform).

-- ---------------------------------------------------------------------------
-- One shop's snapshot, its failure kept
-- ---------------------------------------------------------------------------

create function private.write_snapshot_or_log(
  p_shop_id uuid,
  p_snapshot_type text,
  p_backup_log_id uuid,
  p_job text
)
returns public.recovery_snapshots
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_state text;
  v_message text;
begin
  return private.write_snapshot(p_shop_id, p_snapshot_type, p_backup_log_id);
exception when others then
  -- This shop's partial work is rolled back; the batch goes on without it.
  get stacked diagnostics v_state = returned_sqlstate, v_message = message_text;
  insert into private.job_errors (job, shop_id, sqlstate, message)
  values (p_job, p_shop_id, v_state, v_message);
  raise warning '%: shop % failed: % %', p_job, p_shop_id, v_state, v_message;
  return null;
end;
$$;

comment on function private.write_snapshot_or_log(uuid, text, uuid, text) is
  'private.write_snapshot in its own subtransaction: the snapshot row when it succeeded; on error its work is undone, '
  'a private.job_errors row (job p_job) is written and null is returned. Caller holds private.lock_snapshot_parts.';

-- ---------------------------------------------------------------------------
-- The scheduled backup
-- ---------------------------------------------------------------------------

-- No `set search_path` clause: a procedure with one may not COMMIT. Every
-- name in it is schema-qualified instead, and it is not security definer.
create procedure private.run_backups(p_backup_type text, p_batch_size integer default 100)
language plpgsql
as $$
declare
  v_job constant text := case p_backup_type when 'daily' then 'daily-full-backup'
                                            when 'weekly' then 'weekly-backup' end;
  v_log_id uuid;
  v_after uuid := '00000000-0000-0000-0000-000000000000'::uuid;
  v_batch uuid[];
  v_written uuid[];
  v_bytes bigint;
  v_failures jsonb := '[]'::jsonb;
  v_failed integer := 0;
begin
  if v_job is null then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('field', 'p_backup_type', 'allowed', jsonb_build_array('daily', 'weekly')),
      'The scheduled backup is daily or weekly.');
  end if;
  if p_batch_size is null or p_batch_size < 1 then
    perform private.raise_api_error(400, 'invalid_request', '{"field": "p_batch_size"}',
      'p_batch_size must be at least 1.');
  end if;

  -- The run's log row is committed first, so the run is visible (status
  -- running, snapshot_ids growing batch by batch) while it goes on.
  insert into public.backup_logs (operation, backup_type, shop_id, status, started_at)
  values ('backup', p_backup_type, null, 'running', pg_catalog.now())
  returning id into v_log_id;
  commit;

  -- Keyset batches by shop id, one transaction each.
  loop
    select pg_catalog.array_agg(b.id order by b.id) into v_batch
      from (select s.id from public.shops s where s.id > v_after order by s.id limit p_batch_size) b;
    exit when v_batch is null;

    perform private.lock_snapshot_parts(false);
    select pg_catalog.array_agg(w.id order by w.shop_id) filter (where w.id is not null),
           pg_catalog.sum(w.size_bytes),
           pg_catalog.count(*) filter (where w.id is null)
      into v_written, v_bytes, v_failed
      from pg_catalog.unnest(v_batch) as b (shop_id)
      cross join lateral private.write_snapshot_or_log(b.shop_id, p_backup_type, v_log_id, v_job) w;

    if v_failed > 0 then
      -- this batch's failures: the job_errors rows its transaction wrote
      -- (now() is the transaction's start); the log keeps at most 100
      select v_failures || coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'shop_id', e.shop_id, 'sqlstate', e.sqlstate, 'error', e.message) order by e.id), '[]')
        into v_failures
        from private.job_errors e
       where e.job = v_job and e.failed_at = pg_catalog.now() and e.shop_id = any (v_batch);
    end if;

    update public.backup_logs l set
      snapshot_ids = l.snapshot_ids || coalesce(v_written, '{}'),
      size_bytes = coalesce(l.size_bytes, 0) + coalesce(v_bytes, 0)
    where l.id = v_log_id;

    v_after := v_batch[pg_catalog.array_length(v_batch, 1)];
    commit;
  end loop;

  update public.backup_logs l set
    status = case when pg_catalog.jsonb_array_length(v_failures) = 0 then 'completed' else 'failed' end,
    completed_at = pg_catalog.now(),
    row_counts = (select coalesce(pg_catalog.jsonb_object_agg(c.key, c.total), '{}'::jsonb)
                    from (select t.key, pg_catalog.sum(t.value::bigint) as total
                            from public.recovery_snapshots s, pg_catalog.jsonb_each_text(s.row_counts) t
                           where s.backup_log_id = v_log_id
                           group by t.key) c),
    error_message = case when pg_catalog.jsonb_array_length(v_failures) > 0
                         then (select pg_catalog.jsonb_agg(f.value order by f.n)
                                 from pg_catalog.jsonb_array_elements(v_failures) with ordinality f (value, n)
                                where f.n <= 100)::text end
  where l.id = v_log_id;
  commit;
end;
$$;

comment on procedure private.run_backups(text, integer) is
  'The scheduled all-shop backup (pg_cron: call): one snapshot of every shop (private.write_snapshot, parts '
  'deduplicated), p_batch_size shops per transaction, under one backup_logs row (shop_id null) that is committed '
  'first with status running and gains each batch''s snapshot_ids and size_bytes as it commits; at the end status '
  'completed, or failed with the failing shops ({shop_id, sqlstate, error}, at most 100) in error_message, and the '
  'summed row_counts. A failing shop is rolled back alone, logged in private.job_errors (job daily-full-backup or '
  'weekly-backup) and skipped. p_backup_type daily or weekly. Must be called outside an explicit transaction block '
  '(it commits); no API role may call it.';

-- ALL FUNCTIONS leaves procedures out.
revoke execute on procedure private.run_backups(text, integer) from public;
revoke execute on function private.write_snapshot_or_log(uuid, text, uuid, text) from public;

-- The jobs of those names (scheduled_jobs) now call the procedure. Where
-- pg_cron is not installed (a scratch database next to the one pg_cron
-- serves, scripts/lib/db.sh db_create_test_database), there is no job to
-- update.
do $$
begin
  if to_regnamespace('cron') is not null then
    perform cron.schedule('daily-full-backup', '0 3 * * *',
      $job$call private.run_backups(p_backup_type => 'daily', p_batch_size => 100)$job$);
    perform cron.schedule('weekly-backup', '0 4 * * 0',
      $job$call private.run_backups(p_backup_type => 'weekly', p_batch_size => 100)$job$);
  end if;
end;
$$;
