// Promise 5: a member of another shop, holding a valid JWT, can neither read
// nor change anything of shop B, and cannot even learn whether B's ids exist.
// The attacker (owner of shop A) tries every function action with B's ids and
// with ids that exist nowhere, and every public table directly through
// PostgREST (by id, by shop filter, unfiltered, insert, update, delete, and
// every RPC). Answers for B's real ids must equal the answers for random ids,
// and nothing of B (or anything else) changes.

import { assert, connectDb, type FunctionName, test } from "../e2e/helpers.ts";
import { createItem, createOrder, createWorld, destroyWorld, type World } from "../e2e/fixtures.ts";
import { callFunction, databaseFingerprint, recordFigures, rest } from "./support.ts";

/** Replaces every id of `ids` in a JSON text by a placeholder, and drops request ids. */
function normalize(text: string, ids: string[]): string {
  let out = text.replace(/"request_id":"[0-9a-f-]{36}"/g, '"request_id":"-"');
  for (const id of ids) out = out.replaceAll(id, "<ID>");
  return out;
}

/** Primary keys of shop B's rows, per public table with a shop_id. */
async function victimRows(world: World): Promise<Record<string, string[]>> {
  const tables = await world.sql<{ name: string; has_shop_id: boolean }[]>`
    select c.relname as name,
           exists (select 1 from information_schema.columns x
                    where x.table_schema = 'public' and x.table_name = c.relname and x.column_name = 'shop_id') as has_shop_id
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'r' order by 1`;
  const out: Record<string, string[]> = {};
  for (const { name, has_shop_id } of tables) {
    if (!has_shop_id) continue;
    const rows = await world.sql.unsafe(`select id::text as id from public.${name} where shop_id = $1`, [world.shopId])
      .catch(() => [] as { id: string }[]); // tables keyed otherwise are covered by the shop filter
    out[name] = rows.map((r) => r.id as string);
  }
  return out;
}

