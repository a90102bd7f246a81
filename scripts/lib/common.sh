# shellcheck shell=bash
# Shared by scripts/dev, scripts/test and scripts/bench: paths, ports, keys,
# tool installation and the local Postgres. Source it; it defines functions
# and variables only and starts nothing by itself.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Stacks live side by side, each with its own folder and ports: `dev`
# (scripts/dev), `test` (scripts/test, wiped each run, so running the tests
# never touches a developer's data), `bench` (scripts/bench) and `scratch`
# (for experiments: `STACK_NAME=scratch scripts/dev`).
#
# The ports keep the Supabase CLI's last three digits (x4321 API, x4322
# Postgres) but sit below 32768: Linux hands out local ports for outgoing
# connections from 32768-60999, so a stack port in that range can be taken
# by any pooled connection (the CLI's own 54321 included). STACK_PORT_BASE
# moves a whole stack, e.g. to run two checkouts' tests side by side.
STACK_NAME="${STACK_NAME:-dev}"
case "$STACK_NAME" in
  dev) LOCAL_DIR="$ROOT/.local"; PORT_BASE=24000 ;;
  test) LOCAL_DIR="$ROOT/.local/test"; PORT_BASE=25000 ;;
  bench) LOCAL_DIR="$ROOT/.local/bench"; PORT_BASE=26000 ;;
  scratch) LOCAL_DIR="$ROOT/.local/scratch"; PORT_BASE=27000 ;;
  *) echo "STACK_NAME must be dev, test, bench or scratch" >&2; exit 1 ;;
esac
PORT_BASE="${STACK_PORT_BASE:-$PORT_BASE}"
PG_DATA="$LOCAL_DIR/pg/data"
PG_LOG="$LOCAL_DIR/pg/postgres.log"
LOG_DIR="$LOCAL_DIR/logs"
RUN_DIR="$LOCAL_DIR/run"
STACK_ENV="$LOCAL_DIR/stack.env"

PG_PORT="${PG_PORT:-$((PORT_BASE + 322))}"
GATEWAY_PORT="${GATEWAY_PORT:-$((PORT_BASE + 321))}"
# The first function's Deno port; the others follow in list order.
FUNCTION_PORT_BASE="${FUNCTION_PORT_BASE:-$((PORT_BASE + 331))}"

# The edge functions: the [functions.<name>] sections of supabase/config.toml,
# the one list (xtask, the tests and the bench read it too). A function's Deno
# process listens on FUNCTION_PORT_BASE + its position in that list.
mapfile -t FUNCTION_NAMES < <(sed -n 's/^\[functions\.\([a-z0-9_-]*\)\]$/\1/p' "$ROOT/supabase/config.toml")

function_port() { # name
  local i
  for i in "${!FUNCTION_NAMES[@]}"; do
    [ "${FUNCTION_NAMES[$i]}" = "$1" ] && { echo $((FUNCTION_PORT_BASE + i)); return 0; }
  done
  die "unknown function $1 (not a [functions.*] section of supabase/config.toml)"
}

# wasm-bindgen's file stem of a function's module: inventory-operations -> inventory_ops.
function_stem() { # name
  local crate="${1%-operations}-ops"
  echo "${crate//-/_}"
}

# The local stack's JWT secret: the same well-known value `supabase start` uses.
# It protects nothing real; hosted projects have their own.
SUPABASE_JWT_SECRET="${SUPABASE_JWT_SECRET:-super-secret-jwt-token-with-at-least-32-characters-long}"

# How user access tokens are signed, like a project created today (`es256`:
# ES256 with a local key and its kid, published in the JWKS) or one that
# still uses the legacy JWT secret (`legacy`: HS256). The anon and
# service_role JWT keys are HS256 with the secret either way.
#   AUTH_SIGNING=legacy scripts/dev
AUTH_SIGNING="${AUTH_SIGNING:-es256}"
case "$AUTH_SIGNING" in
  es256|legacy) ;;
  *) echo "AUTH_SIGNING must be es256 or legacy" >&2; exit 1 ;;
esac
# The private signing key (a JWK array, as `supabase gen signing-key` writes
# it) and the opaque API keys: generated into the stack's folder, never committed.
SIGNING_KEYS_FILE="$LOCAL_DIR/signing_keys.json"
API_KEYS_FILE="$LOCAL_DIR/api_keys.env"

