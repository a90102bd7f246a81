// The Realtime benchmark, run by `scripts/bench` after bench/run.ts (or alone
// with `scripts/bench realtime` on a running bench stack): 100 subscribers
// (supabase-js clients, one socket each) across 10 shops, each subscribed to
// every change of `items` with no filter, so row-level security alone decides
// who gets what; a steady stream of stock updates, one shop after the other.
//
// Commit-to-delivery latency = time the callback ran - the change's
// commit_timestamp (Postgres and the clients share this machine's clock;
// commit_timestamp has millisecond precision). CPU per delivered event = CPU
// time of the gateway process (which serves Realtime) and of the Realtime's
// Postgres sessions (capture, row probes) over the stream, divided by the
// events delivered. Writes its section of BENCHMARKS.md between markers.

import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { cpuMsOfPid, env, jwtFor, quantile, writeSection } from "./support.ts";

const URL_ = env("SUPABASE_URL");
const ANON_KEY = env("SUPABASE_ANON_KEY");
const SECRET = env("SUPABASE_JWT_SECRET");
const RUN_DIR = env("BENCH_RUN_DIR");

const SHOPS = 10;
const SUBSCRIBERS_PER_SHOP = 10;
const UPDATES_PER_SECOND = 20;
const WARMUP_SECONDS = 5;
const MEASURE_SECONDS = 30;

const sql = postgres(env("DATABASE_URL"), { max: 2, onnotice: () => {} });

/** A Realtime session may have ended since it was listed: it then counts 0. */
function cpuMsOrZero(pid: number): number {
  try {
    return cpuMsOfPid(pid);
  } catch {
    return 0;
  }
}

async function realtimeBackends(): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`
    select pid from pg_stat_activity where application_name like 'local_realtime%'`;
  return rows.map((r) => r.pid);
}

interface World {
  shops: string[];
  items: string[];
  users: { id: string; shop: number }[];
}

async function createWorld(): Promise<World> {
  const run = crypto.randomUUID().slice(0, 8);
  const shops: string[] = [];
  const items: string[] = [];
  const users: { id: string; shop: number }[] = [];
  for (let s = 0; s < SHOPS; s++) {
    const members = Array.from({ length: SUBSCRIBERS_PER_SHOP }, () => crypto.randomUUID());
    for (const [i, id] of members.entries()) {
      await sql`insert into auth.users (id, aud, role, email) values (${id}, 'authenticated', 'authenticated', ${`rt-${run}-${s}-${i}@bench.shop`})`;
    }
    const [shop] = await sql<{ id: string }[]>`
      insert into public.shops (owner_id, name, slug) values (${members[0]}, ${"Realtime bench " + s}, ${`rt-bench-${run}-${s}`}) returning id`;
    for (const id of members.slice(1)) {
      await sql`insert into public.team_members (shop_id, user_id, role) values (${shop.id}, ${id}, 'viewer')`;
    }
    const [item] = await sql<{ id: string }[]>`
      insert into public.items (shop_id, name, sku, price, stock) values (${shop.id}, 'Bench item', ${`RT-${run}-${s}`}, 1, 1000) returning id`;
    shops.push(shop.id);
    items.push(item.id);
    users.push(...members.map((id) => ({ id, shop: s })));
  }
  return { shops, items, users };
}

async function destroyWorld(world: World) {
  await sql`delete from public.shops where id = any(${world.shops}::uuid[])`;
  await sql`delete from auth.users where id = any(${world.users.map((u) => u.id)}::uuid[])`;
}

