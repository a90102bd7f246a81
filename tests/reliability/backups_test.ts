// Promise 6: backups give the shop back exactly. A full snapshot, then the
// shop's items, orders and their history deleted, then a restore through
// admin-operations: every backed-up table's rows (read directly, not through
// the snapshot code) and the checksum are identical to before. A tampered
// snapshot is refused without a change; the cleanup job removes the expired
// snapshots and nothing else.

import { assert, connectDb, type Sql, test } from "../e2e/helpers.ts";
import { createItem, createOrder, createWorld, destroyWorld } from "../e2e/fixtures.ts";
import { callFunction, databaseFingerprint, recordFigures } from "./support.ts";

/** Every row of every table a snapshot covers, for one shop, read as postgres (bypassing RLS). */
async function shopRows(sql: Sql, shopId: string): Promise<Record<string, unknown>> {
  const tables = await sql<{ table_name: string; scope_column: string }[]>`
    select table_name, scope_column from private.backup_tables() order by restore_order`;
  const out: Record<string, unknown> = {};
  for (const { table_name, scope_column } of tables) {
    const [row] = await sql.unsafe(
      `select coalesce(jsonb_agg(to_jsonb(t) order by t::text), '[]') as rows from public.${table_name} t
        where t.${scope_column} = $1`,
      [shopId],
    );
    out[table_name] = row.rows;
  }
  return out;
}

async function liveChecksum(sql: Sql, shopId: string): Promise<string> {
  const [row] = await sql<{ checksum: string }[]>`
    select private.snapshot_checksum(private.shop_snapshot_data(${shopId})) as checksum`;
  return row.checksum;
}

async function admin(world: { platformAdmin: { jwt: string } }, body: Record<string, unknown>) {
  return await callFunction("admin-operations", world.platformAdmin.jwt, body);
}

test("snapshot, delete items and orders, restore: every row and the checksum are back", async () => {
  const world = await createWorld(connectDb());
  try {
    const items = [];
    for (let i = 0; i < 6; i++) items.push(await createItem(world, { stock: 20 + i, name: `Backed up ${i}` }));
    const orders = [];
    for (let i = 0; i < 8; i++) {
      orders.push(
        await createOrder(world, [
          { item_id: items[i % 6].id, quantity: 1 + (i % 3) },
          { item_id: items[(i + 2) % 6].id, quantity: 1 },
        ]),
      );
    }
    for (const order of orders.slice(0, 5)) {
      const a = await callFunction("inventory-operations", world.staff.jwt, {
        action: "process_order",
        order_id: order,
      });
      assert.equal(a.status, 200, a.text);
    }
    const before = await shopRows(world.sql, world.shopId);
    const created = await admin(world, { action: "create_backup", shop_id: world.shopId });
    assert.equal(created.status, 200, created.text);
    const snapshot = created.body.data.snapshots[0];
    assert.equal(
      snapshot.checksum,
      await liveChecksum(world.sql, world.shopId),
      "the snapshot's checksum is the live data's",
    );

    // The accident: items, orders and their history gone (history is
    // append-only, so the deletion goes through its sanctioned purge marker).
    await world.sql.begin(async (tx) => {
      await tx`insert into private.stock_history_purges default values`;
      await tx`delete from public.stock_history where shop_id = ${world.shopId}`;
      await tx`delete from public.form_submissions where shop_id = ${world.shopId}`;
      await tx`delete from public.items where shop_id = ${world.shopId}`;
    });
    assert.ok(JSON.stringify(await shopRows(world.sql, world.shopId)) !== JSON.stringify(before), "the rows are gone");

    const dry = await admin(world, { action: "restore_backup", snapshot_id: snapshot.id });
    assert.equal(dry.status, 200, dry.text);
    assert.equal(dry.body.data.differences.items.insert.count, 6, "a dry run shows the 6 missing items");
    assert.equal(dry.body.data.restored, null);

    const started = performance.now();
    const restored = await admin(world, { action: "restore_backup", snapshot_id: snapshot.id, dry_run: false });
    const restoreMs = performance.now() - started;
    assert.equal(restored.status, 200, restored.text);

    assert.deepEqual(await shopRows(world.sql, world.shopId), before, "every table's rows are identical to before");
    assert.equal(await liveChecksum(world.sql, world.shopId), snapshot.checksum, "the checksum is identical");

    // And a second snapshot of the restored shop carries the same checksum.
    const again = await admin(world, { action: "create_backup", shop_id: world.shopId });
    assert.equal(again.body.data.snapshots[0].checksum, snapshot.checksum);

    await recordFigures("backups.restore", {
      row_counts: snapshot.row_counts,
      checksum_equal: true,
      restore_ms: Math.round(restoreMs),
    });
  } finally {
    await destroyWorld(world);
  }
});

