// inventory-operations end to end: supabase-js -> gateway -> Deno shim -> wasm
// -> PostgREST RPC -> Postgres, every action as every kind of caller, with the
// database state checked after each answer.

import {
  assert,
  assertError,
  assertOk,
  clientFor,
  connectDb,
  type FnAnswer,
  invoke,
  rawCall,
  signJwt,
  SUPABASE_SERVICE_ROLE_KEY,
  test,
  uuid,
} from "./helpers.ts";
import {
  ANY_MEMBER,
  type Caller,
  CALLERS,
  createItem,
  createOrder,
  createWorld,
  destroyWorld,
  fingerprint,
  historyOf,
  jwtOf,
  STAFF_OR_ABOVE,
  stockOf,
} from "./fixtures.ts";

const FN = "inventory-operations";
const world = await createWorld(connectDb());
const { sql } = world;

function call(caller: Caller, body: unknown, headers: Record<string, string> = {}): Promise<FnAnswer> {
  return invoke(clientFor(jwtOf(world, caller)), FN, body, headers);
}

/** The user id stock_history.created_by must hold for a caller who succeeded. */
function userIdOf(caller: Caller): string {
  assert.ok(caller !== "anon");
  return world[caller].id;
}

async function assertRefusedWithoutChange(answer: FnAnswer, refusal: [number, string], before: unknown) {
  assertError(answer, ...refusal);
  assert.deepEqual(await fingerprint(world), before, "a refused call changes nothing");
}

// ------------------------------------------------------------------ update

for (const caller of CALLERS) {
  const refusal = STAFF_OR_ABOVE[caller];
  test(`update as ${caller}: ${refusal ? refusal[1] : "applies the change and logs it"}`, async () => {
    const item = await createItem(world, { stock: 10 });
    const before = await fingerprint(world);
    const answer = await call(caller, { action: "update", item_id: item.id, change: -3, reason: "sale", note: "e2e" });
    if (refusal) return await assertRefusedWithoutChange(answer, refusal, before);

    const data = assertOk(answer);
    assert.equal(typeof data.history_id, "number");
    assert.deepEqual(data, { item_id: item.id, previous_stock: 10, new_stock: 7, history_id: data.history_id });
    assert.equal(await stockOf(world, item.id), 7);
    assert.deepEqual(await historyOf(world, item.id), [{
      id: String(data.history_id),
      item_id: item.id,
      change: -3,
      previous_stock: 10,
      new_stock: 7,
      reason: "sale",
      reference_id: null,
      note: "e2e",
      created_by: userIdOf(caller),
    }]);
  });
}

test("update with set_to moves stock to the counted number in one history row", async () => {
  const item = await createItem(world, { stock: 10 });
  const data = assertOk(await call("staff", { action: "update", item_id: item.id, set_to: 4, reason: "correction" }));
  assert.deepEqual(data, { item_id: item.id, previous_stock: 10, new_stock: 4, history_id: data.history_id });
  assert.equal(await stockOf(world, item.id), 4);
  const history = await historyOf(world, item.id);
  assert.equal(history.length, 1);
  assert.equal(history[0].change, -6);
  assert.equal(history[0].reason, "correction");
});

test("update with set_to equal to the stock records nothing", async () => {
  const item = await createItem(world, { stock: 6 });
  const data = assertOk(await call("staff", { action: "update", item_id: item.id, set_to: 6, reason: "correction" }));
  assert.deepEqual(data, { item_id: item.id, previous_stock: 6, new_stock: 6, history_id: null });
  assert.deepEqual(await historyOf(world, item.id), []);
});

test("update that would make stock negative: 409 insufficient_stock with details, nothing changes", async () => {
  const item = await createItem(world, { stock: 2, name: "Blue mug" });
  const before = await fingerprint(world);
  const error = assertError(
    await call("staff", { action: "update", reason: "manual", item_id: item.id, change: -3 }),
    409,
    "insufficient_stock",
  );
  assert.deepEqual(error.details, { item_id: item.id, available: 2, requested: 3 });
  assert.match(error.message, /Blue mug/);
  assert.deepEqual(await fingerprint(world), before);
  assert.equal(await stockOf(world, item.id), 2);
});

