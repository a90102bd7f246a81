// analytics-operations end to end. The shop lives in Asia/Dhaka (UTC+6, no
// DST), and its orders sit around local midnights, so a report bucketed in UTC
// instead of the shop's day gives different numbers than the ones below.

import { assert, assertError, assertOk, clientFor, connectDb, type FnAnswer, invoke, test, uuid } from "./helpers.ts";
import {
  ANY_MEMBER,
  type Caller,
  CALLERS,
  createItem,
  createOrder,
  createWorld,
  destroyWorld,
  fingerprint,
  jwtOf,
  STAFF_OR_ABOVE,
} from "./fixtures.ts";

const FN = "analytics-operations";
const TIMEZONE = "Asia/Dhaka";
const world = await createWorld(connectDb(), { timezone: TIMEZONE });
const { sql } = world;

function call(caller: Caller, body: unknown): Promise<FnAnswer> {
  return invoke(clientFor(jwtOf(world, caller)), FN, body);
}

// ---------------------------------------------------------------- the shop

// Shop default low-stock threshold: 5. Created before every period the tests
// report on, so their opening stock ('initial' history rows) predates them.
const createdAt = "2026-01-01T00:00:00Z";
const tee = await createItem(world, { name: "Tee", category: "tees", price: 30, cost: 10, stock: 18, createdAt });
const mug = await createItem(world, {
  name: "Mug",
  category: "mugs",
  price: 15,
  cost: 5,
  stock: 8,
  lowStockThreshold: 10,
  createdAt,
});
const sticker = await createItem(world, { name: "Sticker", category: "stickers", price: 4, cost: 1, stock: 0, createdAt });
const pin = await createItem(world, { name: "Pin", category: "pins", price: 2, cost: 0.5, stock: 9, createdAt });
const service = await createItem(world, { name: "Gift wrap", category: "services", price: 3, stock: null });
await createItem(world, { name: "Retired", stock: 0, isActive: false });

const line = (item: { id: string }, quantity: number, unit_price: number, unit_cost: number) => ({
  item_id: item.id,
  quantity,
  unit_price,
  unit_cost,
});

// 2026-03-10 local = [2026-03-09T18:00Z, 2026-03-10T18:00Z)
await createOrder(world, [line(tee, 1, 30, 10), line(mug, 2, 15, 5)], {
  status: "completed",
  submittedAt: "2026-03-10T02:00:00Z",
  discount: 5,
  customerRef: "c1",
});
await createOrder(world, [line(sticker, 2, 4, 1), line(pin, 1, 2, 0.5)], {
  status: "delivered",
  submittedAt: "2026-03-10T17:30:00Z", // 23:30 local, still the 10th
  customerRef: "c2",
});
await createOrder(world, [line(tee, 1, 30, 10)], {
  status: "completed",
  submittedAt: "2026-03-09T18:10:00Z", // 00:10 local on the 10th (the 9th in UTC)
  customerRef: "c1",
});
await createOrder(world, [line(tee, 5, 30, 10)], {
  status: "cancelled",
  submittedAt: "2026-03-10T10:00:00Z",
  customerRef: "c3",
});
await createOrder(world, [line(mug, 1, 15, 5)], {
  status: "pending",
  submittedAt: "2026-03-10T12:00:00Z",
  customerRef: "c4",
});
await createOrder(world, [line(tee, 3, 30, 10)], {
  status: "completed",
  submittedAt: "2026-03-10T18:30:00Z", // 00:30 local on the 11th (the 10th in UTC)
  customerRef: "c5",
});
await createOrder(world, [line(mug, 4, 15, 5)], {
  status: "completed",
  submittedAt: "2026-03-09T17:50:00Z", // 23:50 local on the 9th
  customerRef: "c6",
});

// Today's orders and conversations for get_shop_stats: one completed order
// (30 - 5 discount), one pending; one open and one closed conversation.
await createOrder(world, [line(tee, 1, 30, 10)], { status: "completed", discount: 5 });
await createOrder(world, [line(pin, 1, 2, 0.5)], { status: "pending" });
await sql`
  insert into public.conversations (shop_id, platform, external_id, customer_name, status)
  values (${world.shopId}, 'messenger', ${"e2e-" + uuid()}, 'Open chat', 'open'),
         (${world.shopId}, 'whatsapp', ${"e2e-" + uuid()}, 'Closed chat', 'closed')`;