test("a snapshot whose data or checksum was tampered with is refused and changes nothing", async () => {
  const world = await createWorld(connectDb());
  try {
    const item = await createItem(world, { stock: 5 });
    const created = await admin(world, { action: "create_backup", shop_id: world.shopId });
    const snapshot = created.body.data.snapshots[0];
    await world.sql`select public.update_stock(${item.id}, p_set_to => 1, p_reason => 'correction')`;

    const tamperings: [string, (id: string) => Promise<unknown>][] = [
      // items are in the snapshot's state part
      ["data", (id) =>
        world.sql`
        update public.recovery_snapshot_parts p
           set data = jsonb_set(p.data, '{items,0,stock}', '500')
          from public.recovery_snapshots s where s.id = ${id} and p.id = s.state_part_id`],
      ["checksum", (id) =>
        world.sql`
        update public.recovery_snapshots set checksum = repeat('0', 64) where id = ${id}`],
    ];
    for (const [what, tamper] of tamperings) {
      const copy = await admin(world, { action: "create_backup", shop_id: world.shopId });
      const id = what === "data" ? snapshot.id : copy.body.data.snapshots[0].id;
      await tamper(id);
      const before = await databaseFingerprint(world.sql);
      for (const dry_run of [true, false]) {
        const answer = await admin(world, { action: "restore_backup", snapshot_id: id, dry_run });
        assert.equal(answer.status, 409, `tampered ${what}, dry_run ${dry_run}: ${answer.text}`);
        assert.equal(answer.body.error.code, "conflict");
        assert.equal(answer.body.error.details.reason, "checksum_mismatch");
      }
      assert.deepEqual(await databaseFingerprint(world.sql), before, `tampered ${what}: nothing changed`);
    }
    const [{ stock }] = await world.sql<{ stock: number }[]>`select stock from public.items where id = ${item.id}`;
    assert.equal(stock, 1, "the live stock was not overwritten");
  } finally {
    await destroyWorld(world);
  }
});

test("the cleanup job removes expired snapshots and nothing else", async () => {
  const world = await createWorld(connectDb());
  try {
    await createItem(world, { stock: 5 });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const created = await admin(world, {
        action: "create_backup",
        shop_id: i % 2 ? world.otherShopId : world.shopId,
      });
      ids.push(created.body.data.snapshots[0].id);
    }
    // Two expired (one just now, one long ago), one expiring in a minute, one fresh.
    await world.sql`update public.recovery_snapshots set expires_at = now() - interval '1 second' where id = ${ids[0]}`;
    await world.sql`update public.recovery_snapshots set expires_at = now() - interval '400 days' where id = ${ids[1]}`;
    await world.sql`update public.recovery_snapshots set expires_at = now() + interval '1 minute' where id = ${ids[2]}`;

    const rowsBefore = await world.sql<{ id: string }[]>`select id from public.recovery_snapshots order by id`;
    const expired = new Set(
      (await world.sql<{ id: string }[]>`select id from public.recovery_snapshots where expires_at <= now()`).map((r) =>
        r.id
      ),
    );
    assert.ok(expired.has(ids[0]) && expired.has(ids[1]));
    const otherTables = async () => {
      const fp = await databaseFingerprint(world.sql);
      delete fp["public.recovery_snapshots"];
      return fp;
    };
    const before = await otherTables();

    // The job exactly as pg_cron runs it: its command, as the database owner.
    const [job] = await world.sql<{ command: string }[]>`
      select command from cron.job where jobname = 'cleanup-expired-snapshots'`;
    assert.ok(job, "the cleanup job is scheduled");
    await world.sql.unsafe(job.command);

    const rowsAfter = (await world.sql<{ id: string }[]>`select id from public.recovery_snapshots order by id`).map((
      r,
    ) => r.id);
    assert.deepEqual(
      rowsAfter,
      rowsBefore.map((r) => r.id).filter((id) => !expired.has(id)),
      "exactly the expired ones went",
    );
    assert.ok(rowsAfter.includes(ids[2]) && rowsAfter.includes(ids[3]));
    // Each expired snapshot shares its parts with a kept one of its shop (the
    // data did not change in between), so recovery_snapshot_parts is among
    // the tables that must not change.
    assert.deepEqual(await otherTables(), before, "no other table changed, the shared snapshot parts included");

    // The action gives the same result and now finds nothing to delete.
    const again = await admin(world, { action: "cleanup_snapshots" });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.data.deleted, 0);
    await recordFigures("backups.cleanup", {
      snapshots_before: rowsBefore.length,
      expired: expired.size,
      kept: rowsAfter.length,
    });
  } finally {
    await destroyWorld(world);
  }
});