test("update to exactly zero is allowed; stock is never negative", async () => {
  const item = await createItem(world, { stock: 3 });
  assert.equal(
    assertOk(await call("staff", { action: "update", reason: "manual", item_id: item.id, change: -3 })).new_stock,
    0,
  );
  assertError(
    await call("staff", { action: "update", reason: "manual", item_id: item.id, change: -1 }),
    409,
    "insufficient_stock",
  );
  assert.equal(await stockOf(world, item.id), 0);
});

test("update with a stale expected_stock: 409 stale_stock with current_stock, nothing changes", async () => {
  const item = await createItem(world, { stock: 10 });
  const before = await fingerprint(world);
  const error = assertError(
    await call("staff", { action: "update", reason: "manual", item_id: item.id, change: 5, expected_stock: 9 }),
    409,
    "stale_stock",
  );
  assert.equal(error.details.current_stock, 10);
  assert.equal(error.details.item_id, item.id);
  assert.deepEqual(await fingerprint(world), before);
});

test("update with the right expected_stock applies (compare-and-swap), then the old screen is stale", async () => {
  const item = await createItem(world, { stock: 10 });
  const first = assertOk(
    await call("staff", { action: "update", reason: "manual", item_id: item.id, set_to: 12, expected_stock: 10 }),
  );
  assert.equal(first.new_stock, 12);
  // A second editor still showing 10 cannot overwrite the first one's count.
  const error = assertError(
    await call("admin", { action: "update", reason: "manual", item_id: item.id, set_to: 8, expected_stock: 10 }),
    409,
    "stale_stock",
  );
  assert.equal(error.details.current_stock, 12);
  assert.equal(await stockOf(world, item.id), 12);
  assert.equal((await historyOf(world, item.id)).length, 1);
});

test("update of an unknown item: 404 not_found", async () => {
  const before = await fingerprint(world);
  const answer = await call("owner", { action: "update", reason: "manual", item_id: uuid(), change: 1 });
  await assertRefusedWithoutChange(answer, [404, "not_found"], before);
});

test("update of another shop's item: 404 not_found, its stock untouched", async () => {
  const foreign = await createItem(world, { shopId: world.otherShopId, stock: 5 });
  const answer = await call("owner", { action: "update", reason: "manual", item_id: foreign.id, change: -1 });
  assertError(answer, 404, "not_found");
  assert.equal(await stockOf(world, foreign.id), 5);
  assert.deepEqual(await historyOf(world, foreign.id), []);
});

test("update of an item that does not track stock: 400 invalid_request", async () => {
  const service = await createItem(world, { stock: null });
  const before = await fingerprint(world);
  await assertRefusedWithoutChange(
    await call("owner", { action: "update", reason: "manual", item_id: service.id, change: 1 }),
    [400, "invalid_request"],
    before,
  );
});

/** What makes the body invalid, the fields that do it, and the field `details.field` must name. */
const INVALID_UPDATES: [string, Record<string, unknown>, string][] = [
  ["no item_id", { item_id: undefined, change: 1 }, "item_id"],
  ["no reason", { reason: undefined, change: 1 }, "reason"],
  ["a non-UUID item_id", { item_id: "item-1", change: 1 }, "item_id"],
  ["change 0", { change: 0 }, "change"],
  ["both change and set_to", { change: 1, set_to: 3 }, "change"],
  ["neither change nor set_to", {}, "change"],
  ["a negative set_to", { set_to: -1 }, "set_to"],
  ["a fractional change", { change: 1.5 }, "change"],
  ["a change given as a string", { change: "2" }, "change"],
  ["an unknown reason", { change: 1, reason: "stolen" }, "reason"],
  ["an unknown field", { change: 1, colour: "red" }, "colour"],
  ["a negative expected_stock", { change: 1, expected_stock: -2 }, "expected_stock"],
];
for (const [what, fields, field] of INVALID_UPDATES) {
  test(`update with ${what}: 400 invalid_request naming ${field}, nothing changes`, async () => {
    const item = await createItem(world, { stock: 10 });
    const before = await fingerprint(world);
    const answer = await call("owner", { action: "update", reason: "manual", item_id: item.id, ...fields });
    await assertRefusedWithoutChange(answer, [400, "invalid_request"], before);
    assert.equal(answer.body.error.details?.field, field);
  });
}

// ------------------------------------------------------------- idempotency

