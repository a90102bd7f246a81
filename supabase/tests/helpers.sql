-- Helpers shared by the pgTAP files of supabase/tests/database. db_prove
-- (scripts/lib/db.sh) runs this file before the tests, in every database it
-- tests; it is idempotent. Schema `tests` is not a migration: the API does not
-- expose it (the gateway and PostgREST serve `public`), nothing here is
-- security definer, and the fixture writer is callable by postgres (the
-- tests' login, not a superuser) only.

create schema if not exists tests;
comment on schema tests is 'pgTAP helpers (supabase/tests/helpers.sql); not part of the product schema.';

-- error_of and the authentication switches run as the role a test switched to.
grant usage on schema tests to anon, authenticated, service_role;

-- Who the rest of the test's transaction runs as, the way a request through
-- the API does (as basejump's tests.authenticate_as): the database role of
-- the JWT plus its claims in request.jwt.claims, which auth.uid() and
-- auth.jwt() read. Transaction-local (set_config(..., true)), so the test's
-- rollback ends it. Every test file switches identity only through these.
create or replace function tests.authenticate_as(p_user_id uuid)
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims',
    jsonb_build_object('sub', p_user_id, 'role', 'authenticated')::text, true);
end;
$$;

comment on function tests.authenticate_as(uuid) is
  'The rest of the transaction runs as the signed-in user p_user_id: role authenticated, claims {sub, role}.';

create or replace function tests.authenticate_as_service_role()
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform set_config('role', 'service_role', true);
  perform set_config('request.jwt.claims', '{"role": "service_role"}', true);
end;
$$;

comment on function tests.authenticate_as_service_role() is
  'The rest of the transaction runs as a service_role key: role service_role, claims {role}.';

create or replace function tests.authenticate_as_anon()
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform set_config('role', 'anon', true);
  perform set_config('request.jwt.claims', '{"role": "anon"}', true);
end;
$$;

comment on function tests.authenticate_as_anon() is
  'The rest of the transaction runs as the anon key: role anon, claims {role}.';

create or replace function tests.clear_authentication()
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '', true);
end;
$$;

comment on function tests.clear_authentication() is
  'Back to the test''s own session (the database owner, no JWT claims), as pg_cron and psql run.';

grant execute on function
  tests.authenticate_as(uuid),
  tests.authenticate_as_service_role(),
  tests.authenticate_as_anon(),
  tests.clear_authentication()
  to anon, authenticated, service_role;

-- The two-shop fixture most files start from, with fixed ids the tests name:
--   users  ...1001 owner of shop A, ...1002 staff of A, ...1003 viewer of A,
--          ...1004 outsider (owner of shop B)
--   shops  ...2001 'Shop A' (h2-shop-a), ...2002 'Shop B' (h2-shop-b), both
--          with the column defaults (UTC, low-stock threshold 5)
-- (ids are 00000000-0000-4000-a000-00000000NNNN). Inserted in the caller's
-- transaction, so the test's rollback removes them.
create or replace function tests.create_two_shops()
returns void
language sql
volatile
set search_path = ''
as $$
  insert into auth.users (id, email) values
    ('00000000-0000-4000-a000-000000001001', 'h2-owner@test.local'),
    ('00000000-0000-4000-a000-000000001002', 'h2-staff@test.local'),
    ('00000000-0000-4000-a000-000000001003', 'h2-viewer@test.local'),
    ('00000000-0000-4000-a000-000000001004', 'h2-outsider@test.local');
  insert into public.shops (id, owner_id, name, slug) values
    ('00000000-0000-4000-a000-000000002001', '00000000-0000-4000-a000-000000001001', 'Shop A', 'h2-shop-a'),
    ('00000000-0000-4000-a000-000000002002', '00000000-0000-4000-a000-000000001004', 'Shop B', 'h2-shop-b');
  insert into public.team_members (shop_id, user_id, role) values
    ('00000000-0000-4000-a000-000000002001', '00000000-0000-4000-a000-000000001002', 'staff'),
    ('00000000-0000-4000-a000-000000002001', '00000000-0000-4000-a000-000000001003', 'viewer');
$$;

comment on function tests.create_two_shops() is
  'Inserts the standard fixture: shop A (owner ...1001, staff ...1002, viewer ...1003) and shop B (owner ...1004, an outsider to A).';

revoke execute on function tests.create_two_shops() from public;

-- The PT error a statement raises, as {code, message, detail, hint}: detail
-- parsed when it is JSON; null when the statement succeeds. Runs the statement
-- with the caller's rights (tests.authenticate_as before calling it) and the
-- session's search_path, as if the test had run it directly.
create or replace function tests.error_of(p_sql text)
returns jsonb
language plpgsql
volatile
as $$
declare
  v_code text;
  v_message text;
  v_detail text;
  v_hint text;
begin
  execute p_sql;
  return null;
exception when others then
  get stacked diagnostics v_code = returned_sqlstate, v_message = message_text,
                          v_detail = pg_exception_detail, v_hint = pg_exception_hint;
  return pg_catalog.jsonb_build_object('code', v_code, 'message', v_message,
                                       'detail', case when v_detail like '{%' then v_detail::jsonb end,
                                       'hint', v_hint);
end;
$$;

comment on function tests.error_of(text) is
  'Runs p_sql; null when it succeeds, else {code, message, detail (jsonb when JSON), hint} of the error it raised.';

grant execute on function tests.error_of(text) to authenticated, service_role;
