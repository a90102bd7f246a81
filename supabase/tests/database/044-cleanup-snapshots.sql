-- cleanup_expired_snapshots deletes exactly the snapshots past expires_at and
-- says how many; the rest stay.
begin;
select plan(5);

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-0000000440ad', 'h3-cleanup-admin@test.local'),
  ('00000000-0000-4000-a000-000000044001', 'h3-cleanup-owner@test.local');
update public.profiles set is_platform_admin = true where id = '00000000-0000-4000-a000-0000000440ad';
insert into public.shops (id, owner_id, name, slug) values
  ('00000000-0000-4000-a000-000000044101', '00000000-0000-4000-a000-000000044001', 'Old shop', 'h3-cleanup');

-- Four snapshots: two past their expiry, one expiring later today, one fresh.
select public.create_backup_snapshot('00000000-0000-4000-a000-000000044101', 'daily') is not null as b1 \gset
select public.create_backup_snapshot('00000000-0000-4000-a000-000000044101', 'daily') is not null as b2 \gset
select public.create_backup_snapshot('00000000-0000-4000-a000-000000044101', 'weekly') is not null as b3 \gset
select public.create_backup_snapshot('00000000-0000-4000-a000-000000044101', 'manual') is not null as b4 \gset
with ranked as (
  select id, row_number() over (order by case snapshot_type when 'daily' then 1 when 'weekly' then 2 else 3 end, id) as n
  from public.recovery_snapshots where shop_id = '00000000-0000-4000-a000-000000044101'
)
update public.recovery_snapshots s
   set expires_at = case r.n when 1 then now() - interval '1 day'
                             when 2 then now() - interval '1 second'
                             when 3 then now() + interval '1 hour'
                             else s.expires_at end
  from ranked r
 where r.id = s.id;
create temp table kept as
  select id from public.recovery_snapshots where expires_at > now();
select count(*)::integer as expired_anywhere from public.recovery_snapshots where expires_at <= now() \gset

select is(
  (select expires_at - created_at from public.recovery_snapshots
    where shop_id = '00000000-0000-4000-a000-000000044101' and snapshot_type = 'manual'),
  interval '90 days', 'a new snapshot expires after 90 days');

select tests.authenticate_as('00000000-0000-4000-a000-0000000440ad');
select is(public.cleanup_expired_snapshots(), jsonb_build_object('deleted', :expired_anywhere),
  'cleanup reports how many expired snapshots it deleted');
select is(public.cleanup_expired_snapshots(), '{"deleted": 0}'::jsonb, 'a second run finds nothing left to delete');

select tests.clear_authentication();
select is(
  (select count(*)::integer from public.recovery_snapshots where shop_id = '00000000-0000-4000-a000-000000044101'),
  2, 'of the shop''s four snapshots, the two expired ones are gone');
select set_eq($$select id from public.recovery_snapshots$$, $$select id from kept$$,
  'every snapshot not yet expired is kept');

select * from finish();
rollback;
