// Promise 3: faults never half-apply an order, never hang a client and need
// no manual step to recover.
//  - Postgres is stopped (fast shutdown: open transactions are rolled back) and
//    started again while orders stream through the gateway and the function.
//    Every answer is 200 or 503 upstream_unavailable, each within a bound;
//    every order is either fully deducted (one history row per item, its whole
//    demand) or not at all; the stack serves again by itself; retrying the
//    refused orders with their idempotency keys completes them exactly once.
//  - The gateway is stopped: the functions answer 503 upstream_unavailable
//    quickly, and serve again once it is back.
//  - The gateway or a function process crashes (kill -9): its supervisor
//    (scripts/lib/supervise) logs the crash and starts it again, and it serves
//    within seconds without anyone running a command.

import { assert, connectDb, type FunctionName, test } from "../e2e/helpers.ts";
import { createItem, createOrder, createWorld, destroyWorld, type Line } from "../e2e/fixtures.ts";
import {
  callFunction,
  functionUrl,
  latency,
  recordFigures,
  SEED,
  seededRandom,
  shuffle,
  stackControl,
  type TimedAnswer,
  waitUntil,
} from "./support.ts";

const ORDERS = 150;
const IN_FLIGHT = 15;
/** No answer may take longer than this, fault or not. */
const ANSWER_BOUND_MS = 15_000;
const RECOVERY_BOUND_MS = 30_000;

interface Outcome {
  order: string;
  key: string;
  answer?: TimedAnswer;
  network_error?: string;
  started_ms: number;
}

/** Checks every order is all-or-nothing; returns the ids that were deducted. */
async function assertAllOrNothing(
  sql: ReturnType<typeof connectDb>,
  orders: { id: string; lines: Line[] }[],
  initial: Map<string, number>,
): Promise<Set<string>> {
  const rows = await sql<{ id: string; deducted: boolean }[]>`
    select id, stock_deducted_at is not null as deducted from public.form_submissions
     where id = any(${orders.map((o) => o.id)}::uuid[])`;
  const deducted = new Set(rows.filter((r) => r.deducted).map((r) => r.id));
  const history = await sql<{ reference_id: string; item_id: string; change: number }[]>`
    select reference_id, item_id, change from public.stock_history
     where reference_id = any(${orders.map((o) => o.id)}::uuid[])`;
  for (const order of orders) {
    const demand = new Map<string, number>();
    for (const l of order.lines) demand.set(l.item_id, (demand.get(l.item_id) ?? 0) + l.quantity);
    const rowsOfOrder = history.filter((h) => h.reference_id === order.id);
    if (deducted.has(order.id)) {
      assert.equal(rowsOfOrder.length, demand.size, `order ${order.id}: one history row per item`);
      for (const h of rowsOfOrder) assert.equal(-h.change, demand.get(h.item_id), `order ${order.id}: whole demand`);
    } else {
      assert.equal(rowsOfOrder.length, 0, `order ${order.id} not deducted but has history`);
    }
  }
  const stocks = await sql<{ id: string; stock: number }[]>`
    select id, stock from public.items where id = any(${[...initial.keys()]}::uuid[])`;
  for (const { id, stock } of stocks) {
    const sold = orders.filter((o) => deducted.has(o.id)).flatMap((o) => o.lines)
      .filter((l) => l.item_id === id).reduce((s, l) => s + l.quantity, 0);
    assert.equal(stock, initial.get(id)! - sold, `item ${id}: initial - deducted orders`);
  }
  return deducted;
}