test("update replayed with the same Idempotency-Key: same answer, applied once", async () => {
  const item = await createItem(world, { stock: 10 });
  const key = `e2e-${uuid()}`;
  const body = { action: "update", item_id: item.id, change: -2, reason: "sale" };
  const first = assertOk(await call("staff", body, { "Idempotency-Key": key }));
  const replay = assertOk(await call("staff", body, { "Idempotency-Key": key }));
  assert.deepEqual(replay, first);
  assert.equal(await stockOf(world, item.id), 8);
  assert.equal((await historyOf(world, item.id)).length, 1);
  const [stored] = await sql`select count(*)::int as n from public.idempotency_keys where key = ${key}`;
  assert.equal(stored.n, 1);
});

test("idempotency key reused with another body: 422 idempotency_conflict, nothing changes", async () => {
  const item = await createItem(world, { stock: 10 });
  const key = `e2e-${uuid()}`;
  assertOk(
    await call("staff", { action: "update", reason: "manual", item_id: item.id, change: -2 }, {
      "Idempotency-Key": key,
    }),
  );
  const before = await fingerprint(world);
  const answer = await call("staff", { action: "update", reason: "manual", item_id: item.id, change: -5 }, {
    "Idempotency-Key": key,
  });
  await assertRefusedWithoutChange(answer, [422, "idempotency_conflict"], before);
  assert.equal(await stockOf(world, item.id), 8);
});

test("idempotency_key in the body works like the header", async () => {
  const item = await createItem(world, { stock: 10 });
  const body = { action: "update", item_id: item.id, change: 4, reason: "restock", idempotency_key: `e2e-${uuid()}` };
  const first = assertOk(await call("staff", body));
  assert.deepEqual(assertOk(await call("staff", body)), first);
  assert.equal(await stockOf(world, item.id), 14);
  assert.equal((await historyOf(world, item.id)).length, 1);
});

// ----------------------------------------------------------- process_order

async function orderRow(orderId: string) {
  const [row] = await sql<{ stock_deducted_at: Date | null; stock_restored_at: Date | null }[]>`
    select stock_deducted_at, stock_restored_at from public.form_submissions where id = ${orderId}`;
  return row;
}

async function orderHistory(orderId: string) {
  return await sql<{ item_id: string; change: number; reason: string; created_by: string | null }[]>`
    select item_id, change, reason, created_by from public.stock_history
    where reference_id = ${orderId} order by item_id, id`;
}

for (const caller of CALLERS) {
  const refusal = STAFF_OR_ABOVE[caller];
  test(`process_order as ${caller}: ${refusal ? refusal[1] : "deducts every line once"}`, async () => {
    const mug = await createItem(world, { stock: 10 });
    const tee = await createItem(world, { stock: 4 });
    const service = await createItem(world, { stock: null });
    const orderId = await createOrder(world, [
      { item_id: mug.id, quantity: 2 },
      { item_id: tee.id, quantity: 4 },
      { item_id: mug.id, quantity: 1 },
      { item_id: service.id, quantity: 1 },
    ]);
    const before = await fingerprint(world);
    const answer = await call(caller, { action: "process_order", order_id: orderId });
    if (refusal) return await assertRefusedWithoutChange(answer, refusal, before);

    const data = assertOk(answer);
    const expected = [
      { item_id: mug.id, previous_stock: 10, new_stock: 7 },
      { item_id: tee.id, previous_stock: 4, new_stock: 0 },
    ].sort((a, b) => a.item_id.localeCompare(b.item_id));
    assert.equal(data.order_id, orderId);
    assert.equal(data.already_processed, false);
    assert.deepEqual(
      [...data.items].sort((a: { item_id: string }, b: { item_id: string }) => a.item_id.localeCompare(b.item_id)),
      expected,
    );
    assert.equal(await stockOf(world, mug.id), 7);
    assert.equal(await stockOf(world, tee.id), 0);
    assert.ok((await orderRow(orderId)).stock_deducted_at, "stock_deducted_at is set");
    assert.deepEqual(
      await orderHistory(orderId),
      [
        { item_id: mug.id, change: -3, reason: "sale", created_by: userIdOf(caller) },
        { item_id: tee.id, change: -4, reason: "sale", created_by: userIdOf(caller) },
      ].sort((a, b) => a.item_id.localeCompare(b.item_id)),
    );
  });
}

