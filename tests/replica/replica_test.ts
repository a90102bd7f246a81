// Reads a replica can serve (scripts/test's replica layer, on a stack started
// with a streaming hot standby, as `scripts/dev --replica` does): the gateway
// sends /rest/v1 GET and HEAD to the standby and everything else to the
// primary, as hosted Supabase's API load balancer does with read replicas.
//
// The standby's replay is paused while the owner writes, so every answer
// shows where it was served: a read from the standby still has the old stock,
// one from the primary has the new.
//
// Run: set -a; source .local/test/stack.env; set +a
//      REPLICA_ADMIN_URL=... deno test --allow-net --allow-env --allow-read tests/replica/

import { createClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { assert } from "../assert.ts";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run through scripts/test`);
  return value;
}

const SHOP_A = env("DEMO_SHOP_A_ID");
const owner = createClient(env("SUPABASE_URL"), env("SUPABASE_PUBLISHABLE_KEY"), {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  global: { headers: { Authorization: `Bearer ${env("DEMO_OWNER_JWT")}` } },
});

async function withDatabases(test: (primary: postgres.Sql, standby: postgres.Sql) => Promise<void>) {
  const primary = postgres(env("DATABASE_URL"), { max: 1, onnotice: () => {} });
  // The superuser: pausing replay is not granted to postgres, here as on hosted.
  const standby = postgres(env("REPLICA_ADMIN_URL"), { max: 1, onnotice: () => {} });
  try {
    await test(primary, standby);
  } finally {
    await standby`select pg_catalog.pg_wal_replay_resume()`.catch(() => {});
    await Promise.all([primary.end(), standby.end()]);
  }
}

/** Waits until the standby has replayed everything the primary has written. */
async function caughtUp(primary: postgres.Sql, standby: postgres.Sql) {
  const [{ lsn }] = await primary`select pg_catalog.pg_current_wal_lsn()::text as lsn`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const [{ behind }] = await standby`
      select pg_catalog.pg_last_wal_replay_lsn() < ${lsn}::pg_lsn as behind`;
    if (!behind) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the standby did not replay up to ${lsn} within 10 s`);
}

async function stockOnTable(itemId: string): Promise<number> {
  const { data, error } = await owner.from("items").select("stock").eq("id", itemId).single();
  assert.ok(!error, JSON.stringify(error));
  return data!.stock;
}

async function lowStockByFunction(itemId: string): Promise<number | undefined> {
  const { data, error } = await owner.functions.invoke("inventory-operations", {
    body: { action: "get_low_stock", shop_id: SHOP_A, threshold: 1_000_000 },
  });
  assert.ok(!error, String(error));
  return data.data.items.find((item: { id: string }) => item.id === itemId)?.stock;
}

Deno.test("reads are served by the standby and writes by the primary", async () => {
  await withDatabases(async (primary, standby) => {
    const [{ recovering }] = await standby`select pg_catalog.pg_is_in_recovery() as recovering`;
    assert.ok(recovering, "the replica is a hot standby");
    const [item] = await primary`
      select id, stock from public.items
      where shop_id = ${SHOP_A} and track_stock and is_active order by id limit 1`;
    await caughtUp(primary, standby);
    await standby`select pg_catalog.pg_wal_replay_pause()`;

    // A write goes to the primary (the standby would refuse it: read-only).
    const { data: written, error } = await owner.functions.invoke("inventory-operations", {
      body: { action: "update", item_id: item.id, change: 3, reason: "restock" },
    });
    assert.ok(!error, String(error));
    assert.deepEqual(
      [written.data.previous_stock, written.data.new_stock],
      [item.stock, item.stock + 3],
    );

    // A table read (GET) and the function's read-only action (GET RPC) are
    // the standby's: they do not see the write yet.
    assert.deepEqual(await stockOnTable(item.id), item.stock);
    assert.deepEqual(await lowStockByFunction(item.id), item.stock);
    // The same STABLE function by POST is the primary's.
    const { data: byPost, error: postError } = await owner.rpc("get_low_stock_items", {
      p_shop_id: SHOP_A,
      p_threshold: 1_000_000,
    });
    assert.ok(!postError, JSON.stringify(postError));
    assert.deepEqual(
      byPost.items.find((row: { id: string }) => row.id === item.id)?.stock,
      item.stock + 3,
    );

    // Once the standby has replayed the write, reads show it.
    await standby`select pg_catalog.pg_wal_replay_resume()`;
    await caughtUp(primary, standby);
    assert.deepEqual(await stockOnTable(item.id), item.stock + 3);
    assert.deepEqual(await lowStockByFunction(item.id), item.stock + 3);
  });
});
