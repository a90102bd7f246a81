// CPU of the function process alone, ours vs the supabase-js peer, with nothing else of
// the stack: a fake PostgREST in this process answers each RPC after a delay (the
// database's share of a real request), `inventory-operations` (ours, the built wasm) and
// its peer run as their own Deno processes, as the stacks run them. For each action:
// a warm-up, a pause so that nothing left from it runs during the measurement, then
// `REQUESTS` requests at `CONCURRENCY` in flight; the CPU of each function process
// (/proc) during them, and again with the `TAIL_S` seconds after them, which is when
// work left behind by a request (a timer, an interval) runs. Run after the build:
//   deno run --allow-all bench/function_cpu.ts

import { cpuMsOfPid, jwtFor, ROOT } from "./support.ts";
import { freePort } from "../tests/deno/support.ts";

const REQUESTS = Number(Deno.env.get("REQUESTS") ?? 3000);
const CONCURRENCY = 16;
const WARMUP = 500;
/** Longer than the RPC deadline (20 s), so that a timer left by a request would fire in it. */
const TAIL_S = 22;
/** How long the fake PostgREST takes per answer, ms. */
const DELAY_MS: Record<string, number> = { update_stock: 18, process_order_stock_changes: 50 };
const JWT_SECRET = "function-cpu-bench-secret-with-at-least-32-characters";

const uuid = () => crypto.randomUUID();
const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
  const rpc = new URL(request.url).pathname.split("/").pop()!;
  const args = await request.json();
  await new Promise((resolve) => setTimeout(resolve, DELAY_MS[rpc] ?? 0));
  // Shaped as the SQL functions answer (docs/ARCHITECTURE.md, "The RPC contract").
  const data = rpc === "update_stock"
    ? { item_id: args.p_item_id, previous_stock: 1234, new_stock: 1235, history_id: uuid() }
    : {
      order_id: args.p_order_id,
      already_processed: false,
      items: Array.from({ length: 10 }, () => ({ item_id: uuid(), previous_stock: 100000, new_stock: 99998 })),
    };
  return Response.json(data);
});

const env = {
  SUPABASE_URL: `http://127.0.0.1:${upstream.addr.port}`,
  SUPABASE_ANON_KEY: "function-cpu-anon-key",
  SUPABASE_JWT_SECRET: JWT_SECRET,
};

async function serve(entry: string, readable: string) {
  const port = freePort();
  const child = new Deno.Command("deno", {
    args: ["run", "--allow-net", "--allow-env", `--allow-read=${readable}`, entry],
    env: { ...env, PORT: String(port) },
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}/`;
  for (let tries = 0;; tries++) {
    try {
      await (await fetch(url, { method: "OPTIONS" })).body?.cancel();
      return { url, pid: child.pid, stop: async () => (child.kill("SIGTERM"), await child.status) };
    } catch (error) {
      if (tries > 2000) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

const jwt = await jwtFor(JWT_SECRET, uuid());
const bodies: Record<string, () => unknown> = {
  update: () => ({ action: "update", item_id: uuid(), change: 1, reason: "restock" }),
  process_order: () => ({ action: "process_order", order_id: uuid() }),
};

async function load(url: string, action: string, total: number) {
  let next = 0;
  const worker = async () => {
    while (next++ < total) {
      const response = await fetch(url, {
        method: "POST",
        headers: { Authorization: `Bearer ${jwt}`, "Content-Type": "application/json" },
        body: JSON.stringify(bodies[action]()),
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`${action} answered ${response.status}: ${text}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const functions = {
  ours: await serve(`${ROOT}/functions/inventory-operations/index.ts`, `${ROOT}/functions`),
  peer: await serve(`${ROOT}/bench/peer/inventory-operations/index.ts`, ROOT),
};
console.log(`| action | path | CPU ms per request, during | with the ${TAIL_S} s after |`);
console.log("|---|---|---:|---:|");
try {
  for (const action of Object.keys(bodies)) {
    // Both paths at once, so that the machine's load falls on both alike.
    const results = await Promise.all(Object.entries(functions).map(async ([path, { url, pid }]) => {
      await load(url, action, WARMUP);
      await sleep(TAIL_S);
      const before = cpuMsOfPid(pid);
      await load(url, action, REQUESTS);
      const during = cpuMsOfPid(pid) - before;
      await sleep(TAIL_S);
      const withTail = cpuMsOfPid(pid) - before;
      return `| ${action} | ${path} | ${(during / REQUESTS).toFixed(3)} | ${(withTail / REQUESTS).toFixed(3)} |`;
    }));
    for (const row of results) console.log(row);
  }
} finally {
  for (const { stop } of Object.values(functions)) await stop();
  await upstream.shutdown();
}
