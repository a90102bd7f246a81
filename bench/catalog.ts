// The product-catalog read, run by `scripts/bench` after bench/run.ts (or alone
// with `scripts/bench catalog` on a running bench stack): a page of 50 items
// of a 500-item shop, each with its last 5 stock movements, as a staff
// member's supabase-js reads them
//   embedded     one request, `stock_history(...)` embedded with a per-item
//                order and limit (docs/DIRECT_ACCESS.md, "Product catalog");
//   two requests the items, then the history of those 50 items, joined in the
//                client. PostgREST has no per-group limit outside an
//                embedding, so the second request brings every history row
//                of the 50 items and the client keeps the newest 5 of each.
// Both answers are checked to be the same data before anything is measured.
// The two are interleaved round by round, in an order alternated every
// round, so the load of this shared machine falls on both alike; the ratio
// is what to read. Writes its section of BENCHMARKS.md between markers.

import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { cpuMsOfPid, env, jwtFor, median, quantile, writeSection } from "./support.ts";

const URL_ = env("SUPABASE_URL");
const ANON_KEY = env("SUPABASE_ANON_KEY");
const SECRET = env("SUPABASE_JWT_SECRET");
const RUN_DIR = env("BENCH_RUN_DIR");

const ITEMS_IN_SHOP = 500;
const ITEMS = 50; // one page
const HISTORY_PER_ITEM = 20;
const SHOWN_PER_ITEM = 5;
const WARMUP_READS = 30;
const ROUNDS = 20;
const READS_PER_ROUND = 25;

const sql = postgres(env("DATABASE_URL"), { max: 2, onnotice: () => {} });

interface World {
  shopId: string;
  userId: string;
  ownerId: string;
}

/**
 * A shop with a staff member and 500 items, each with 20 movements (stock = the
 * sum of its history): 10,000 history rows, so the planner sees a table of a
 * real shop's size rather than one that fits in a page or two.
 */
async function createWorld(): Promise<World> {
  const run = crypto.randomUUID().slice(0, 8);
  const userId = crypto.randomUUID();
  const ownerId = crypto.randomUUID();
  let shopId = "";
  await sql.begin(async (tx) => {
    await tx`insert into auth.users (id, aud, role, email) values
      (${ownerId}, 'authenticated', 'authenticated', ${`catalog-owner-${run}@bench.shop`}),
      (${userId}, 'authenticated', 'authenticated', ${`catalog-staff-${run}@bench.shop`})`;
    const [shop] = await tx<{ id: string }[]>`
      insert into public.shops (owner_id, name, slug) values (${ownerId}, 'Catalog bench', ${`catalog-bench-${run}`}) returning id`;
    shopId = shop.id;
    await tx`insert into public.team_members (shop_id, user_id, role) values (${shopId}, ${userId}, 'staff')`;
    await tx`
      insert into public.items (shop_id, name, sku, price, stock, low_stock_threshold)
      select ${shopId}, format('Item %s', lpad(n::text, 3, '0')), format('CAT-%s-%s', ${run}::text, n), 10 + n, 0, 5
        from generate_series(1, ${ITEMS_IN_SHOP}) n`;
    // The movements of each item, a minute apart; the stock follows them, as
    // the stock functions would have left it.
    await tx`
      insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason, created_at)
      select i.shop_id, i.id, 1, m - 1, m, 'restock', now() - make_interval(mins => ${HISTORY_PER_ITEM} - m)
        from public.items i cross join generate_series(1, ${HISTORY_PER_ITEM}) m
       where i.shop_id = ${shopId}`;
    await tx`select private.begin_stock_write()`;
    await tx`update public.items set stock = ${HISTORY_PER_ITEM} where shop_id = ${shopId}`;
    await tx`select private.end_stock_write()`;
  });
  await sql`analyze public.items`;
  await sql`analyze public.stock_history`;
  return { shopId, userId, ownerId };
}

async function destroyWorld(world: World) {
  await sql`delete from public.shops where id = ${world.shopId}`;
  await sql`delete from auth.users where id in (${world.userId}, ${world.ownerId})`;
}

type Movement = { change: number; new_stock: number; reason: string; created_at: string };
type CatalogItem = {
  id: string;
  name: string;
  sku: string | null;
  price: number;
  stock: number | null;
  low_stock_threshold: number | null;
  stock_history: Movement[];
};

