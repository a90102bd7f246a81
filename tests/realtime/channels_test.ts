// supabase-js channels against the local Realtime: each change reaches
// exactly the subscribers whose RLS lets them select the row, in commit
// order, with the payload shape realtime-js hands to callbacks.
//
// Run: set -a; source .local/stack.env; set +a
//      deno test --allow-net --allow-env --allow-read --allow-write=.local --allow-run=bash tests/realtime/

import { assert, assertError, assertOk, clientFor, connectDb, invoke, tag, test, uuid } from "../e2e/helpers.ts";
import { createWorld, destroyWorld, type World } from "../e2e/fixtures.ts";
import { signJwt } from "../e2e/helpers.ts";
import { closeAll, docExamples, type Recorder, realtimeClient, sleep, subscribe, waitFor } from "./support.ts";

const sql = connectDb();
const world: World = await createWorld(sql);

async function addItem(shopId: string, stock = 10, extra: { threshold?: number } = {}): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into public.items (shop_id, name, sku, price, stock, low_stock_threshold)
    values (${shopId}, ${"Realtime item " + tag()}, ${"RT-" + tag()}, 12.5, ${stock}, ${extra.threshold ?? null})
    returning id`;
  return row.id;
}

/** Sets stock directly (as postgres, bypassing the function) for fixtures. */
async function setStock(itemId: string, stock: number): Promise<void> {
  // Test setup writes stock directly, marked as a stock function's write (the
  // database refuses any other); only the change event matters here.
  await sql.begin(async (tx) => {
    await tx`select private.begin_stock_write()`;
    await tx`update public.items set stock = ${stock} where id = ${itemId}`;
  });
}

/**
 * Proof of silence: after a change in `shopId` that `recorder` must see,
 * everything committed before it has been delivered (commit order), so an
 * absent earlier change was not sent.
 */
async function flush(recorder: Recorder, shopId: string): Promise<void> {
  const marker = await addItem(shopId, 1);
  await setStock(marker, 2);
  await recorder.changeWhere("the marker change", (c) => (c.new as { id?: string }).id === marker);
}

test("the owner sees their item's stock change made through inventory-operations, with realtime-js's payload", async () => {
  const itemId = await addItem(world.shopId, 10);
  const owner = await realtimeClient(world.owner.jwt);
  try {
    const { recorder } = await subscribe(owner, `owner-${tag()}`, [{ event: "*", table: "items" }]);
    const answer = await invoke(clientFor(world.owner.jwt), "inventory-operations", {
      action: "update",
      item_id: itemId,
      change: -3,
      reason: "sale",
    });
    assert.equal(assertOk(answer).new_stock, 7);
    const change = await recorder.changeWhere("the stock update", (c) => (c.new as { id?: string }).id === itemId);
    assert.equal(change.eventType, "UPDATE");
    assert.equal(change.schema, "public");
    assert.equal(change.table, "items");
    assert.equal(change.errors, null);
    assert.match(change.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const row = change.new as Record<string, unknown>;
    const before = change.old as Record<string, unknown>;
    // realtime-js converts by column type: integers and numerics are numbers, booleans booleans.
    assert.deepEqual([row.stock, before.stock, row.price, row.track_stock], [7, 10, 12.5, true]);
    assert.equal(row.shop_id, world.shopId);
    // Timestamps as PostgREST renders them.
    assert.match(row.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/);
  } finally {
    await closeAll(owner);
  }
});

test("another shop's owner subscribed to the same tables sees nothing of it", async () => {
  const itemId = await addItem(world.shopId, 10);
  const outsider = await realtimeClient(world.outsider.jwt);
  const owner = await realtimeClient(world.owner.jwt);
  try {
    const theirs = await subscribe(outsider, `outsider-${tag()}`, [
      { event: "*", table: "items" },
      { event: "*", table: "stock_history" },
    ]);
    const mine = await subscribe(owner, `owner-${tag()}`, [{ event: "*", table: "stock_history" }]);
    assertOk(
      await invoke(clientFor(world.owner.jwt), "inventory-operations", {
        action: "update",
        item_id: itemId,
        change: 5,
        reason: "restock",
      }),
    );
    await mine.recorder.changeWhere("the owner's history row", (c) => (c.new as { item_id?: string }).item_id === itemId);
    await flush(theirs.recorder, world.otherShopId);
    const leaked = theirs.recorder.changes.filter((c) =>
      JSON.stringify(c).includes(itemId) || JSON.stringify(c).includes(world.shopId)
    );
    assert.deepEqual(leaked, [], "the other shop's owner received a change of this shop");
  } finally {
    await closeAll(outsider, owner);
  }
});

test("a viewer receives changes but cannot make one", async () => {
  const itemId = await addItem(world.shopId, 10);
  const viewer = await realtimeClient(world.viewer.jwt);
  try {
    const { recorder } = await subscribe(viewer, `viewer-${tag()}`, [{ event: "UPDATE", table: "items" }]);
    const refused = await invoke(clientFor(world.viewer.jwt), "inventory-operations", {
      action: "update",
      item_id: itemId,
      change: 1,
      reason: "restock",
    });
    assertError(refused, 403, "forbidden");
    assertOk(
      await invoke(clientFor(world.owner.jwt), "inventory-operations", {
        action: "update",
        item_id: itemId,
        change: 2,
        reason: "restock",
      }),
    );
    const change = await recorder.changeWhere("the owner's update", (c) => (c.new as { id?: string }).id === itemId);
    assert.equal((change.new as { stock: number }).stock, 12, "the refused +1 changed nothing");
    assert.equal(recorder.changes.filter((c) => (c.new as { id?: string }).id === itemId).length, 1);
  } finally {
    await closeAll(viewer);
  }
});

test("event and column filters: eq, neq, lt, lte, gt, gte, in, not, and several bindings on one channel", async () => {
  const [a, b] = [await addItem(world.shopId, 10), await addItem(world.shopId, 10)];
  const owner = await realtimeClient(world.owner.jwt);
  try {
    const f = (filter: string) => ({ event: "UPDATE" as const, table: "items", filter });
    const channels = {
      eq: await subscribe(owner, `eq-${tag()}`, [f(`id=eq.${a}`)]),
      neq: await subscribe(owner, `neq-${tag()}`, [f(`id=neq.${a}`)]),
      lt: await subscribe(owner, `lt-${tag()}`, [f(`stock=lt.5`)]),
      lte: await subscribe(owner, `lte-${tag()}`, [f(`stock=lte.5`)]),
      gt: await subscribe(owner, `gt-${tag()}`, [f(`stock=gt.5`)]),
      gte: await subscribe(owner, `gte-${tag()}`, [f(`stock=gte.5`)]),
      in: await subscribe(owner, `in-${tag()}`, [f(`id=in.(${a},${uuid()})`)]),
      not: await subscribe(owner, `not-${tag()}`, [f(`id=not.in.(${a})`)]),
      and: await subscribe(owner, `and-${tag()}`, [f(`shop_id=eq.${world.shopId},stock=gte.5`)]),
      inserts: await subscribe(owner, `ins-${tag()}`, [{ event: "INSERT", table: "items" }]),
      two: await subscribe(owner, `two-${tag()}`, [
        { event: "INSERT", table: "items" },
        { event: "UPDATE", table: "items", filter: `id=eq.${b}` },
      ]),
    };
    await setStock(a, 4);
    await setStock(b, 5);
    await setStock(b, 6);
    const fresh = await addItem(world.shopId, 1);
    await channels.inserts.recorder.changeWhere("the insert", (c) => (c.new as { id?: string }).id === fresh);
    // Everything before the insert has been delivered (commit order).
    await channels.two.recorder.changeWhere("the insert", (c) => (c.new as { id?: string }).id === fresh);
    const seen = (name: keyof typeof channels) =>
      channels[name].recorder.changes
        .filter((c) => [a, b].includes((c.new as { id: string }).id))
        .map((c) => `${(c.new as { id: string }).id === a ? "a" : "b"}${(c.new as { stock: number }).stock}`);
    assert.deepEqual(seen("eq"), ["a4"]);
    assert.deepEqual(seen("neq"), ["b5", "b6"]);
    assert.deepEqual(seen("lt"), ["a4"]);
    assert.deepEqual(seen("lte"), ["a4", "b5"]);
    assert.deepEqual(seen("gt"), ["b6"]);
    assert.deepEqual(seen("gte"), ["b5", "b6"]);
    assert.deepEqual(seen("in"), ["a4"]);
    assert.deepEqual(seen("not"), ["b5", "b6"]);
    assert.deepEqual(seen("and"), ["b5", "b6"]);
    assert.deepEqual(seen("inserts"), [], "an INSERT binding gets no updates");
    assert.deepEqual(seen("two"), ["b5", "b6"]);
    assert.deepEqual(
      channels.two.recorder.changes.map((c) => c.eventType),
      ["UPDATE", "UPDATE", "INSERT"],
    );
  } finally {
    await closeAll(owner);
  }
});

test("deletes: the shop's members get the whole old row, another shop nothing", async () => {
  // No opening stock: an item with a history row cannot be deleted, only deactivated.
  const itemId = await addItem(world.shopId, 0);
  const owner = await realtimeClient(world.owner.jwt);
  const outsider = await realtimeClient(world.outsider.jwt);
  try {
    const mine = await subscribe(owner, `del-${tag()}`, [{ event: "DELETE", table: "items" }]);
    const theirs = await subscribe(outsider, `del-${tag()}`, [{ event: "DELETE", table: "items" }]);
    const { error } = await clientFor(world.owner.jwt).from("items").delete().eq("id", itemId);
    assert.equal(error, null);
    const change = await mine.recorder.changeWhere("the delete", (c) => (c.old as { id?: string }).id === itemId);
    assert.equal(change.eventType, "DELETE");
    assert.deepEqual(change.new, {});
    assert.equal((change.old as { stock: number }).stock, 0);
    assert.equal((change.old as { shop_id: string }).shop_id, world.shopId);
    const marker = await addItem(world.otherShopId, 0);
    await sql`delete from public.items where id = ${marker}`;
    await theirs.recorder.changeWhere("their own delete", (c) => (c.old as { id?: string }).id === marker);
    assert.deepEqual(
      theirs.recorder.changes.filter((c) => (c.old as { id?: string }).id === itemId),
      [],
      "another shop's owner received the delete",
    );
  } finally {
    await closeAll(owner, outsider);
  }
});

test("new orders (INSERT on form_submissions) reach the shop, with the order's numbers", async () => {
  const owner = await realtimeClient(world.owner.jwt);
  try {
    const { recorder } = await subscribe(owner, `orders-${tag()}`, [
      { event: "INSERT", table: "form_submissions", filter: `shop_id=eq.${world.shopId}` },
    ]);
    const [order] = await sql<{ id: string; order_number: number }[]>`
      insert into public.form_submissions (shop_id, customer_name, line_items, subtotal, total)
      values (${world.shopId}, 'Realtime customer', '[]', 30, 30) returning id, order_number`;
    const change = await recorder.changeWhere("the order", (c) => (c.new as { id?: string }).id === order.id);
    const row = change.new as Record<string, unknown>;
    assert.deepEqual([row.order_number, row.total, row.status, row.line_items], [order.order_number, 30, "pending", []]);
  } finally {
    await closeAll(owner);
  }
});

test("setAuth: a new token on an open channel changes whose eyes it looks through", async () => {
  const itemId = await addItem(world.shopId, 10);
  const client = await realtimeClient(world.outsider.jwt);
  try {
    const { recorder } = await subscribe(client, `switch-${tag()}`, [{ event: "UPDATE", table: "items" }]);
    await setStock(itemId, 9);
    await flush(recorder, world.otherShopId);
    assert.equal(recorder.changes.filter((c) => (c.new as { id?: string }).id === itemId).length, 0);
    await client.realtime.setAuth(world.owner.jwt);
    // The access_token message travels on the same socket, before the next change.
    await sleep(200);
    await setStock(itemId, 8);
    const change = await recorder.changeWhere("the change seen as the owner", (c) => (c.new as { id?: string }).id === itemId);
    assert.equal((change.new as { stock: number }).stock, 8);
  } finally {
    await closeAll(client);
  }
});

test("an expired token stops delivery: a system error, then the channel is closed", async () => {
  const itemId = await addItem(world.shopId, 10);
  const now = Math.floor(Date.now() / 1000);
  const shortLived = await signJwt({
    sub: world.owner.id,
    role: "authenticated",
    aud: "authenticated",
    iat: now,
    exp: now + 3,
  });
  const client = await realtimeClient(shortLived);
  try {
    const { recorder } = await subscribe(client, `expiring-${tag()}`, [{ event: "UPDATE", table: "items" }]);
    await setStock(itemId, 9);
    await recorder.changeWhere("a change before expiry", (c) => (c.new as { id?: string }).id === itemId);
    await waitFor("the expiry system message", 10_000, () =>
      recorder.system.some((m) => m.extension === "system" && m.status === "error"));
    const message = recorder.system.find((m) => m.extension === "system");
    assert.match(message.message, /^Token has expired/);
    await recorder.status("CLOSED");
    await setStock(itemId, 8);
    await sleep(1000);
    assert.equal(recorder.changes.filter((c) => (c.new as { stock?: number }).stock === 8).length, 0);
  } finally {
    await closeAll(client);
  }
});

test("refusals: a bad JWT cannot join, a table outside the publication and a bad filter get a system error", async () => {
  const forged = await signJwt({ sub: world.owner.id, role: "authenticated" }, "not-the-secret-not-the-secret-123");
  const bad = await realtimeClient(forged);
  const owner = await realtimeClient(world.owner.jwt);
  try {
    const errors: string[] = [];
    bad.channel(`forged-${tag()}`)
      .on("postgres_changes", { event: "*", schema: "public", table: "items" }, () => {})
      .subscribe((status, error) => {
        if (status === "CHANNEL_ERROR") errors.push(error?.message ?? "");
      });
    await waitFor("CHANNEL_ERROR for a forged JWT", 10_000, () => errors.length > 0);
    assert.match(errors[0], /JWT/);

    for (const [table, filter, wanted] of [
      ["shops", undefined, /Unable to subscribe to changes with given parameters/],
      ["items", "no_such_column=eq.1", /invalid column for filter no_such_column/],
      ["items", "stock=eq.lots", /invalid value for filter stock/],
      ["items", "stock=like.5", /operator `like`/],
    ] as const) {
      const system: { extension: string; status: string; message: string }[] = [];
      const statuses: string[] = [];
      owner.channel(`refused-${tag()}`)
        // deno-lint-ignore no-explicit-any
        .on("postgres_changes" as any, { event: "*", schema: "public", table, filter }, () => {})
        .on("system", {}, (m) => system.push(m))
        .subscribe((status) => statuses.push(status));
      await waitFor(`a system error for ${table} ${filter}`, 10_000, () => system.length > 0);
      assert.equal(system[0].status, "error", JSON.stringify(system));
      assert.match(system[0].message, wanted);
    }
  } finally {
    await closeAll(bad, owner);
  }
});

test("protocol 1.0.0 (JSON objects) works like 2.0.0", async () => {
  const itemId = await addItem(world.shopId, 10);
  const client = await realtimeClient(world.staff.jwt, "1.0.0");
  try {
    const { recorder } = await subscribe(client, `v1-${tag()}`, [{ event: "UPDATE", table: "items", filter: `id=eq.${itemId}` }]);
    await setStock(itemId, 4);
    const change = await recorder.changeWhere("the update", (c) => (c.new as { id?: string }).id === itemId);
    assert.deepEqual([(change.new as { stock: number }).stock, (change.old as { stock: number }).stock], [4, 10]);
  } finally {
    await closeAll(client);
  }
});

test("many subscribers: 60 sockets across both shops each get exactly their shop's changes", async () => {
  const items = [await addItem(world.shopId, 50), await addItem(world.otherShopId, 50)];
  const people = [
    { jwt: world.owner.jwt, shop: 0 },
    { jwt: world.viewer.jwt, shop: 0 },
    { jwt: world.staff.jwt, shop: 0 },
    { jwt: world.outsider.jwt, shop: 1 },
  ];
  const clients = await Promise.all(
    Array.from({ length: 60 }, async (_, i) => ({
      ...people[i % people.length],
      client: await realtimeClient(people[i % people.length].jwt),
    })),
  );
  try {
    const subscribed = await Promise.all(
      clients.map((c, i) => subscribe(c.client, `many-${i}-${tag()}`, [{ event: "UPDATE", table: "items" }])),
    );
    for (let round = 1; round <= 5; round++) {
      await setStock(items[0], 50 - round);
      await setStock(items[1], 50 - round);
    }
    for (const [i, { recorder }] of subscribed.entries()) {
      const mine = items[clients[i].shop];
      const other = items[1 - clients[i].shop];
      await recorder.changeWhere("the last change of its shop", (c) =>
        (c.new as { id?: string }).id === mine && (c.new as { stock?: number }).stock === 45);
      const stocks = recorder.changes
        .filter((c) => (c.new as { id?: string }).id === mine)
        .map((c) => (c.new as { stock: number }).stock);
      assert.deepEqual(stocks, [49, 48, 47, 46, 45], `subscriber ${i} got its shop's changes in commit order`);
      assert.equal(recorder.changes.filter((c) => (c.new as { id?: string }).id === other).length, 0);
    }
  } finally {
    await closeAll(...clients.map((c) => c.client));
  }
});

