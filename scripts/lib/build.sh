# shellcheck shell=bash
# The wasm build and the function tests. Source after common.sh.
#   build_wasm       the three modules into functions/<name>/pkg/, sizes printed,
#                    fails over budget (crates/xtask)
#   test_functions   tests/deno/: deploy readiness (config.toml paths and globs, `deno check`
#                    on every shim) and the built functions under Deno against a fake
#                    PostgREST, including a panic (modules rebuilt with the
#                    `fault-injection` feature into target/wasm-fault/)

FUNCTIONS_DIR="$ROOT/functions"
WASM_FAULT_DIR="$ROOT/target/wasm-fault"

# wasm-opt comes from npm's binaryen (node_modules/.bin, first on PATH): Debian's
# binaryen 108 rebinds wasm-bindgen's externref table export to the funcref table,
# which xtask detects and refuses.
build_wasm() {
  step "building the wasm modules (cargo xtask build-wasm)"
  (cd "$ROOT" && cargo xtask build-wasm)
}

# Permissions of the tests: they spawn Deno shims and cargo, listen on free ports,
# read the repo and write the fault-injection copy of a shim.
DENO_TEST_FLAGS=(--no-prompt --allow-net=127.0.0.1 --allow-env --allow-read --allow-write --allow-run)

test_functions() {
  local name
  for name in "${FUNCTION_NAMES[@]}"; do
    [ -f "$FUNCTIONS_DIR/$name/pkg/$(function_stem "$name")_bg.wasm" ] \
      || die "functions/$name/pkg/ is empty; run build_wasm first"
  done
  step "building the fault-injection modules into target/wasm-fault"
  (cd "$ROOT" && cargo xtask build-wasm --features fault-injection --out-dir "$WASM_FAULT_DIR")
  step "deno test tests/deno (deploy readiness, functions under Deno)"
  (cd "$ROOT" && WASM_FAULT_DIR="$WASM_FAULT_DIR" deno test "${DENO_TEST_FLAGS[@]}" tests/deno/)
}
