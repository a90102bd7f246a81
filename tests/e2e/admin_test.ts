// admin-operations end to end: platform metrics and per-shop backups. Only a
// platform admin may call them; a shop owner is refused like everyone else.

import {
  assert,
  assertError,
  assertOk,
  clientFor,
  connectDb,
  type FnAnswer,
  invoke,
  SUPABASE_SERVICE_ROLE_KEY,
  test,
  uuid,
} from "./helpers.ts";
import {
  type Caller,
  CALLERS,
  createItem,
  createOrder,
  createWorld,
  destroyWorld,
  fingerprint,
  jwtOf,
  PLATFORM_ADMIN_ONLY,
  shopState,
  stockOf,
} from "./fixtures.ts";

const FN = "admin-operations";
const world = await createWorld(connectDb());
const { sql } = world;

function call(caller: Caller, body: unknown, headers: Record<string, string> = {}): Promise<FnAnswer> {
  return invoke(clientFor(jwtOf(world, caller)), FN, body, headers);
}

const shopItem = await createItem(world, { stock: 12 });
await createOrder(world, [{ item_id: shopItem.id, quantity: 1 }]);

/** A snapshot of the world's shop taken as the database owner (as the cron job does). */
async function takeSnapshot(): Promise<{ id: string; checksum: string }> {
  const [row] = await sql`select public.create_backup_snapshot(${world.shopId}::uuid) as result`;
  return row.result.snapshots[0];
}

/** An already expired snapshot, as cleanup_snapshots should delete it. */
async function insertExpiredSnapshot(): Promise<string> {
  // An empty shop's data: one part '{}' for state, recent and history.
  const [row] = await sql`
    with part as (
      insert into public.recovery_snapshot_parts (shop_id, checksum, data, size_bytes)
      values (${world.shopId}, encode(sha256('{}'::bytea), 'hex'), '{}', 2)
      on conflict (shop_id, checksum) do update set size_bytes = excluded.size_bytes
      returning id
    )
    insert into public.recovery_snapshots
      (shop_id, snapshot_type, checksum, row_counts, created_at, expires_at, state_part_id, recent_part_id, history_part_id)
    select ${world.shopId}, 'daily', encode(sha256('{}'::bytea), 'hex'), '{}',
           now() - interval '91 days', now() - interval '1 day', part.id, part.id, part.id
      from part
    returning id`;
  return row.id;
}

async function snapshotExists(id: string): Promise<boolean> {
  const [row] = await sql`select exists (select 1 from public.recovery_snapshots where id = ${id}) as present`;
  return row.present;
}

// ------------------------------------------------------------- role matrix

interface AdminAction {
  name: string;
  body: () => Promise<Record<string, unknown>>;
  /** Checks the answer and the database after a platform admin's call. */
  allowed: (data: Record<string, unknown>, body: Record<string, unknown>) => Promise<void>;
}

const PLATFORM_DAY = "2026-02-14";
const GMV_DAY = "2026-01-20";