const ITEM_COLUMNS = "id, name, sku, price, stock, low_stock_threshold";
const MOVEMENT_COLUMNS = "change, new_stock, reason, created_at";

/** One request: the items with their newest 5 movements embedded. */
async function embedded(client: SupabaseClient, shopId: string): Promise<{ items: CatalogItem[]; bytes: number }> {
  const { data, error } = await client
    .from("items")
    .select(`${ITEM_COLUMNS}, stock_history(${MOVEMENT_COLUMNS})`)
    .eq("shop_id", shopId)
    .eq("is_active", true)
    .order("name")
    .limit(ITEMS)
    .order("created_at", { referencedTable: "stock_history", ascending: false })
    .limit(SHOWN_PER_ITEM, { referencedTable: "stock_history" });
  if (error) throw new Error(`embedded: ${JSON.stringify(error)}`);
  return { items: data as CatalogItem[], bytes: JSON.stringify(data).length };
}

/** Two requests: the page of items, then every movement of those items; the client keeps the newest 5 of each. */
async function twoRequests(client: SupabaseClient, shopId: string): Promise<{ items: CatalogItem[]; bytes: number }> {
  const items = await client
    .from("items")
    .select(ITEM_COLUMNS)
    .eq("shop_id", shopId)
    .eq("is_active", true)
    .order("name")
    .limit(ITEMS);
  if (items.error) throw new Error(`items: ${JSON.stringify(items.error)}`);
  const ids = items.data.map((i) => i.id as string);
  const history = await client
    .from("stock_history")
    .select(`item_id, ${MOVEMENT_COLUMNS}`)
    .in("item_id", ids)
    .order("item_id")
    .order("created_at", { ascending: false });
  if (history.error) throw new Error(`history: ${JSON.stringify(history.error)}`);
  const byItem = new Map<string, Movement[]>();
  for (const { item_id, ...movement } of history.data as (Movement & { item_id: string })[]) {
    const list = byItem.get(item_id) ?? [];
    if (list.length < SHOWN_PER_ITEM) list.push(movement);
    byItem.set(item_id, list);
  }
  return {
    items: items.data.map((item) => ({ ...item, stock_history: byItem.get(item.id as string) ?? [] })) as CatalogItem[],
    bytes: JSON.stringify(items.data).length + JSON.stringify(history.data).length,
  };
}

type Path = "embedded" | "two requests";
const PATHS: Path[] = ["embedded", "two requests"];
const READ: Record<Path, typeof embedded> = { embedded, "two requests": twoRequests };

