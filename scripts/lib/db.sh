# shellcheck shell=bash
# Database helpers for the local stack. Source after scripts/lib/common.sh.
#
# Every function takes an optional database name (default: postgres, the
# database pg_cron runs in and the gateway serves). Other names get their own
# database in the same cluster, so parallel test runs do not clobber each other:
#
#   db_reset mydb && db_apply_baseline mydb && db_push mydb && db_prove mydb
#
# The Supabase CLI is used exactly as against a hosted project; `--remote=<url>`
# is the v3 spelling of the deprecated `--db-url`.
#
# Two logins, as on hosted: what a project does (migrations, seed, pgTAP,
# lint, types) runs as postgres, which is not a superuser; what the platform
# does (the baseline, resets, creating the extensions pgTAP and the linter
# need) runs as the superuser supabase_admin.

# Connection URL of database $1 (default postgres) as postgres.
db_url() {
  local name="${1:-postgres}"
  printf 'postgresql://postgres:postgres@127.0.0.1:%s/%s?sslmode=disable' "$PG_PORT" "$name"
}

# Connection URL of database $1 (default postgres) as the superuser supabase_admin.
db_admin_url() {
  local name="${1:-postgres}"
  printf 'postgresql://supabase_admin:postgres@127.0.0.1:%s/%s?sslmode=disable' "$PG_PORT" "$name"
}

# psql as postgres on database $1; NOTICEs ("already exists, skipping") are hidden.
db_psql() {
  local name="${1:-postgres}"; shift || true
  PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
    psql "$(db_url "$name")" -v ON_ERROR_STOP=1 -X -q "$@"
}

# psql as supabase_admin on database $1, for the platform's side only.
db_psql_admin() {
  local name="${1:-postgres}"; shift || true
  PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
    psql "$(db_admin_url "$name")" -v ON_ERROR_STOP=1 -X -q "$@"
}

# A fresh, empty database. The postgres database itself is never dropped
# (pg_cron's launcher lives in it): its schemas are dropped and public is
# recreated as initdb makes it. Other databases are dropped and recreated.
# Cluster-wide roles stay; db_apply_baseline leaves them as they are.
db_reset() {
  local name="${1:-postgres}"
  step "resetting database $name"
  if [ "$name" = postgres ]; then
    db_psql_admin postgres <<'SQL'
set client_min_messages = warning;
drop extension if exists pg_cron cascade;
drop extension if exists pgtap cascade;
drop extension if exists plpgsql_check cascade;
drop schema if exists public, private, auth, extensions, supabase_migrations, tests cascade;
create schema public authorization pg_database_owner;
grant usage on schema public to public;
SQL
  else
    db_psql_admin template1 -c "drop database if exists \"$name\" with (force)" -c "create database \"$name\""
  fi
}

# The roles, privileges, auth schema and default grants a hosted Supabase
# project has, applied as the platform does: by supabase_admin.
db_apply_baseline() {
  local name="${1:-postgres}"
  step "applying the Supabase baseline to $name"
  db_psql_admin "$name" -f "$ROOT/supabase/baseline/supabase_baseline.sql"
}

# Applies supabase/migrations with the real Supabase CLI.
db_push() {
  local name="${1:-postgres}"
  step "supabase db push ($name)"
  # The CLI's status, not grep's (which fails when it filtered every line).
  local rc=0
  (cd "$ROOT" && supabase db push --remote="$(db_url "$name")" --include-all --yes) 2>&1 \
    | { grep -v -e '^Warning: --db-url' -e 'without TLS' >&2 || true; } || rc=$?
  return $rc
}

db_seed() {
  local name="${1:-postgres}"
  step "loading supabase/seed.sql into $name"
  db_psql "$name" -f "$ROOT/supabase/seed.sql" >/dev/null
}

