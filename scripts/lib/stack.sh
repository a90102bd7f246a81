# shellcheck shell=bash
# Starting and stopping the long-running parts of the local stack (gateway and
# the three Deno functions) as background processes with pid files. Postgres
# itself is handled by common.sh. Source after common.sh, db.sh, build.sh and
# gateway.sh.

proc_running() { # name
  local pidfile="$RUN_DIR/$1.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

proc_start() { # name command...
  local name="$1"; shift
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  if proc_running "$name"; then note "$name already running (pid $(cat "$RUN_DIR/$name.pid"))"; return 0; fi
  nohup "$@" >"$LOG_DIR/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
}

proc_stop() { # name
  local pidfile="$RUN_DIR/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

wait_for_http() { # url what [method]
  for _ in $(seq 100); do
    curl -fsS -o /dev/null -X "${3:-GET}" "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  die "$2 did not answer at $1 (see $LOG_DIR)"
}

# Keys and demo logins are JWTs signed with the local secret by the gateway
# binary, so nothing else needs a JWT library.
mint_token() { # role [sub] [email]
  local args=(--role "$1" --ttl-secs 31536000)
  [ -n "${2:-}" ] && args+=(--sub "$2")
  [ -n "${3:-}" ] && args+=(--email "$3")
  gateway_token "${args[@]}"
}

# Demo users of supabase/seed.sql: env name, user id, email.
DEMO_USERS=(
  "OWNER 11111111-1111-4111-8111-111111111111 owner@demo.shop"
  "STAFF 22222222-2222-4222-8222-222222222222 staff@demo.shop"
  "VIEWER 33333333-3333-4333-8333-333333333333 viewer@demo.shop"
  "PLATFORM_ADMIN 44444444-4444-4444-8444-444444444444 admin@demo.shop"
  "OTHER_SHOP_OWNER 55555555-5555-4555-8555-555555555555 owner-b@demo.shop"
)

# Shops of supabase/seed.sql: A (Asia/Dhaka, the demo users' shop) and B (America/New_York).
DEMO_SHOP_A_ID=aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa
DEMO_SHOP_B_ID=bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb

write_stack_env() {
  local anon service
  anon="$(mint_token anon)"
  service="$(mint_token service_role)"
  {
    echo "SUPABASE_URL=http://127.0.0.1:$GATEWAY_PORT"
    echo "SUPABASE_ANON_KEY=$anon"
    echo "SUPABASE_SERVICE_ROLE_KEY=$service"
    echo "SUPABASE_JWT_SECRET=$SUPABASE_JWT_SECRET"
    echo "DATABASE_URL=$DATABASE_URL"
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
  for name in "${FUNCTION_NAMES[@]}"; do
    PORT="$(function_port "$name")" SUPABASE_URL="http://127.0.0.1:$GATEWAY_PORT" SUPABASE_ANON_KEY="$anon" \
      SUPABASE_JWT_SECRET="$SUPABASE_JWT_SECRET" proc_start "fn-$name" deno run --allow-net --allow-env --allow-read="$ROOT/functions" \
      "$ROOT/functions/$name/index.ts"
  done
  # OPTIONS is the one method a function answers 200 without a JWT.
  for name in "${FUNCTION_NAMES[@]}"; do
    wait_for_http "http://127.0.0.1:$(function_port "$name")/" "$name" OPTIONS
  done
}

gateway_start() {
  GATEWAY_PORT="$GATEWAY_PORT" GATEWAY_DATABASE_URL="$AUTHENTICATOR_URL" SUPABASE_JWT_SECRET="$SUPABASE_JWT_SECRET" \
    FUNCTIONS_UPSTREAMS="$(gateway_function_upstreams)" proc_start gateway "$GATEWAY_BIN" serve
  wait_for_http "http://127.0.0.1:$GATEWAY_PORT/health" gateway
}

stack_stop() {
  local name
  proc_stop gateway
  for name in "${FUNCTION_NAMES[@]}"; do proc_stop "fn-$name"; done
  pg_stop
}

stack_status() {
  local name
  if pg_is_running; then echo "postgres      running  127.0.0.1:$PG_PORT"; else echo "postgres      stopped"; fi
  if proc_running gateway; then echo "gateway       running  http://127.0.0.1:$GATEWAY_PORT"; else echo "gateway       stopped"; fi
  for name in "${FUNCTION_NAMES[@]}"; do
    if proc_running "fn-$name"; then
      printf '%-22s running  127.0.0.1:%s\n' "$name" "$(function_port "$name")"
    else
      printf '%-22s stopped\n' "$name"
    fi
  done
}

db_is_migrated() {
  [ "$(psql_super -Atc "select to_regclass('supabase_migrations.schema_migrations') is not null")" = t ]
}

# supabase-js end-to-end tests under Deno (supabase-js needs Node 22; Deno
# resolves it from ./node_modules through package.json).
e2e_tests() {
  (set -a; source "$STACK_ENV"; set +a
   cd "$ROOT" && deno test --allow-net --allow-env --allow-read tests/e2e/)
}
