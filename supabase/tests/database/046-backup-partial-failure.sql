-- A backup of all shops where one shop's snapshot fails keeps the other
-- shops' snapshots and logs the run as failed, with the failing shop and the
-- error in error_message. (The failure is injected with a test-only trigger,
-- rolled back with everything else.)
begin;
select plan(5);

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-000000046001', 'h3-partial-owner@test.local');
insert into public.shops (id, owner_id, name, slug) values
  ('00000000-0000-4000-a000-000000046101', '00000000-0000-4000-a000-000000046001', 'Fine shop', 'h3-partial-fine'),
  ('00000000-0000-4000-a000-000000046102', '00000000-0000-4000-a000-000000046001', 'Broken shop', 'h3-partial-broken');

create function pg_temp.refuse_broken_shop() returns trigger language plpgsql as $$
begin
  if new.shop_id = '00000000-0000-4000-a000-000000046102' then
    raise exception 'disk full (simulated)';
  end if;
  return new;
end $$;
create trigger refuse_broken_shop before insert on public.recovery_snapshots
  for each row execute function pg_temp.refuse_broken_shop();

-- as the database owner, like the daily pg_cron job
create temp table run as select public.create_backup_snapshot(null, 'daily') as r;

select is((select r ->> 'status' from run), 'failed', 'the run reports failed');
select is(
  (select jsonb_path_query_array(r -> 'failures', '$[*].shop_id') from run),
  '["00000000-0000-4000-a000-000000046102"]'::jsonb,
  'only the broken shop is listed as failed');
select ok(
  (select r -> 'snapshots' @> '[{"shop_id": "00000000-0000-4000-a000-000000046101"}]'::jsonb from run),
  'the other shops'' snapshots are taken');
select is(
  (select count(*)::integer from public.recovery_snapshots where shop_id = '00000000-0000-4000-a000-000000046101'),
  1, 'and kept');
select ok(
  (select l.status = 'failed' and l.completed_at is not null
          and l.error_message::jsonb @> '[{"shop_id": "00000000-0000-4000-a000-000000046102",
                                           "error": "disk full (simulated)"}]'
     from public.backup_logs l where l.id = (select (r ->> 'backup_log_id')::uuid from run)),
  'the log says failed, with the shop and the error');

select * from finish();
rollback;