# pgTAP over supabase/tests/database/*.sql, as postgres; non-zero when any
# test fails. pgTAP lives in schema extensions (as on Supabase), put on the
# search path; supabase_admin creates it, as hosted does when postgres enables it.
db_prove() {
  local name="${1:-postgres}"; shift || true
  step "pg_prove on $name"
  db_psql_admin "$name" -c 'create extension if not exists pgtap with schema extensions'
  # Shared fixtures and helpers (schema tests) the test files call.
  db_psql "$name" -f "$ROOT/supabase/tests/helpers.sql"
  local files=("$@")
  [ ${#files[@]} -eq 0 ] && files=("$ROOT"/supabase/tests/database/*.sql)
  # pg_prove does not take a URL; libpq reads the rest from the environment.
  PGHOST=127.0.0.1 PGPORT="$PG_PORT" PGUSER=postgres PGPASSWORD=postgres PGDATABASE="$name" \
    PGOPTIONS='-c search_path=public,extensions' \
    pg_prove --ext .sql "${files[@]}"
}

# The batched nightly procedure commits per batch, which pgTAP (one
# transaction) cannot run: call it as pg_cron does, 2 shops per batch, and
# check every shop got yesterday's metrics, the dirty-day queue was drained
# and no shop failed. Then the platform job, as pg_cron runs it at 02:30: it
# must wait while a sales run still holds its lock (shown with a session
# holding that lock), then drain the platform-day queue.
db_check_nightly_jobs() {
  local name="${1:-postgres}" out
  step "nightly jobs on $name (call private.run_daily_sales_metrics, then private.run_platform_metrics)"
  db_psql "$name" -c 'call private.run_daily_sales_metrics(p_batch_size => 2)'
  out="$(db_psql "$name" -At <<'SQL'
select format('shops_without_yesterday=%s dirty_days=%s job_errors=%s',
  (select count(*) from public.shops s
    where not exists (select 1 from public.daily_sales_metrics m
                       where m.shop_id = s.id and m.date = (now() at time zone s.timezone)::date - 1)),
  (select count(*) from private.dirty_sales_days),
  (select count(*) from private.job_errors));
SQL
)"
  printf '%s\n' "$out"
  [ "$out" = 'shops_without_yesterday=0 dirty_days=0 job_errors=0' ] || return 1
  db_check_platform_job_waits "$name" || return 1
  db_check_backup_job "$name"
}

# The scheduled backup (private.run_backups), 2 shops per transaction, as
# pg_cron calls it: every shop gets one snapshot under one completed log
# row. Then again with one shop's snapshot failing (a session-local trigger,
# dropped afterwards): the others are kept, the log says failed and names
# that shop, private.job_errors has its row.
db_check_backup_job() {
  local name="$1" out
  step "scheduled backup on $name (call private.run_backups, 2 shops per batch)"
  db_psql "$name" -c "call private.run_backups(p_backup_type => 'daily', p_batch_size => 2)"
  out="$(db_psql "$name" -At <<'SQL'
with run as (select * from public.backup_logs where shop_id is null order by started_at desc limit 1)
select format('status=%s logged=%s shops=%s snapshots=%s job_errors=%s',
  run.status, cardinality(run.snapshot_ids), (select count(*) from public.shops),
  (select count(distinct s.shop_id) from public.recovery_snapshots s where s.backup_log_id = run.id),
  (select count(*) from private.job_errors))
from run;
SQL
)"
  printf '%s\n' "$out"
  [[ "$out" =~ ^status=completed\ logged=([0-9]+)\ shops=([0-9]+)\ snapshots=([0-9]+)\ job_errors=0$ ]] &&
    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && [ "${BASH_REMATCH[3]}" = "${BASH_REMATCH[2]}" ] || return 1

  out="$(db_psql "$name" -At <<'SQL'
\set ON_ERROR_STOP 1
\set QUIET 1
create function pg_temp.refuse_first_shop() returns trigger language plpgsql as $$
begin
  if new.shop_id = (select id from public.shops order by id limit 1) then
    raise exception 'disk full (simulated)';
  end if;
  return new;
end $$;
create trigger backup_check_refuse_first_shop before insert on public.recovery_snapshots
  for each row execute function pg_temp.refuse_first_shop();
call private.run_backups(p_backup_type => 'weekly', p_batch_size => 2);
drop trigger backup_check_refuse_first_shop on public.recovery_snapshots;
with run as (select * from public.backup_logs where shop_id is null order by started_at desc limit 1)
select format('status=%s failed_shop_named=%s others_kept=%s job_error=%s',
  run.status,
  run.error_message::jsonb @> jsonb_build_array(jsonb_build_object(
    'shop_id', (select id from public.shops order by id limit 1), 'error', 'disk full (simulated)')),
  cardinality(run.snapshot_ids) = (select count(*) - 1 from public.shops),
  (select count(*) from private.job_errors e
    where e.job = 'weekly-backup' and e.shop_id = (select id from public.shops order by id limit 1)))
from run;
delete from private.job_errors where job = 'weekly-backup';
SQL
)"
  printf '%s\n' "$out"
  [ "$out" = 'status=failed failed_shop_named=t others_kept=t job_error=1' ]
}

