// Promise 2: a retried request never applies twice. The same Idempotency-Key
// sent 20 times at once applies once and every answer has the same body; the
// key reused with another body is 422 idempotency_conflict and changes nothing.

import { assert, connectDb, test } from "../e2e/helpers.ts";
import { createItem, createOrder, createWorld, destroyWorld, historyOf, shopState, stockOf } from "../e2e/fixtures.ts";
import { callFunction, databaseFingerprint, latency, recordFigures } from "./support.ts";

const RETRIES = 20;

test("20 concurrent update retries with one Idempotency-Key apply once, with one body", async () => {
  const world = await createWorld(connectDb());
  try {
    const item = await createItem(world, { stock: 50 });
    const key = `retry-${crypto.randomUUID()}`;
    const body = { action: "update", item_id: item.id, change: -3, reason: "sale", note: "retried sale" };

    const answers = await Promise.all(
      Array.from(
        { length: RETRIES },
        () => callFunction("inventory-operations", world.staff.jwt, body, { headers: { "idempotency-key": key } }),
      ),
    );
    for (const answer of answers) assert.equal(answer.status, 200, answer.text);
    const bodies = new Set(answers.map((a) => a.text));
    assert.equal(bodies.size, 1, `one body for every retry: ${[...bodies].join("\n")}`);
    assert.equal(answers[0].body.data.new_stock, 47);
    assert.equal(await stockOf(world, item.id), 47, "applied once");
    assert.equal((await historyOf(world, item.id)).length, 1, "one history row");

    // The same key in the body field instead of the header is the same request.
    const viaField = await callFunction("inventory-operations", world.staff.jwt, { ...body, idempotency_key: key });
    assert.equal(viaField.text, answers[0].text);

    // Reused with another body: refused, nothing written.
    const before = await databaseFingerprint(world.sql);
    const conflict = await callFunction("inventory-operations", world.staff.jwt, { ...body, change: -4 }, {
      headers: { "idempotency-key": key },
    });
    assert.equal(conflict.status, 422, conflict.text);
    assert.equal(conflict.body.error.code, "idempotency_conflict");
    assert.deepEqual(conflict.body.error.details, { idempotency_key: key });
    assert.deepEqual(await databaseFingerprint(world.sql), before, "a conflicting reuse changes nothing");

    await recordFigures("idempotency.update", {
      retries: RETRIES,
      applied: 1,
      distinct_bodies: bodies.size,
      conflict_status: conflict.status,
      latency: latency(answers.map((a) => a.ms)),
    });
  } finally {
    await destroyWorld(world);
  }
});

test("20 concurrent process_order retries with one Idempotency-Key deduct once, with one body", async () => {
  const world = await createWorld(connectDb());
  try {
    const a = await createItem(world, { stock: 10 });
    const b = await createItem(world, { stock: 10 });
    const order = await createOrder(world, [{ item_id: b.id, quantity: 2 }, { item_id: a.id, quantity: 3 }]);
    const other = await createOrder(world, [{ item_id: a.id, quantity: 1 }]);
    const key = `order-${crypto.randomUUID()}`;

    const answers = await Promise.all(
      Array.from(
        { length: RETRIES },
        () =>
          callFunction("inventory-operations", world.staff.jwt, { action: "process_order", order_id: order }, {
            headers: { "idempotency-key": key },
          }),
      ),
    );
    for (const answer of answers) assert.equal(answer.status, 200, answer.text);
    assert.equal(new Set(answers.map((x) => x.text)).size, 1, "one body for every retry");
    assert.equal(answers[0].body.data.already_processed, false, "every retry sees the first, applying answer");
    assert.equal(await stockOf(world, a.id), 7);
    assert.equal(await stockOf(world, b.id), 8);
    assert.equal((await historyOf(world, a.id)).length + (await historyOf(world, b.id)).length, 2);

    const before = await shopState(world, world.shopId);
    const conflict = await callFunction("inventory-operations", world.staff.jwt, {
      action: "process_order",
      order_id: other,
    }, {
      headers: { "idempotency-key": key },
    });
    assert.equal(conflict.status, 422, conflict.text);
    assert.equal(conflict.body.error.code, "idempotency_conflict");
    assert.deepEqual(await shopState(world, world.shopId), before, "the other order was not processed");

    // The key is bound to its action too: a restore_order under it is a conflict.
    const otherAction = await callFunction("inventory-operations", world.staff.jwt, {
      action: "restore_order",
      order_id: order,
    }, {
      headers: { "idempotency-key": key },
    });
    assert.equal(otherAction.status, 422, otherAction.text);
    assert.equal(otherAction.body.error.code, "idempotency_conflict");

    await recordFigures("idempotency.process_order", {
      retries: RETRIES,
      applied: 1,
      latency: latency(answers.map((x) => x.ms)),
    });
  } finally {
    await destroyWorld(world);
  }
});

test("20 concurrent create_backup retries with one Idempotency-Key take one snapshot", async () => {
  const world = await createWorld(connectDb());
  try {
    await createItem(world, { stock: 3 });
    const key = `backup-${crypto.randomUUID()}`;
    const body = { action: "create_backup", shop_id: world.shopId };
    const answers = await Promise.all(
      Array.from(
        { length: RETRIES },
        () => callFunction("admin-operations", world.platformAdmin.jwt, body, { headers: { "idempotency-key": key } }),
      ),
    );
    for (const answer of answers) assert.equal(answer.status, 200, answer.text);
    assert.equal(new Set(answers.map((x) => x.text)).size, 1, "one body for every retry");
    const [{ n }] = await world.sql<{ n: number }[]>`
      select count(*)::int as n from public.recovery_snapshots where shop_id = ${world.shopId}`;
    assert.equal(n, 1, "one snapshot");

    const conflict = await callFunction(
      "admin-operations",
      world.platformAdmin.jwt,
      { ...body, backup_type: "weekly" },
      {
        headers: { "idempotency-key": key },
      },
    );
    assert.equal(conflict.status, 422, conflict.text);
    assert.equal(conflict.body.error.code, "idempotency_conflict");
  } finally {
    await destroyWorld(world);
  }
});
