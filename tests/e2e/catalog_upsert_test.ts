// The catalog written as a frontend writes it: supabase-js `upsert` on
// (shop_id, sku), through the gateway as PostgREST sends it
// (`on_conflict=shop_id,sku`, `Prefer: resolution=merge-duplicates`, every
// payload column in `do update set`). Staff and above may; a viewer and
// another shop's members may not; an item never moves to another shop and
// its stock never changes this way. Database state is checked after each
// answer.

import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../../supabase/database.types.ts";
import { assert, connectDb, SUPABASE_ANON_KEY, SUPABASE_URL, test } from "./helpers.ts";
import { createWorld, destroyWorld, shopState } from "./fixtures.ts";

const world = await createWorld(connectDb());
const { sql } = world;

function client(jwt: string): SupabaseClient<Database> {
  return createClient<Database>(SUPABASE_URL, SUPABASE_ANON_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { headers: { Authorization: `Bearer ${jwt}` } },
  });
}

type ItemRow = { id: string; sku: string | null; name: string; price: number; stock: number | null };

async function itemsOf(shopId: string): Promise<ItemRow[]> {
  return await sql<ItemRow[]>`
    select id, sku, name, price::float8 as price, stock from public.items where shop_id = ${shopId} order by sku`;
}

async function historyOf(itemId: string): Promise<string[]> {
  const rows = await sql<{ reason: string; change: number; created_by: string | null }[]>`
    select reason, change, created_by from public.stock_history where item_id = ${itemId} order by id`;
  return rows.map((r) => `${r.reason}:${r.change}:${r.created_by === world.staff.id ? "staff" : r.created_by}`);
}

test("staff upsert the catalog by (shop_id, sku): new items with opening stock, existing ones updated in place", async () => {
  const staff = client(world.staff.jwt);
  const first = await staff
    .from("items")
    .upsert(
      [
        { shop_id: world.shopId, sku: "UP-MUG", name: "Blue mug", price: 12, stock: 5 },
        { shop_id: world.shopId, sku: "UP-TEA", name: "Green tea", price: 6, stock: 0 },
      ],
      { onConflict: "shop_id,sku" },
    )
    .select("id, sku, name, price, stock");
  assert.equal(first.error, null, JSON.stringify(first.error));
  assert.equal(first.status, 201);
  const mug = first.data!.find((i) => i.sku === "UP-MUG")!;
  assert.deepEqual(await historyOf(mug.id), ["initial:5:staff"], "the opening stock is an 'initial' row by the staff member");

  const second = await staff
    .from("items")
    .upsert(
      [
        { shop_id: world.shopId, sku: "UP-MUG", name: "Blue mug, large", price: 14, stock: 5 },
        { shop_id: world.shopId, sku: "UP-JAR", name: "Honey jar", price: 8, stock: 3 },
      ],
      { onConflict: "shop_id,sku" },
    )
    .select("id, sku, name, price, stock");
  assert.equal(second.error, null, JSON.stringify(second.error));
  assert.deepEqual(second.data!.map((i) => [i.sku, i.name, i.price, i.stock]).sort(), [
    ["UP-JAR", "Honey jar", 8, 3],
    ["UP-MUG", "Blue mug, large", 14, 5],
  ]);
  assert.equal(second.data!.find((i) => i.sku === "UP-MUG")!.id, mug.id, "the existing item kept its id");
  const stored = (await itemsOf(world.shopId)).filter((i) => i.sku?.startsWith("UP-"));
  assert.deepEqual(stored.map((i) => [i.sku, i.name, i.price, i.stock]), [
    ["UP-JAR", "Honey jar", 8, 3],
    ["UP-MUG", "Blue mug, large", 14, 5],
    ["UP-TEA", "Green tea", 6, 0],
  ], "three items, none duplicated");
  assert.deepEqual(await historyOf(mug.id), ["initial:5:staff"], "repeating the stock wrote no history");
});