const MARCH_10 = {
  shop_id: world.shopId,
  date: "2026-03-10",
  orders: 5,
  completed: 3,
  cancelled: 1,
  gross_revenue: 100,
  discounts: 5,
  net_revenue: 95,
  cost_of_goods: 32.5,
  gross_profit: 62.5,
  items_sold: 7,
  average_order_value: 31.67,
  unique_customers: 2,
  gmv: 95, // the revenue orders' totals: 55 + 10 + 30 (no shipping here)
  category_breakdown: {
    tees: { units: 2, revenue: 60 },
    mugs: { units: 2, revenue: 30 },
    stickers: { units: 2, revenue: 8 },
    pins: { units: 1, revenue: 2 },
  },
};

function withoutComputedAt(row: Record<string, unknown>) {
  const { computed_at, ...rest } = row;
  assert.ok(typeof computed_at === "string" && !Number.isNaN(Date.parse(computed_at)), "computed_at is RFC 3339");
  return rest;
}

async function storedDailyRow(date: string) {
  const [row] = await sql`
    select to_jsonb(m) as row from public.daily_sales_metrics m where shop_id = ${world.shopId} and date = ${date}`;
  return row?.row;
}

// ----------------------------------------------------------- generate_daily

for (const caller of CALLERS) {
  const refusal = STAFF_OR_ABOVE[caller];
  test(`generate_daily as ${caller}: ${refusal ? refusal[1] : "the shop's local day, stored"}`, async () => {
    const before = await fingerprint(world);
    const answer = await call(caller, { action: "generate_daily", shop_id: world.shopId, date: "2026-03-10" });
    if (refusal) {
      assertError(answer, ...refusal);
      assert.deepEqual(await fingerprint(world), before, "a refused call changes nothing");
      return;
    }
    const data = assertOk(answer);
    assert.deepEqual(withoutComputedAt(data), MARCH_10);
    assert.deepEqual(withoutComputedAt(await storedDailyRow("2026-03-10")), MARCH_10);
  });
}

test("generate_daily is a re-runnable upsert that picks up late orders", async () => {
  assertOk(await call("staff", { action: "generate_daily", shop_id: world.shopId, date: "2026-03-08" }));
  const late = await createOrder(world, [line(pin, 2, 2, 0.5)], {
    status: "completed",
    submittedAt: "2026-03-08T06:00:00Z",
    customerRef: "late",
  });
  const data = assertOk(await call("staff", { action: "generate_daily", shop_id: world.shopId, date: "2026-03-08" }));
  assert.equal(data.orders, 1);
  assert.equal(data.gross_revenue, 4);
  const [count] = await sql`
    select count(*)::int as n from public.daily_sales_metrics where shop_id = ${world.shopId} and date = '2026-03-08'`;
  assert.equal(count.n, 1, "one row per shop and day");
  await sql`delete from public.form_submissions where id = ${late}`;
});

test("generate_daily without a date computes yesterday in the shop's time zone", async () => {
  const localNow = new Date(Date.now() + 6 * 3600 * 1000); // Asia/Dhaka is UTC+6 all year
  const yesterday = new Date(Date.UTC(localNow.getUTCFullYear(), localNow.getUTCMonth(), localNow.getUTCDate() - 1))
    .toISOString().slice(0, 10);
  const data = assertOk(await call("owner", { action: "generate_daily", shop_id: world.shopId }));
  assert.equal(data.date, yesterday);
  assert.ok(await storedDailyRow(yesterday));
});

test("generate_daily with a bad date or shop_id: 400 invalid_request, nothing stored", async () => {
  const before = await fingerprint(world);
  for (
    const body of [
      { shop_id: world.shopId, date: "2026-02-30" },
      { shop_id: world.shopId, date: "10/03/2026" },
      { shop_id: "shop-1", date: "2026-03-10" },
      { date: "2026-03-10" },
      { shop_id: world.shopId, date: "2026-03-10", extra: true },
    ]
  ) {
    assertError(await call("owner", { action: "generate_daily", ...body }), 400, "invalid_request");
  }
  assert.deepEqual(await fingerprint(world), before);
});