# A session holds the sales run's lock (as private.run_daily_sales_metrics
# does for its whole run); the platform job, started meanwhile, is seen
# waiting for it in pg_locks, and finishes once the holder is gone.
db_check_platform_job_waits() {
  local name="$1" holder platform waited=0 out rc=0
  PGAPPNAME=nightly-check-holder db_psql "$name" \
    -c "select pg_advisory_lock('private.dirty_sales_days'::regclass::oid::bigint)" -c 'select pg_sleep(120)' \
    >/dev/null 2>&1 &
  holder=$!
  db_wait_for "$name" "the holder's lock" "select exists (select 1 from pg_locks l join pg_stat_activity a using (pid)
    where a.application_name = 'nightly-check-holder' and l.locktype = 'advisory' and l.granted)" || { kill "$holder"; return 1; }
  PGAPPNAME=nightly-check-platform db_psql "$name" -At -c 'select private.run_platform_metrics()' >/dev/null &
  platform=$!
  db_wait_for "$name" "the platform job waiting for the sales run" "select exists (select 1 from pg_locks l
    join pg_stat_activity a using (pid)
    where a.application_name = 'nightly-check-platform' and l.locktype = 'advisory' and not l.granted)" || waited=1
  db_psql "$name" -At -c "select pg_terminate_backend(pid) from pg_stat_activity
                          where application_name = 'nightly-check-holder'" >/dev/null
  wait "$holder" 2>/dev/null || true
  wait "$platform" || rc=$?
  [ $waited -eq 0 ] && [ $rc -eq 0 ] || { note "platform job: waited=$((1 - waited)) exit=$rc"; return 1; }
  out="$(db_psql "$name" -At -c "select format('platform_yesterday=%s dirty_platform_days=%s',
    (select count(*) from public.platform_metrics where date = (now() at time zone 'utc')::date - 1),
    (select count(*) from private.dirty_platform_days where date <= (now() at time zone 'utc')::date))")"
  printf 'platform job waited for the sales run; %s\n' "$out"
  [ "$out" = 'platform_yesterday=1 dirty_platform_days=0' ]
}