test("process_order a second time: already_processed, nothing deducted again", async () => {
  const item = await createItem(world, { stock: 10 });
  const orderId = await createOrder(world, [{ item_id: item.id, quantity: 3 }]);
  assertOk(await call("staff", { action: "process_order", order_id: orderId }));
  const before = await fingerprint(world);
  const again = assertOk(await call("staff", { action: "process_order", order_id: orderId }));
  assert.deepEqual(again, { order_id: orderId, already_processed: true, items: [] });
  assert.deepEqual(await fingerprint(world), before);
  assert.equal(await stockOf(world, item.id), 7);
});

test("process_order sums lines of one item before checking stock (two lines of 3 against 5)", async () => {
  const item = await createItem(world, { stock: 5, name: "Twice-ordered mug" });
  const orderId = await createOrder(world, [{ item_id: item.id, quantity: 3 }, { item_id: item.id, quantity: 3 }]);
  const before = await fingerprint(world);
  const error = assertError(
    await call("staff", { action: "process_order", order_id: orderId }),
    409,
    "insufficient_stock",
  );
  assert.equal(error.details.item_id, item.id);
  assert.equal(error.details.available, 5);
  assert.equal(error.details.requested, 6);
  assert.deepEqual(await fingerprint(world), before);
});

test("process_order is all or nothing: one short item leaves every item and the order untouched", async () => {
  const plenty = await createItem(world, { stock: 50 });
  const short = await createItem(world, { stock: 1 });
  const orderId = await createOrder(world, [{ item_id: plenty.id, quantity: 5 }, { item_id: short.id, quantity: 2 }]);
  const before = await fingerprint(world);
  const error = assertError(
    await call("staff", { action: "process_order", order_id: orderId }),
    409,
    "insufficient_stock",
  );
  assert.equal(error.details.item_id, short.id);
  assert.deepEqual(await fingerprint(world), before);
  assert.equal(await stockOf(world, plenty.id), 50);
  assert.equal((await orderRow(orderId)).stock_deducted_at, null);
});

test("process_order of a cancelled order: 409 conflict, nothing changes", async () => {
  const item = await createItem(world, { stock: 5 });
  const orderId = await createOrder(world, [{ item_id: item.id, quantity: 1 }], { status: "cancelled" });
  const before = await fingerprint(world);
  await assertRefusedWithoutChange(
    await call("staff", { action: "process_order", order_id: orderId }),
    [409, "conflict"],
    before,
  );
});

test("process_order of an unknown order: 404; another shop's order: 404 and untouched", async () => {
  assertError(await call("owner", { action: "process_order", order_id: uuid() }), 404, "not_found");
  const foreignItem = await createItem(world, { shopId: world.otherShopId, stock: 5 });
  const foreignOrder = await createOrder(world, [{ item_id: foreignItem.id, quantity: 1 }], {
    shopId: world.otherShopId,
  });
  assertError(await call("owner", { action: "process_order", order_id: foreignOrder }), 404, "not_found");
  assert.equal(await stockOf(world, foreignItem.id), 5);
  assert.equal((await orderRow(foreignOrder)).stock_deducted_at, null);
});

test("process_order replayed with its Idempotency-Key returns the first answer", async () => {
  const item = await createItem(world, { stock: 9 });
  const orderId = await createOrder(world, [{ item_id: item.id, quantity: 2 }]);
  const headers = { "Idempotency-Key": `e2e-${uuid()}` };
  const first = assertOk(await call("staff", { action: "process_order", order_id: orderId }, headers));
  assert.equal(first.already_processed, false);
  assert.deepEqual(assertOk(await call("staff", { action: "process_order", order_id: orderId }, headers)), first);
  assert.equal(await stockOf(world, item.id), 7);
  assert.equal((await orderHistory(orderId)).length, 1);
});

test("process_order with an invalid order_id: 400 invalid_request", async () => {
  assertError(await call("staff", { action: "process_order", order_id: "42" }), 400, "invalid_request");
  assertError(await call("staff", { action: "process_order" }), 400, "invalid_request");
});

// ----------------------------------------------------------- restore_order

/** An order whose stock was deducted (as the database owner, like a job would) and that was then cancelled. */
async function cancelledProcessedOrder(stockBefore: number, quantity: number) {
  const item = await createItem(world, { stock: stockBefore });
  const orderId = await createOrder(world, [{ item_id: item.id, quantity }]);
  await sql`select public.process_order_stock_changes(${orderId}::uuid)`;
  await sql`update public.form_submissions set status = 'cancelled' where id = ${orderId}`;
  return { item, orderId };
}

