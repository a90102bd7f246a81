-- One round of bench/purge.sql in the database connected to (:owner_url,
-- :admin_url): an expired month of :purge_rows rows of the first 1,000 shops
-- (round r: the r-th month before the cutoff, so no two rounds share a range
-- of the created_at index), a CHECKPOINT, 3 batches under EXPLAIN, then the
-- rest of the month by the job's procedure, timed. Bench only.
\connect :owner_url
set client_min_messages = warning;
select purgebench.add_history(1000, now() - interval '365 days' - make_interval(days => 30 * :round + 1),
                              now() - interval '365 days' - make_interval(days => 30 * (:round - 1) + 1), :purge_rows);
\connect :admin_url
checkpoint;
select array_to_string((string_to_array(pg_read_file('/proc/loadavg'), ' '))[1:3], ' ') as round_loadavg \gset
\connect :owner_url
set client_min_messages = warning;
insert into purgebench.rounds (round, loadavg) values (:round, :'round_loadavg');
select purgebench.explain_batch(:round, :batch_size);
select purgebench.explain_batch(:round, :batch_size);
select purgebench.explain_batch(:round, :batch_size);
update purgebench.rounds
   set procedure_started = clock_timestamp(),
       procedure_rows = (select count(*) from public.stock_history h where h.created_at < now() - interval '365 days')
 where round = :round;
call private.run_stock_history_purge(p_older_than => interval '365 days', p_batch_size => :batch_size);
update purgebench.rounds set procedure_ended = clock_timestamp() where round = :round;
do $$
begin
  if exists (select 1 from public.stock_history h where h.created_at < now() - interval '365 days') then
    raise exception 'the purge left expired rows';
  end if;
end $$;
