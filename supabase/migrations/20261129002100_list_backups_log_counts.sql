-- list_backups_log_counts: list_backups answers each backup log with the
-- number of its snapshots instead of their ids.
--
-- A scheduled backup's log row lists the id of every shop's snapshot
-- (backup_logs.snapshot_ids): 10,000 ids, about 390 kB of JSON, at 10,000
-- shops. list_backups returned whole log rows, so its default page of 20 logs
-- (a daily and a weekly run per day) grew to megabytes with the platform.
-- The answer now carries snapshot_count; the snapshots of a run are the
-- snapshots answered with its backup_log_id, and a platform admin can still
-- read the ids from backup_logs directly.

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
    -- a log's size stays bounded whatever the platform's: a count, not the ids
    'logs', coalesce(
      (select jsonb_agg(to_jsonb(l) - 'snapshot_ids'
                          || jsonb_build_object('snapshot_count', cardinality(l.snapshot_ids))
                        order by l.started_at desc, l.id desc)
       from (select * from public.backup_logs l
             where p_shop_id is null or l.shop_id = p_shop_id
             order by l.started_at desc, l.id desc
             limit p_limit) l),
      '[]'::jsonb)
  );
end;
$$;

comment on function public.list_backups(uuid, integer) is
  'Newest first, at most p_limit (1..100) of each: {snapshots: [recovery_snapshots rows without their data], logs: '
  '[backup_logs rows with snapshot_count instead of snapshot_ids]}, of one shop or (p_shop_id null) all. The size of '
  'a log in the answer does not grow with the number of shops. Platform admins and trusted callers only (PT403 '
  'forbidden); a limit out of range is PT400 invalid_request {field: limit}.';