const ACTIONS: AdminAction[] = [
  {
    name: "generate_platform_metrics",
    body: () => Promise.resolve({ action: "generate_platform_metrics", date: PLATFORM_DAY }),
    allowed: async (data) => {
      assert.equal(data.date, PLATFORM_DAY);
      const [stored] = await sql`select to_jsonb(m) as row from public.platform_metrics m where date = ${PLATFORM_DAY}`;
      assert.deepEqual(data, stored.row, "the answer is the stored row");
      for (const key of ["gmv", "mrr", "mrr_new", "churn_rate", "total_users", "total_shops", "plan_distribution"]) {
        assert.ok(key in data, `platform row has ${key}`);
      }
    },
  },
  {
    name: "get_platform_stats",
    body: async () => {
      await sql`select public.generate_platform_metrics(${PLATFORM_DAY}::date)`;
      return { action: "get_platform_stats", start_date: "2026-02-01", end_date: "2026-02-28" };
    },
    allowed: async (data) => {
      const days = data.days as { date: string }[];
      assert.ok(days.some((d) => d.date === PLATFORM_DAY));
      assert.ok(days.every((d) => d.date >= "2026-02-01" && d.date <= "2026-02-28"));
      const dates = days.map((d) => d.date);
      assert.deepEqual(dates, [...dates].sort(), "oldest first");
      assert.equal((data.latest as { date: string }).date, dates[dates.length - 1]);
      const [count] = await sql`
        select count(*)::int as n from public.platform_metrics where date between '2026-02-01' and '2026-02-28'`;
      assert.equal(days.length, count.n);
    },
  },
  {
    name: "create_backup",
    body: () => Promise.resolve({ action: "create_backup", shop_id: world.shopId }),
    allowed: async (data) => {
      const snapshots = data.snapshots as {
        id: string;
        shop_id: string;
        row_counts: Record<string, number>;
        checksum: string;
      }[];
      assert.equal(snapshots.length, 1);
      const [snapshot] = snapshots;
      assert.equal(snapshot.shop_id, world.shopId);
      assert.match(snapshot.checksum, /^[0-9a-f]{64}$/);
      const [items] = await sql`select count(*)::int as n from public.items where shop_id = ${world.shopId}`;
      assert.equal(snapshot.row_counts.items, items.n);
      assert.equal(snapshot.row_counts.shops, 1);
      const [stored] = await sql`
        select s.checksum, s.shop_id, s.snapshot_type, s.created_by, l.status, l.snapshot_ids, l.triggered_by, l.backup_type
        from public.recovery_snapshots s join public.backup_logs l on l.id = s.backup_log_id
        where s.id = ${snapshot.id}`;
      assert.deepEqual(stored, {
        checksum: snapshot.checksum,
        shop_id: world.shopId,
        snapshot_type: "manual",
        created_by: world.platformAdmin.id,
        status: "completed",
        snapshot_ids: [snapshot.id],
        triggered_by: world.platformAdmin.id,
        backup_type: "manual",
      });
      assert.equal(
        data.backup_log_id,
        (await sql`select backup_log_id from public.recovery_snapshots where id = ${snapshot.id}`)[0].backup_log_id,
      );
    },
  },
  {
    name: "restore_backup",
    body: async () => ({ action: "restore_backup", snapshot_id: (await takeSnapshot()).id }),
    allowed: async (data, body) => {
      // dry run by default: an unchanged shop has no differences and nothing is written
      assert.equal(data.snapshot_id, body.snapshot_id);
      assert.equal(data.shop_id, world.shopId);
      assert.equal(data.dry_run, true);
      assert.equal(data.restored, null);
      const differences = data.differences as Record<string, Record<string, { count: number }>>;
      assert.ok("items" in differences);
      for (const [table, diff] of Object.entries(differences)) {
        for (const change of ["insert", "update", "delete"]) {
          assert.equal(diff[change].count, 0, `${table}.${change}`);
        }
      }
      const [snapshot] = await sql`
        select restored_at, (select count(*)::int from public.backup_logs l
                             where l.operation = 'restore' and ${body
        .snapshot_id as string}::uuid = any(l.snapshot_ids)) as restores
        from public.recovery_snapshots where id = ${body.snapshot_id as string}`;
      assert.deepEqual(snapshot, { restored_at: null, restores: 0 }, "a dry run writes nothing");
    },
  },
  {
    name: "list_backups",
    body: async () => {
      await takeSnapshot();
      return { action: "list_backups", shop_id: world.shopId, limit: 5 };
    },
    allowed: async (data) => {
      const snapshots = data.snapshots as Record<string, unknown>[];
      const logs = data.logs as Record<string, unknown>[];
      assert.ok(snapshots.length >= 1 && snapshots.length <= 5);
      assert.ok(logs.length >= 1 && logs.length <= 5);
      assert.ok(snapshots.every((s) => s.shop_id === world.shopId && !("data" in s)), "no snapshot payload");
      const created = snapshots.map((s) => s.created_at as string);
      assert.deepEqual(created, [...created].sort().reverse(), "newest first");
      const [newest] = await sql`
        select id from public.recovery_snapshots where shop_id = ${world.shopId} order by created_at desc, id desc limit 1`;
      assert.equal(snapshots[0].id, newest.id);
    },
  },
  {
    name: "cleanup_snapshots",
    body: async () => {
      await insertExpiredSnapshot();
      return { action: "cleanup_snapshots" };
    },
    allowed: async (data) => {
      assert.ok((data.deleted as number) >= 1);
      const [left] = await sql`select count(*)::int as n from public.recovery_snapshots where expires_at <= now()`;
      assert.equal(left.n, 0, "no expired snapshot is left");
    },
  },
];