# The monthly stock-history purge commits per batch, which pgTAP (one
# transaction) cannot run either: the cleanup-old-stock-history job's command
# is run verbatim, as pg_cron runs it, over a fixture shop with two and a half
# batches of expired rows and three recent ones. A statement trigger added for
# the check (and dropped after) logs the transaction and the row count of
# every delete: each batch must be its own transaction of at most the batch
# size; the expired rows are gone, the recent ones and every other shop's
# history stay, and no transaction is left marked as a purge.
db_check_stock_history_purge() {
  local name="${1:-postgres}" out
  step "stock-history purge on $name (the cleanup-old-stock-history job's command, as pg_cron runs it)"
  out="$(db_psql "$name" -At <<'SQL'
create schema purge_check;
create table purge_check.deletes (transaction_id xid8 not null, deleted bigint not null);
create function purge_check.log_delete() returns trigger language plpgsql as $$
begin
  insert into purge_check.deletes select pg_current_xact_id(), count(*) from gone;
  return null;
end;
$$;
create trigger purge_check_log_delete after delete on public.stock_history
  referencing old table as gone for each statement execute function purge_check.log_delete();

select substring(command from 'p_batch_size => (\d+)')::integer as batch_size
  from cron.job where jobname = 'cleanup-old-stock-history' \gset
insert into auth.users (id, email) values ('00000000-0000-4000-a000-00000000c0de', 'purge-check@test.local');
insert into public.shops (id, owner_id, name, slug)
values ('00000000-0000-4000-a000-00000000c0d5', '00000000-0000-4000-a000-00000000c0de', 'Purge check', 'purge-check');
insert into public.items (id, shop_id, name, stock)
values ('00000000-0000-4000-a000-00000000c0d1', '00000000-0000-4000-a000-00000000c0d5', 'Purged', 0);
insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason, created_at)
select '00000000-0000-4000-a000-00000000c0d5', '00000000-0000-4000-a000-00000000c0d1', 1, 0, 1, 'restock',
       now() - interval '400 days' + make_interval(secs => n / 2)
  from generate_series(1, :batch_size * 5 / 2) n;
insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason, created_at)
select '00000000-0000-4000-a000-00000000c0d5', '00000000-0000-4000-a000-00000000c0d1', 1, 0, 1, 'restock',
       now() - interval '10 days'
  from generate_series(1, 3);
create temp table others as
  select count(*) as rows from public.stock_history where shop_id <> '00000000-0000-4000-a000-00000000c0d5';

select command from cron.job where jobname = 'cleanup-old-stock-history' \gexec

select format('expired=%s recent=%s others_kept=%s batches=%s largest=%s marks=%s',
  (select count(*) from public.stock_history
    where shop_id = '00000000-0000-4000-a000-00000000c0d5' and created_at < now() - interval '365 days'),
  (select count(*) from public.stock_history where shop_id = '00000000-0000-4000-a000-00000000c0d5'),
  (select count(*) from public.stock_history where shop_id <> '00000000-0000-4000-a000-00000000c0d5')
    = (select rows from others),
  (select count(distinct transaction_id) from purge_check.deletes where deleted > 0),
  (select max(deleted) = :batch_size from purge_check.deletes),
  (select count(*) from private.stock_history_purges));

drop trigger purge_check_log_delete on public.stock_history;
drop schema purge_check cascade;
delete from public.shops where id = '00000000-0000-4000-a000-00000000c0d5';
delete from auth.users where id = '00000000-0000-4000-a000-00000000c0de';
SQL
)"
  printf '%s\n' "$out"
  [ "$out" = 'expired=0 recent=3 others_kept=t batches=3 largest=t marks=0' ]
}

# Every batched job, each run as pg_cron runs it.
db_check_batched_jobs() {
  local name="${1:-postgres}"
  db_check_nightly_jobs "$name" && db_check_stock_history_purge "$name"
}

# Polls a boolean query on database $1 for up to 20 s.
db_wait_for() { # name what query
  local name="$1" what="$2" query="$3" i
  for i in $(seq 1 100); do
    [ "$(db_psql "$name" -At -c "$query")" = t ] && return 0
    sleep 0.2
  done
  note "timed out waiting for $what" >&2
  return 1
}

# supabase db lint (plpgsql_check) over our schemas, as postgres; fails on any
# error. The CLI enables plpgsql_check for the run and rolls it back; postgres
# may not create it (hosted's supautils creates it as supabase_admin), so
# supabase_admin creates it for the run and drops it after.
db_lint() {
  local name="${1:-postgres}" out err rc=0
  step "supabase db lint ($name)"
  db_psql_admin "$name" -c 'create extension if not exists plpgsql_check with schema extensions'
  err="$(mktemp)"
  # `|| rc=$?`: under `set -e` a bare failing assignment would exit before the
  # findings are printed.
  out="$(cd "$ROOT" && supabase db lint --remote="$(db_url "$name")" --schema public,private \
    --level warning --fail-on error 2>"$err")" || rc=$?
  db_psql_admin "$name" -c 'drop extension if exists plpgsql_check'
  # The CLI prints "No schema errors found" or a JSON list of issues.
  if [ $rc -ne 0 ] || printf '%s' "$out" | grep -q '"level": "error"'; then
    printf '%s\n' "$out" >&2
    grep -v -e 'without TLS' -e '^Target:' "$err" >&2 || true
    rm -f "$err"
    return 1
  fi
  rm -f "$err"
  [ -n "$out" ] && printf '%s\n' "$out"
  return 0
}

