# shellcheck shell=bash
# The reliability layer of scripts/test (docs/RELIABILITY.md): concurrency,
# idempotent retries, faults, hostile input, tenancy and backups, as Deno tests
# in tests/reliability/ against the running stack. The fault tests stop and
# start this stack's Postgres and gateway through pg_stop/pg_start and
# proc_stop/gateway_start, so run it only on a stack of your own (scripts/test
# uses `test`; experiments `STACK_NAME=scratch`). Source after stack.sh.
#
#   reliability_tests    runs them and prints the measured figures, which are
#                        also left in $LOCAL_DIR/reliability-figures.json
# The proptest over the payload parser runs with `cargo test -p edge-core`
# (crates/edge-core/tests/payload_proptest.rs) in the unit-test layer.

reliability_tests() {
  local figures="$LOCAL_DIR/reliability-figures.json"
  rm -f "$figures"
  (set -a; source "$STACK_ENV"; set +a
   export STACK_NAME GATEWAY_PROFILE RELIABILITY_FIGURES="$figures"
   cd "$ROOT" && deno test --no-prompt --allow-net --allow-env --allow-read --allow-write="$LOCAL_DIR" \
     --allow-run=bash,deno tests/reliability/)
  step "reliability figures ($figures)"
  cat "$figures"
}