for (const action of ACTIONS) {
  for (const caller of CALLERS) {
    const refusal = PLATFORM_ADMIN_ONLY[caller];
    test(`${action.name} as ${caller}: ${refusal ? refusal[1] : "allowed"}`, async () => {
      const body = await action.body();
      const before = await fingerprint(world);
      const answer = await call(caller, body);
      if (refusal) {
        assertError(answer, ...refusal);
        assert.deepEqual(await fingerprint(world), before, "a refused call changes nothing");
        return;
      }
      await action.allowed(assertOk(answer), body);
    });
  }
}

// ---------------------------------------------------------------- metrics

test("generate_platform_metrics counts a completed order of that day in GMV once the shop's day is generated, a cancelled one not", async () => {
  const day = GMV_DAY;
  const first = assertOk(await call("platformAdmin", { action: "generate_platform_metrics", date: day }));
  const item = await createItem(world, { stock: 5 });
  await createOrder(world, [{ item_id: item.id, quantity: 3, unit_price: 41.15 }], {
    status: "completed",
    submittedAt: `${day}T23:30:00Z`,
  });
  await createOrder(world, [{ item_id: item.id, quantity: 1, unit_price: 99 }], {
    status: "cancelled",
    submittedAt: `${day}T12:00:00Z`,
  });
  await createOrder(world, [{ item_id: item.id, quantity: 1, unit_price: 500 }], {
    status: "completed",
    submittedAt: "2026-01-21T00:00:00Z", // the next day (the shop is in UTC)
  });
  // The platform row sums the shops' daily_sales_metrics, never the orders:
  // until the shop's day is generated, the new orders do not count.
  const unchanged = assertOk(await call("platformAdmin", { action: "generate_platform_metrics", date: day }));
  assert.equal(unchanged.gmv, first.gmv);
  assertOk(
    await invoke(clientFor(jwtOf(world, "staff")), "analytics-operations", {
      action: "generate_daily",
      shop_id: world.shopId,
      date: day,
    }),
  );
  const second = assertOk(await call("platformAdmin", { action: "generate_platform_metrics", date: day }));
  assert.equal(Math.round((second.gmv - first.gmv) * 100), 12345);
  assert.equal(second.total_orders - first.total_orders, 2, "both orders of the day are counted");
  const [rows] = await sql`select count(*)::int as n from public.platform_metrics where date = ${day}`;
  assert.equal(rows.n, 1, "re-running upserts the same row");
});

test("generate_platform_metrics for a future day or a malformed date: 400 invalid_request", async () => {
  const before = await fingerprint(world);
  assertError(
    await call("platformAdmin", { action: "generate_platform_metrics", date: "2999-01-01" }),
    400,
    "invalid_request",
  );
  assertError(
    await call("platformAdmin", { action: "generate_platform_metrics", date: "yesterday" }),
    400,
    "invalid_request",
  );
  assert.deepEqual(await fingerprint(world), before);
});

test("get_platform_stats over more than 366 days: 400 invalid_request", async () => {
  assertError(
    await call("platformAdmin", { action: "get_platform_stats", start_date: "2024-01-01", end_date: "2026-01-01" }),
    400,
    "invalid_request",
  );
});

// ---------------------------------------------------------------- backups