for (const caller of CALLERS) {
  const refusal = STAFF_OR_ABOVE[caller];
  test(`restore_order as ${caller}: ${refusal ? refusal[1] : "puts the stock back once"}`, async () => {
    const { item, orderId } = await cancelledProcessedOrder(10, 4);
    const before = await fingerprint(world);
    const answer = await call(caller, { action: "restore_order", order_id: orderId });
    if (refusal) return await assertRefusedWithoutChange(answer, refusal, before);

    assert.deepEqual(assertOk(answer), {
      order_id: orderId,
      already_restored: false,
      items: [{ item_id: item.id, previous_stock: 6, new_stock: 10 }],
    });
    assert.equal(await stockOf(world, item.id), 10);
    assert.ok((await orderRow(orderId)).stock_restored_at, "stock_restored_at is set");
    const restored = (await orderHistory(orderId)).filter((h) => h.reason === "order_cancelled");
    assert.deepEqual(restored, [{
      item_id: item.id,
      change: 4,
      reason: "order_cancelled",
      created_by: userIdOf(caller),
    }]);
  });
}

test("restore_order a second time: already_restored, stock not put back twice", async () => {
  const { item, orderId } = await cancelledProcessedOrder(8, 3);
  assertOk(await call("staff", { action: "restore_order", order_id: orderId }));
  const before = await fingerprint(world);
  assert.deepEqual(assertOk(await call("staff", { action: "restore_order", order_id: orderId })), {
    order_id: orderId,
    already_restored: true,
    items: [],
  });
  assert.deepEqual(await fingerprint(world), before);
  assert.equal(await stockOf(world, item.id), 8);
});

test("restore_order of an order that is not cancelled: 409 conflict, nothing changes", async () => {
  const item = await createItem(world, { stock: 8 });
  const orderId = await createOrder(world, [{ item_id: item.id, quantity: 3 }]);
  assertOk(await call("staff", { action: "process_order", order_id: orderId }));
  const before = await fingerprint(world);
  await assertRefusedWithoutChange(
    await call("staff", { action: "restore_order", order_id: orderId }),
    [409, "conflict"],
    before,
  );
  assert.equal(await stockOf(world, item.id), 5);
});

test("restore_order of a cancelled order that was never deducted: 409 conflict", async () => {
  const item = await createItem(world, { stock: 8 });
  const orderId = await createOrder(world, [{ item_id: item.id, quantity: 3 }], { status: "cancelled" });
  const before = await fingerprint(world);
  await assertRefusedWithoutChange(
    await call("staff", { action: "restore_order", order_id: orderId }),
    [409, "conflict"],
    before,
  );
});

// ----------------------------------------------------------- get_low_stock

async function lowStockWorld() {
  // shop default threshold is 5
  return {
    atDefault: await createItem(world, { stock: 5, name: `Low at default ${uuid()}` }),
    zero: await createItem(world, { stock: 0 }),
    ownThresholdOk: await createItem(world, { stock: 2, lowStockThreshold: 1 }),
    ownThresholdLow: await createItem(world, { stock: 8, lowStockThreshold: 9 }),
    plenty: await createItem(world, { stock: 40 }),
    inactive: await createItem(world, { stock: 0, isActive: false }),
    untracked: await createItem(world, { stock: null }),
    foreign: await createItem(world, { shopId: world.otherShopId, stock: 0 }),
  };
}

for (const caller of CALLERS) {
  const refusal = ANY_MEMBER[caller];
  test(`get_low_stock as ${caller}: ${refusal ? refusal[1] : "lists tracked active items at or under their threshold"}`, async () => {
    const items = await lowStockWorld();
    const answer = await call(caller, { action: "get_low_stock", shop_id: world.shopId });
    if (refusal) return void assertError(answer, ...refusal);

    const listed: { id: string; name: string; sku: string | null; stock: number; threshold: number }[] =
      assertOk(answer).items;
    const byId = new Map(listed.map((i) => [i.id, i]));
    assert.deepEqual(byId.get(items.atDefault.id), {
      id: items.atDefault.id,
      name: items.atDefault.name,
      sku: items.atDefault.sku,
      stock: 5,
      threshold: 5,
    });
    assert.equal(byId.get(items.zero.id)?.stock, 0);
    assert.equal(byId.get(items.ownThresholdLow.id)?.threshold, 9);
    for (const absent of [items.ownThresholdOk, items.plenty, items.inactive, items.untracked, items.foreign]) {
      assert.ok(!byId.has(absent.id), `item ${absent.id} must not be listed`);
    }
    for (const row of listed) assert.ok(row.stock <= row.threshold, JSON.stringify(row));
    const stocks = listed.map((i) => i.stock);
    assert.deepEqual(stocks, [...stocks].sort((a, b) => a - b), "lowest stock first");
  });
}