# TypeScript types of schema public, as `supabase gen types` prints them.
db_types_print() {
  local name="${1:-postgres}"
  (cd "$ROOT" && supabase gen types typescript --remote="$(db_url "$name")" --schema public 2>/dev/null)
}

db_types_generate() {
  local name="${1:-postgres}" tmp
  step "generating supabase/database.types.ts from $name"
  tmp="$(mktemp)"
  db_types_print "$name" >"$tmp" || { rm -f "$tmp"; return 1; }
  mv "$tmp" "$ROOT/supabase/database.types.ts"
}

# Fails, showing the diff, when the committed types no longer match the schema.
db_types_check() {
  local name="${1:-postgres}" tmp rc=0
  step "checking supabase/database.types.ts against $name"
  tmp="$(mktemp)"
  db_types_print "$name" >"$tmp" || { rm -f "$tmp"; return 1; }
  diff -u "$ROOT/supabase/database.types.ts" "$tmp" >&2 || rc=$?
  rm -f "$tmp"
  [ $rc -eq 0 ] || note "stale: regenerate with db_types_generate and commit supabase/database.types.ts" >&2
  return $rc
}

# docs/ACCESS_MATRIX.md: what each caller may do to each table, tried against
# database $1 (scripts/lib/access_matrix.sql: a fixture and every attempt in
# one transaction that is rolled back, so the database is left as it was).
db_access_matrix_print() {
  local name="${1:-postgres}"
  db_psql "$name" -At -f "$ROOT/scripts/lib/access_matrix.sql"
}

db_access_matrix_generate() {
  local name="${1:-postgres}" tmp
  step "generating docs/ACCESS_MATRIX.md from $name"
  tmp="$(mktemp)"
  db_access_matrix_print "$name" >"$tmp" || { rm -f "$tmp"; return 1; }
  mv "$tmp" "$ROOT/docs/ACCESS_MATRIX.md"
}

# Fails, showing the diff, when the committed matrix no longer matches the
# grants, policies and triggers of the database.
db_access_matrix_check() {
  local name="${1:-postgres}" tmp rc=0
  step "checking docs/ACCESS_MATRIX.md against $name"
  tmp="$(mktemp)"
  db_access_matrix_print "$name" >"$tmp" || { rm -f "$tmp"; return 1; }
  diff -u "$ROOT/docs/ACCESS_MATRIX.md" "$tmp" >&2 || rc=$?
  rm -f "$tmp"
  [ $rc -eq 0 ] || note "stale: regenerate with db_access_matrix_generate and commit docs/ACCESS_MATRIX.md" >&2
  return $rc
}

# A throwaway database with the baseline and the schema, for test suites that
# must not touch `postgres` (gateway conformance, parallel runs). Migrations are
# applied with psql in order, as postgres; the pg_cron one is skipped because pg_cron can
# only be created in cron.database_name (postgres). Extra SQL files (e.g. not
# yet migrated functions) may follow as arguments.
db_create_test_database() {
  local name="${1:?database name}"; shift
  [ "$name" = postgres ] && die "db_create_test_database is for databases other than postgres"
  db_reset "$name"
  db_apply_baseline "$name"
  local file
  for file in "$ROOT"/supabase/migrations/*.sql "$@"; do
    case "$(basename "$file")" in *_scheduled_jobs.sql) continue ;; esac
    db_psql "$name" -1 -f "$file" >/dev/null
  done
}