test("restore_backup: the dry run lists the differences and changes nothing; applying restores the shop exactly", async () => {
  const item = await createItem(world, { stock: 20 });
  const snapshot = await takeSnapshot();
  const otherBefore = await shopState(world, world.otherShopId);

  // After the snapshot: a stock change, a new item and a deleted order.
  assertOk(
    await invoke(clientFor(world.staff.jwt), "inventory-operations", {
      action: "update",
      reason: "manual",
      item_id: item.id,
      change: -7,
    }),
  );
  const added = await createItem(world, { stock: 3 });
  const [order] = await sql`select id from public.form_submissions where shop_id = ${world.shopId} limit 1`;
  await sql`delete from public.form_submissions where id = ${order.id}`;

  const beforeDryRun = await fingerprint(world);
  const dry = assertOk(await call("platformAdmin", { action: "restore_backup", snapshot_id: snapshot.id }));
  assert.equal(dry.dry_run, true);
  assert.equal(dry.restored, null);
  assert.deepEqual(dry.differences.items.update, { count: 1, keys: [item.id] });
  assert.deepEqual(dry.differences.items.delete, { count: 1, keys: [added.id] });
  assert.deepEqual(dry.differences.form_submissions.insert, { count: 1, keys: [order.id] });
  // the stock change and the added item's opening stock
  assert.equal(dry.differences.stock_history.delete.count, 2);
  assert.deepEqual(await fingerprint(world), beforeDryRun, "a dry run changes nothing");

  const applied = assertOk(
    await call("platformAdmin", { action: "restore_backup", snapshot_id: snapshot.id, dry_run: false }),
  );
  assert.equal(applied.dry_run, false);
  assert.ok(applied.restored, "restored row counts");
  assert.match(applied.pre_restore_snapshot_id, /^[0-9a-f-]{36}$/);
  assert.equal(await stockOf(world, item.id), 20);
  const [gone] = await sql`select count(*)::int as n from public.items where id = ${added.id}`;
  assert.equal(gone.n, 0);
  const [back] = await sql`select count(*)::int as n from public.form_submissions where id = ${order.id}`;
  assert.equal(back.n, 1);
  const [data] =
    await sql`select encode(sha256(convert_to(private.shop_snapshot_data(${world.shopId})::text, 'UTF8')), 'hex') as checksum`;
  assert.equal(data.checksum, snapshot.checksum, "the shop is exactly as snapshotted");
  const [restoredAt] = await sql`select restored_at from public.recovery_snapshots where id = ${snapshot.id}`;
  assert.ok(restoredAt.restored_at);
  assert.deepEqual(await shopState(world, world.otherShopId), otherBefore, "another shop is never touched");
});

test("restore_backup of a tampered snapshot: 409 conflict, nothing changes", async () => {
  const snapshot = await takeSnapshot();
  // The shop row is in the snapshot's state part.
  await sql`
    update public.recovery_snapshot_parts p set data = jsonb_set(p.data, '{shops,0,name}', '"Tampered"')
      from public.recovery_snapshots s where s.id = ${snapshot.id} and p.id = s.state_part_id`;
  const before = await fingerprint(world);
  const error = assertError(
    await call("platformAdmin", { action: "restore_backup", snapshot_id: snapshot.id, dry_run: false }),
    409,
    "conflict",
  );
  assert.equal(error.details.reason, "checksum_mismatch");
  assert.deepEqual(await fingerprint(world), before);
});

test("restore_backup of an unknown snapshot: 404; a malformed id: 400", async () => {
  assertError(await call("platformAdmin", { action: "restore_backup", snapshot_id: uuid() }), 404, "not_found");
  assertError(await call("platformAdmin", { action: "restore_backup", snapshot_id: "latest" }), 400, "invalid_request");
});

test("create_backup of an unknown shop: 404; an unknown backup_type: 400; nothing written", async () => {
  const before = await fingerprint(world);
  assertError(await call("platformAdmin", { action: "create_backup", shop_id: uuid() }), 404, "not_found");
  assertError(
    await call("platformAdmin", { action: "create_backup", shop_id: world.shopId, backup_type: "hourly" }),
    400,
    "invalid_request",
  );
  assert.deepEqual(await fingerprint(world), before);
});

test("create_backup without shop_id is refused, pointing at the scheduled job; nothing written", async () => {
  const [before] = await sql`select count(*)::int as n from public.backup_logs`;
  // A platform admin, and the service_role key (a request too).
  for (const jwt of [world.platformAdmin.jwt, SUPABASE_SERVICE_ROLE_KEY]) {
    const answer = await invoke(clientFor(jwt), FN, { action: "create_backup", backup_type: "manual" }, {});
    const error = assertError(answer, 400, "invalid_request");
    assert.deepEqual(error.details, { field: "shop_id", scheduled_job: "daily-full-backup" });
  }
  // PostgREST straight to the SQL function: the same refusal.
  const { error } = await clientFor(world.platformAdmin.jwt).rpc("create_backup_snapshot", { p_backup_type: "manual" });
  assert.equal(error?.code, "PT400");
  assert.equal(error?.message, "invalid_request");
  const [after] = await sql`select count(*)::int as n from public.backup_logs`;
  assert.equal(after.n, before.n);
});

