// docs/DIRECT_ACCESS.md cannot rot: every ```ts block of it that starts with
// `// example: <name> (as: <caller>)` runs here through supabase-js, as that
// caller of a fresh shop, in the guide's order (so the catalog upsert runs
// after the catalog reads), and what it returns must have the shape the
// screen relies on. A second test writes the same kind of queries against the
// generated types (`createClient<Database>`), so `deno test`'s type check
// proves the types accept them.

import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../../supabase/database.types.ts";
import { assert, connectDb, SUPABASE_ANON_KEY, SUPABASE_URL, test } from "./helpers.ts";
import { createItem, createOrder, createWorld, destroyWorld, type World } from "./fixtures.ts";

const GUIDE = new URL("../../docs/DIRECT_ACCESS.md", import.meta.url);

interface Example {
  name: string;
  caller: "owner" | "admin" | "staff" | "viewer" | "platformAdmin";
  code: string;
}

function examples(markdown: string): Example[] {
  const found: Example[] = [];
  for (const block of markdown.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const header = block[1].match(/^\/\/ example: (\w+) \(as: (\w+)\)\n/);
    if (!header) continue;
    found.push({ name: header[1], caller: header[2] as Example["caller"], code: block[1] });
  }
  return found;
}

function typedClient(jwt: string): SupabaseClient<Database> {
  return createClient<Database>(SUPABASE_URL, SUPABASE_ANON_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { headers: { Authorization: `Bearer ${jwt}` } },
  });
}

interface Context {
  shopId: string;
  orderId: string;
  from: string;
  to: string;
  itemId: string;
}

/** A shop with items, stock movements, a form, orders and computed metrics. */
async function populate(world: World): Promise<Context> {
  const from = "2026-10-01";
  const to = "2026-10-31";
  // Created an hour ago: its opening stock's 'initial' history row is older than the movements below.
  const createdAt = new Date(Date.now() - 3_600_000).toISOString();
  const mug = await createItem(world, { name: "Blue mug", sku: "MUG-BLUE", stock: 12, lowStockThreshold: 3, createdAt });
  await createItem(world, { name: "Clay mug", stock: 2, lowStockThreshold: 5 });
  await createItem(world, { name: "Plate", stock: 30 });
  for (let i = 1; i <= 7; i++) {
    await world.sql`
      insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason, created_at)
      values (${world.shopId}, ${mug.id}, 1, ${i}, ${i + 1}, 'restock', now() - make_interval(mins => ${10 - i}))`;
  }
  const [form] = await world.sql<{ id: string }[]>`
    insert into public.forms (shop_id, name, slug) values (${world.shopId}, 'Instagram order form', 'instagram')
    returning id`;
  const orderId = await createOrder(world, [{ item_id: mug.id, quantity: 2 }], { status: "pending" });
  await createOrder(world, [{ item_id: mug.id, quantity: 1 }], { status: "completed" });
  await world.sql`update public.form_submissions set form_id = ${form.id} where id = ${orderId}`;
  await world.sql`
    insert into public.daily_sales_metrics (shop_id, date, orders, completed, net_revenue, gross_profit)
    values (${world.shopId}, '2026-10-02', 3, 2, 45, 20), (${world.shopId}, '2026-10-03', 1, 1, 10, 6)`;
  await world.sql`
    insert into public.product_analytics (shop_id, item_id, period_start, period_end, units_sold, revenue, profit)
    values (${world.shopId}, ${mug.id}, ${from}, ${to}, 4, 40, 24)`;
  await world.sql`
    insert into public.platform_metrics (date, gmv, mrr, total_shops) values ('2000-01-01', 1, 1, 1)
    on conflict (date) do nothing`;
  return { shopId: world.shopId, orderId, from, to, itemId: mug.id };
}

type Row = Record<string, unknown>;

function rows(data: unknown, name: string): Row[] {
  assert.ok(Array.isArray(data), `${name}: an array, got ${JSON.stringify(data)}`);
  return data as Row[];
}

function hasKeys(row: unknown, keys: string[], name: string): void {
  assert.ok(row !== null && typeof row === "object", `${name}: an object, got ${JSON.stringify(row)}`);
  for (const key of keys) assert.ok(key in (row as Row), `${name}: no "${key}" in ${JSON.stringify(row)}`);
}