test("the API reference's examples: live stock, new orders, low-stock alerts", async () => {
  const examples = await docExamples();
  const [shop] = await sql<{ default_low_stock_threshold: number }[]>`
    select default_low_stock_threshold from public.shops where id = ${world.shopId}`;
  const itemId = await addItem(world.shopId, 8);
  const client = await realtimeClient(world.owner.jwt);
  const stock: { id: string; stock: number | null; previous: number | null }[] = [];
  const orders: { id: string; order_number: number; total: number; status: string }[] = [];
  const low: { id: string; stock: number; threshold: number }[] = [];
  const statuses: string[] = [];
  try {
    examples.watchStock(client, world.shopId, (s: (typeof stock)[0]) => stock.push(s), (s: string) => statuses.push(s));
    examples.watchNewOrders(client, world.shopId, (o: (typeof orders)[0]) => orders.push(o), (s: string) => statuses.push(s));
    examples.watchLowStock(client, world.shopId, shop.default_low_stock_threshold, (l: (typeof low)[0]) => low.push(l), (s: string) => statuses.push(s));
    await waitFor("three channels subscribed", 10_000, () => statuses.filter((s) => s === "SUBSCRIBED").length === 3);
    await sleep(200);
    // 8 -> 6 -> 5 (crosses the default threshold 5) -> 3 (stays low) through the function.
    for (const change of [-2, -1, -2]) {
      assertOk(await invoke(clientFor(world.owner.jwt), "inventory-operations", {
        action: "update",
        item_id: itemId,
        change,
        reason: "sale",
      }));
    }
    const [order] = await sql<{ id: string; order_number: number }[]>`
      insert into public.form_submissions (shop_id, customer_name, line_items, subtotal, total)
      values (${world.shopId}, 'Doc customer', '[]', 19.99, 19.99) returning id, order_number`;
    await waitFor("the order", 10_000, () => orders.some((o) => o.id === order.id));
    assert.deepEqual(
      stock.filter((s) => s.id === itemId).map((s) => [s.previous, s.stock]),
      [[8, 6], [6, 5], [5, 3]],
    );
    assert.equal(shop.default_low_stock_threshold, 5);
    assert.deepEqual(low.filter((l) => l.id === itemId).map((l) => [l.stock, l.threshold]), [[5, 5]]);
    assert.deepEqual(orders.find((o) => o.id === order.id), {
      id: order.id,
      order_number: order.order_number,
      total: 19.99,
      status: "pending",
    });
  } finally {
    await closeAll(client);
  }
});

test("cleanup", async () => {
  await destroyWorld(world);
});
