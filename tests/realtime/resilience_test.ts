// The local Realtime under trouble: a server restart (realtime-js
// reconnects and rejoins; the temporary slot goes away with the server, so
// a stopped server holds no WAL) and a subscriber that stops reading (it is
// disconnected instead of buffered without bound; others keep receiving).

import { assert, connectDb, SUPABASE_ANON_KEY, SUPABASE_URL, tag, test } from "../e2e/helpers.ts";
import { createWorld, destroyWorld, type World } from "../e2e/fixtures.ts";
import { stackControl, waitUntil } from "../reliability/support.ts";
import { closeAll, realtimeClient, sleep, subscribe, waitFor } from "./support.ts";

const sql = connectDb();
const world: World = await createWorld(sql);

async function addItem(shopId: string, stock = 10): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into public.items (shop_id, name, sku, price, stock)
    values (${shopId}, ${"Resilience item " + tag()}, ${"RS-" + tag()}, 1, ${stock})
    returning id`;
  return row.id;
}

async function realtimeSlots(): Promise<number> {
  const [{ count }] = await sql<{ count: number }[]>`
    select count(*)::int as count from pg_replication_slots where slot_name like 'local_realtime_%'`;
  return count;
}

test("after the server restarts, realtime-js reconnects, rejoins and receives again; no slot outlives the server", async () => {
  const itemId = await addItem(world.shopId);
  const client = await realtimeClient(world.owner.jwt);
  try {
    const { recorder } = await subscribe(client, `restart-${tag()}`, [{ event: "UPDATE", table: "items" }]);
    assert.equal(await realtimeSlots(), 1, "one temporary slot while the server runs");
    await stackControl("proc_stop gateway");
    await waitUntil("the slot dropped with the server's session", 10_000, async () => (await realtimeSlots()) === 0);
    await stackControl("gateway_start");
    await waitFor("a second SUBSCRIBED after the restart", 30_000, () =>
      recorder.statuses.filter((s) => s === "SUBSCRIBED").length >= 2);
    await waitFor("a second Subscribed to PostgreSQL", 10_000, () =>
      recorder.system.filter((m) => m.message === "Subscribed to PostgreSQL").length >= 2);
    // Test setup writes stock directly, marked as a stock function's write (the
    // database refuses any other); only the change event matters here.
    await sql.begin(async (tx) => {
      await tx`select private.begin_stock_write()`;
      await tx`update public.items set stock = 3 where id = ${itemId}`;
    });
    const change = await recorder.changeWhere("the change after the restart", (c) => (c.new as { id?: string }).id === itemId);
    assert.equal((change.new as { stock: number }).stock, 3);
  } finally {
    await closeAll(client);
  }
});


/** A websocket client that does the handshake and joins, then never reads. */
async function stalledSubscriber(jwt: string): Promise<Deno.TcpConn> {
  const url = new URL(SUPABASE_URL);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const request = `GET /realtime/v1/websocket?apikey=${SUPABASE_ANON_KEY}&vsn=2.0.0 HTTP/1.1\r\n` +
    `Host: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  await conn.write(new TextEncoder().encode(request));
  const head = new Uint8Array(1024);
  const n = await conn.read(head);
  assert.match(new TextDecoder().decode(head.subarray(0, n ?? 0)), /^HTTP\/1\.1 101/);
  const join = JSON.stringify([
    "1",
    "1",
    `realtime:stalled-${tag()}`,
    "phx_join",
    { config: { postgres_changes: [{ event: "*", schema: "public", table: "items" }] }, access_token: jwt },
  ]);
  await conn.write(maskedTextFrame(join));
  return conn;
}

/** A client-to-server text frame (RFC 6455: clients mask). */
function maskedTextFrame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const header = payload.length < 126
    ? [0x81, 0x80 | payload.length]
    : [0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
  const frame = new Uint8Array(header.length + 4 + payload.length);
  frame.set(header, 0);
  frame.set(mask, header.length);
  payload.forEach((b, i) => (frame[header.length + 4 + i] = b ^ mask[i % 4]));
  return frame;
}

test("a subscriber that stops reading is disconnected, and the others keep receiving", async () => {
  // Wide rows (a 5 kB description, the column's limit; an update carries the
  // row before and after) fill the stalled socket's buffers and then its queue quickly.
  const wide = 3200;
  const sku = `WIDE-${tag()}-`;
  await sql`
    insert into public.items (shop_id, name, sku, price, stock, description)
    select ${world.shopId}, 'Wide ' || g, ${sku} || g, 1, 0, repeat('x', 5000)
    from generate_series(1, ${wide}) g`;
  const last = await addItem(world.shopId);
  const stalled = await stalledSubscriber(world.owner.jwt);
  const reader = await realtimeClient(world.viewer.jwt);
  try {
    const { recorder } = await subscribe(reader, `reader-${tag()}`, [
      { event: "UPDATE", table: "items", filter: `id=eq.${last}` },
    ]);
    // Test setup writes stock directly, marked as a stock function's write (the
    // database refuses any other); only the change event matters here.
    await sql.begin(async (tx) => {
      await tx`select private.begin_stock_write()`;
      await tx`update public.items set stock = 2 where shop_id = ${world.shopId} and sku like ${sku + "%"}`;
    });
    // Test setup writes stock directly, marked as a stock function's write (the
    // database refuses any other); only the change event matters here.
    await sql.begin(async (tx) => {
      await tx`select private.begin_stock_write()`;
      await tx`update public.items set stock = 7 where id = ${last}`;
    });
    await recorder.changeWhere("the reader's change after the flood", (c) => (c.new as { id?: string }).id === last, 120_000);

    // What the stalled socket was sent ends (the server closed it) well short of everything.
    let received = 0;
    const buffer = new Uint8Array(1 << 16);
    while (true) {
      const n = await Promise.race([stalled.read(buffer), sleep(30_000).then(() => "timeout" as const)]);
      if (n === "timeout") assert.fail(`the stalled socket was never closed by the server (${received} bytes read)`);
      if (n === null) break;
      received += n;
    }
    const sent = wide * 2 * 20_000;
    assert.ok(received < sent, `the stalled socket got ${received} bytes of ${sent}: it was not cut off`);
  } finally {
    try {
      stalled.close();
    } catch {
      // already closed by the server
    }
    await closeAll(reader);
    await sql`delete from public.items where shop_id = ${world.shopId} and sku like ${sku + "%"}`;
  }
});

test("cleanup", async () => {
  await destroyWorld(world);
});
