// Promise 4: hostile input gets a 4xx JSON error with a stable code and changes
// nothing. A corpus of several hundred malformed requests (wrong types, huge
// numbers, negative and zero quantities, non-UUIDs, unknown fields and
// actions, deep nesting, invalid UTF-8, oversized bodies, SQL fragments) is
// sent through the gateway to all three functions by callers who are allowed
// to run every action, so only the input itself can be refused. Each answer
// is compared with the code expected for its case, sent twice to show the
// code is stable, and the whole database is fingerprinted before and after.
// The parser itself is also fuzzed natively: crates/edge-core/tests/payload_proptest.rs.

import { assert, clientFor, connectDb, type FunctionName, test } from "../e2e/helpers.ts";
import { createItem, createOrder, createWorld, destroyWorld, historyOf, stockOf } from "../e2e/fixtures.ts";
import { assertErrorEnvelope, callFunction, databaseFingerprint, recordFigures, withConcurrency } from "./support.ts";

interface Case {
  fn: FunctionName;
  name: string;
  body: unknown; // an object (sent as JSON), a string or bytes (sent as they are)
  expected: string; // the stable code
  headers?: Record<string, string>;
}

type Kind = "uuid" | "int" | "nonneg" | "nonzero" | "date" | "reason" | "backup_type" | "bool" | "note" | "limit";

/** Values that are wrong for a field of this kind, with the code they must get. */
function badValues(kind: Kind): [string, unknown][] {
  const common: [string, unknown][] = [
    ["an object", { nested: { deeper: [1, 2, 3] } }],
    ["an array", [1, "two", null]],
  ];
  const sql: [string, unknown][] = [
    ["SQL: or 1=1", "' OR '1'='1"],
    ["SQL: drop table", "1; drop table public.items; --"],
    ["SQL: pg_sleep", "'||pg_sleep(5)||'"],
    ["SQL: union", "x' union select * from auth.users --"],
  ];
  switch (kind) {
    case "uuid":
      return [
        ...common,
        ...sql,
        ["a number", 12345],
        ["true", true],
        ["empty", ""],
        ["not a uuid", "not-a-uuid"],
        ["short uuid", "123e4567-e89b-12d3-a456-42661417400"],
        ["uuid without hyphens", "123e4567e89b12d3a456426614174000"],
        ["braced uuid", "{123e4567-e89b-12d3-a456-426614174000}"],
        ["uuid with spaces", " 123e4567-e89b-12d3-a456-426614174000 "],
        ["uuid with NUL", "123e4567-e89b-12d3-a456-426614174000\u0000"],
        ["uuid with SQL", "123e4567-e89b-12d3-a456-426614174000' or 1=1 --"],
        ["non-ASCII", "１２３e4567-e89b-12d3-a456-426614174000"],
      ];
    case "int":
    case "nonneg":
    case "nonzero":
    case "limit":
      return [
        ...common,
        ["a string", "3"],
        ["a float", 1.5],
        ["1e30", 1e30],
        ["2^31", 2147483648],
        ["-2^31-1", -2147483649],
        ["2^53+1", 9007199254740993],
        ["true", true],
        ["SQL in a number field", "1; delete from public.items"],
        ...(kind === "nonneg" ? [["negative", -1], ["min int", -2147483648]] as [string, unknown][] : []),
        ...(kind === "nonzero" ? [["zero", 0]] as [string, unknown][] : []),
        ...(kind === "limit" ? [["zero", 0], ["negative", -5], ["over 100", 101]] as [string, unknown][] : []),
      ];
    case "date":
      return [
        ...common,
        ...sql,
        ["month 13", "2026-13-01"],
        ["Feb 30", "2026-02-30"],
        ["no hyphens", "20261101"],
        ["a timestamp", "2026-11-01T00:00:00Z"],
        ["year 0", "0000-01-01"],
        ["year 10000", "10000-01-01"],
        ["a number", 20261101],
        ["a word", "yesterday"],
        ["empty", ""],
      ];
    case "reason":
    case "backup_type":
      return [...common, ...sql, ["unknown", "theft"], ["upper case", "RESTOCK"], ["empty", ""], ["a number", 1]];
    case "bool":
      return [...common, ["a string", "false"], ["a number", 0], ["SQL", "true; drop table x"]];
    case "note":
      return [["a number", 42], ["501 characters", "n".repeat(501)], ...common];
  }
}