test("generate_daily for an unknown shop: 404 not_found", async () => {
  assertError(await call("owner", { action: "generate_daily", shop_id: uuid(), date: "2026-03-10" }), 404, "not_found");
});

// --------------------------------------------------------- generate_product

const PRODUCT_ROWS = [
  // revenue 60 of 100: A (first 80%)
  {
    item_id: tee.id,
    units_sold: 2,
    revenue: 60,
    cost: 20,
    profit: 40,
    margin_pct: 66.67,
    order_count: 2,
    stock_at_end: 18,
    sell_through_rate: 0.1,
    days_of_cover: 9,
    abc_class: "A",
  },
  // 60 before it, < 80: A
  {
    item_id: mug.id,
    units_sold: 2,
    revenue: 30,
    cost: 10,
    profit: 20,
    margin_pct: 66.67,
    order_count: 1,
    stock_at_end: 8,
    sell_through_rate: 0.2,
    days_of_cover: 4,
    abc_class: "A",
  },
  // 90 before it: B (next 15%)
  {
    item_id: sticker.id,
    units_sold: 2,
    revenue: 8,
    cost: 2,
    profit: 6,
    margin_pct: 75,
    order_count: 1,
    stock_at_end: 0,
    sell_through_rate: 1,
    days_of_cover: 0,
    abc_class: "B",
  },
  // 98 before it: C
  {
    item_id: pin.id,
    units_sold: 1,
    revenue: 2,
    cost: 0.5,
    profit: 1.5,
    margin_pct: 75,
    order_count: 1,
    stock_at_end: 9,
    sell_through_rate: 0.1,
    days_of_cover: 9,
    abc_class: "C",
  },
  // never sold, untracked
  {
    item_id: service.id,
    units_sold: 0,
    revenue: 0,
    cost: 0,
    profit: 0,
    margin_pct: null,
    order_count: 0,
    stock_at_end: null,
    sell_through_rate: null,
    days_of_cover: null,
    abc_class: "C",
  },
].map((row) => ({ shop_id: world.shopId, period_start: "2026-03-10", period_end: "2026-03-10", ...row }));

for (const caller of CALLERS) {
  const refusal = STAFF_OR_ABOVE[caller];
  test(`generate_product as ${caller}: ${refusal ? refusal[1] : "per-item rows with ABC classes, stored"}`, async () => {
    const before = await fingerprint(world);
    const answer = await call(caller, {
      action: "generate_product",
      shop_id: world.shopId,
      start_date: "2026-03-10",
      end_date: "2026-03-10",
    });
    if (refusal) {
      assertError(answer, ...refusal);
      assert.deepEqual(await fingerprint(world), before, "a refused call changes nothing");
      return;
    }
    const rows: Record<string, unknown>[] = assertOk(answer).rows;
    assert.deepEqual(rows.map(withoutComputedAt), PRODUCT_ROWS, "active or sold items, highest revenue first");
    const stored = await sql`
      select to_jsonb(p) as row from public.product_analytics p
      where shop_id = ${world.shopId} and period_start = '2026-03-10' and period_end = '2026-03-10'
      order by revenue desc, item_id`;
    assert.deepEqual(stored.map((s) => withoutComputedAt(s.row)), PRODUCT_ROWS);
  });
}

test("generate_product with a reversed or too long period: 400 invalid_request", async () => {
  const before = await fingerprint(world);
  for (
    const [start_date, end_date] of [["2026-03-11", "2026-03-10"], ["2025-01-01", "2026-03-10"], [
      "2026-3-1",
      "2026-03-10",
    ]]
  ) {
    assertError(
      await call("owner", { action: "generate_product", shop_id: world.shopId, start_date, end_date }),
      400,
      "invalid_request",
    );
  }
  assert.deepEqual(await fingerprint(world), before);
});

// -------------------------------------------------------------- get_metrics