/** The shape each screen relies on, per example. */
const SHAPES: Record<string, (answer: { data: unknown; count?: number | null }, context: Context) => void> = {
  catalog_with_history({ data }, { itemId }) {
    const items = rows(data, "catalog");
    assert.deepEqual(items.map((i) => i.name), ["Blue mug", "Clay mug", "Plate"]);
    for (const item of items) hasKeys(item, ["id", "sku", "price", "stock", "stock_history"], "catalog");
    const history = rows(items.find((i) => i.id === itemId)?.stock_history, "history");
    assert.deepEqual(history.map((h) => h.new_stock), [8, 7, 6, 5, 4], "the last 5 movements, newest first");
    // The plate never moved: its history is its opening stock.
    const plate = rows(items[2].stock_history, "plate history");
    assert.deepEqual(plate.map((h) => [h.reason, h.new_stock]), [["initial", 30]]);
  },
  catalog_upsert({ data }, { itemId }) {
    const items = rows(data, "upsert");
    const mug = items.find((i) => i.sku === "MUG-BLUE");
    const tea = items.find((i) => i.sku === "TEA-GREEN");
    assert.equal(items.length, 2);
    assert.deepEqual(mug, { id: itemId, sku: "MUG-BLUE", name: "Blue mug", price: 14, stock: 12 }, "updated in place");
    assert.ok(tea && tea.id !== itemId, "a new item");
    assert.deepEqual([tea.name, tea.price, tea.stock], ["Green tea, 100 g", 6, 40]);
  },
  low_stock({ data }) {
    const items = rows((data as Row).items, "low stock");
    assert.deepEqual(items.map((i) => i.name), ["Clay mug"]);
  },
  search_by_name({ data }) {
    assert.deepEqual(rows(data, "search").map((i) => i.name).sort(), ["Blue mug", "Clay mug"]);
  },
  search_by_substring({ data }) {
    assert.deepEqual(rows(data, "search").map((i) => i.name).sort(), ["Blue mug", "Clay mug"]);
  },
  catalog_page({ data, count }) {
    assert.equal(rows(data, "page").length, 3);
    assert.equal(count, 3);
  },
  daily_metrics_range({ data }) {
    const days = rows(data, "daily");
    assert.deepEqual(days.map((d) => d.date), ["2026-10-02", "2026-10-03"]);
    hasKeys(days[0], ["orders", "completed", "net_revenue", "gross_profit", "average_order_value"], "daily");
  },
  top_products({ data }) {
    const top = rows(data, "top");
    assert.equal(top.length, 1);
    assert.deepEqual((top[0].items as Row).name, "Blue mug");
    hasKeys(top[0], ["units_sold", "revenue", "profit"], "top");
  },
  orders_page({ data, count }, { orderId, itemId }) {
    const orders = rows(data, "orders");
    assert.equal(count, 1, "only the pending one matches the status filter");
    assert.equal(orders[0].id, orderId);
    assert.equal(orders[0].first_item, itemId);
    assert.deepEqual(orders[0].forms, { name: "Instagram order form" });
  },
  one_order({ data }, { orderId }) {
    hasKeys(data, ["order_number", "status", "line_items"], "order");
    const order = data as Row;
    assert.equal(order.id, orderId);
    assert.equal(order.total_text, "20.00");
    assert.deepEqual(order.forms, { name: "Instagram order form" });
  },
  latest_platform_metrics({ data }) {
    hasKeys(data, ["date", "gmv", "mrr", "total_shops", "plan_distribution"], "platform");
  },
};

// deno-lint-ignore no-explicit-any
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as any;

test("every example of docs/DIRECT_ACCESS.md runs and returns what its screen expects", async () => {
  const found = examples(await Deno.readTextFile(GUIDE));
  assert.deepEqual(found.map((e) => e.name).sort(), Object.keys(SHAPES).sort(), "each example has a shape check");
  const world = await createWorld(connectDb());
  try {
    const context = await populate(world);
    for (const example of found) {
      const supabase = typedClient(world[example.caller].jwt);
      const run = new AsyncFunction(
        "supabase",
        "shopId",
        "orderId",
        "from",
        "to",
        `${example.code}\nreturn { data, error, count: typeof count === "undefined" ? undefined : count };`,
      );
      const answer = await run(supabase, context.shopId, context.orderId, context.from, context.to);
      assert.equal(answer.error, null, `${example.name}: ${JSON.stringify(answer.error)}`);
      SHAPES[example.name](answer, context);
    }
  } finally {
    await world.sql`delete from public.platform_metrics where date = '2000-01-01'`;
    await destroyWorld(world);
  }
});

test("the generated types accept embedding, JSON paths and casts, and type what comes back", async () => {
  const world = await createWorld(connectDb());
  try {
    const { shopId, orderId } = await populate(world);
    const supabase = typedClient(world.staff.jwt);
    const catalog = await supabase
      .from("items")
      .select("name, stock, stock_history(new_stock, created_at)")
      .eq("shop_id", shopId)
      .order("name")
      .order("created_at", { referencedTable: "stock_history", ascending: false })
      .limit(2, { referencedTable: "stock_history" });
    assert.equal(catalog.error, null);
    const newest: number | undefined = catalog.data?.[0].stock_history[0]?.new_stock;
    assert.equal(newest, 8);

    const order = await supabase
      .from("form_submissions")
      .select("order_number, total_text:total::text, forms!form_submissions_form_fkey(name)")
      .eq("id", orderId)
      .single();
    assert.equal(order.error, null);
    const formName: string | undefined = order.data?.forms?.name;
    const total: string | undefined = order.data?.total_text;
    assert.equal(formName, "Instagram order form");
    assert.equal(total, "20.00");

    // Another shop's order through the same query: no row, PGRST116, not its data.
    const outsider = typedClient(world.outsider.jwt);
    const probe = await outsider.from("form_submissions").select("id, forms(name)").eq("id", orderId).single();
    assert.equal(probe.data, null);
    assert.equal(probe.error?.code, "PGRST116");
  } finally {
    await world.sql`delete from public.platform_metrics where date = '2000-01-01'`;
    await destroyWorld(world);
  }
});