interface ActionSpec {
  fn: FunctionName;
  action: string;
  /** A payload that would be valid, with the kinds of its fields. */
  base: Record<string, unknown>;
  kinds: Record<string, Kind>;
  required: string[];
}

function corpus(ids: { item: string; order: string; shop: string; snapshot: string; fullOrder: string }): Case[] {
  const actions: ActionSpec[] = [
    {
      fn: "inventory-operations",
      action: "update",
      base: { item_id: ids.item, change: -1, reason: "sale", note: "ok", expected_stock: 5 },
      kinds: { item_id: "uuid", change: "nonzero", reason: "reason", note: "note", expected_stock: "nonneg" },
      required: ["item_id", "reason"],
    },
    {
      fn: "inventory-operations",
      action: "process_order",
      base: { order_id: ids.order },
      kinds: { order_id: "uuid" },
      required: ["order_id"],
    },
    {
      fn: "inventory-operations",
      action: "restore_order",
      base: { order_id: ids.order },
      kinds: { order_id: "uuid" },
      required: ["order_id"],
    },
    {
      fn: "inventory-operations",
      action: "get_low_stock",
      base: { shop_id: ids.shop, threshold: 3 },
      kinds: { shop_id: "uuid", threshold: "nonneg" },
      required: ["shop_id"],
    },
    {
      fn: "analytics-operations",
      action: "generate_daily",
      base: { shop_id: ids.shop, date: "2026-11-01" },
      kinds: { shop_id: "uuid", date: "date" },
      required: ["shop_id"],
    },
    {
      fn: "analytics-operations",
      action: "generate_product",
      base: { shop_id: ids.shop, start_date: "2026-10-01", end_date: "2026-10-31" },
      kinds: { shop_id: "uuid", start_date: "date", end_date: "date" },
      required: ["shop_id", "start_date", "end_date"],
    },
    {
      fn: "analytics-operations",
      action: "get_metrics",
      base: { shop_id: ids.shop, start_date: "2026-10-01", end_date: "2026-10-31" },
      kinds: { shop_id: "uuid", start_date: "date", end_date: "date" },
      required: ["shop_id", "start_date", "end_date"],
    },
    {
      fn: "analytics-operations",
      action: "get_shop_stats",
      base: { shop_id: ids.shop },
      kinds: { shop_id: "uuid" },
      required: ["shop_id"],
    },
    {
      fn: "admin-operations",
      action: "generate_platform_metrics",
      base: { date: "2026-11-01" },
      kinds: { date: "date" },
      required: [],
    },
    {
      fn: "admin-operations",
      action: "get_platform_stats",
      base: { start_date: "2026-10-01", end_date: "2026-10-31" },
      kinds: { start_date: "date", end_date: "date" },
      required: [],
    },
    {
      fn: "admin-operations",
      action: "create_backup",
      base: { shop_id: ids.shop, backup_type: "manual" },
      kinds: { shop_id: "uuid", backup_type: "backup_type" },
      // All shops at once is the scheduled job's: a request must name one.
      required: ["shop_id"],
    },
    {
      fn: "admin-operations",
      action: "restore_backup",
      base: { snapshot_id: ids.snapshot, dry_run: false },
      kinds: { snapshot_id: "uuid", dry_run: "bool" },
      required: ["snapshot_id"],
    },
    {
      fn: "admin-operations",
      action: "list_backups",
      base: { shop_id: ids.shop, limit: 10 },
      kinds: { shop_id: "uuid", limit: "limit" },
      required: [],
    },
    { fn: "admin-operations", action: "cleanup_snapshots", base: {}, kinds: {}, required: [] },
  ];

  const cases: Case[] = [];
  for (const spec of actions) {
    const label = (what: string) => `${spec.action}: ${what}`;
    // Each field replaced by every bad value of its kind (the other fields valid).
    for (const [field, kind] of Object.entries(spec.kinds)) {
      for (const [what, value] of badValues(kind)) {
        cases.push({
          fn: spec.fn,
          name: label(`${field} ${what}`),
          body: { action: spec.action, ...spec.base, [field]: value },
          expected: "invalid_request",
        });
      }
      if (spec.required.includes(field)) {
        const { [field]: _dropped, ...rest } = spec.base;
        cases.push({
          fn: spec.fn,
          name: label(`${field} missing`),
          body: { action: spec.action, ...rest },
          expected: "invalid_request",
        });
        cases.push({
          fn: spec.fn,
          name: label(`${field} null`),
          body: { action: spec.action, ...spec.base, [field]: null },
          expected: "invalid_request",
        });
      }
    }
    // Unknown fields, including ones named like SQL, prototypes and the RPC's own parameters.
    for (
      const extra of ["extra", "p_shop_id", "shop_id'--", "__proto__", "constructor", "Action", "idempotency-key", ""]
    ) {
      if (extra in spec.kinds) continue;
      cases.push({
        fn: spec.fn,
        name: label(`unknown field ${JSON.stringify(extra)}`),
        body: `{"action": ${JSON.stringify(spec.action)}, ${
          Object.entries(spec.base).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}, `).join("")
        }${JSON.stringify(extra)}: {"x": 1}}`,
        expected: "invalid_request",
      });
    }
    // Deep nesting inside a field: under serde_json's recursion limit it is a
    // wrong type, over it the body is not JSON we accept.
    const field = Object.keys(spec.kinds)[0] ?? "x";
    for (const depth of [64, 20_000]) {
      cases.push({
        fn: spec.fn,
        name: label(`${depth} nested arrays`),
        body: `{"action": ${JSON.stringify(spec.action)}, ${JSON.stringify(field)}: ${"[".repeat(depth)}${
          "]".repeat(depth)
        }}`,
        expected: depth > 128 ? "invalid_json" : "invalid_request",
      });
    }
  }

  // Envelope-level hostility, against every function.
  const fns: FunctionName[] = ["inventory-operations", "analytics-operations", "admin-operations"];
  const bytes = (...parts: (string | number[])[]) => {
    const chunks = parts.map((p) => (typeof p === "string" ? new TextEncoder().encode(p) : new Uint8Array(p)));
    const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  };
  const envelope: [string, unknown, string][] = [
    ["empty body", "", "invalid_json"],
    ["not JSON", "action=update", "invalid_json"],
    ["single quotes", "{'action': 'update'}", "invalid_json"],
    ["trailing comma", '{"action": "update",}', "invalid_json"],
    ["NaN", '{"action": "update", "change": NaN}', "invalid_json"],
    ["number out of range", '{"action": "update", "change": 1e400}', "invalid_json"],
    ["truncated", '{"action": "upd', "invalid_json"],
    ["two documents", '{"action": "x"} {"action": "y"}', "invalid_json"],
    ["invalid UTF-8 (0xff)", bytes('{"action": "', [0xff, 0xfe], '"}'), "invalid_json"],
    [
      "invalid UTF-8 (lone continuation)",
      bytes('{"action": "get_shop_stats", "shop_id": "', [0x80], '"}'),
      "invalid_json",
    ],
    ["invalid UTF-8 (overlong NUL)", bytes('{"action": "', [0xc0, 0x80], '"}'), "invalid_json"],
    ["invalid UTF-8 (surrogate)", bytes('{"action": "', [0xed, 0xa0, 0x80], '"}'), "invalid_json"],
    ["UTF-16 BOM body", bytes([0xfe, 0xff], '{"action": "x"}'), "invalid_json"],
    ["an array", "[]", "invalid_request"],
    ["a string", '"update"', "invalid_request"],
    ["a number", "42", "invalid_request"],
    ["null", "null", "invalid_request"],
    ["no action", "{}", "invalid_request"],
    ["action null", '{"action": null}', "invalid_request"],
    ["action number", '{"action": 1}', "invalid_request"],
    ["action array", '{"action": ["update"]}', "invalid_request"],
    ["action object", '{"action": {"name": "update"}}', "invalid_request"],
    ["action deeply nested", `{"action": ${"[".repeat(5000)}${"]".repeat(5000)}}`, "invalid_json"],
    ["64 nested objects", `{"action": "x", "a": ${'{"a": '.repeat(64)}1${"}".repeat(64)}}`, "unknown_action"],
    ["oversized: 64 KiB + 1", `{"action": "update", "note": "${"x".repeat(64 * 1024)}"}`, "payload_too_large"],
    ["oversized: 1 MiB", `{"action": "update", "note": "${"x".repeat(1024 * 1024)}"}`, "payload_too_large"],
  ];
  for (const fn of fns) {
    for (const [name, body, expected] of envelope) cases.push({ fn, name: `envelope: ${name}`, body, expected });
    for (
      const action of [
        "drop_database",
        "UPDATE",
        "update ",
        " get_shop_stats",
        "",
        "__panic",
        "get_low_stock; drop table public.items",
        "toString",
        "__proto__",
        "hasOwnProperty",
        "process_order\u0000",
        "list_backups'--",
        "../admin-operations",
        "a".repeat(10_000),
      ]
    ) {
      cases.push({
        fn,
        name: `unknown action ${JSON.stringify(action.slice(0, 40))}`,
        body: { action },
        expected: "unknown_action",
      });
    }
  }

  // Malformed idempotency keys on every mutating action.
  const mutating: [FunctionName, Record<string, unknown>][] = [
    ["inventory-operations", { action: "update", item_id: ids.item, change: -1, reason: "sale" }],
    ["inventory-operations", { action: "process_order", order_id: ids.order }],
    ["admin-operations", { action: "restore_backup", snapshot_id: ids.snapshot, dry_run: false }],
  ];
  for (const [fn, body] of mutating) {
    for (const key of ["has spaces", "k".repeat(256), "semi;colon", "quote'--", "clé", ""]) {
      cases.push({
        fn,
        name: `${body.action}: Idempotency-Key ${JSON.stringify(key.slice(0, 20))}`,
        body,
        headers: { "idempotency-key": key },
        expected: "invalid_request",
      });
      cases.push({
        fn,
        name: `${body.action}: idempotency_key field ${JSON.stringify(key.slice(0, 20))}`,
        body: { ...body, idempotency_key: key },
        expected: "invalid_request",
      });
    }
    cases.push({
      fn,
      name: `${body.action}: header and field keys differ`,
      body: { ...body, idempotency_key: "field-key" },
      headers: { "idempotency-key": "header-key" },
      expected: "invalid_request",
    });
  }
  // Well-formed but naming nothing: not_found (never a 5xx, never a write).
  const absent = crypto.randomUUID();
  cases.push(
    {
      fn: "inventory-operations",
      name: "update: absent item",
      body: { action: "update", item_id: absent, change: 5, reason: "restock" },
      expected: "not_found",
    },
    {
      fn: "inventory-operations",
      name: "process_order: absent order",
      body: { action: "process_order", order_id: absent },
      expected: "not_found",
    },
    {
      fn: "analytics-operations",
      name: "generate_daily: absent shop",
      body: { action: "generate_daily", shop_id: absent },
      expected: "not_found",
    },
    {
      fn: "admin-operations",
      name: "restore_backup: absent snapshot",
      body: { action: "restore_backup", snapshot_id: absent, dry_run: false },
      expected: "not_found",
    },
    {
      fn: "admin-operations",
      name: "create_backup: absent shop",
      body: { action: "create_backup", shop_id: absent },
      expected: "not_found",
    },
    // Huge numbers that fit in 32 bits reach the SQL, which must refuse them itself.
    {
      fn: "inventory-operations",
      name: "update: restock past the integer range",
      body: { action: "update", item_id: ids.item, change: 2147483647, reason: "restock" },
      expected: "invalid_request",
    },
    {
      fn: "inventory-operations",
      name: "update: removal of -2^31",
      body: { action: "update", item_id: ids.item, change: -2147483648, reason: "sale" },
      expected: "insufficient_stock",
    },
    {
      fn: "inventory-operations",
      name: "restore_order: putting back past the integer range",
      body: { action: "restore_order", order_id: ids.fullOrder },
      expected: "conflict",
    },
    {
      fn: "inventory-operations",
      name: "update: set_to max with a stale guard",
      body: {
        action: "update",
        item_id: ids.item,
        set_to: 2147483647,
        expected_stock: 2147483647,
        reason: "correction",
      },
      expected: "stale_stock",
    },
  );
  return cases;
}

test("a corpus of malformed requests: always a 4xx JSON error with its stable code, never a change", async () => {
  const world = await createWorld(connectDb());
  try {
    const item = await createItem(world, { stock: 5 });
    const order = await createOrder(world, [{ item_id: item.id, quantity: 1 }]);
    const snapshot = (await callFunction("admin-operations", world.platformAdmin.jwt, {
      action: "create_backup",
      shop_id: world.shopId,
    }))
      .body.data.snapshots[0].id;
    // A cancelled order whose item was restocked to the integer maximum since the sale.
    const full = await createItem(world, { stock: 5 });
    const fullOrder = await createOrder(world, [{ item_id: full.id, quantity: 2 }]);
    const sold = await callFunction("inventory-operations", world.owner.jwt, {
      action: "process_order",
      order_id: fullOrder,
    });
    assert.equal(sold.status, 200, sold.text);
    await world.sql`select public.update_stock(${full.id}, p_set_to => 2147483647, p_reason => 'restock')`;
    await world.sql`update public.form_submissions set status = 'cancelled' where id = ${fullOrder}`;
    const cases = corpus({ item: item.id, order, shop: world.shopId, snapshot, fullOrder });
    assert.ok(cases.length >= 300, `the corpus has ${cases.length} cases`);

    const before = await databaseFingerprint(world.sql);
    const jwtFor = (fn: FunctionName) => (fn === "admin-operations" ? world.platformAdmin.jwt : world.owner.jwt);
    const started = performance.now();
    const results = await withConcurrency(
      8,
      cases.map((c) => async () => {
        const send = () => callFunction(c.fn, jwtFor(c.fn), c.body, { headers: c.headers });
        return [await send(), await send()] as const;
      }),
    );
    const wallMs = performance.now() - started;

    const failures: string[] = [];
    const byCode: Record<string, number> = {};
    const byStatus: Record<string, number> = {};
    results.forEach(([first, second], i) => {
      const c = cases[i];
      try {
        assert.ok(first.status >= 400 && first.status < 500, `status ${first.status}: ${first.text.slice(0, 200)}`);
        const code = assertErrorEnvelope(first, c.name);
        assert.equal(code, c.expected, `code (${first.text.slice(0, 200)})`);
        assert.equal(second.status, first.status, "the same status twice");
        assert.equal(second.body?.error?.code, code, "the same code twice");
        assert.equal(first.headers.get("content-type")?.split(";")[0], "application/json");
        byCode[code] = (byCode[code] ?? 0) + 1;
        byStatus[first.status] = (byStatus[first.status] ?? 0) + 1;
      } catch (error) {
        failures.push(`${c.fn} ${c.name}: ${(error as Error).message}`);
      }
    });
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases failed`);
    assert.deepEqual(await databaseFingerprint(world.sql), before, "the database is unchanged");

    await recordFigures("hostile_input.corpus", {
      cases: cases.length,
      requests: cases.length * 2,
      by_status: byStatus,
      by_code: byCode,
      wall_ms: Math.round(wallMs),
      database_unchanged: true,
    });
  } finally {
    await destroyWorld(world);
  }
});