test("Postgres restarted while orders are in flight: all or nothing, 503, recovers by itself", async () => {
  const random = seededRandom(SEED + 2);
  const setup = connectDb();
  let world = await createWorld(setup);
  try {
    const initial = new Map<string, number>();
    const items: string[] = [];
    for (let i = 0; i < 5; i++) {
      const item = await createItem(world, { stock: 10_000 });
      items.push(item.id);
      initial.set(item.id, 10_000);
    }
    const orders: { id: string; lines: Line[] }[] = [];
    for (let i = 0; i < ORDERS; i++) {
      const lines = shuffle(random, items).slice(0, 1 + Math.floor(random() * 3))
        .map((item_id) => ({ item_id, quantity: 1 + Math.floor(random() * 3) }));
      orders.push({ id: await createOrder(world, lines), lines });
    }

    // A stream of orders with IN_FLIGHT at a time; Postgres goes down shortly
    // after the stream starts and comes back once it has stopped.
    const outcomes: Outcome[] = orders.map((o) => ({ order: o.id, key: `fault-${o.id}`, started_ms: 0 }));
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < outcomes.length) {
        const outcome = outcomes[next++];
        outcome.started_ms = performance.now() - t0;
        try {
          outcome.answer = await callFunction(
            "inventory-operations",
            world.staff.jwt,
            { action: "process_order", order_id: outcome.order },
            { headers: { "idempotency-key": outcome.key }, timeoutMs: ANSWER_BOUND_MS },
          );
        } catch (error) {
          outcome.network_error = String(error);
        }
        // Paced so that the stream runs before, through and after the outage.
        await new Promise((r) => setTimeout(r, 300));
      }
    };
    // A transaction holding the first item's row lock makes the orders that
    // need it queue inside Postgres, so some are surely mid-transaction when
    // Postgres stops (fast shutdown aborts them).
    const lockHolder = connectDb();
    let release = () => {};
    const released = new Promise<void>((r) => (release = r));
    const locked = new Promise<void>((onLocked) => {
      lockHolder.begin(async (tx) => {
        await tx`select 1 from public.items where id = ${items[0]} for update`;
        onLocked();
        await released;
      }).catch(() => {});
    });
    await locked;
    const fault = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      const down = performance.now() - t0;
      await stackControl("pg_stop");
      release();
      await lockHolder.end({ timeout: 1 }).catch(() => {});
      await new Promise((r) => setTimeout(r, 1_000));
      await stackControl("pg_start");
      return { down_at_ms: Math.round(down), up_at_ms: Math.round(performance.now() - t0) };
    })();
    await Promise.all([...Array.from({ length: IN_FLIGHT }, worker), fault]);
    const window = await fault;

    const counts: Record<string, number> = {};
    for (const o of outcomes) {
      assert.ok(!o.network_error, `order ${o.order}: no answer within ${ANSWER_BOUND_MS} ms (${o.network_error})`);
      const a = o.answer!;
      const label = a.status === 200 ? "200" : `${a.status} ${a.body?.error?.code}`;
      counts[label] = (counts[label] ?? 0) + 1;
      if (a.status !== 200) {
        assert.equal(a.status, 503, `order ${o.order}: a fault is 503, never ${a.status}: ${a.text}`);
        assert.equal(a.body?.error?.code, "upstream_unavailable", a.text);
      }
    }
    assert.ok(
      (counts["503 upstream_unavailable"] ?? 0) > 0,
      `the outage was seen by some orders: ${JSON.stringify(counts)}`,
    );
    const inFlightAtStop = outcomes.filter((o) =>
      o.started_ms < window.down_at_ms && o.started_ms + o.answer!.ms > window.down_at_ms
    ).length;
    assert.ok(inFlightAtStop > 0, "some orders were in flight when Postgres stopped");

    // Back without a manual step: the same gateway and function processes serve again.
    const firstRefused = outcomes.find((o) => o.answer!.status !== 200)!;
    const recoveryMs = await waitUntil("the stack serving again", RECOVERY_BOUND_MS, async () => {
      const a = await callFunction("inventory-operations", world.staff.jwt, {
        action: "get_low_stock",
        shop_id: world.shopId,
      });
      return a.status === 200;
    });

    // A fresh connection for the assertions (the old one died with Postgres).
    world = { ...world, sql: connectDb() };
    await setup.end({ timeout: 1 }).catch(() => {});
    const deducted = await assertAllOrNothing(world.sql, orders, initial);
    for (const o of outcomes) {
      if (o.answer!.status === 200) {
        assert.ok(deducted.has(o.order), `order ${o.order} answered 200 but is not deducted`);
      }
    }

    // The refused orders retried with their keys: each completes exactly once.
    const retries = await Promise.all(
      outcomes.filter((o) => o.answer!.status !== 200).map((o) =>
        callFunction("inventory-operations", world.staff.jwt, { action: "process_order", order_id: o.order }, {
          headers: { "idempotency-key": o.key },
        })
      ),
    );
    for (const r of retries) assert.equal(r.status, 200, r.text);
    const after = await assertAllOrNothing(world.sql, orders, initial);
    assert.equal(after.size, ORDERS, "every order deducted once after the retries");
    assert.ok(firstRefused);

    const faultAnswers = outcomes.filter((o) => o.answer!.status === 503).map((o) => o.answer!.ms);
    await recordFigures("faults.postgres_restart", {
      orders: ORDERS,
      in_flight: IN_FLIGHT,
      answers: counts,
      in_flight_at_stop: inFlightAtStop,
      committed_despite_error: retries.filter((r) => r.body.data.already_processed).length,
      outage: window,
      latency_503: latency(faultAnswers),
      latency_all: latency(outcomes.map((o) => o.answer!.ms)),
      recovery_ms_after_start: Math.round(recoveryMs),
      answered_200_after_restart: outcomes.filter((o) =>
        o.started_ms > window.up_at_ms && o.answer!.status === 200
      ).length,
      sent_after_restart: outcomes.filter((o) => o.started_ms > window.up_at_ms).length,
      retried: retries.length,
    });
  } finally {
    // Postgres must be up for the next tests whatever happened above.
    await stackControl("pg_start");
    await destroyWorld(world);
  }
});

