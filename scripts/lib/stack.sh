# shellcheck shell=bash
# Starting and stopping the long-running parts of the local stack (gateway and
# the three Deno functions) as background processes with pid files. Postgres
# itself is handled by common.sh. Source after common.sh, db.sh, build.sh and
# gateway.sh.

# Each service runs under scripts/lib/supervise, which restarts it when it
# crashes and logs the crash in its log. $RUN_DIR/<name>.pid is the service's
# own pid (the bench reads its CPU time), <name>.supervisor.pid the supervisor's.

source "$ROOT/scripts/lib/replica.sh"

pid_alive() { # pidfile
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

proc_running() { # name
  pid_alive "$RUN_DIR/$1.pid"
}

proc_start() { # name command...
  local name="$1"; shift
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  if pid_alive "$RUN_DIR/$name.supervisor.pid"; then
    note "$name already running (supervisor pid $(cat "$RUN_DIR/$name.supervisor.pid"))"
    return 0
  fi
  : >"$LOG_DIR/$name.log"
  rm -f "$RUN_DIR/$name.pid"
  nohup "$ROOT/scripts/lib/supervise" "$name" "$RUN_DIR" "$LOG_DIR/$name.log" "$@" >/dev/null 2>&1 &
  echo $! >"$RUN_DIR/$name.supervisor.pid"
  # The service's pid file, so proc_running and the bench see it at once.
  for _ in $(seq 50); do [ -f "$RUN_DIR/$name.pid" ] && return 0; sleep 0.1; done
  die "$name did not start (see $LOG_DIR/$name.log)"
}

# TERM, then KILL after 5 s, of the pid in a pid file; removes the file.
kill_pidfile() { # pidfile
  local pid
  [ -f "$1" ] || return 0
  pid="$(cat "$1")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

# The supervisor first (it stops the service and does not restart it), then the
# service itself in case the supervisor was gone.
proc_stop() { # name
  kill_pidfile "$RUN_DIR/$1.supervisor.pid"
  kill_pidfile "$RUN_DIR/$1.pid"
}

# How many times the supervisor restarted a service since proc_start.
proc_restarts() { # name
  grep -c '^\[supervise ' "$LOG_DIR/$1.log" 2>/dev/null || true
}

wait_for_http() { # url what [method]
  for _ in $(seq 100); do
    curl -fsS -o /dev/null -X "${3:-GET}" "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  die "$2 did not answer at $1 (see $LOG_DIR)"
}

# Generated once per stack folder: the ES256 signing key (by the Supabase
# CLI, as for a local project's `signing_keys_path`) and the opaque keys.
ensure_keys() {
  mkdir -p "$LOCAL_DIR"
  if [ ! -s "$SIGNING_KEYS_FILE" ]; then
    local jwk
    jwk="$(cd "$LOCAL_DIR" && supabase gen signing-key --algorithm ES256 2>/dev/null | head -n 1)"
    case "$jwk" in '{'*'"kid"'*) ;; *) die "supabase gen signing-key printed no JWK" ;; esac
    (umask 077 && printf '[%s]\n' "$jwk" >"$SIGNING_KEYS_FILE")
  fi
  if [ ! -s "$API_KEYS_FILE" ]; then
    (umask 077 && {
      echo "SUPABASE_PUBLISHABLE_KEY=sb_publishable_$(random_key_text 22)"
      echo "SUPABASE_SECRET_KEY=sb_secret_$(random_key_text 32)"
    } >"$API_KEYS_FILE")
  fi
  # shellcheck disable=SC1090
  source "$API_KEYS_FILE"
}

random_key_text() { # length
  LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "$1"
}

# The signing key file in es256 mode; empty (legacy HS256) otherwise.
signing_keys_path() {
  [ "$AUTH_SIGNING" = es256 ] && printf '%s' "$SIGNING_KEYS_FILE"
  return 0
}

# Keys are HS256 JWTs with the legacy secret; demo logins are signed by the
# gateway binary exactly as /auth/v1 signs sessions (ES256 with the kid by
# default), so nothing else needs a JWT library.
mint_token() { # role [sub] [email]
  local args=(--role "$1" --ttl-secs 31536000)
  [ -n "${2:-}" ] && args+=(--sub "$2")
  [ -n "${3:-}" ] && args+=(--email "$3")
  gateway_token "${args[@]}"
}

