// Team membership end to end with supabase-js: a shop grows only by invitation
// that the invitee accepts as themselves. No one can add another user (and
// learn whether an id is a user), and teammates see each other's name and
// avatar, never email.

import { assert, clientFor, connectDb, test, uuid } from "./helpers.ts";
import { createWorld, destroyWorld } from "./fixtures.ts";

const world = await createWorld(connectDb());
const { sql } = world;

async function membersOf(shopId: string): Promise<string[]> {
  const rows = await sql<{ user_id: string; role: string }[]>`
    select user_id, role from public.team_members where shop_id = ${shopId} order by user_id`;
  return rows.map((r) => `${r.user_id}:${r.role}`);
}

test("an owner cannot add users directly: the same refusal for a real user and a random id", async () => {
  const before = await membersOf(world.shopId);
  const owner = clientFor(world.owner.jwt);
  const real = await owner.from("team_members").insert({ shop_id: world.shopId, user_id: world.outsider.id, role: "staff" });
  const random = await owner.from("team_members").insert({ shop_id: world.shopId, user_id: uuid(), role: "staff" });
  assert.equal(real.status, 403, JSON.stringify(real.error));
  assert.equal(real.error?.code, "42501", JSON.stringify(real.error));
  assert.deepEqual([random.status, random.error?.code], [real.status, real.error?.code], "no oracle for user ids");
  const profile = await owner.from("profiles").select("id, full_name").eq("id", world.outsider.id);
  assert.deepEqual(profile.data, [], "a stranger's profile stays invisible");
  assert.deepEqual(await membersOf(world.shopId), before);
});

test("invite, look up, accept: the invitee joins as themselves, then teammates see their name only", async () => {
  const owner = clientFor(world.owner.jwt);
  const invitee = clientFor(world.outsider.jwt);
  const created = await owner.rpc("create_invitation", { p_shop_id: world.shopId, p_role: "viewer" });
  assert.equal(created.error, null, JSON.stringify(created.error));
  const token: string = created.data.token;
  assert.equal(token.length, 64);

  const staff = await clientFor(world.staff.jwt).rpc("create_invitation", { p_shop_id: world.shopId });
  assert.equal(staff.error?.message, "forbidden", JSON.stringify(staff.error));

  const seen = await invitee.rpc("lookup_invitation", { p_token: token });
  assert.equal(seen.error, null, JSON.stringify(seen.error));
  assert.equal(seen.data.role, "viewer");
  assert.equal(seen.data.already_member, false);

  const accepted = await invitee.rpc("accept_invitation", { p_token: token });
  assert.equal(accepted.error, null, JSON.stringify(accepted.error));
  assert.deepEqual(accepted.data, { shop_id: world.shopId, role: "viewer" });
  const again = await clientFor(world.viewer.jwt).rpc("accept_invitation", { p_token: token });
  assert.equal(again.status, 404, "a used token is gone");
  assert.equal(again.error?.message, "not_found");

  const profile = await owner.from("profiles").select("id, full_name, avatar_url").eq("id", world.outsider.id);
  assert.equal(profile.error, null, JSON.stringify(profile.error));
  assert.equal(profile.data!.length, 1, "a teammate's profile is visible once they joined");
  const email = await owner.from("profiles").select("email").eq("id", world.outsider.id);
  assert.ok(email.error, "email is not a column users may read");
  const [row] = await sql`select role from public.team_members where shop_id = ${world.shopId} and user_id = ${world.outsider.id}`;
  assert.equal(row.role, "viewer");
});

test("(cleanup) remove this file's world", async () => {
  await destroyWorld(world);
});