test("get_low_stock with an explicit threshold overrides item and shop thresholds", async () => {
  const items = await lowStockWorld();
  const listed: { id: string; threshold: number }[] =
    assertOk(await call("viewer", { action: "get_low_stock", shop_id: world.shopId, threshold: 2 })).items;
  const ids = new Set(listed.map((i) => i.id));
  assert.ok(ids.has(items.zero.id));
  assert.ok(ids.has(items.ownThresholdOk.id), "stock 2 <= threshold 2 even though its own threshold is 1");
  assert.ok(!ids.has(items.atDefault.id));
  assert.ok(!ids.has(items.ownThresholdLow.id));
  assert.ok(listed.every((i) => i.threshold === 2));
});

test("get_low_stock with a negative threshold or a bad shop_id: 400 invalid_request", async () => {
  assertError(
    await call("viewer", { action: "get_low_stock", shop_id: world.shopId, threshold: -1 }),
    400,
    "invalid_request",
  );
  assertError(await call("viewer", { action: "get_low_stock", shop_id: "shop-a" }), 400, "invalid_request");
  assertError(await call("viewer", { action: "get_low_stock" }), 400, "invalid_request");
});

test("get_low_stock of an unknown shop: 404 not_found", async () => {
  assertError(await call("owner", { action: "get_low_stock", shop_id: uuid() }), 404, "not_found");
});

test("an order of this shop naming another shop's item cannot touch that item's stock", async () => {
  // Staff may write orders (RLS allows it), so line_items are attacker-controlled.
  const foreign = await createItem(world, { shopId: world.otherShopId, stock: 9 });
  const own = await createItem(world, { stock: 9 });
  const { data: order, error } = await clientFor(world.staff.jwt)
    .from("form_submissions")
    .insert({
      shop_id: world.shopId,
      customer_name: "Mallory",
      line_items: [{ item_id: own.id, quantity: 1 }, { item_id: foreign.id, quantity: 9 }],
    })
    .select("id")
    .single();
  assert.equal(error, null, JSON.stringify(error));
  const before = await fingerprint(world);
  const refused = assertError(
    await call("staff", { action: "process_order", order_id: order!.id }),
    400,
    "invalid_request",
  );
  assert.deepEqual(refused.details.missing_item_ids, [foreign.id]);
  assert.deepEqual(await fingerprint(world), before);
  assert.equal(await stockOf(world, foreign.id), 9);
  assert.deepEqual(await historyOf(world, foreign.id), []);
});

// ------------------------------------------------------------ concurrency

test("concurrent orders for one item never oversell: exactly the ones that fit succeed", async () => {
  const item = await createItem(world, { stock: 5 });
  const orders = await Promise.all(
    Array.from({ length: 5 }, () => createOrder(world, [{ item_id: item.id, quantity: 2 }])),
  );
  const answers = await Promise.all(
    orders.map((orderId) => call("staff", { action: "process_order", order_id: orderId })),
  );
  const succeeded = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status !== 200);
  assert.equal(succeeded.length, 2, JSON.stringify(answers.map((a) => a.body)));
  for (const answer of refused) assertError(answer, 409, "insufficient_stock");
  assert.equal(await stockOf(world, item.id), 1);
  const history = await historyOf(world, item.id);
  assert.equal(history.length, 2);
  assert.ok(history.every((h) => h.change === -2 && h.new_stock >= 0));
});

test("concurrent stock decrements stop at zero", async () => {
  const item = await createItem(world, { stock: 5 });
  const answers = await Promise.all(
    Array.from({ length: 8 }, () => call("staff", { action: "update", reason: "sale", item_id: item.id, change: -1 })),
  );
  assert.equal(answers.filter((a) => a.status === 200).length, 5);
  for (const answer of answers.filter((a) => a.status !== 200)) assertError(answer, 409, "insufficient_stock");
  assert.equal(await stockOf(world, item.id), 0);
  assert.equal((await historyOf(world, item.id)).length, 5);
});

