-- Supabase baseline for the local stack (NOT a migration).
--
-- A hosted Supabase project already has everything below; plain PostgreSQL 15
-- does not. It recreates the parts our migrations and tests rely on, with
-- hosted's privileges (supabase/postgres: migrations/db/init-scripts and
-- migrations/db/migrations/10000000000000_demote-postgres.sql, the extension
-- scripts of ansible/files/postgresql_extension_custom_scripts):
--   * supabase_admin is the superuser (the cluster is initialised with it,
--     scripts/lib/common.sh pg_init) and owns the extensions;
--   * postgres, which applies migrations, loads the seed, owns our functions
--     and runs the pg_cron jobs, is NOT a superuser: NOSUPERUSER CREATEROLE
--     CREATEDB REPLICATION BYPASSRLS, owner of the database, with hosted's
--     grants on schemas auth, extensions and cron. Hosted lets it `SET
--     session_replication_role` through supautils'
--     privileged_role_allowed_configs; `grant set on parameter` stands in
--     for that here (hosted also refuses set_config() on it, which a grant
--     cannot copy: supabase/tests/database/008-hosted-privileges.sql checks
--     that no function of ours calls it);
--   * roles anon, authenticated, service_role (bypassrls) and authenticator
--     (the login role the gateway uses, like PostgREST's);
--   * schemas auth and extensions, pgcrypto / uuid-ossp in extensions, and
--     pg_cron in the database pg_cron serves (cron.database_name);
--   * auth.users with the columns Supabase has that matter to us, owned by
--     supabase_auth_admin as on hosted;
--   * auth.uid(), auth.role(), auth.jwt(), auth.email() defined the way
--     supabase/auth defines them (reading request.jwt.claims);
--   * Supabase's generous default grants on schema public, so that our
--     migrations are tested against the same defaults they must revoke;
--   * the publication `supabase_realtime` (empty), which Realtime reads.
--
-- Idempotent: safe to run twice, and in several databases of one cluster
-- (roles are cluster-wide, so they are only created when missing).
-- Run as supabase_admin: psql "$SUPABASE_ADMIN_URL" -f supabase/baseline/supabase_baseline.sql

set client_min_messages = warning;

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'postgres') then
    create role postgres login password 'postgres';
  end if;
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
  -- Supabase Auth's login (the local auth stand-in, crates/local-auth, logs
  -- in as it); owns the auth tables, as on hosted.
  if not exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin login noinherit password 'postgres';
  end if;
end
$$;

-- postgres as hosted demotes it. Also run on a cluster where it already
-- exists, so its attributes are hosted's whatever made it.
alter role postgres nosuperuser createdb createrole login replication bypassrls;
-- The database belongs to postgres (so does schema public, owned by
-- pg_database_owner), as on hosted.
do $$
begin
  execute format('alter database %I owner to postgres', current_database());
end
$$;
-- supautils' privileged_role_allowed_configs lets postgres SET this one
-- (private.apply_shop_snapshot switches triggers off with it).
grant set on parameter session_replication_role to postgres;
-- Predefined roles hosted grants postgres: see every session, cancel or end
-- one that is not a superuser's, read every table.
grant pg_read_all_data, pg_signal_backend, pg_monitor to postgres;
alter role postgres set search_path to "$user", public, extensions;

grant anon, authenticated, service_role to authenticator;
-- Supabase lets the owner of migrations switch into the API roles (tests
-- do), and into supabase_auth_admin so it may put triggers on auth tables.
grant anon, authenticated, service_role, supabase_auth_admin to postgres;

-- Same statement timeouts shape as Supabase; keeps a runaway query from a
-- client from holding locks forever on the local stack too.
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

create schema if not exists extensions;
create schema if not exists auth authorization supabase_admin;

