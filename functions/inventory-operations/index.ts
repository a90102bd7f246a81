// Edge function `inventory-operations`: a thin shim around crates/inventory-ops compiled to wasm.
// The module is built into ./pkg/ by `cargo xtask build-wasm` and loaded explicitly,
// once per isolate (docs/ARCHITECTURE.md). Not the argument-less `init()`: its loader fetch()es a
// `file:` URL, which Supabase Edge Runtime releases before v1.73.6 reject.

import { __wbg_reset_state, handle, initSync } from "./pkg/inventory_ops.js";
import { serveFunction } from "../_shared/serve.ts";

initSync({ module: await Deno.readFile(new URL("./pkg/inventory_ops_bg.wasm", import.meta.url)) });

serveFunction({ name: "inventory-operations", handle, resetState: __wbg_reset_state });