test("create_backup replayed with its Idempotency-Key: one snapshot; another body: 422", async () => {
  const headers = { "Idempotency-Key": `e2e-${uuid()}` };
  const body = { action: "create_backup", shop_id: world.shopId };
  const [before] = await sql`select count(*)::int as n from public.recovery_snapshots where shop_id = ${world.shopId}`;
  const first = assertOk(await call("platformAdmin", body, headers));
  assert.deepEqual(assertOk(await call("platformAdmin", body, headers)), first);
  const [after] = await sql`select count(*)::int as n from public.recovery_snapshots where shop_id = ${world.shopId}`;
  assert.equal(after.n, before.n + 1, "applied once");
  assertError(await call("platformAdmin", { ...body, backup_type: "weekly" }, headers), 422, "idempotency_conflict");
  const [still] = await sql`select count(*)::int as n from public.recovery_snapshots where shop_id = ${world.shopId}`;
  assert.equal(still.n, after.n);
});

test("list_backups with a limit out of 1..100: 400 invalid_request", async () => {
  assertError(await call("platformAdmin", { action: "list_backups", limit: 0 }), 400, "invalid_request");
  assertError(await call("platformAdmin", { action: "list_backups", limit: 101 }), 400, "invalid_request");
});

test("cleanup_snapshots deletes expired snapshots only", async () => {
  const expired = await insertExpiredSnapshot();
  const kept = await takeSnapshot();
  const data = assertOk(await call("platformAdmin", { action: "cleanup_snapshots" }));
  assert.ok(data.deleted >= 1);
  assert.equal(await snapshotExists(expired), false);
  assert.equal(await snapshotExists(kept.id), true);
});

test("cleanup_snapshots takes no fields: 400 invalid_request", async () => {
  assertError(
    await call("platformAdmin", { action: "cleanup_snapshots", older_than: "1 day" }),
    400,
    "invalid_request",
  );
});

test("RLS: backups and platform metrics are invisible to a shop owner through supabase-js", async () => {
  await takeSnapshot();
  for (const table of ["recovery_snapshots", "backup_logs", "platform_metrics"]) {
    const owner = await clientFor(world.owner.jwt).from(table).select("*").limit(5);
    assert.ok(owner.error !== null || owner.data!.length === 0, `${table}: ${JSON.stringify(owner)}`);
  }
  const admin = await clientFor(world.platformAdmin.jwt).from("recovery_snapshots").select("id").eq(
    "shop_id",
    world.shopId,
  );
  assert.equal(admin.error, null, JSON.stringify(admin.error));
  assert.ok(admin.data!.length >= 1, "a platform admin reads snapshots");
});

test("escalation attempts through supabase-js fail and change nothing", async () => {
  const owner = clientFor(world.owner.jwt);
  const outsider = clientFor(world.outsider.jwt);
  // A user cannot make themselves a platform admin...
  const promote = await owner.from("profiles").update({ is_platform_admin: true }).eq("id", world.owner.id).select();
  assert.ok(promote.error, "is_platform_admin is not writable by its user");
  // ...nor join another shop, as owner or at all.
  for (const role of ["owner", "viewer"]) {
    const join = await outsider.from("team_members").insert({
      shop_id: world.shopId,
      user_id: world.outsider.id,
      role,
      invited_by: world.outsider.id,
    });
    assert.ok(join.error, `joining another shop as ${role} is refused`);
  }
  const [state] = await sql`
    select (select is_platform_admin from public.profiles where id = ${world.owner.id}) as promoted,
           (select count(*)::int from public.team_members where shop_id = ${world.shopId} and user_id = ${world.outsider.id}) as joined`;
  assert.deepEqual(state, { promoted: false, joined: 0 });
  assertError(await call("owner", { action: "list_backups" }), 403, "forbidden");
  assertError(
    await invoke(outsider, "analytics-operations", { action: "get_shop_stats", shop_id: world.shopId }),
    404,
    "not_found",
  );
});

test("(cleanup) remove this file's world", async () => {
  // The platform rows of the days this file generated counted its shops and
  // orders; recompute them without, so a dev database keeps true numbers.
  await destroyWorld(world, async (sql) => {
    for (const day of [PLATFORM_DAY, GMV_DAY]) await sql`select public.generate_platform_metrics(${day}::date)`;
  });
});