-- Owned by supabase_admin (this script's role); postgres may use every object
-- of them, as hosted grants it.
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;

grant all on schema extensions to postgres;
grant all on all tables in schema extensions to postgres with grant option;
grant all on all routines in schema extensions to postgres with grant option;
grant all on all sequences in schema extensions to postgres with grant option;
grant usage on schema extensions to anon, authenticated, service_role;
grant usage on schema auth to anon, authenticated, service_role;

-- The columns of Supabase's auth.users that matter to the product.
create table if not exists auth.users (
  instance_id uuid,
  id uuid primary key default gen_random_uuid(),
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb default '{}'::jsonb,
  raw_user_meta_data jsonb default '{}'::jsonb,
  is_super_admin boolean,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  phone text unique default null,
  phone_confirmed_at timestamptz,
  banned_until timestamptz,
  deleted_at timestamptz,
  is_sso_user boolean not null default false,
  is_anonymous boolean not null default false
);
create unique index if not exists users_email_partial_key
  on auth.users (email) where is_sso_user = false;
grant all on auth.users to service_role;

create or replace function auth.uid()
returns uuid
language sql stable
as $$
  select nullif(
    coalesce(
      current_setting('request.jwt.claim.sub', true),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    ),
    ''
  )::uuid
$$;

create or replace function auth.role()
returns text
language sql stable
as $$
  select nullif(
    coalesce(
      current_setting('request.jwt.claim.role', true),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    ),
    ''
  )::text
$$;

create or replace function auth.email()
returns text
language sql stable
as $$
  select nullif(
    coalesce(
      current_setting('request.jwt.claim.email', true),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    ),
    ''
  )::text
$$;

create or replace function auth.jwt()
returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role;

-- Supabase's defaults on the exposed schema: every API role may use it, and
-- every table, function and sequence created there by postgres is fully
-- granted to anon, authenticated and service_role. Migrations must revoke.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to anon, authenticated, service_role;

-- Supabase Auth's own tables, for the local auth stand-in (crates/local-auth,
-- served under /auth/v1 by the gateway). On hosted, GoTrue logs in as
-- supabase_auth_admin and keeps sessions and refresh tokens beside
-- auth.users; these are the columns it uses for passwords.
do $$
begin
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'auth' and t.typname = 'aal_level') then
    create type auth.aal_level as enum ('aal1', 'aal2', 'aal3');
  end if;
end
$$;
alter role supabase_auth_admin set search_path = auth;
alter role supabase_auth_admin set statement_timeout = '5s';

create table if not exists auth.sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz,
  updated_at timestamptz,
  factor_id uuid,
  aal auth.aal_level,
  not_after timestamptz,
  refreshed_at timestamp,
  user_agent text,
  ip inet,
  tag text
);
create index if not exists sessions_user_id_idx on auth.sessions (user_id);

create table if not exists auth.refresh_tokens (
  instance_id uuid,
  id bigserial primary key,
  token varchar(255) unique,
  user_id varchar(255),
  revoked boolean,
  created_at timestamptz,
  updated_at timestamptz,
  parent varchar(255),
  session_id uuid references auth.sessions (id) on delete cascade
);
create index if not exists refresh_tokens_session_id_revoked_idx
  on auth.refresh_tokens (session_id, revoked);

-- Hosted's ownership of schema auth: supabase_auth_admin owns its tables and
-- functions; postgres has every right on them (the tenancy migration puts
-- triggers and a foreign key on auth.users; tests and the seed write users).
grant all on schema auth to supabase_auth_admin, postgres;
alter table auth.users owner to supabase_auth_admin;
alter table auth.sessions owner to supabase_auth_admin;
alter table auth.refresh_tokens owner to supabase_auth_admin;
alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;
grant all on all tables in schema auth to postgres;
grant all on all sequences in schema auth to postgres;
grant all on all routines in schema auth to postgres;

-- pg_cron, in the one database it serves (cron.database_name): created by
-- supabase_admin as hosted does when a project enables it, with hosted's
-- grants to postgres (ansible/files/postgresql_extension_custom_scripts/
-- pg_cron/after-create.sql): everything in schema cron but writing cron.job
-- directly, so jobs change only through cron.schedule and cron.unschedule.
-- The scheduled_jobs migration's `create extension if not exists pg_cron`
-- finds it.
do $$
begin
  if current_database() = current_setting('cron.database_name', true) then
    create extension if not exists pg_cron;
    grant usage on schema cron to postgres with grant option;
    grant all on all functions in schema cron to postgres with grant option;
    grant all privileges on all tables in schema cron to postgres with grant option;
    revoke all on table cron.job from postgres;
    grant select on table cron.job to postgres with grant option;
  end if;
end
$$;

-- Realtime's publication: a hosted project has `supabase_realtime` from the
-- start, empty, owned by postgres (so migrations may add their tables);
-- the local Realtime delivers changes of the tables in it.
do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;
alter publication supabase_realtime owner to postgres;
