// Each test file's own world, written with the postgres connection: users
// in auth.users (profiles come from the trigger), two shops with a member of
// every role, and helpers to add items and orders. Ids are fresh UUIDs, so
// files never collide with each other, with the seed or with a previous run.

import { assert, signJwt, type Sql, tag, uuid } from "./helpers.ts";

export interface User {
  id: string;
  email: string;
  jwt: string;
}

export type Role = "owner" | "admin" | "staff" | "viewer";

export interface World {
  sql: Sql;
  /** The shop every test acts on, with a member of each role. */
  shopId: string;
  /** A second shop, owned by `outsider`, who is no member of the first. */
  otherShopId: string;
  owner: User;
  admin: User;
  staff: User;
  viewer: User;
  outsider: User;
  /** profiles.is_platform_admin, member of no shop. */
  platformAdmin: User;
}

/** Every caller a role matrix covers; `anon` has no user JWT at all. */
export type Caller = Role | "outsider" | "platformAdmin" | "anon";
export const CALLERS: Caller[] = ["owner", "admin", "staff", "viewer", "outsider", "platformAdmin", "anon"];

/** What a refused caller gets; null = allowed. */
export type Refusal = [status: number, code: string] | null;

/**
 * Who may do what (docs/DATA_MODEL.md, "Roles"): non-members get
 * not_found, never forbidden, so another shop's ids cannot be probed; a
 * platform admin is no shop member; anon has no user at all.
 */
export const STAFF_OR_ABOVE: Record<Caller, Refusal> = {
  owner: null,
  admin: null,
  staff: null,
  viewer: [403, "forbidden"],
  outsider: [404, "not_found"],
  platformAdmin: [404, "not_found"],
  anon: [401, "unauthorized"],
};
export const ANY_MEMBER: Record<Caller, Refusal> = { ...STAFF_OR_ABOVE, viewer: null };
export const PLATFORM_ADMIN_ONLY: Record<Caller, Refusal> = {
  owner: [403, "forbidden"],
  admin: [403, "forbidden"],
  staff: [403, "forbidden"],
  viewer: [403, "forbidden"],
  outsider: [403, "forbidden"],
  platformAdmin: null,
  anon: [401, "unauthorized"],
};

export function jwtOf(world: World, caller: Caller): string | undefined {
  return caller === "anon" ? undefined : world[caller].jwt;
}

async function createUser(sql: Sql, label: string): Promise<User> {
  const id = uuid();
  const email = `${label}-${tag()}@e2e.test`;
  await sql`
    insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
    values (${id}, 'authenticated', 'authenticated', ${email}, now(),
            ${sql.json({ provider: "email" })}, ${sql.json({ full_name: `E2E ${label}` })})`;
  const jwt = await signJwt({ sub: id, email, role: "authenticated", aud: "authenticated" });
  return { id, email, jwt };
}

async function createShop(
  sql: Sql,
  ownerId: string,
  options: { timezone?: string; threshold?: number } = {},
): Promise<string> {
  const [shop] = await sql<{ id: string }[]>`
    insert into public.shops (owner_id, name, slug, timezone, default_low_stock_threshold)
    values (${ownerId}, ${"E2E shop " + tag()}, ${"e2e-" + tag()},
            ${options.timezone ?? "UTC"}, ${options.threshold ?? 5})
    returning id`;
  return shop.id;
}

async function addMember(sql: Sql, shopId: string, userId: string, role: Role): Promise<void> {
  await sql`insert into public.team_members (shop_id, user_id, role) values (${shopId}, ${userId}, ${role})`;
}

export async function createWorld(sql: Sql, options: { timezone?: string } = {}): Promise<World> {
  const [owner, admin, staff, viewer, outsider, platformAdmin] = await Promise.all(
    ["owner", "admin", "staff", "viewer", "outsider", "platform-admin"].map((l) => createUser(sql, l)),
  );
  await sql`update public.profiles set is_platform_admin = true where id = ${platformAdmin.id}`;
  const shopId = await createShop(sql, owner.id, options);
  await addMember(sql, shopId, admin.id, "admin");
  await addMember(sql, shopId, staff.id, "staff");
  await addMember(sql, shopId, viewer.id, "viewer");
  const otherShopId = await createShop(sql, outsider.id);
  return { sql, shopId, otherShopId, owner, admin, staff, viewer, outsider, platformAdmin };
}

/**
 * Removes the world (shops cascade to their rows; backups outlive shops, so
 * they go explicitly), runs `afterwards` (e.g. recompute platform rows that
 * counted the world) and closes the connection.
 */
export async function destroyWorld(world: World, afterwards?: (sql: Sql) => Promise<void>): Promise<void> {
  const { sql } = world;
  const shops = [world.shopId, world.otherShopId];
  const users = [world.owner, world.admin, world.staff, world.viewer, world.outsider, world.platformAdmin]
    .map((u) => u.id);
  await sql.begin(async (tx) => {
    await tx`delete from public.recovery_snapshots where shop_id = any(${shops}::uuid[])`;
    await tx`delete from public.recovery_snapshot_parts where shop_id = any(${shops}::uuid[])`;
    await tx`delete from public.backup_logs where shop_id = any(${shops}::uuid[]) or triggered_by = any(${users}::uuid[])`;
    await tx`delete from public.shops where id = any(${shops}::uuid[])`;
    await tx`delete from auth.users where id = any(${users}::uuid[])`;
  });
  await afterwards?.(sql);
  await sql.end();
}