# Demo users of supabase/seed.sql: env name, user id, email. Each signs in
# at /auth/v1 with DEMO_PASSWORD.
DEMO_USERS=(
  "OWNER 11111111-1111-4111-8111-111111111111 owner@demo.shop"
  "STAFF 22222222-2222-4222-8222-222222222222 staff@demo.shop"
  "VIEWER 33333333-3333-4333-8333-333333333333 viewer@demo.shop"
  "PLATFORM_ADMIN 44444444-4444-4444-8444-444444444444 admin@demo.shop"
  "OTHER_SHOP_OWNER 55555555-5555-4555-8555-555555555555 owner-b@demo.shop"
)
DEMO_PASSWORD=demo-password

# Shops of supabase/seed.sql: A (Asia/Dhaka, the demo users' shop) and B (America/New_York).
DEMO_SHOP_A_ID=aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa
DEMO_SHOP_B_ID=bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb

write_stack_env() {
  local anon service
  ensure_keys
  anon="$(mint_token anon)"
  service="$(mint_token service_role)"
  {
    echo "SUPABASE_URL=http://127.0.0.1:$GATEWAY_PORT"
    echo "SUPABASE_PUBLISHABLE_KEY=$SUPABASE_PUBLISHABLE_KEY"
    echo "SUPABASE_SECRET_KEY=$SUPABASE_SECRET_KEY"
    echo "SUPABASE_ANON_KEY=$anon"
    echo "SUPABASE_SERVICE_ROLE_KEY=$service"
    echo "SUPABASE_JWT_SECRET=$SUPABASE_JWT_SECRET"
    echo "AUTH_SIGNING=$AUTH_SIGNING"
    echo "DATABASE_URL=$DATABASE_URL"
    echo "DEMO_PASSWORD=$DEMO_PASSWORD"
    echo "DEMO_SHOP_A_ID=$DEMO_SHOP_A_ID"
    echo "DEMO_SHOP_B_ID=$DEMO_SHOP_B_ID"
    local entry name id email
    for entry in "${DEMO_USERS[@]}"; do
      read -r name id email <<<"$entry"
      echo "DEMO_${name}_JWT=$(mint_token authenticated "$id" "$email")"
    done
  } >"$STACK_ENV"
}

functions_start() {
  local anon name
  anon="$(grep '^SUPABASE_ANON_KEY=' "$STACK_ENV" | cut -d= -f2-)"
  ensure_keys
  for name in "${FUNCTION_NAMES[@]}"; do
    # The keys' environment as on hosted: JSON maps of the opaque keys, and the legacy anon key.
    PORT="$(function_port "$name")" SUPABASE_URL="http://127.0.0.1:$GATEWAY_PORT" SUPABASE_ANON_KEY="$anon" \
      SUPABASE_PUBLISHABLE_KEYS="{\"default\":\"$SUPABASE_PUBLISHABLE_KEY\"}" \
      SUPABASE_SECRET_KEYS="{\"default\":\"$SUPABASE_SECRET_KEY\"}" \
      SUPABASE_JWT_SECRET="$SUPABASE_JWT_SECRET" \
      proc_start "fn-$name" deno run --allow-net --allow-env --allow-read="$ROOT/functions" \
      "$ROOT/functions/$name/index.ts"
  done
  # OPTIONS is the one method a function answers 200 without a JWT.
  for name in "${FUNCTION_NAMES[@]}"; do
    wait_for_http "http://127.0.0.1:$(function_port "$name")/" "$name" OPTIONS
  done
}