# The database as hosted Supabase has it: DATABASE_URL logs in as postgres,
# which is NOT a superuser (supabase/baseline/supabase_baseline.sql): the
# migrations, the seed, the pg_cron jobs, pgTAP and every test run as it.
# The superuser is supabase_admin, as on hosted: the cluster is initialised
# with it, and it applies the baseline (the platform's own setup) and serves
# the local Realtime, which needs logical decoding, as hosted Realtime
# logs in as supabase_admin. Then the URL the gateway logs in with, and the
# login of its /auth/v1 (supabase_auth_admin, as Supabase Auth's on hosted).
DATABASE_URL="postgresql://postgres:postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
SUPABASE_ADMIN_URL="postgresql://supabase_admin:postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
AUTHENTICATOR_URL="postgresql://authenticator:postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
AUTH_DATABASE_URL="postgresql://supabase_auth_admin:postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
export PGSSLMODE=disable

PG_BIN="/usr/lib/postgresql/15/bin"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"

DEBIAN_PACKAGES=(
  postgresql-15 postgresql-15-cron postgresql-15-pgtap postgresql-15-plpgsql-check
  postgresql-15-wal2json libtap-parser-sourcehandler-pgtap-perl curl
)

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs only what is missing, so a second run costs a few dpkg queries.
ensure_debian_packages() {
  local missing=() pkg
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Supabase CLI, Deno, wasm-opt, supabase-js and the test libraries, pinned in
# package-lock.json, into ./node_modules. Reinstalled when the lock file is
# newer than the last install (npm writes node_modules/.package-lock.json).
ensure_npm_tools() {
  local installed="$ROOT/node_modules/.package-lock.json"
  if [ ! -f "$installed" ] || [ "$ROOT/package-lock.json" -nt "$installed" ]; then
    step "installing npm tools (Supabase CLI, Deno, wasm-opt, supabase-js)"
    # `npm install`, not `npm ci`: npm records only this platform's optional
    # Supabase CLI binary package in the lock file, which `npm ci` then calls
    # out of sync. With the lock present, `npm install` installs exactly its
    # versions and leaves it unchanged.
    (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error)
  fi
  ln -sf ../@deno/linux-x64-glibc/deno "$ROOT/node_modules/.bin/deno"
}

ensure_wasm_target() {
  rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || {
    step "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  }
}

ensure_tools() {
  ensure_debian_packages
  ensure_npm_tools
  ensure_wasm_target
}

# Postgres refuses to run as root; when we are root, run its tools as `postgres`.
as_pg_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_is_running() {
  [ -f "$PG_DATA/postmaster.pid" ] && as_pg_user "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_init() {
  [ -f "$PG_DATA/PG_VERSION" ] && return 0
  step "initdb into ${PG_DATA#"$ROOT"/}"
  mkdir -p "$PG_DATA"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$LOCAL_DIR/pg"
  local pwfile; pwfile="$(mktemp)"; echo postgres >"$pwfile"; chmod 644 "$pwfile"
  # The bootstrap superuser is supabase_admin; the baseline makes postgres.
  as_pg_user "$PG_BIN/initdb" -D "$PG_DATA" -U supabase_admin --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  cat >>"$PG_DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$LOCAL_DIR/pg'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.timezone = 'UTC'
max_connections = 200
timezone = 'UTC'
log_min_messages = warning
EOF
  pg_configure_realtime
}

# Logical decoding for the local Realtime (wal2json reads the WAL through a
# temporary slot). Also added to clusters made before Realtime existed; they
# need a restart to pick it up (scripts/dev down, then scripts/dev).
pg_configure_realtime() {
  grep -q '^wal_level = logical' "$PG_DATA/postgresql.conf" && return 0
  cat >>"$PG_DATA/postgresql.conf" <<EOF
wal_level = logical
max_replication_slots = 20
max_wal_senders = 10
EOF
}

pg_start() {
  pg_init
  pg_configure_realtime
  if pg_is_running; then
    note "postgres already running on port $PG_PORT"
  else
    step "starting postgres on 127.0.0.1:$PG_PORT"
    as_pg_user "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null
  fi
  pg_check_superuser
}

# A cluster made before the local database had hosted's privileges has
# postgres as its superuser and no supabase_admin; nothing here can log in
# as the superuser there, so say how to start over.
pg_check_superuser() {
  psql_admin -Atc 'select 1' >/dev/null 2>&1 && return 0
  die "cannot log in as supabase_admin on port $PG_PORT: ${PG_DATA#"$ROOT"/} was made when postgres was the local superuser; start from an empty database: STACK_NAME=$STACK_NAME scripts/dev reset (or stop the stack and remove ${LOCAL_DIR#"$ROOT"/}/pg)"
}

pg_stop() {
  pg_is_running || return 0
  step "stopping postgres"
  as_pg_user "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
}

# psql as the superuser supabase_admin against the local stack (the
# platform's side: baseline, resets, extensions); extra arguments pass through.
psql_admin() {
  psql "$SUPABASE_ADMIN_URL" -v ON_ERROR_STOP=1 -X -q "$@"
}