for (const caller of CALLERS) {
  const refusal = ANY_MEMBER[caller];
  test(`get_metrics as ${caller}: ${refusal ? refusal[1] : "stored days and totals"}`, async () => {
    for (const date of ["2026-03-09", "2026-03-10", "2026-03-11"]) {
      await sql`select public.generate_daily_sales_metrics(${date}::date, ${world.shopId}::uuid)`;
    }
    const before = await fingerprint(world);
    const answer = await call(caller, {
      action: "get_metrics",
      shop_id: world.shopId,
      start_date: "2026-03-09",
      end_date: "2026-03-11",
    });
    assert.deepEqual(await fingerprint(world), before, "reading metrics writes nothing");
    if (refusal) return void assertError(answer, ...refusal);

    const data = assertOk(answer);
    assert.deepEqual(data.days.map((d: { date: string }) => d.date), ["2026-03-09", "2026-03-10", "2026-03-11"]);
    assert.deepEqual(withoutComputedAt(data.days[1]), MARCH_10);
    assert.equal(data.days[0].gross_revenue, 60, "23:50 local on the 9th stays on the 9th");
    assert.equal(data.days[2].gross_revenue, 90, "00:30 local on the 11th is the 11th");
    assert.deepEqual(data.totals, {
      days: 3,
      orders: 7,
      completed: 5,
      cancelled: 1,
      gross_revenue: 250,
      discounts: 5,
      net_revenue: 245,
      cost_of_goods: 82.5,
      gross_profit: 162.5,
      items_sold: 14,
      average_order_value: 49,
    });
  });
}

test("get_metrics over more than 366 days, reversed or malformed: 400 invalid_request", async () => {
  for (
    const [start_date, end_date] of [
      ["2025-01-01", "2026-03-10"],
      ["2026-03-10", "2026-03-09"],
      ["2026-03-10", "tomorrow"],
    ]
  ) {
    assertError(
      await call("viewer", { action: "get_metrics", shop_id: world.shopId, start_date, end_date }),
      400,
      "invalid_request",
    );
  }
});

test("get_metrics of days never generated: empty days, zero totals", async () => {
  const data = assertOk(
    await call("viewer", {
      action: "get_metrics",
      shop_id: world.shopId,
      start_date: "2020-01-01",
      end_date: "2020-01-31",
    }),
  );
  assert.deepEqual(data.days, []);
  assert.equal(data.totals.days, 0);
  assert.equal(data.totals.gross_revenue, 0);
});

// ----------------------------------------------------------- get_shop_stats

for (const caller of CALLERS) {
  const refusal = ANY_MEMBER[caller];
  test(`get_shop_stats as ${caller}: ${refusal ? refusal[1] : "the dashboard summary"}`, async () => {
    const answer = await call(caller, { action: "get_shop_stats", shop_id: world.shopId });
    if (refusal) return void assertError(answer, ...refusal);
    const data = assertOk(answer);
    assert.deepEqual(data, {
      shop_id: world.shopId,
      currency: "USD",
      timezone: TIMEZONE,
      local_date: localToday(),
      // tee, mug (own threshold 10), sticker, pin, service, retired (inactive)
      items: { total: 6, active: 5, tracked: 4, low_stock: 2, out_of_stock: 1 },
      orders: {
        today: { orders: 2, revenue: 25 },
        month: { orders: 2, revenue: 25 },
        open_this_month: 1,
      },
      open_conversations: 1,
    });
  });
}

function localToday(): string {
  return new Date(Date.now() + 6 * 3600 * 1000).toISOString().slice(0, 10);
}

test("get_shop_stats of an unknown or malformed shop: 404 / 400", async () => {
  assertError(await call("owner", { action: "get_shop_stats", shop_id: uuid() }), 404, "not_found");
  assertError(await call("owner", { action: "get_shop_stats", shop_id: "mine" }), 400, "invalid_request");
});

test("an action of another function: 400 unknown_action", async () => {
  assertError(await call("owner", { action: "process_order", order_id: uuid() }), 400, "unknown_action");
});

test("(cleanup) remove this file's world", async () => {
  await destroyWorld(world);
});