test("gateway stopped: every function answers 503 upstream_unavailable quickly", async () => {
  const world = await createWorld(connectDb());
  const functions: [FunctionName, unknown, string][] = [
    ["inventory-operations", { action: "get_low_stock", shop_id: world.shopId }, world.owner.jwt],
    ["analytics-operations", { action: "get_shop_stats", shop_id: world.shopId }, world.owner.jwt],
    ["admin-operations", { action: "list_backups" }, world.platformAdmin.jwt],
  ];
  const timings: number[] = [];
  try {
    await stackControl("proc_stop gateway");
    for (const [fn, body, jwt] of functions) {
      for (let i = 0; i < 5; i++) {
        const answer = await callFunction(fn, jwt, body, { baseUrl: functionUrl(fn), timeoutMs: 10_000 });
        assert.equal(answer.status, 503, `${fn}: ${answer.text}`);
        assert.equal(answer.body.error.code, "upstream_unavailable", answer.text);
        assert.ok(answer.ms < 2_000, `${fn} answered in ${answer.ms} ms`);
        timings.push(answer.ms);
      }
    }
  } finally {
    await stackControl("gateway_start");
  }
  for (const [fn, body, jwt] of functions) {
    const answer = await callFunction(fn, jwt, body);
    assert.equal(answer.status, 200, `${fn} serves again through the restarted gateway: ${answer.text}`);
  }
  await recordFigures("faults.gateway_stopped", { calls: timings.length, latency_503: latency(timings) });
  await destroyWorld(world);
});

/** How soon a crashed service must serve again: the supervisor's 1 s pause plus a start under load. */
const RESTART_BOUND_MS = 10_000;

