-- 017-invitations: membership by invitation the invitee accepts as themselves.
-- Nobody can add another user to a shop (no oracle for "is this a user", no
-- profile exposed before the invitee agrees); profiles show teammates only
-- their name and avatar; tokens are single-use and expire.
begin;
select plan(27);

select tests.create_two_shops();
-- a fifth user, admin of shop A
insert into auth.users (id, email) values ('00000000-0000-4000-a000-000000001005', 'h2-admin@test.local');
insert into public.team_members (shop_id, user_id, role) values
  ('00000000-0000-4000-a000-000000002001', '00000000-0000-4000-a000-000000001005', 'admin');
update public.profiles set full_name = 'Outsider Olga' where id = '00000000-0000-4000-a000-000000001004';

-- ---- no direct membership writes -------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001001');
select throws_ok(
  $$insert into public.team_members (shop_id, user_id, role, invited_by) values
    ('00000000-0000-4000-a000-000000002001', '00000000-0000-4000-a000-000000001004', 'staff',
     '00000000-0000-4000-a000-000000001001')$$,
  '42501', null, 'an owner cannot add an existing user to the shop');
select throws_ok(
  $$insert into public.team_members (shop_id, user_id, role, invited_by) values
    ('00000000-0000-4000-a000-000000002001', gen_random_uuid(), 'staff', '00000000-0000-4000-a000-000000001001')$$,
  '42501', null, '... and gets the same answer for an id that is no user (no oracle)');
select is((select count(*) from public.profiles where id = '00000000-0000-4000-a000-000000001004'), 0::bigint,
  'the owner cannot see the outsider''s profile');
select throws_ok($$select email from public.profiles where id = '00000000-0000-4000-a000-000000001001'$$,
  '42501', null, 'profiles.email is not readable by users, not even their own row');

-- ---- create_invitation -------------------------------------------------------
create temp table invite as
  select public.create_invitation('00000000-0000-4000-a000-000000002001', 'staff') as r;
select ok((select length(r ->> 'token') = 64 and r ->> 'role' = 'staff'
                  and (r ->> 'expires_at')::timestamptz > now() + interval '6 days' from invite),
  'owner: an invitation has a 64-character token, the role and a 7-day expiry');
select is((select count(*) from public.shop_invitations), 1::bigint, 'the owner sees the shop''s pending invitation');
select lives_ok($$select public.create_invitation('00000000-0000-4000-a000-000000002001', 'admin')$$,
  'the owner may invite an admin');
select throws_ok($$select public.create_invitation('00000000-0000-4000-a000-000000002001', 'owner')$$,
  'PT400', 'invalid_request', 'nobody is invited as owner');
select throws_ok($$select public.create_invitation('00000000-0000-4000-a000-000000002001', 'staff', interval '1 year')$$,
  'PT400', 'invalid_request', 'an invitation is valid 30 days at most');

select tests.authenticate_as('00000000-0000-4000-a000-000000001005');
select lives_ok($$select public.create_invitation('00000000-0000-4000-a000-000000002001', 'viewer')$$,
  'an admin may invite a viewer');
select throws_ok($$select public.create_invitation('00000000-0000-4000-a000-000000002001', 'admin')$$,
  'PT400', 'invalid_request', '... but not another admin');
select tests.authenticate_as('00000000-0000-4000-a000-000000001002');
select throws_ok($$select public.create_invitation('00000000-0000-4000-a000-000000002001', 'viewer')$$,
  'PT403', 'forbidden', 'staff cannot invite');
select is((select count(*) from public.shop_invitations), 0::bigint, 'staff do not see invitations (tokens)');
select tests.authenticate_as('00000000-0000-4000-a000-000000001004');
select throws_ok($$select public.create_invitation('00000000-0000-4000-a000-000000002001', 'viewer')$$,
  'PT404', 'not_found', 'the owner of another shop gets not_found');

-- ---- the invitee: lookup, accept ----------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-000000001004');
select is(public.lookup_invitation((select r ->> 'token' from invite)) - 'expires_at',
  '{"shop_id": "00000000-0000-4000-a000-000000002001", "shop_name": "Shop A", "role": "staff", "already_member": false}'::jsonb,
  'the invitee sees the shop''s name and the role before accepting');
select throws_ok($$select public.lookup_invitation('no-such-token')$$,
  'PT404', 'not_found', 'an unknown token is not_found');
select is(public.accept_invitation((select r ->> 'token' from invite)),
  '{"shop_id": "00000000-0000-4000-a000-000000002001", "role": "staff"}'::jsonb,
  'accepting makes the caller a staff member');
select ok(private.has_shop_role('00000000-0000-4000-a000-000000002001', 'staff'), '... and it is the caller who joined');
select throws_ok(format($$select public.accept_invitation(%L)$$, (select r ->> 'token' from invite)),
  'PT404', 'not_found', 'a token is used once');

-- Now they share a shop: the owner sees the new member's name, nothing more.
select tests.authenticate_as('00000000-0000-4000-a000-000000001001');
select is((select full_name from public.profiles where id = '00000000-0000-4000-a000-000000001004'), 'Outsider Olga',
  'after accepting, teammates see the member''s name');
select throws_ok($$select email from public.profiles where id = '00000000-0000-4000-a000-000000001004'$$,
  '42501', null, '... but not their email');

-- ---- expiry, withdrawal, anon ------------------------------------------------------
select tests.clear_authentication();
insert into public.shop_invitations (id, shop_id, role, token, expires_at) values
  ('00000000-0000-4000-a000-000000005001', '00000000-0000-4000-a000-000000002001', 'viewer', 'expired-token', now() - interval '1 minute'),
  ('00000000-0000-4000-a000-000000005002', '00000000-0000-4000-a000-000000002001', 'viewer', 'pending-token', now() + interval '1 day');
select tests.authenticate_as('00000000-0000-4000-a000-000000001003');
select throws_ok($$select public.accept_invitation('expired-token')$$,
  'PT404', 'not_found', 'an expired token is not_found');
select tests.authenticate_as('00000000-0000-4000-a000-000000001004');
select throws_ok($$select public.delete_invitation('00000000-0000-4000-a000-000000005002')$$,
  'PT403', 'forbidden', 'a staff member cannot withdraw an invitation');
select tests.authenticate_as('00000000-0000-4000-a000-000000001005');
select lives_ok($$select public.delete_invitation('00000000-0000-4000-a000-000000005002')$$,
  'an admin withdraws an invitation');
select tests.authenticate_as('00000000-0000-4000-a000-000000001003');
select throws_ok($$select public.accept_invitation('pending-token')$$,
  'PT404', 'not_found', 'a withdrawn token is not_found');
select tests.authenticate_as_anon();
select throws_ok($$select public.accept_invitation('pending-token')$$,
  '42501', null, 'anon cannot call accept_invitation');

select tests.clear_authentication();
select is(
  (select array_agg(user_id::text || ':' || role order by user_id) from public.team_members
    where shop_id = '00000000-0000-4000-a000-000000002001'),
  array['00000000-0000-4000-a000-000000001001:owner', '00000000-0000-4000-a000-000000001002:staff',
        '00000000-0000-4000-a000-000000001003:viewer', '00000000-0000-4000-a000-000000001004:staff',
        '00000000-0000-4000-a000-000000001005:admin'],
  'shop A''s members: only the invitee who accepted joined');

select * from finish();
rollback;
