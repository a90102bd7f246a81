-- 008-hosted-privileges: the tests, like the migrations, the seed and the
-- pg_cron jobs, run as hosted Supabase's postgres, which is not a superuser,
-- so a statement that needs more than hosted grants fails here first. The
-- superuser is supabase_admin and owns the extensions. postgres may SET
-- session_replication_role (hosted: supautils' privileged_role_allowed_configs)
-- and nobody else may. Hosted refuses set_config() and function SET clauses
-- on it, which the local grant standing in for supautils cannot (PostgreSQL
-- checks one privilege for every way of setting it), so no function of ours
-- may use them; nor may the database carry an ALTER DATABASE ... SET.
begin;
select plan(18);

select is(current_user::text, 'postgres', 'the tests run as postgres');
select is(session_user::text, 'postgres', 'and log in as postgres, as migrations and pg_cron jobs do');

select is(
  (select row(rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin)::text
     from pg_roles where rolname = 'postgres'),
  '(f,t,t,t,t)',
  'postgres is NOSUPERUSER BYPASSRLS CREATEROLE CREATEDB LOGIN, as on hosted');
select ok((select rolsuper from pg_roles where rolname = 'supabase_admin'), 'supabase_admin is the superuser');
select is((select datdba::regrole::text from pg_database where datname = current_database()), 'postgres',
  'postgres owns the database (and so schema public)');

select is(
  (select array_agg(e.extname::text order by e.extname) from pg_extension e
    where e.extname in ('pg_cron', 'pgcrypto', 'pgtap', 'uuid-ossp')
      and e.extowner = (select r.oid from pg_roles r where r.rolname = 'supabase_admin')),
  array['pg_cron', 'pgcrypto', 'pgtap', 'uuid-ossp'],
  'supabase_admin owns the extensions');
select throws_ok($$create extension plpgsql_check$$, '42501', null,
  'postgres cannot create an untrusted extension itself');

-- What a superuser could do and postgres cannot.
select throws_ok($$create role h8_super superuser$$, '42501', null, 'postgres cannot make a superuser');
select throws_ok($$insert into cron.job (schedule, command) values ('* * * * *', 'select 1')$$, '42501', null,
  'postgres changes jobs only through cron.schedule, never by writing cron.job');
select throws_ok($$select pg_catalog.pg_read_file('postgresql.conf')$$, '42501', null,
  'postgres cannot read server files');

-- session_replication_role: SET as postgres works (restores switch triggers
-- off with it, private.apply_shop_snapshot), for no other role.
select lives_ok($$set local session_replication_role = replica$$,
  'postgres may SET session_replication_role');
select is(current_setting('session_replication_role'), 'replica', 'and the SET took effect');
set local session_replication_role = origin;
select tests.authenticate_as_service_role();
select throws_ok($$set local session_replication_role = replica$$, '42501', null,
  'service_role may not SET session_replication_role');
select tests.authenticate_as('00000000-0000-4000-a000-000000008001');
select throws_ok($$set local session_replication_role = replica$$, '42501', null,
  'a signed-in user may not SET session_replication_role');
select tests.clear_authentication();
select is(current_setting('session_replication_role'), 'origin', 'triggers are on after the refusals');

-- What hosted refuses postgres and a grant cannot refuse here.
select is(
  (select array_agg(format('%s.%s', n.nspname, p.proname) order by n.nspname, p.proname)
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private')
      and p.prosrc ~* 'set_config\s*\(\s*''session_replication_role'''),
  null,
  'no function of ours calls set_config() on session_replication_role (hosted refuses it; SET works)');
select is(
  (select array_agg(format('%s.%s', n.nspname, p.proname) order by n.nspname, p.proname)
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private')
      and exists (select 1 from unnest(p.proconfig) c where c like 'session_replication_role=%')),
  null,
  'no function of ours sets session_replication_role in a SET clause (hosted refuses it; SET inside works)');
select is(
  (select array_agg(s.setconfig) from pg_db_role_setting s
    join pg_database d on d.oid = s.setdatabase
   where d.datname = current_database() and s.setrole = 0),
  null,
  'no ALTER DATABASE ... SET on this database (hosted refuses postgres a custom one)');

select * from finish();
rollback;