test("concurrent retries with one Idempotency-Key apply once and all get the first answer", async () => {
  const item = await createItem(world, { stock: 10 });
  const headers = { "Idempotency-Key": `e2e-${uuid()}` };
  const body = { action: "update", reason: "sale", item_id: item.id, change: -3 };
  const answers = await Promise.all(Array.from({ length: 5 }, () => call("staff", body, headers)));
  const first = assertOk(answers[0]);
  for (const answer of answers) assert.deepEqual(assertOk(answer), first);
  assert.equal(await stockOf(world, item.id), 7);
  assert.equal((await historyOf(world, item.id)).length, 1);
});

test("restore_order replayed with its Idempotency-Key returns the first answer", async () => {
  const { item, orderId } = await cancelledProcessedOrder(6, 2);
  const headers = { "Idempotency-Key": `e2e-${uuid()}` };
  const first = assertOk(await call("staff", { action: "restore_order", order_id: orderId }, headers));
  assert.equal(first.already_restored, false);
  assert.deepEqual(assertOk(await call("staff", { action: "restore_order", order_id: orderId }, headers)), first);
  assert.equal(await stockOf(world, item.id), 6);
});

// ------------------------------------------------------------------ HTTP

test("a body over 64 KiB: 413 payload_too_large, nothing changes", async () => {
  const item = await createItem(world, { stock: 10 });
  const before = await fingerprint(world);
  const answer = await call("staff", {
    action: "update",
    reason: "manual",
    item_id: item.id,
    change: 1,
    note: "x".repeat(70 * 1024),
  });
  await assertRefusedWithoutChange(answer, [413, "payload_too_large"], before);
});

test("no Authorization header, a forged and an expired JWT: 401 unauthorized, nothing changes", async () => {
  const item = await createItem(world, { stock: 10 });
  const body = JSON.stringify({ action: "update", reason: "manual", item_id: item.id, change: -1 });
  const before = await fingerprint(world);
  assertError(
    await rawCall(FN, { method: "POST", headers: { "Content-Type": "application/json" }, body }),
    401,
    "unauthorized",
  );
  const forged = await signJwt(
    { sub: world.owner.id, role: "authenticated", aud: "authenticated" },
    "not-the-project-secret-not-the-project-secret",
  );
  const now = Math.floor(Date.now() / 1000);
  const expired = await signJwt({ sub: world.owner.id, role: "authenticated", iat: now - 7200, exp: now - 3600 });
  for (const jwt of [forged, expired]) {
    assertError(
      await invoke(clientFor(jwt), FN, { action: "update", reason: "manual", item_id: item.id, change: -1 }),
      401,
      "unauthorized",
    );
  }
  assert.deepEqual(await fingerprint(world), before);
});