test("another shop's user cannot read, change or probe shop B through the functions", async () => {
  const world = await createWorld(connectDb());
  try {
    const attacker = world.outsider.jwt; // owner of world.otherShopId (shop A)
    const item = await createItem(world, { stock: 9 });
    const order = await createOrder(world, [{ item_id: item.id, quantity: 2 }]);
    const deducted = await createOrder(world, [{ item_id: item.id, quantity: 1 }], { status: "cancelled" });
    await world.sql`update public.form_submissions set stock_deducted_at = now() where id = ${deducted}`;
    const snapshot = (await callFunction("admin-operations", world.platformAdmin.jwt, {
      action: "create_backup",
      shop_id: world.shopId,
    }))
      .body.data.snapshots[0].id;
    await createItem(world, { shopId: world.otherShopId, stock: 3 });

    const before = await databaseFingerprint(world.sql);
    // Each probe is a function of the id; it is sent with B's id and with an id that exists nowhere.
    const probes: [FunctionName, string, (id: string) => Record<string, unknown>][] = [
      ["inventory-operations", item.id, (id) => ({ action: "update", item_id: id, change: -1, reason: "sale" })],
      [
        "inventory-operations",
        item.id,
        (id) => ({ action: "update", item_id: id, set_to: 0, reason: "correction", expected_stock: 9 }),
      ],
      ["inventory-operations", order, (id) => ({ action: "process_order", order_id: id })],
      ["inventory-operations", deducted, (id) => ({ action: "restore_order", order_id: id })],
      ["inventory-operations", world.shopId, (id) => ({ action: "get_low_stock", shop_id: id, threshold: 100 })],
      ["analytics-operations", world.shopId, (id) => ({ action: "generate_daily", shop_id: id, date: "2026-11-01" })],
      [
        "analytics-operations",
        world.shopId,
        (id) => ({ action: "generate_product", shop_id: id, start_date: "2026-10-01", end_date: "2026-10-31" }),
      ],
      [
        "analytics-operations",
        world.shopId,
        (id) => ({ action: "get_metrics", shop_id: id, start_date: "2026-10-01", end_date: "2026-10-31" }),
      ],
      ["analytics-operations", world.shopId, (id) => ({ action: "get_shop_stats", shop_id: id })],
      ["admin-operations", world.shopId, (id) => ({ action: "create_backup", shop_id: id })],
      ["admin-operations", snapshot, (id) => ({ action: "restore_backup", snapshot_id: id, dry_run: false })],
      ["admin-operations", world.shopId, (id) => ({ action: "list_backups", shop_id: id })],
    ];
    let calls = 0;
    for (const [fn, victimId, body] of probes) {
      const random = crypto.randomUUID();
      const real = await callFunction(fn, attacker, body(victimId));
      const none = await callFunction(fn, attacker, body(random));
      calls += 2;
      const label = `${fn} ${body(victimId).action}`;
      assert.ok([403, 404].includes(real.status), `${label}: refused, got ${real.status} ${real.text}`);
      assert.equal(
        normalize(real.text, [victimId]),
        normalize(none.text, [random]),
        `${label}: B's id and a random id get the same answer`,
      );
      assert.equal(real.status, none.status);
      assert.ok(!real.text.includes(item.name) && !real.text.includes(world.owner.email), `${label}: leaks B's data`);
    }

    // An order of the attacker's own shop naming B's item is refused like one naming nothing.
    const withVictimItem = await createOrder(world, [{ item_id: item.id, quantity: 1 }], { shopId: world.otherShopId });
    const random = crypto.randomUUID();
    const withAbsentItem = await createOrder(world, [{ item_id: random, quantity: 1 }], { shopId: world.otherShopId });
    const a = await callFunction("inventory-operations", attacker, {
      action: "process_order",
      order_id: withVictimItem,
    });
    const b = await callFunction("inventory-operations", attacker, {
      action: "process_order",
      order_id: withAbsentItem,
    });
    calls += 2;
    assert.equal(a.status, 400, a.text);
    assert.equal(
      normalize(a.text, [item.id, withVictimItem]).replace(/#\d+/g, "#N"),
      normalize(b.text, [random, withAbsentItem]).replace(/#\d+/g, "#N"),
    );
    const after = await databaseFingerprint(world.sql);
    // Only the attacker's own two orders were added (by this test's fixtures).
    delete before["public.form_submissions"];
    delete after["public.form_submissions"];
    delete before["private.order_number_counters"];
    delete after["private.order_number_counters"];
    assert.deepEqual(after, before, "nothing changed");
    const [{ n }] = await world.sql<{ n: number }[]>`
      select count(*)::int as n from public.form_submissions
       where shop_id = ${world.shopId} and stock_deducted_at is null and id = ${order}`;
    assert.equal(n, 1, "B's order is still not deducted");
    await recordFigures("tenancy.functions", { probes: calls, leaks: 0 });
  } finally {
    await destroyWorld(world);
  }
});

test("another shop's user cannot read, change or probe shop B directly through PostgREST", async () => {
  const world = await createWorld(connectDb());
  try {
    const attacker = world.outsider.jwt;
    const item = await createItem(world, { stock: 9 });
    const order = await createOrder(world, [{ item_id: item.id, quantity: 2 }]);
    const processed = await callFunction("inventory-operations", world.staff.jwt, {
      action: "process_order",
      order_id: order,
    });
    assert.equal(processed.status, 200, processed.text);
    await callFunction("analytics-operations", world.staff.jwt, { action: "generate_daily", shop_id: world.shopId });
    await callFunction("admin-operations", world.platformAdmin.jwt, { action: "create_backup", shop_id: world.shopId });
    await createItem(world, { shopId: world.otherShopId, stock: 3 });
    const victim = { rows: await victimRows(world) };
    const victimUsers = [world.owner.id, world.admin.id, world.staff.id, world.viewer.id];

    const before = await databaseFingerprint(world.sql);
    let requests = 0;
    const tables = [...Object.keys(victim.rows), "shops", "profiles", "platform_metrics"];
    for (const table of tables) {
      const scope = table === "shops" ? "id" : "shop_id";
      const hasScope = table in victim.rows || table === "shops";
      // Unfiltered: nothing of B in what comes back.
      const all = await rest(attacker, "GET", `${table}?select=*`);
      requests++;
      if (all.status === 200) {
        const text = JSON.stringify(all.body);
        assert.ok(!text.includes(world.shopId), `${table}: an unfiltered read shows shop B: ${text.slice(0, 300)}`);
        for (const user of victimUsers) assert.ok(!text.includes(user), `${table}: shows a member of B`);
      } else {
        assert.ok(all.status >= 400 && all.status < 500, `${table}: ${all.status} ${all.text}`);
      }
      if (!hasScope) continue;
      // By filter, and by every one of B's primary keys against a random one: the same empty answer.
      const byShop = await rest(attacker, "GET", `${table}?${scope}=eq.${world.shopId}`);
      const byNothing = await rest(attacker, "GET", `${table}?${scope}=eq.${crypto.randomUUID()}`);
      requests += 2;
      assert.equal(byShop.text, byNothing.text, `${table}: filtering on B's id answers like a random id`);
      for (const id of (victim.rows[table] ?? [world.shopId]).slice(0, 3)) {
        const real = await rest(attacker, "GET", `${table}?id=eq.${id}`);
        // An absent key of the same type (bigint ids far beyond the sequence).
        const absent = /^\d+$/.test(id) ? String(Number(id) + 1_000_000_000) : crypto.randomUUID();
        const none = await rest(attacker, "GET", `${table}?id=eq.${absent}`);
        requests += 2;
        assert.equal(real.text, none.text, `${table}: B's row ${id} answers like a random id`);
        assert.equal(real.status, none.status);
      }
      // Writes: moving B's rows into A, renaming, deleting, inserting into B.
      const attackerShop = world.otherShopId;
      const patch = table === "shops" ? { name: "pwned" } : { shop_id: attackerShop };
      const patched = await rest(attacker, "PATCH", `${table}?${scope}=eq.${world.shopId}`, patch);
      const deleted = await rest(attacker, "DELETE", `${table}?${scope}=eq.${world.shopId}`);
      const inserted = await rest(
        attacker,
        "POST",
        table,
        table === "shops"
          ? { id: world.shopId, owner_id: world.outsider.id, name: "x", slug: `x-${crypto.randomUUID().slice(0, 8)}` }
          : { shop_id: world.shopId },
      );
      requests += 3;
      for (const [what, answer] of [["PATCH", patched], ["DELETE", deleted]] as const) {
        assert.ok(
          (answer.status < 300 && JSON.stringify(answer.body) === "[]") ||
            (answer.status >= 400 && answer.status < 500),
          `${table} ${what}: ${answer.status} ${answer.text}`,
        );
      }
      assert.ok(
        inserted.status >= 400 && inserted.status < 500,
        `${table} insert into B: ${inserted.status} ${inserted.text}`,
      );
    }

    // Other filter forms a client can build (or/in trees, JSON containment,
    // embedding through a relation, exact counts): B's ids answer exactly as
    // random ones, counts included.
    const filterForms = (shop: string, itemId: string): [string, string, Record<string, string>][] => [
      ["GET", `items?or=(shop_id.eq.${shop},id.eq.${itemId})`, {}],
      ["GET", `items?shop_id=in.(${shop})&select=id,stock`, {}],
      ["GET", `items?id=in.(${itemId})`, {}],
      ["GET", `items?not.shop_id=neq.${shop}`, {}],
      ["GET", `stock_history?item_id=eq.${itemId}`, {}],
      ["GET", `form_submissions?line_items=cs.${encodeURIComponent(JSON.stringify([{ item_id: itemId }]))}`, {}],
      ["GET", `shops?id=eq.${shop}&select=*,items(*)`, {}],
      ["GET", `items?select=id,shops(id,name)&shop_id=eq.${shop}`, {}],
      ["HEAD", `items?shop_id=eq.${shop}`, { prefer: "count=exact" }],
      ["GET", `stock_history?shop_id=eq.${shop}&limit=1`, { prefer: "count=exact" }],
    ];
    const absentShop = crypto.randomUUID();
    const absentItem = crypto.randomUUID();
    const realForms = filterForms(world.shopId, item.id);
    const absentForms = filterForms(absentShop, absentItem);
    for (let i = 0; i < realForms.length; i++) {
      const [method, path, headers] = realForms[i];
      const real = await rest(attacker, method, path, undefined, headers);
      const none = await rest(attacker, method, absentForms[i][1], undefined, headers);
      requests += 2;
      assert.equal(real.status, none.status, `${method} ${path}: status`);
      assert.equal(
        normalize(real.text, [world.shopId, item.id]),
        normalize(none.text, [absentShop, absentItem]),
        `${method} ${path}: body`,
      );
      assert.equal(real.headers.get("content-range"), none.headers.get("content-range"), `${method} ${path}: count`);
      assert.ok(!real.text.includes(item.name), `${method} ${path}: shows B's item`);
    }

    // Every RPC the API exposes, called directly with B's ids, answers like one with random ids.
    const rpcs: [string, (ids: { shop: string; item: string; order: string }) => Record<string, unknown>][] = [
      ["update_stock", (x) => ({ p_item_id: x.item, p_change: -1, p_reason: "sale" })],
      ["process_order_stock_changes", (x) => ({ p_order_id: x.order })],
      ["restore_order_stock", (x) => ({ p_order_id: x.order })],
      ["get_low_stock_items", (x) => ({ p_shop_id: x.shop })],
      ["generate_daily_sales_metrics", (x) => ({ p_shop_id: x.shop })],
      ["get_sales_metrics", (x) => ({ p_shop_id: x.shop, p_start: "2026-10-01", p_end: "2026-10-31" })],
      ["generate_product_analytics", (x) => ({ p_shop_id: x.shop, p_start: "2026-10-01", p_end: "2026-10-31" })],
      ["get_shop_stats", (x) => ({ p_shop_id: x.shop })],
      ["create_backup_snapshot", (x) => ({ p_shop_id: x.shop })],
      ["list_backups", (x) => ({ p_shop_id: x.shop })],
    ];
    for (const [rpc, args] of rpcs) {
      const real = await rest(attacker, "POST", `rpc/${rpc}`, args({ shop: world.shopId, item: item.id, order }));
      const randomIds = { shop: crypto.randomUUID(), item: crypto.randomUUID(), order: crypto.randomUUID() };
      const none = await rest(attacker, "POST", `rpc/${rpc}`, args(randomIds));
      requests += 2;
      assert.ok(real.status >= 400 && real.status < 500, `rpc ${rpc}: ${real.status} ${real.text}`);
      assert.equal(
        normalize(real.text, [world.shopId, item.id, order]),
        normalize(none.text, Object.values(randomIds)),
        `rpc ${rpc}: B's ids answer like random ids`,
      );
    }
    // Schema private is not reachable at all.
    const priv = await rest(attacker, "GET", "app_secrets?select=*", undefined, { "accept-profile": "private" });
    requests++;
    assert.ok(priv.status >= 400 && priv.status < 500, `private schema: ${priv.status} ${priv.text}`);

    assert.deepEqual(await databaseFingerprint(world.sql), before, "nothing changed anywhere");
    await recordFigures("tenancy.postgrest", { tables: tables.length, requests, leaks: 0 });
  } finally {
    await destroyWorld(world);
  }
});

/** A foreign key between two shop-scoped tables of the API (`shops` included as a parent). */
interface ShopRelation {
  constraint: string;
  child: string;
  parent: string;
  columns: string[];
}

async function shopRelations(world: World): Promise<ShopRelation[]> {
  return await world.sql<ShopRelation[]>`
    select c.conname as constraint, t.relname as child, ft.relname as parent,
           (select array_agg(a.attname::text order by k.ord) from unnest(c.conkey) with ordinality k(attnum, ord)
              join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum) as columns
      from pg_catalog.pg_constraint c
      join pg_catalog.pg_class t on t.oid = c.conrelid
      join pg_catalog.pg_namespace n on n.oid = t.relnamespace and n.nspname = 'public'
      join pg_catalog.pg_class ft on ft.oid = c.confrelid
      join pg_catalog.pg_namespace fn on fn.oid = ft.relnamespace and fn.nspname = 'public'
     where c.contype = 'f'
       and exists (select 1 from pg_catalog.pg_attribute a
                    where a.attrelid = t.oid and a.attname = 'shop_id' and not a.attisdropped)
       and (ft.relname = 'shops' or exists (select 1 from pg_catalog.pg_attribute a
                    where a.attrelid = ft.oid and a.attname = 'shop_id' and not a.attisdropped))
     order by t.relname, ft.relname, c.conname`;
}

/** An item with a stock movement, a form and an order through it, and computed analytics, in `shopId`. */
async function populateShop(world: World, shopId: string): Promise<void> {
  const item = await createItem(world, { shopId, stock: 5 });
  await world.sql`
    insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason)
    values (${shopId}, ${item.id}, 1, 4, 5, 'restock')`;
  const [form] = await world.sql<{ id: string }[]>`
    insert into public.forms (shop_id, name, slug) values (${shopId}, 'Order form', 'order-form') returning id`;
  const order = await createOrder(world, [{ item_id: item.id, quantity: 1 }], { shopId });
  await world.sql`update public.form_submissions set form_id = ${form.id} where id = ${order}`;
  await world.sql`
    insert into public.product_analytics (shop_id, item_id, period_start, period_end, units_sold)
    values (${shopId}, ${item.id}, '2026-10-01', '2026-10-31', 1)`;
}

Deno.test({
  name: "embedding through every foreign key shows the caller's shop's rows and never another shop's",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const world = await createWorld(connectDb());
    try {
      await populateShop(world, world.shopId);
      await populateShop(world, world.otherShopId);
      const victim = await victimRows(world);
      const victimIds = [world.shopId, ...Object.values(victim).flat()];
      const relations = await shopRelations(world);
      assert.ok(relations.length >= 10, `relations found: ${relations.length}`);
      const shopOf = (table: string) => (table === "shops" ? "id" : "shop_id");
      let embeddedRowsSeen = 0;
      for (const relation of relations) {
        await t.step(`${relation.child} -> ${relation.parent} (${relation.constraint})`, async () => {
          const { child, parent, constraint, columns } = relation;
          const manyToOne = `${child}?select=shop_id,embedded:${parent}!${constraint}(${shopOf(parent)})`;
          const oneToMany = `${parent}?select=${shopOf(parent)},embedded:${child}!${constraint}(shop_id)`;
          // The victim's owner sees exactly B's related rows through the embedding: the reads are real.
          const [expected] = await world.sql.unsafe<{ n: number }[]>(
            `select count(*)::int as n from public.${child} where shop_id = $1 and ${
              columns.map((c) => `${c} is not null`).join(" and ")
            }`,
            [world.shopId],
          );
          const own = await rest(world.owner.jwt, "GET", oneToMany);
          if (own.status !== 200) {
            // A table the API roles may not read (e.g. service-only): refused alike for the attacker.
            const refused = await rest(world.outsider.jwt, "GET", oneToMany);
            assert.equal(refused.status, own.status, `${oneToMany}: ${refused.text}`);
            assert.ok(own.status >= 400 && own.status < 500, `${oneToMany} as B's owner: ${own.text}`);
            return;
          }
          const ownRows = (own.body as { embedded: unknown }[]).flatMap((row) =>
            Array.isArray(row.embedded) ? row.embedded : row.embedded === null ? [] : [row.embedded]
          );
          assert.equal(ownRows.length, expected.n, `${oneToMany}: B's owner sees B's related rows`);
          // The attacker (owner of A) gets A's rows only, in both directions.
          for (const path of [manyToOne, oneToMany]) {
            const seen = await rest(world.outsider.jwt, "GET", path);
            assert.equal(seen.status, 200, `${path} as A's owner: ${seen.text}`);
            for (const id of victimIds) assert.ok(!seen.text.includes(id), `${path}: shows B's ${id}`);
            for (const row of seen.body as { embedded: unknown; shop_id?: string; id?: string }[]) {
              assert.equal(row.shop_id ?? row.id, world.otherShopId, `${path}: a row of another shop`);
              const embedded = Array.isArray(row.embedded) ? row.embedded : row.embedded ? [row.embedded] : [];
              for (const inner of embedded as { shop_id?: string; id?: string }[]) {
                assert.equal(inner.shop_id ?? inner.id, world.otherShopId, `${path}: an embedded row of another shop`);
                embeddedRowsSeen++;
              }
            }
          }
        });
      }
      assert.ok(embeddedRowsSeen > 0, "the attacker's own embedded rows were read");
      await recordFigures("tenancy.embedding", { relations: relations.length, embeddedRowsSeen, leaks: 0 });
    } finally {
      await destroyWorld(world);
    }
  },
});
