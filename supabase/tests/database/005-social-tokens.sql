-- 005-social-tokens: integration tokens are encrypted at rest, the key and the
-- plaintext never reach a client role, and only service_role (or the owner's
-- own session, e.g. pg_cron) can store or read them.
begin;
select plan(16);

insert into auth.users (id, email) values ('a5000000-0000-4000-8000-000000000001', 'owner@tokens.test');
insert into public.shops (id, owner_id, name, slug)
values ('a5100000-0000-4000-8000-000000000001', 'a5000000-0000-4000-8000-000000000001', 'Token shop', 'token-shop');
insert into public.social_integrations (id, shop_id, platform, account_id)
values ('a5200000-0000-4000-8000-000000000001', 'a5100000-0000-4000-8000-000000000001', 'messenger', 'page-1'),
       ('a5200000-0000-4000-8000-000000000002', 'a5100000-0000-4000-8000-000000000001', 'instagram', 'ig-1');

-- As service_role, through the functions.
select tests.authenticate_as_service_role();
select ok(private.is_trusted_caller(), 'a service_role JWT is a trusted caller');
select lives_ok(
  $$select public.set_social_integration_tokens('a5200000-0000-4000-8000-000000000001', 'EAAB-secret-page-token', 'refresh-me', '2030-01-01')$$,
  'service_role stores tokens');
select lives_ok(
  $$select public.set_social_integration_tokens('a5200000-0000-4000-8000-000000000002', 'EAAB-secret-page-token')$$,
  'the same token for a second integration');
select results_eq(
  $$select t ->> 'access_token', t ->> 'refresh_token', (t ->> 'token_expires_at')::timestamptz
      from public.get_social_integration_tokens('a5200000-0000-4000-8000-000000000001') t$$,
  $$values ('EAAB-secret-page-token', 'refresh-me', '2030-01-01'::timestamptz)$$,
  'service_role reads them back decrypted');
select throws_ok(
  $$select public.get_social_integration_tokens('a5200000-0000-4000-8000-0000000000ff')$$,
  'PT404', 'not_found', 'an unknown integration is not_found');
select tests.clear_authentication();

-- At rest.
select ok(
  (select position(convert_to('EAAB-secret-page-token', 'UTF8') in access_token) = 0
      and position(convert_to('refresh-me', 'UTF8') in refresh_token) = 0
     from public.social_integrations where id = 'a5200000-0000-4000-8000-000000000001'),
  'the stored columns do not contain the plaintext');
select isnt(
  (select access_token from public.social_integrations where id = 'a5200000-0000-4000-8000-000000000001'),
  (select access_token from public.social_integrations where id = 'a5200000-0000-4000-8000-000000000002'),
  'equal tokens encrypt to different ciphertexts (no equality leak)');
select is(
  (select refresh_token from public.social_integrations where id = 'a5200000-0000-4000-8000-000000000002'),
  null, 'a missing refresh token stays null');

-- As the shop's owner (a signed-in user with every shop right).
select tests.authenticate_as('a5000000-0000-4000-8000-000000000001');
select ok(not private.is_trusted_caller(), 'a user JWT is not a trusted caller, even in a postgres session');
select is(
  (select count(*) from public.social_integrations where shop_id = 'a5100000-0000-4000-8000-000000000001' and status = 'active'),
  2::bigint, 'the owner sees the integrations (non-secret columns)');
select throws_ok($$select access_token from public.social_integrations$$, '42501', null,
  'the owner cannot select access_token');
select throws_ok($$select * from public.social_integrations$$, '42501', null,
  'select * is refused too (the token columns are not granted)');
select throws_ok(
  $$select public.get_social_integration_tokens('a5200000-0000-4000-8000-000000000001')$$,
  '42501', null, 'the owner cannot call the decrypting function');
select throws_ok(
  $$select public.set_social_integration_tokens('a5200000-0000-4000-8000-000000000001', 'forged')$$,
  '42501', null, 'the owner cannot call the encrypting function');
select throws_ok($$select private.social_token_key()$$, '42501', null, 'the owner cannot read the key');
select throws_ok($$select secret from private.app_secrets$$, '42501', null, 'the owner cannot read the key store');
select tests.clear_authentication();

select * from finish();
rollback;
