# shellcheck shell=bash
# The local PostgREST-compatible gateway (crates/gateway). Source after
# common.sh; defines functions only.
#
#   gateway_build        builds $GATEWAY_BIN
#   gateway_conformance  its conformance tests against the local Postgres
#                        (they recreate the database `gateway_conformance`)
#
# Starting it (scripts/dev, gateway_start in stack.sh): run "$GATEWAY_BIN" with
#   GATEWAY_PORT=$GATEWAY_PORT GATEWAY_DATABASE_URL=$AUTHENTICATOR_URL
#   SUPABASE_JWT_SECRET=$SUPABASE_JWT_SECRET SUPABASE_URL AUTH_DATABASE_URL
#   AUTH_SIGNING_KEYS_PATH SUPABASE_PUBLISHABLE_KEY SUPABASE_SECRET_KEY
#   FUNCTIONS_UPSTREAMS="$(gateway_function_upstreams)"
# and wait for `curl -fsS http://127.0.0.1:$GATEWAY_PORT/health`.
# Keys: gateway_token --role anon|service_role  (or --role authenticated --sub <uuid> [--email e] [--ttl-secs n]).

# Cargo profile of the gateway binary: `server` (Cargo.toml: optimized, panics
# unwind) for scripts/dev and scripts/bench; scripts/test sets `dev`, whose
# dependencies the conformance tests have already built.
GATEWAY_PROFILE="${GATEWAY_PROFILE:-server}"
if [ "$GATEWAY_PROFILE" = dev ]; then GATEWAY_BIN="$ROOT/target/debug/gateway"; else GATEWAY_BIN="$ROOT/target/$GATEWAY_PROFILE/gateway"; fi

gateway_build() {
  step "building the gateway (profile $GATEWAY_PROFILE)"
  (cd "$ROOT" && cargo build --profile "$GATEWAY_PROFILE" -p gateway --bin gateway)
}

# name=url pairs for the three Deno processes, in the gateway's FUNCTIONS_UPSTREAMS format.
gateway_function_upstreams() {
  local name upstreams=""
  for name in "${FUNCTION_NAMES[@]}"; do
    upstreams+="${upstreams:+,}$name=http://127.0.0.1:$(function_port "$name")"
  done
  printf '%s' "$upstreams"
}

# Prints a JWT (keys HS256 with the local secret, user tokens signed as
# AUTH_SIGNING says); arguments as `gateway token`.
gateway_token() {
  SUPABASE_JWT_SECRET="$SUPABASE_JWT_SECRET" AUTH_SIGNING_KEYS_PATH="$(signing_keys_path)" \
    SUPABASE_URL="http://127.0.0.1:$GATEWAY_PORT" "$GATEWAY_BIN" token "$@"
}

gateway_conformance() {
  step "gateway conformance tests"
  (cd "$ROOT" && CONFORMANCE_DATABASE_URL="$SUPABASE_ADMIN_URL" \
    cargo test -p gateway --features conformance --test conformance)
}