test("every answer carries a request id", async () => {
  const ok = await call("viewer", { action: "get_low_stock", shop_id: world.shopId });
  assert.match(ok.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
  const refused = assertError(
    await call("viewer", { action: "update", reason: "manual", item_id: uuid(), change: 1 }),
    404,
    "not_found",
  );
  assert.match(refused.request_id, /^[0-9a-f-]{36}$/);
});

// ------------------------------------------------- RLS through supabase-js

test("RLS: from('items').select() shows a member their shop's items only", async () => {
  const mine = await createItem(world, { stock: 1 });
  const theirs = await createItem(world, { shopId: world.otherShopId, stock: 1 });
  for (const caller of ["owner", "viewer"] as const) {
    const { data, error } = await clientFor(world[caller].jwt).from("items").select("id, shop_id, stock");
    assert.equal(error, null, JSON.stringify(error));
    assert.ok(data!.some((row) => row.id === mine.id), `${caller} sees the shop's item`);
    assert.ok(data!.every((row) => row.shop_id === world.shopId), `${caller} sees no other shop's rows`);
  }
  const { data: outsiderRows, error } = await clientFor(world.outsider.jwt).from("items").select("id, shop_id");
  assert.equal(error, null, JSON.stringify(error));
  assert.ok(outsiderRows!.some((row) => row.id === theirs.id));
  assert.ok(outsiderRows!.every((row) => row.shop_id === world.otherShopId));
  // Filtering by a known id of another shop does not reveal it either.
  const probe = await clientFor(world.outsider.jwt).from("items").select("id").eq("id", mine.id);
  assert.deepEqual(probe.data, []);
});

test("RLS: a user of another shop sees none of this shop's rows in any table", async () => {
  const item = await createItem(world, { stock: 4 });
  const orderId = await createOrder(world, [{ item_id: item.id, quantity: 1 }]);
  assertOk(await call("staff", { action: "process_order", order_id: orderId }));
  await sql`select public.generate_daily_sales_metrics(current_date, ${world.shopId}::uuid)`;
  const outsider = clientFor(world.outsider.jwt);
  const member = clientFor(world.viewer.jwt);
  for (
    const [table, column] of [
      ["shops", "id"],
      ["team_members", "shop_id"],
      ["items", "shop_id"],
      ["stock_history", "shop_id"],
      ["form_submissions", "shop_id"],
      ["daily_sales_metrics", "shop_id"],
    ]
  ) {
    const seen = await member.from(table).select("*").eq(column, world.shopId).limit(1);
    assert.equal(seen.error, null, `${table}: ${JSON.stringify(seen.error)}`);
    assert.equal(seen.data!.length, 1, `a member reads ${table}`);
    const hidden = await outsider.from(table).select("*").eq(column, world.shopId);
    assert.equal(hidden.error, null, `${table}: ${JSON.stringify(hidden.error)}`);
    assert.deepEqual(hidden.data, [], `${table} of another shop is invisible`);
  }
});

test("the service_role key is a trusted caller (operator work), never a shop member's identity", async () => {
  const item = await createItem(world, { stock: 10 });
  const service = clientFor(SUPABASE_SERVICE_ROLE_KEY);
  const data = assertOk(
    await invoke(service, FN, { action: "update", reason: "correction", item_id: item.id, change: 2 }),
  );
  assert.equal(data.new_stock, 12);
  const [history] = await historyOf(world, item.id);
  assert.equal(history.created_by, null, "no user is credited with an operator's change");
});

test("RLS: anon and a platform admin who is no member see no items", async () => {
  await createItem(world, { stock: 1 });
  const anon = await clientFor().from("items").select("id").eq("shop_id", world.shopId);
  assert.ok(anon.error !== null || anon.data!.length === 0, JSON.stringify(anon));
  const admin = await clientFor(world.platformAdmin.jwt).from("items").select("id").eq("shop_id", world.shopId);
  assert.equal(admin.error, null, JSON.stringify(admin.error));
  assert.deepEqual(admin.data, []);
});

test("RLS: stock cannot be written around update_stock (the stock guard, no history insert)", async () => {
  const item = await createItem(world, { stock: 10 });
  const before = await fingerprint(world);
  const patch = await clientFor(world.owner.jwt).from("items").update({ stock: 0 }).eq("id", item.id).select();
  assert.equal(patch.status, 409, `updating items.stock directly is refused: ${JSON.stringify(patch.error)}`);
  assert.equal(patch.error?.message, "conflict");
  assert.equal(JSON.parse(patch.error!.details).column, "stock");
  const insert = await clientFor(world.owner.jwt).from("stock_history").insert({
    shop_id: world.shopId,
    item_id: item.id,
    change: 5,
    previous_stock: 10,
    new_stock: 15,
    reason: "manual",
  });
  assert.ok(insert.error, "inserting stock_history directly is refused");
  assert.deepEqual(await fingerprint(world), before);
});

test("supabase.rpc('update_stock') directly: the database enforces the same rules", async () => {
  const item = await createItem(world, { stock: 10 });
  const viewer = await clientFor(world.viewer.jwt).rpc("update_stock", { p_item_id: item.id, p_change: -1 });
  assert.equal(viewer.error?.message, "forbidden", JSON.stringify(viewer.error));
  const outsider = await clientFor(world.outsider.jwt).rpc("update_stock", { p_item_id: item.id, p_change: -1 });
  assert.equal(outsider.error?.message, "not_found", JSON.stringify(outsider.error));
  const anon = await clientFor().rpc("update_stock", { p_item_id: item.id, p_change: -1 });
  assert.ok(anon.error, "anon may not execute update_stock");
  assert.equal(await stockOf(world, item.id), 10);
  const staff = await clientFor(world.staff.jwt).rpc("update_stock", { p_item_id: item.id, p_change: -1 });
  assert.equal(staff.error, null, JSON.stringify(staff.error));
  assert.equal(staff.data.new_stock, 9);
  assert.equal(await stockOf(world, item.id), 9);
});

test("(cleanup) remove this file's world", async () => {
  await destroyWorld(world);
});