async function main() {
  const world = await createWorld();
  const latencies: number[] = [];
  let measuring = false;
  let delivered = 0;
  let wrongShop = 0;
  const clients: SupabaseClient[] = [];
  try {
    let subscribed = 0;
    for (const user of world.users) {
      const jwt = await jwtFor(SECRET, user.id);
      const client = createClient(URL_, ANON_KEY, { accessToken: () => Promise.resolve(jwt) });
      // Subscribe once realtime-js has the token (else the join goes out as anon).
      await client.realtime.setAuth();
      clients.push(client);
      const mine = world.items[user.shop];
      client.channel(`bench-${user.id}`)
        .on("postgres_changes", { event: "*", schema: "public", table: "items" }, (payload) => {
          const receivedAt = performance.timeOrigin + performance.now();
          if ((payload.new as { id?: string }).id !== mine) wrongShop++;
          if (!measuring) return;
          delivered++;
          latencies.push(receivedAt - Date.parse(payload.commit_timestamp));
        })
        .subscribe((status) => {
          if (status === "SUBSCRIBED") subscribed++;
        });
    }
    const deadline = Date.now() + 60_000;
    while (subscribed < world.users.length) {
      if (Date.now() > deadline) throw new Error(`only ${subscribed} of ${world.users.length} subscribed`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const stream = async (seconds: number) => {
      const total = seconds * UPDATES_PER_SECOND;
      const started = performance.now();
      for (let i = 0; i < total; i++) {
        const wait = started + (i * 1000) / UPDATES_PER_SECOND - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const item = world.items[i % SHOPS];
        // Marked as a stock function's write, as update_stock does (the
        // database refuses any other stock change).
        await sql.begin(async (tx) => {
          await tx`select private.begin_stock_write()`;
          await tx`update public.items set stock = stock - 1 where id = ${item}`;
        });
      }
      return total;
    };
    await stream(WARMUP_SECONDS);
    await new Promise((r) => setTimeout(r, 2000));

    const gatewayPid = Number((await Deno.readTextFile(`${RUN_DIR}/gateway.pid`)).trim());
    const backends = await realtimeBackends();
    const gatewayBefore = cpuMsOrZero(gatewayPid);
    const backendsBefore = backends.map(cpuMsOrZero);
    measuring = true;
    const updates = await stream(MEASURE_SECONDS);
    const expected = updates * SUBSCRIBERS_PER_SHOP;
    const drainDeadline = Date.now() + 30_000;
    while (delivered < expected && Date.now() < drainDeadline) await new Promise((r) => setTimeout(r, 100));
    measuring = false;
    if (delivered === 0) throw new Error("no event was delivered");
    const gatewayMs = cpuMsOrZero(gatewayPid) - gatewayBefore;
    const backendsMs = backends.map(cpuMsOrZero).reduce((sum, ms, i) => sum + ms - backendsBefore[i], 0);

    const section = [
      "<!-- realtime -->",
      "## Realtime (postgres_changes)",
      "",
      `Written by \`bench/realtime.ts\`. Run: ${new Date().toISOString()}; load average ${
        (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ")
      } at the end.`,
      "",
      `${world.users.length} subscribers (supabase-js, one socket each) across ${SHOPS} shops (${SUBSCRIBERS_PER_SHOP} members each),`,
      "each subscribed to every change of `items` with no filter, so row-level security alone decides who",
      `gets what; ${UPDATES_PER_SECOND} stock updates per second (one shop after the other) for ${MEASURE_SECONDS} s after a`,
      `${WARMUP_SECONDS} s warm-up. Every update is delivered to its shop's ${SUBSCRIBERS_PER_SHOP} members and to no one else.`,
      "",
      "| measure | value |",
      "|---|---:|",
      `| updates committed | ${updates} |`,
      `| events delivered (expected ${expected}) | ${delivered} |`,
      `| events delivered to another shop's member | ${wrongShop} |`,
      `| commit-to-delivery latency p50 | ${quantile(latencies, 0.5).toFixed(0)} ms |`,
      `| commit-to-delivery latency p99 | ${quantile(latencies, 0.99).toFixed(0)} ms |`,
      `| commit-to-delivery latency max | ${Math.max(...latencies).toFixed(0)} ms |`,
      `| gateway CPU per delivered event | ${(gatewayMs / delivered * 1000).toFixed(0)} µs |`,
      `| Realtime's Postgres sessions CPU per delivered event | ${(backendsMs / delivered * 1000).toFixed(0)} µs |`,
      `| Realtime's Postgres sessions CPU per subscriber checked (${world.users.length} per change) | ${
        (backendsMs / (updates * world.users.length) * 1000).toFixed(0)
      } µs |`,
      "",
      "Latency runs from the commit (the change's `commit_timestamp`, milliseconds) to the subscriber's",
      "callback, on one machine's clock. The slot is read every 50 ms, so about 25 ms of the median is",
      "waiting for the next read. CPU is sampled from /proc (10 ms ticks) for the gateway process, which",
      "serves Realtime, and for the Realtime's own Postgres sessions (the slot reader and the row probes,",
      "one pipelined round trip per change for all subscribers); the clients' process is not counted.",
      "Every change is checked for every subscriber of the table, as hosted Realtime checks each",
      "subscription: a role and claims switch plus a primary-key read under the table's policy, of which",
      `only the shop's ${SUBSCRIBERS_PER_SHOP} members pass; that check is most of the Postgres CPU per delivered event.`,
      "<!-- /realtime -->",
    ].join("\n");
    await writeSection("realtime", section);
    console.log(section);
    if (wrongShop > 0) throw new Error(`${wrongShop} events reached another shop's member`);
  } finally {
    await Promise.all(clients.map((c) => c.removeAllChannels()));
    await destroyWorld(world);
    await sql.end();
  }
}

await main();