# The gateway also serves the local Realtime, which logs in as supabase_admin
# (as hosted Realtime does) for its logical replication slot. With the replica
# running, its GET and HEAD requests to /rest/v1 go to the replica.
gateway_start() { # [function upstreams, default: the three functions]
  local upstreams="${1:-$(gateway_function_upstreams)}" replica_url="" mode
  ensure_keys
  replica_is_running && replica_url="$REPLICA_AUTHENTICATOR_URL"
  # A gateway started in another signing or replica mode is restarted in this one.
  mode="$AUTH_SIGNING${replica_url:+ with replica}"
  if proc_running gateway && [ "$(cat "$RUN_DIR/gateway.mode" 2>/dev/null)" != "$mode" ]; then
    note "restarting the gateway: AUTH_SIGNING=$mode"
    proc_stop gateway
  fi
  GATEWAY_PORT="$GATEWAY_PORT" GATEWAY_DATABASE_URL="$AUTHENTICATOR_URL" SUPABASE_JWT_SECRET="$SUPABASE_JWT_SECRET" \
    GATEWAY_REPLICA_DATABASE_URL="$replica_url" \
    SUPABASE_URL="http://127.0.0.1:$GATEWAY_PORT" AUTH_DATABASE_URL="$AUTH_DATABASE_URL" \
    AUTH_SIGNING_KEYS_PATH="$(signing_keys_path)" \
    SUPABASE_PUBLISHABLE_KEY="$SUPABASE_PUBLISHABLE_KEY" SUPABASE_SECRET_KEY="$SUPABASE_SECRET_KEY" \
    FUNCTIONS_UPSTREAMS="$upstreams" REALTIME_DATABASE_URL="$SUPABASE_ADMIN_URL" proc_start gateway "$GATEWAY_BIN" serve
  echo "$mode" >"$RUN_DIR/gateway.mode"
  wait_for_http "http://127.0.0.1:$GATEWAY_PORT/health" gateway
}

stack_stop() {
  local name
  proc_stop gateway
  for name in "${FUNCTION_NAMES[@]}"; do proc_stop "fn-$name"; done
  replica_stop
  pg_stop
}

stack_status() {
  local name
  if pg_is_running; then echo "postgres      running  127.0.0.1:$PG_PORT"; else echo "postgres      stopped"; fi
  replica_is_running && echo "replica       running  127.0.0.1:$REPLICA_PORT  (hot standby; /rest/v1 GET and HEAD go here)"
  if proc_running gateway; then
    echo "gateway       running  http://127.0.0.1:$GATEWAY_PORT  (restarts: $(proc_restarts gateway))"
  else
    echo "gateway       stopped"
  fi
  for name in "${FUNCTION_NAMES[@]}"; do
    if proc_running "fn-$name"; then
      printf '%-22s running  127.0.0.1:%s  (restarts: %s)\n' "$name" "$(function_port "$name")" "$(proc_restarts "fn-$name")"
    else
      printf '%-22s stopped\n' "$name"
    fi
  done
}

db_is_migrated() {
  [ "$(psql_admin -Atc "select to_regclass('supabase_migrations.schema_migrations') is not null")" = t ]
}

# supabase-js end-to-end tests under Deno (supabase-js needs Node 22; Deno
# resolves it from ./node_modules through package.json).
e2e_tests() {
  (set -a; source "$STACK_ENV"; set +a
   cd "$ROOT" && deno test --allow-net --allow-env --allow-read tests/e2e/)
}

# Reads a replica can serve (tests/replica/): a streaming standby joins the
# stack, the gateway sends it the GETs, the test pauses its replay to tell
# who answered; then the stack goes back to one database.
replica_tests() {
  replica_start
  gateway_start
  (set -a; source "$STACK_ENV"; set +a
   cd "$ROOT" && REPLICA_ADMIN_URL="$REPLICA_ADMIN_URL" \
     deno test --allow-net --allow-env --allow-read tests/replica/)
  replica_stop
  gateway_start
}

# supabase-js channels against the local Realtime (tests/realtime/). The
# restart test stops and starts this stack's gateway (stackControl), so run
# it only on a stack of your own, like the reliability layer.
realtime_tests() {
  (set -a; source "$STACK_ENV"; set +a
   export STACK_NAME GATEWAY_PROFILE
   cd "$ROOT" && deno test --no-prompt --allow-net --allow-env --allow-read --allow-write="$ROOT/.local" \
     --allow-run=bash tests/realtime/)
}