// The PostgREST path skips the inventory function: POST /rest/v1/rpc/update_stock
// with a staff JWT. The SQL itself refuses what the edge would (a note over 500
// characters, a reference to an order that is not the item's shop's) and writes
// nothing to the append-only history.
test("direct RPC update_stock: the database enforces the edge's limits itself", async () => {
  const world = await createWorld(connectDb());
  try {
    const item = await createItem(world, { stock: 5 });
    const ownOrder = await createOrder(world, [{ item_id: item.id, quantity: 1 }]);
    const [{ id: foreignOrder }] = await world.sql<{ id: string }[]>`
      insert into public.form_submissions (shop_id) values (${world.otherShopId}) returning id`;
    const staff = clientFor(world.staff.jwt);
    const historyBefore = await historyOf(world, item.id);
    const refused: [string, Record<string, unknown>, string][] = [
      // Half a MiB: far past the 500-character limit, yet under the local gateway's
      // 1 MiB body cap, so the database (not the gateway) is what refuses it.
      ["a 512 KiB note", { p_note: "x".repeat(512 * 1024) }, "note"],
      ["a 501-character note", { p_note: "é".repeat(501) }, "note"],
      ["another shop's order as reference", { p_reference_id: foreignOrder }, "reference_id"],
      ["an unknown reference", { p_reference_id: crypto.randomUUID() }, "reference_id"],
    ];
    for (const [name, args, field] of refused) {
      const answer = await staff.rpc("update_stock", { p_item_id: item.id, p_change: 1, p_reason: "restock", ...args });
      assert.equal(answer.status, 400, `${name}: ${JSON.stringify(answer.error)}`);
      assert.equal(answer.error?.message, "invalid_request", `${name}: ${JSON.stringify(answer.error)}`);
      assert.deepEqual(JSON.parse(answer.error?.details ?? "null"), { field }, name);
    }
    assert.equal(await stockOf(world, item.id), 5, "no refused call moved the stock");
    assert.deepEqual(await historyOf(world, item.id), historyBefore, "no refused call wrote history");

    const accepted = await staff.rpc("update_stock", {
      p_item_id: item.id, p_change: -1, p_reason: "sale", p_reference_id: ownOrder, p_note: "é".repeat(500),
    });
    assert.equal(accepted.error, null, JSON.stringify(accepted.error));
    assert.equal(accepted.data.new_stock, 4);
  } finally {
    await destroyWorld(world);
  }
});
