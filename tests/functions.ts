// The edge functions, read from the one list: the `[functions.<name>]` sections of
// supabase/config.toml (what `supabase functions deploy` deploys). scripts/lib/common.sh
// and `cargo xtask build-wasm` read the same sections. Each function's crate is its name
// with `-operations` shortened to `-ops`, and on a local stack its Deno process listens on
// the gateway's port + 10 + its position in the list.

import { parse as parseToml } from "smol-toml";

export interface EdgeFunction {
  /** The URL segment and the folder under functions/, e.g. `inventory-operations`. */
  name: string;
  /** The file stem wasm-bindgen gives the module: `inventory_ops` (pkg/inventory_ops_bg.wasm). */
  stem: string;
  /** Position in supabase/config.toml, which fixes the local port. */
  position: number;
}

const config = parseToml(
  Deno.readTextFileSync(new URL("../supabase/config.toml", import.meta.url)),
) as { functions?: Record<string, unknown> };

export const FUNCTIONS: readonly EdgeFunction[] = Object.keys(config.functions ?? {}).map((name, position) => ({
  name,
  stem: name.replace(/-operations$/, "-ops").replaceAll("-", "_"),
  position,
}));

/** The URL of `name`'s Deno process on the stack whose gateway listens on `gatewayPort`. */
export function functionProcessUrl(gatewayPort: number, name: string): string {
  const fn = FUNCTIONS.find((f) => f.name === name);
  if (!fn) throw new Error(`${name} is not a [functions.*] section of supabase/config.toml`);
  return `http://127.0.0.1:${gatewayPort + 10 + fn.position}/`;
}
