-- stock_history_purge_batches: the monthly stock-history purge deletes in
-- bounded batches, one transaction each.
--
-- private.purge_stock_history deleted every expired row in one statement and
-- one transaction: at 10,000 shops a month of history is millions of rows,
-- locked, written to the WAL and left dead together, in a transaction as long
-- as the whole purge. Now the job calls private.run_stock_history_purge,
-- which deletes the expired rows oldest first, p_batch_size per transaction,
-- each batch starting where the previous one ended on
-- stock_history_created_at_idx (keyset): a batch reads the rows it deletes
-- and not the kept history, so its cost does not grow with the history
-- (measured: BENCHMARKS.md, "Stock-history purge"). The rules stay: trusted
-- callers only, never under 30 days, and the append-only guard lets a
-- transaction delete only while it is marked in private.stock_history_purges
-- (each batch marks and unmarks its own).

create function private.purge_stock_history_batch(
  p_older_than interval,
  p_after timestamptz,
  p_batch_size integer
)
returns table (deleted integer, last_created_at timestamptz)
language plpgsql
volatile
-- security definer: the only path allowed to delete history rows; it marks
-- its own transaction in private.stock_history_purges, which the guard
-- trigger reads. The caller is checked first.
security definer
set search_path = ''
as $$
declare
  v_cutoff timestamptz;
begin
  if not (select private.is_trusted_caller()) then
    perform private.raise_api_error(403, 'forbidden',
      '{}',
      'Only trusted callers may purge stock history');
  end if;
  if p_older_than is null or p_older_than < interval '30 days' then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('field', 'p_older_than'),
      'Stock history is kept at least 30 days');
  end if;
  if p_batch_size is null or p_batch_size not between 1 and 100000 then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('field', 'p_batch_size', 'min', 1, 'max', 100000),
      'A purge batch deletes 1 to 100000 rows');
  end if;
  v_cutoff := now() - p_older_than;

  insert into private.stock_history_purges default values on conflict do nothing;
  -- The oldest rows from p_after on, by the created_at index; rows of the
  -- previous batches are behind p_after (those sharing its timestamp are
  -- dead and skipped), so no batch walks over what earlier ones deleted.
  -- Deleted by ctid (a TID scan: the batch's heap pages only): joined by id,
  -- the planner hashes the batch and scans the whole table. A row's ctid
  -- cannot change under the statement: history rows are never updated.
  with gone as (
    delete from public.stock_history h
     where h.ctid = any (array(
       select s.ctid
         from public.stock_history s
        where s.created_at >= coalesce(p_after, '-infinity'::timestamptz)
          and s.created_at < v_cutoff
        order by s.created_at
        limit p_batch_size))
    returning h.created_at
  )
  select count(*)::integer, max(g.created_at) into deleted, last_created_at from gone g;
  delete from private.stock_history_purges p where p.transaction_id = pg_current_xact_id();
  return next;
end;
$$;

comment on function private.purge_stock_history_batch(interval, timestamptz, integer) is
  'One batch of the stock-history retention purge: deletes the oldest p_batch_size (1 to 100000) stock_history rows '
  'created at or after p_after (null: from the first) and more than p_older_than (at least 30 days) ago; returns '
  '{deleted, last_created_at} (the cursor of the next batch; null when nothing was left). Marks its transaction in '
  'private.stock_history_purges for the append-only guard and unmarks it before returning. Trusted callers only '
  '(PT403 forbidden); PT400 invalid_request for a shorter retention or a batch size out of range.';

-- No `set search_path` clause and not security definer: a procedure with
-- either may not COMMIT. Every name in it is schema-qualified instead; the
-- batch function checks the caller.
create procedure private.run_stock_history_purge(
  p_older_than interval default interval '365 days',
  p_batch_size integer default 10000
)
language plpgsql
as $$
declare
  v_after timestamptz := '-infinity'::timestamptz;
  v_deleted integer;
begin
  loop
    select b.deleted, b.last_created_at into v_deleted, v_after
      from private.purge_stock_history_batch(p_older_than, v_after, p_batch_size) b;
    commit;
    exit when v_deleted < p_batch_size;
  end loop;
end;
$$;

comment on procedure private.run_stock_history_purge(interval, integer) is
  'The monthly stock-history retention purge (pg_cron: call): deletes every stock_history row older than '
  'p_older_than (at least 30 days), oldest first, p_batch_size rows per transaction (private.purge_stock_history_batch, '
  'each batch continuing where the previous ended). Trusted callers only. Must be called outside an explicit '
  'transaction block (it commits).';

revoke execute on function private.purge_stock_history_batch(interval, timestamptz, integer) from public;
-- ALL FUNCTIONS leaves procedures out.
revoke execute on procedure private.run_stock_history_purge(interval, integer) from public;

-- The job of that name (scheduled_jobs) now calls the procedure; where
-- pg_cron is not installed (a scratch database next to the one pg_cron
-- serves, scripts/lib/db.sh db_create_test_database), there is no job.
do $$
begin
  if to_regnamespace('cron') is not null then
    perform cron.schedule(
      'cleanup-old-stock-history', '0 6 1 * *',
      $job$call private.run_stock_history_purge(p_older_than => interval '365 days', p_batch_size => 10000)$job$
    );
  end if;
end;
$$;

-- Nothing calls the one-statement purge any more.
drop function private.purge_stock_history(interval);

comment on table public.stock_history is
  'Append-only audit of every stock change. Rows are never updated; they are deleted only with their shop or by the '
  'retention purge (private.run_stock_history_purge).';
comment on table private.stock_history_purges is
  'The transactions allowed to delete stock_history rows: a row exists only inside one batch of the retention purge '
  '(private.purge_stock_history_batch), in that batch''s transaction; the append-only guard reads it.';