async function main() {
  const world = await createWorld();
  const jwt = await jwtFor(SECRET, world.userId);
  const client = createClient(URL_, ANON_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { headers: { Authorization: `Bearer ${jwt}` } },
  });
  const gatewayPid = Number((await Deno.readTextFile(`${RUN_DIR}/gateway.pid`)).trim());
  const loadBefore = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  try {
    // The same data both ways, or the comparison means nothing.
    const [a, b] = [await embedded(client, world.shopId), await twoRequests(client, world.shopId)];
    if (a.items.length !== ITEMS || a.items.some((i) => i.stock_history.length !== SHOWN_PER_ITEM)) {
      throw new Error(`embedded: expected ${ITEMS} items with ${SHOWN_PER_ITEM} movements each`);
    }
    if (JSON.stringify(a.items) !== JSON.stringify(b.items)) {
      throw new Error(`the two paths disagree: ${JSON.stringify(a.items[0])} vs ${JSON.stringify(b.items[0])}`);
    }
    const bytes: Record<Path, number> = { embedded: a.bytes, "two requests": b.bytes };

    for (let i = 0; i < WARMUP_READS; i++) for (const path of PATHS) await READ[path](client, world.shopId);

    const latencies: Record<Path, number[]> = { embedded: [], "two requests": [] };
    const gatewayCpuMs: Record<Path, number> = { embedded: 0, "two requests": 0 };
    const roundRatios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const roundMedians: Partial<Record<Path, number>> = {};
      for (const path of round % 2 === 0 ? PATHS : [...PATHS].reverse()) {
        const times: number[] = [];
        const cpuBefore = cpuMsOfPid(gatewayPid);
        for (let i = 0; i < READS_PER_ROUND; i++) {
          const started = performance.now();
          await READ[path](client, world.shopId);
          times.push(performance.now() - started);
        }
        gatewayCpuMs[path] += cpuMsOfPid(gatewayPid) - cpuBefore;
        latencies[path].push(...times);
        roundMedians[path] = median(times);
      }
      roundRatios.push(roundMedians.embedded! / roundMedians["two requests"]!);
    }
    const loadAfter = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
    const reads = ROUNDS * READS_PER_ROUND;
    const ratio = median(latencies.embedded) / median(latencies["two requests"]);
    const row = (path: Path) =>
      `| ${path} | ${path === "embedded" ? 1 : 2} | ${median(latencies[path]).toFixed(2)} | ${
        quantile(latencies[path], 0.95).toFixed(2)
      } | ${(gatewayCpuMs[path] / reads).toFixed(2)} | ${bytes[path].toLocaleString("en-US")} | ${reads} |`;

    const section = [
      "<!-- catalog -->",
      "## Product catalog: embedding vs two requests joined in the client",
      "",
      `Written by \`bench/catalog.ts\` (\`scripts/bench\`; alone: \`scripts/bench catalog\` on a running bench stack). Run: ${
        new Date().toISOString()
      }; load average ${loadBefore} at the start, ${loadAfter} at the end.`,
      "The machine is shared with other builds and test runs, so the absolute times move from run to run;",
      "the two paths are interleaved round by round (the order alternated every round), so read the ratio.",
      "",
      `A staff member's catalog screen through supabase-js and the gateway: the first page of ${ITEMS} items (by name)`,
      `of a shop with ${ITEMS_IN_SHOP}, each with its newest ${SHOWN_PER_ITEM} stock movements (every item has ${HISTORY_PER_ITEM} movements:`,
      `${(ITEMS_IN_SHOP * HISTORY_PER_ITEM).toLocaleString("en-US")} history rows in the shop).`,
      "- **embedded**: one request, `stock_history(...)` embedded with `order` and `limit` per item",
      "  (the query of docs/DIRECT_ACCESS.md, \"Product catalog\", with `.limit(50)`).",
      "- **two requests**: the items, then `stock_history?item_id=in.(<the 50 ids>)` newest first, joined in the",
      `  client. A per-item limit exists only inside an embedding, so this brings all ${ITEMS * HISTORY_PER_ITEM} movements of the page`,
      `  and the client keeps ${ITEMS * SHOWN_PER_ITEM}.`,
      "",
      `Both answers were checked to be the same data. ${ROUNDS} rounds of ${READS_PER_ROUND} reads per path after ${WARMUP_READS} warm-up`,
      "reads each, one read at a time; a read is timed from the first request sent to the joined result.",
      "",
      "| path | requests | median ms | p95 ms | gateway CPU ms per read | JSON bytes of the answers | reads |",
      "|---|---:|---:|---:|---:|---:|---:|",
      row("embedded"),
      row("two requests"),
      "",
      `Ratio embedded / two requests, median latency: **${ratio.toFixed(2)}** (per round ${
        Math.min(...roundRatios).toFixed(2)
      }–${Math.max(...roundRatios).toFixed(2)}, median ${median(roundRatios).toFixed(2)}; embedding was faster in ${
        roundRatios.filter((r) => r < 1).length
      } of ${ROUNDS} rounds).`,
      "Gateway CPU is its process's user + system time over the rounds (/proc, 10 ms ticks), per read;",
      "Postgres and the client are not counted.",
      "",
      "Both paths read the page through the index `items (shop_id, name)` (migration `catalog_page_index`),",
      `so the embedded history is built for the ${ITEMS} items of the page only. Without it Postgres builds it for all`,
      `${ITEMS_IN_SHOP} items before sorting by name and cutting the page, and the embedded read took 1.5x the time of`,
      "the two requests (measured when this case was written, 2026-11-29).",
      "<!-- /catalog -->",
    ].join("\n");
    await writeSection("catalog", section);
    console.log(section);
  } finally {
    await destroyWorld(world);
    await sql.end();
  }
}

await main();