export interface ItemOptions {
  shopId?: string;
  stock?: number | null;
  name?: string;
  sku?: string | null;
  price?: number;
  cost?: number;
  category?: string;
  lowStockThreshold?: number | null;
  isActive?: boolean;
  /** When the item was created (ISO), now when absent: its opening stock's 'initial' history row has this date. */
  createdAt?: string;
}

export interface Item {
  id: string;
  name: string;
  sku: string | null;
}

export async function createItem(world: World, options: ItemOptions = {}): Promise<Item> {
  const name = options.name ?? `Item ${tag()}`;
  const sku = options.sku === undefined ? `SKU-${tag()}` : options.sku;
  const tracked = options.stock !== null;
  const [item] = await world.sql<{ id: string }[]>`
    insert into public.items (shop_id, name, sku, price, cost, category, track_stock, stock,
                              low_stock_threshold, is_active, type, created_at)
    values (${options.shopId ?? world.shopId}, ${name}, ${sku}, ${options.price ?? 10},
            ${options.cost ?? 4}, ${options.category ?? "general"}, ${tracked},
            ${tracked ? (options.stock ?? 10) : null}, ${options.lowStockThreshold ?? null},
            ${options.isActive ?? true}, ${tracked ? "product" : "service"},
            coalesce(${options.createdAt ?? null}::timestamptz, now()))
    returning id`;
  return { id: item.id, name, sku };
}

export interface Line {
  item_id: string;
  quantity: number;
  unit_price?: number;
  unit_cost?: number;
}

export interface OrderOptions {
  shopId?: string;
  status?: string;
  submittedAt?: string;
  discount?: number;
  customerRef?: string;
}

/** An order (form_submissions row); subtotal and total follow from the lines. */
export async function createOrder(world: World, lines: Line[], options: OrderOptions = {}): Promise<string> {
  const full = lines.map((l) => ({ unit_price: 10, unit_cost: 4, ...l }));
  const subtotal = full.reduce((sum, l) => sum + l.quantity * l.unit_price, 0);
  const discount = options.discount ?? 0;
  const [order] = await world.sql<{ id: string }[]>`
    insert into public.form_submissions (shop_id, customer_name, customer_ref, line_items, subtotal, discount,
                                         total, status, channel, submitted_at)
    values (${options.shopId ?? world.shopId}, 'E2E customer', ${options.customerRef ?? `cust-${tag()}`},
            ${world.sql.json(full)}, ${subtotal}, ${discount}, ${subtotal - discount},
            ${options.status ?? "confirmed"}, 'manual', ${options.submittedAt ?? new Date().toISOString()})
    returning id`;
  return order.id;
}

export async function stockOf(world: World, itemId: string): Promise<number | null> {
  const [row] = await world.sql<{ stock: number | null }[]>`select stock from public.items where id = ${itemId}`;
  assert.ok(row, `item ${itemId} exists`);
  return row.stock;
}

export interface HistoryRow {
  id: string;
  item_id: string;
  change: number;
  previous_stock: number;
  new_stock: number;
  reason: string;
  reference_id: string | null;
  note: string | null;
  created_by: string | null;
}

/**
 * The stock movements of an item after its creation, oldest first: its
 * opening stock (the 'initial' row the database writes when an item is
 * created with stock) is left out, so a test sees what its own calls wrote.
 */
export async function historyOf(world: World, itemId: string): Promise<HistoryRow[]> {
  return await world.sql<HistoryRow[]>`
    select id::text, item_id, change, previous_stock, new_stock, reason, reference_id, note, created_by
    from public.stock_history where item_id = ${itemId} and reason <> 'initial' order by id`;
}

/** Every row of one shop that a function may write. */
export async function shopState(world: World, shopId: string): Promise<unknown> {
  const [row] = await world.sql`
    select
      (select coalesce(jsonb_agg(to_jsonb(i) order by i.id), '[]') from public.items i where i.shop_id = ${shopId}) as items,
      (select count(*)::int from public.stock_history h where h.shop_id = ${shopId}) as history,
      (select coalesce(jsonb_agg(to_jsonb(o) order by o.id), '[]') from public.form_submissions o where o.shop_id = ${shopId}) as orders,
      (select count(*)::int from public.idempotency_keys k where k.shop_id = ${shopId}) as idempotency_keys,
      (select coalesce(jsonb_agg(to_jsonb(m) order by m.date), '[]') from public.daily_sales_metrics m where m.shop_id = ${shopId}) as daily_metrics,
      (select coalesce(jsonb_agg(to_jsonb(p) order by p.item_id, p.period_start), '[]') from public.product_analytics p where p.shop_id = ${shopId}) as product_analytics,
      (select count(*)::int from public.recovery_snapshots s where s.shop_id = ${shopId}) as snapshots`;
  return row;
}

/**
 * Everything a function may write, for the world's shop and platform-wide:
 * a refused call must leave it exactly as it was.
 */
export async function fingerprint(world: World): Promise<unknown> {
  const [platform] = await world.sql`
    select
      (select count(*)::int from public.idempotency_keys k where k.shop_id is null) as platform_idempotency_keys,
      (select coalesce(jsonb_agg(jsonb_build_object('date', m.date, 'computed_at', m.computed_at) order by m.date), '[]') from public.platform_metrics m) as platform_metrics,
      (select coalesce(jsonb_agg(jsonb_build_object('id', s.id, 'restored_at', s.restored_at) order by s.id), '[]') from public.recovery_snapshots s) as snapshots,
      (select count(*)::int from public.recovery_snapshot_parts) as snapshot_parts,
      (select count(*)::int from public.backup_logs) as backup_logs`;
  return { shop: await shopState(world, world.shopId), platform };
}