test("a crashed gateway or function (kill -9) is restarted by its supervisor, and the crash is logged", async () => {
  const world = await createWorld(connectDb());
  const body = { action: "get_low_stock", shop_id: world.shopId };
  const figures: Record<string, number> = {};
  try {
    for (const [service, baseUrl] of [
      ["gateway", undefined],
      ["fn-inventory-operations", functionUrl("inventory-operations")],
    ] as const) {
      const restartsBefore = Number(await stackControl(`proc_restarts ${service}`));
      const pid = (await stackControl(`cat "$RUN_DIR/${service}.pid"`)).trim();
      assert.match(pid, /^\d+$/, `${service} pid`);
      await stackControl(`kill -KILL ${pid}`);
      const ms = await waitUntil(`${service} serving again`, RESTART_BOUND_MS, async () => {
        const answer = await callFunction("inventory-operations", world.owner.jwt, body, {
          baseUrl,
          timeoutMs: 2_000,
        });
        return answer.status === 200;
      });
      const newPid = (await stackControl(`cat "$RUN_DIR/${service}.pid"`)).trim();
      assert.ok(newPid !== pid, `${service} is a new process (was ${pid}, now ${newPid})`);
      const log = await stackControl(`cat "$LOG_DIR/${service}.log"`);
      assert.match(
        log,
        new RegExp(`\\[supervise [^\\]]+\\] ${service} \\(pid ${pid}\\) killed by signal 9; restarting`),
        `the crash is in ${service}'s log`,
      );
      assert.equal(Number(await stackControl(`proc_restarts ${service}`)), restartsBefore + 1);
      const status = (await stackControl("stack_status")).split("\n")
        .find((line) => line.startsWith(service.replace(/^fn-/, "")));
      assert.match(status, new RegExp(`running .*\\(restarts: ${restartsBefore + 1}\\)`), "scripts/dev status");
      figures[`${service}_serving_again_ms`] = Math.round(ms);
    }
  } finally {
    await destroyWorld(world);
  }
  await recordFigures("faults.crash_restart", figures);
});

/** crates/edge-core/src/rpc.rs RPC_TIMEOUT_MS: how long the edge waits for PostgREST. */
const RPC_TIMEOUT_MS = 20_000;

test("a hung upstream: the function gives up after its RPC timeout with 503, not a hang", async () => {
  // A server that accepts connections and never answers, and an inventory
  // function whose SUPABASE_URL points at it.
  const blackHole = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of blackHole) held.push(conn);
  })().catch(() => {});
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const root = new URL("../../", import.meta.url).pathname;
  const fn = new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      `--allow-read=${root}functions`,
      `${root}functions/inventory-operations/index.ts`,
    ],
    env: {
      PORT: String(port),
      SUPABASE_URL: `http://127.0.0.1:${(blackHole.addr as Deno.NetAddr).port}`,
      SUPABASE_ANON_KEY: "anon",
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const url = `http://127.0.0.1:${port}/`;
    await waitUntil(
      "the function listening",
      20_000,
      async () => (await fetch(url, { method: "OPTIONS" }).then((r) => r.body?.cancel().then(() => r.ok))) === true,
    );
    const world = { jwt: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln" };
    const answers = await Promise.all(
      Array.from(
        { length: 3 },
        () =>
          callFunction("inventory-operations", world.jwt, { action: "get_low_stock", shop_id: crypto.randomUUID() }, {
            baseUrl: url,
            timeoutMs: RPC_TIMEOUT_MS + 15_000,
          }),
      ),
    );
    for (const answer of answers) {
      assert.equal(answer.status, 503, answer.text);
      assert.equal(answer.body.error.code, "upstream_unavailable", answer.text);
      assert.ok(
        answer.ms >= RPC_TIMEOUT_MS - 1_000 && answer.ms < RPC_TIMEOUT_MS + 5_000,
        `answered after ${answer.ms} ms`,
      );
    }
    await recordFigures("faults.hung_upstream", {
      rpc_timeout_ms: RPC_TIMEOUT_MS,
      latency_503: latency(answers.map((a) => a.ms)),
    });
  } finally {
    fn.kill();
    await fn.status;
    blackHole.close();
    for (const conn of held) conn.close();
    await accepting;
  }
});