test("an upsert that would change an item's stock is refused with 409 conflict naming the column, and changes nothing", async () => {
  const staff = client(world.staff.jwt);
  const seeded = await staff
    .from("items")
    .upsert({ shop_id: world.shopId, sku: "UP-CUP", name: "Cup", price: 4, stock: 2 }, { onConflict: "shop_id,sku" })
    .select("id")
    .single();
  assert.equal(seeded.error, null, JSON.stringify(seeded.error));
  const before = await shopState(world, world.shopId);
  const answer = await staff
    .from("items")
    .upsert({ shop_id: world.shopId, sku: "UP-CUP", name: "Cup (recount)", price: 4, stock: 9 }, {
      onConflict: "shop_id,sku",
    });
  assert.equal(answer.status, 409, JSON.stringify(answer.error));
  assert.equal(answer.error?.code, "PT409");
  assert.equal(answer.error?.message, "conflict");
  assert.deepEqual(JSON.parse(answer.error!.details), { table: "items", column: "stock", item_id: seeded.data!.id });
  assert.match(answer.error!.hint, /update_stock/);
  assert.deepEqual(await shopState(world, world.shopId), before, "nothing changed");

  // The way it is done: the stock function, which writes the history row.
  const recount = await staff.rpc("update_stock", { p_item_id: seeded.data!.id, p_set_to: 9, p_reason: "correction" });
  assert.equal(recount.error, null, JSON.stringify(recount.error));
  assert.deepEqual(await historyOf(seeded.data!.id), ["initial:2:staff", "correction:7:staff"]);
});

test("an item never moves to another shop: 409 conflict even for a member of both shops", async () => {
  // The staff member also joins the other shop, so row-level security allows
  // both shops and only the database's key guard stands in the way.
  await sql`insert into public.team_members (shop_id, user_id, role) values (${world.otherShopId}, ${world.staff.id}, 'staff')`;
  try {
    const staff = client(world.staff.jwt);
    const made = await staff.from("items").insert({ shop_id: world.shopId, sku: "UP-BAG", name: "Bag" }).select("id")
      .single();
    assert.equal(made.error, null, JSON.stringify(made.error));
    const before = await shopState(world, world.shopId);

    const moved = await staff.from("items").update({ shop_id: world.otherShopId }).eq("id", made.data!.id);
    assert.equal(moved.status, 409, JSON.stringify(moved.error));
    assert.equal(moved.error?.message, "conflict");
    assert.deepEqual(JSON.parse(moved.error!.details), { table: "items", column: "shop_id", item_id: made.data!.id });

    const byId = await staff.from("items").upsert({ id: made.data!.id, shop_id: world.otherShopId, name: "Bag" });
    assert.equal(byId.status, 409, JSON.stringify(byId.error));
    assert.equal(JSON.parse(byId.error!.details).column, "shop_id", "nor by an upsert on the primary key");

    assert.deepEqual(await shopState(world, world.shopId), before);
    assert.deepEqual(await itemsOf(world.otherShopId), [], "the other shop got nothing");
  } finally {
    await sql`delete from public.team_members where shop_id = ${world.otherShopId} and user_id = ${world.staff.id}`;
  }
});

test("a viewer, another shop's owner and a row aimed at another shop are refused (403), nothing written", async () => {
  const staff = client(world.staff.jwt);
  const seeded = await staff
    .from("items")
    .upsert({ shop_id: world.shopId, sku: "UP-PEN", name: "Pen", price: 1, stock: 0 }, { onConflict: "shop_id,sku" });
  assert.equal(seeded.error, null, JSON.stringify(seeded.error));
  const before = [await shopState(world, world.shopId), await shopState(world, world.otherShopId)];

  const attempts = [
    ["viewer", client(world.viewer.jwt), world.shopId],
    ["another shop's owner", client(world.outsider.jwt), world.shopId],
    ["staff, into the other shop", staff, world.otherShopId],
  ] as const;
  for (const [who, caller, shopId] of attempts) {
    const answer = await caller
      .from("items")
      .upsert({ shop_id: shopId, sku: "UP-PEN", name: "Overwritten", price: 0, stock: 0 }, { onConflict: "shop_id,sku" });
    assert.equal(answer.status, 403, `${who}: ${JSON.stringify(answer.error)}`);
    assert.equal(answer.error?.code, "42501", who);
  }
  assert.deepEqual([await shopState(world, world.shopId), await shopState(world, world.otherShopId)], before);
});

test("(cleanup) remove this file's world", async () => {
  await destroyWorld(world);
});
