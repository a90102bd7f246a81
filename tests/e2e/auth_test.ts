// The local /auth/v1 as supabase-js's auth client uses it: sign-up, sign-in,
// getUser, getClaims, refresh with rotation and reuse detection, updateUser,
// signOut, the admin API, GoTrue's error codes, the sign-in rate limit, and
// sessions accepted by /rest/v1 and the three functions. Runs in both
// signing modes (scripts/test runs this folder with AUTH_SIGNING=es256, then
// legacy): only the token header differs.
//
// Uses the seeded demo users (supabase/seed.sql, password DEMO_PASSWORD)
// where a test is about them; everything else creates its own users.

import {
  AuthApiError,
  AuthSessionMissingError,
  AuthWeakPasswordError,
  createClient,
  type Session,
  type SupabaseClient,
} from "@supabase/supabase-js";
import {
  assert,
  AUTH_SIGNING,
  connectDb,
  DEMO_PASSWORD,
  invoke,
  SUPABASE_PUBLISHABLE_KEY,
  SUPABASE_SECRET_KEY,
  SUPABASE_URL,
  tag,
  test,
} from "./helpers.ts";

const SHOP_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const OWNER_ID = "11111111-1111-4111-8111-111111111111";

/** A browser-like client on the publishable key, its session kept in memory. */
function browserClient(): SupabaseClient {
  return createClient(SUPABASE_URL, SUPABASE_PUBLISHABLE_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}

/** A server-side client on the secret key (admin API). */
function serverClient(): SupabaseClient {
  return createClient(SUPABASE_URL, SUPABASE_SECRET_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}

function newEmail(): string {
  return `auth-${tag()}@example.com`;
}

// deno-lint-ignore no-explicit-any
function decodePart(token: string, index: number): any {
  const part = token.split(".")[index].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
}

async function signUp(client: SupabaseClient, email = newEmail(), password = "correct horse battery"): Promise<Session> {
  const { data, error } = await client.auth.signUp({ email, password, options: { data: { full_name: "Ada" } } });
  assert.equal(error, null, `signUp: ${error?.message}`);
  assert.ok(data.session, "signUp returns a session (no email confirmation locally)");
  return data.session;
}

/** The error code and status supabase-js surfaced. */
function apiError(error: unknown): { status: number; code: string | undefined } {
  assert.ok(error instanceof AuthApiError, `expected an AuthApiError, got ${error}`);
  return { status: error.status, code: error.code };
}

test("signUp returns a session signed as the project signs (ES256 with the JWKS kid, or legacy HS256)", async () => {
  const client = browserClient();
  const email = newEmail();
  const session = await signUp(client, email);
  assert.equal(session.user.email, email);
  assert.equal(session.user.user_metadata.full_name, "Ada");
  assert.equal(session.token_type, "bearer");
  assert.equal(session.expires_in, 3600);
  const header = decodePart(session.access_token, 0);
  const jwks = await (await fetch(`${SUPABASE_URL}/auth/v1/.well-known/jwks.json`)).json();
  if (AUTH_SIGNING === "es256") {
    assert.equal(header.alg, "ES256");
    assert.deepEqual(jwks.keys.map((k: { kid: string }) => k.kid), [header.kid]);
    assert.equal(jwks.keys[0].d, undefined, "the JWKS holds no private member");
  } else {
    assert.equal(header.alg, "HS256");
    assert.deepEqual(jwks, { keys: [] });
  }
  const claims = decodePart(session.access_token, 1);
  assert.equal(claims.iss, `${SUPABASE_URL}/auth/v1`);
  assert.equal(claims.aud, "authenticated");
  assert.equal(claims.role, "authenticated");
  assert.equal(claims.sub, session.user.id);
  assert.equal(claims.email, email);
  assert.equal(claims.aal, "aal1");
  assert.equal(claims.is_anonymous, false);
  assert.equal(claims.exp - claims.iat, 3600);
  assert.match(claims.session_id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(claims.app_metadata, { provider: "email", providers: ["email"] });
  const sql = connectDb();
  try {
    const [row] = await sql`select encrypted_password from auth.users where id = ${session.user.id}`;
    assert.match(row.encrypted_password, /^\$2[aby]\$10\$/, "bcrypt, cost 10, as GoTrue");
    const [profile] = await sql`select email from public.profiles where id = ${session.user.id}`;
    assert.equal(profile?.email, email, "the product's trigger made the profile");
  } finally {
    await sql.end();
  }
});

test("signUp errors: user_already_exists 422, weak_password 422, invalid email 400", async () => {
  const client = browserClient();
  const email = newEmail();
  await signUp(client, email);
  const again = await browserClient().auth.signUp({ email: email.toUpperCase(), password: "another password" });
  assert.deepEqual(apiError(again.error), { status: 422, code: "user_already_exists" });
  const weak = await browserClient().auth.signUp({ email: newEmail(), password: "12345" });
  assert.ok(weak.error instanceof AuthWeakPasswordError, `${weak.error}`);
  assert.equal(weak.error.status, 422);
  assert.deepEqual(weak.error.reasons, ["length"]);
  const invalid = await browserClient().auth.signUp({ email: "not-an-email", password: "long enough" });
  assert.deepEqual(apiError(invalid.error), { status: 400, code: "validation_failed" });
});

test("the seeded demo owner signs in with the documented password; getUser and getClaims agree", async () => {
  const client = browserClient();
  const { data, error } = await client.auth.signInWithPassword({ email: "owner@demo.shop", password: DEMO_PASSWORD });
  assert.equal(error, null, `signIn: ${error?.message}`);
  assert.equal(data.user?.id, OWNER_ID);
  const user = await client.auth.getUser();
  assert.equal(user.error, null);
  assert.equal(user.data.user?.email, "owner@demo.shop");
  const claims = await client.auth.getClaims();
  assert.equal(claims.error, null, `getClaims: ${claims.error?.message}`);
  assert.equal(claims.data?.claims.sub, OWNER_ID);
  assert.equal(claims.data?.claims.session_id, decodePart(data.session!.access_token, 1).session_id);
  assert.equal(claims.data?.header.alg, AUTH_SIGNING === "es256" ? "ES256" : "HS256");

  const wrong = await browserClient().auth.signInWithPassword({ email: "owner@demo.shop", password: "wrong password" });
  assert.deepEqual(apiError(wrong.error), { status: 400, code: "invalid_credentials" });
  assert.equal(wrong.error?.message, "Invalid login credentials");
  const nobody = await browserClient().auth.signInWithPassword({ email: newEmail(), password: DEMO_PASSWORD });
  assert.deepEqual(apiError(nobody.error), { status: 400, code: "invalid_credentials" }, "unknown emails answer alike");
});

test("refresh rotates the token; a lost answer gets the same child; reuse later ends the session", async () => {
  const client = browserClient();
  const first = await signUp(client);
  const refreshed = await client.auth.refreshSession();
  assert.equal(refreshed.error, null, `refresh: ${refreshed.error?.message}`);
  const second = refreshed.data.session!;
  assert.ok(second.refresh_token !== first.refresh_token, "a new refresh token");
  assert.equal(decodePart(second.access_token, 1).session_id, decodePart(first.access_token, 1).session_id);

  // The client lost the answer and retries with the old token: it gets the live child again.
  const retry = await browserClient().auth.refreshSession({ refresh_token: first.refresh_token });
  assert.equal(retry.error, null);
  assert.equal(retry.data.session?.refresh_token, second.refresh_token);

  const third = (await client.auth.refreshSession()).data.session!;
  // The first token, revoked long ago (past the 10 s reuse interval), shows up again: theft.
  const sql = connectDb();
  try {
    await sql`update auth.refresh_tokens set updated_at = now() - interval '1 minute' where token = ${first.refresh_token}`;
  } finally {
    await sql.end();
  }
  const reused = await browserClient().auth.refreshSession({ refresh_token: first.refresh_token });
  assert.deepEqual(apiError(reused.error), { status: 400, code: "refresh_token_already_used" });
  // The whole session ended: its newest token is gone, its access token no longer finds it.
  const newest = await browserClient().auth.refreshSession({ refresh_token: third.refresh_token });
  assert.deepEqual(apiError(newest.error), { status: 400, code: "refresh_token_not_found" });
  const user = await browserClient().auth.getUser(third.access_token);
  assert.ok(user.error instanceof AuthSessionMissingError, `getUser after the session ended: ${user.error}`);
});

test("updateUser merges metadata and changes the password (same password: 422 same_password)", async () => {
  const client = browserClient();
  const email = newEmail();
  await signUp(client, email, "first password");
  const meta = await client.auth.updateUser({ data: { theme: "dark" } });
  assert.equal(meta.error, null, `updateUser: ${meta.error?.message}`);
  assert.deepEqual(meta.data.user?.user_metadata, { full_name: "Ada", theme: "dark" });
  const same = await client.auth.updateUser({ password: "first password" });
  assert.deepEqual(apiError(same.error), { status: 422, code: "same_password" });
  const changed = await client.auth.updateUser({ password: "second password" });
  assert.equal(changed.error, null);
  const old = await browserClient().auth.signInWithPassword({ email, password: "first password" });
  assert.deepEqual(apiError(old.error), { status: 400, code: "invalid_credentials" });
  const fresh = await browserClient().auth.signInWithPassword({ email, password: "second password" });
  assert.equal(fresh.error, null);
});

test("signOut ends the session: its refresh token and its access token stop working", async () => {
  const client = browserClient();
  const session = await signUp(client);
  const { error } = await client.auth.signOut();
  assert.equal(error, null, `signOut: ${error?.message}`);
  const refresh = await browserClient().auth.refreshSession({ refresh_token: session.refresh_token });
  assert.deepEqual(apiError(refresh.error), { status: 400, code: "refresh_token_not_found" });
  const user = await browserClient().auth.getUser(session.access_token);
  assert.ok(user.error instanceof AuthSessionMissingError, `${user.error}`);
});

test("requests without or with a bad token get no_authorization 401 / bad_jwt 403", async () => {
  const headers = { apikey: SUPABASE_PUBLISHABLE_KEY, "X-Supabase-Api-Version": "2024-01-01" };
  const none = await fetch(`${SUPABASE_URL}/auth/v1/user`, { headers });
  assert.equal(none.status, 401);
  assert.deepEqual(await none.json(), { code: "no_authorization", message: "This endpoint requires a valid Bearer token" });
  const session = await signUp(browserClient());
  const [h, p] = session.access_token.split(".");
  const forged = `${h}.${p}.${"A".repeat(43)}`;
  const bad = await browserClient().auth.getUser(forged);
  assert.deepEqual(apiError(bad.error), { status: 403, code: "bad_jwt" });
  // Without the API version header, GoTrue's first error shape.
  const legacy = await fetch(`${SUPABASE_URL}/auth/v1/user`, { headers: { apikey: SUPABASE_PUBLISHABLE_KEY } });
  assert.deepEqual(await legacy.json(), {
    code: 401,
    error_code: "no_authorization",
    msg: "This endpoint requires a valid Bearer token",
  });
});

test("admin API with the secret key: create, list, get, delete; the publishable key is not_admin", async () => {
  const admin = serverClient().auth.admin;
  const email = newEmail();
  const created = await admin.createUser({
    email,
    password: "made by admin",
    email_confirm: true,
    user_metadata: { full_name: "Grace" },
  });
  assert.equal(created.error, null, `createUser: ${created.error?.message}`);
  const id = created.data.user!.id;
  const duplicate = await admin.createUser({ email, password: "made by admin" });
  assert.deepEqual(apiError(duplicate.error), { status: 422, code: "email_exists" });

  const signIn = await browserClient().auth.signInWithPassword({ email, password: "made by admin" });
  assert.equal(signIn.error, null, "the created user signs in");

  const listed = await admin.listUsers({ page: 1, perPage: 1000 });
  assert.equal(listed.error, null);
  assert.ok(listed.data.users.some((u) => u.id === id), "listUsers includes the new user");
  assert.ok((listed.data as { total?: number }).total! >= listed.data.users.length);
  const fetched = await admin.getUserById(id);
  assert.equal(fetched.data.user?.email, email);

  const refused = await browserClient().auth.admin.listUsers();
  assert.deepEqual(apiError(refused.error), { status: 403, code: "not_admin" });

  const deleted = await admin.deleteUser(id);
  assert.equal(deleted.error, null, `deleteUser: ${deleted.error?.message}`);
  const gone = await admin.getUserById(id);
  assert.deepEqual(apiError(gone.error), { status: 404, code: "user_not_found" });
  const again = await browserClient().auth.signInWithPassword({ email, password: "made by admin" });
  assert.deepEqual(apiError(again.error), { status: 400, code: "invalid_credentials" });
});

test("sign-in attempts are rate-limited per IP and email: the 11th, even right, is 429", async () => {
  const email = newEmail();
  await signUp(browserClient(), email, "the right one");
  for (let attempt = 1; attempt <= 10; attempt++) {
    const wrong = await browserClient().auth.signInWithPassword({ email, password: `guess ${attempt}` });
    assert.deepEqual(apiError(wrong.error), { status: 400, code: "invalid_credentials" }, `attempt ${attempt}`);
  }
  const limited = await browserClient().auth.signInWithPassword({ email, password: "the right one" });
  assert.deepEqual(apiError(limited.error), { status: 429, code: "over_request_rate_limit" });
  const other = await browserClient().auth.signInWithPassword({ email: "owner@demo.shop", password: DEMO_PASSWORD });
  assert.equal(other.error, null, "another email is not limited");
});

test("a session token is accepted by /rest/v1 and by the three functions", async () => {
  const owner = browserClient();
  const signIn = await owner.auth.signInWithPassword({ email: "owner@demo.shop", password: DEMO_PASSWORD });
  assert.equal(signIn.error, null);
  const shops = await owner.from("shops").select("id, name").eq("id", SHOP_A);
  assert.equal(shops.error, null, `${shops.error?.message}`);
  assert.deepEqual(shops.data, [{ id: SHOP_A, name: "Dhaka Threads" }]);
  const lowStock = await invoke(owner, "inventory-operations", { action: "get_low_stock", shop_id: SHOP_A });
  assert.equal(lowStock.status, 200, JSON.stringify(lowStock.body));
  const stats = await invoke(owner, "analytics-operations", { action: "get_shop_stats", shop_id: SHOP_A });
  assert.equal(stats.status, 200, JSON.stringify(stats.body));

  const admin = browserClient();
  const adminSignIn = await admin.auth.signInWithPassword({ email: "admin@demo.shop", password: DEMO_PASSWORD });
  assert.equal(adminSignIn.error, null);
  const platform = await invoke(admin, "admin-operations", { action: "get_platform_stats" });
  assert.equal(platform.status, 200, JSON.stringify(platform.body));

  // Not signed in, the publishable key acts as anon, which may not read shops at all.
  const anonShops = await browserClient().from("shops").select("id");
  assert.equal(anonShops.status, 401);
  assert.equal(anonShops.error?.code, "42501");
  // A key that is not the project's is refused before any query.
  const stranger = createClient(SUPABASE_URL, "sb_publishable_notthisprojectskey", {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const refused = await stranger.from("shops").select("id");
  assert.equal(refused.status, 401);
  assert.equal(refused.error?.message, "Invalid API key");
});

test("forged, expired and wrong-kid tokens are 401 at /rest/v1 and at the functions", async () => {
  const session = await signUp(browserClient());
  const [h, p, s] = session.access_token.split(".");
  const encode = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const claims = decodePart(session.access_token, 1);
  const header = decodePart(session.access_token, 0);
  const tokens: Record<string, string> = {
    forged: `${h}.${encode({ ...claims, role: "service_role" })}.${s}`,
    expired: `${h}.${encode({ ...claims, exp: claims.iat - 100 })}.${s}`,
    "wrong kid": `${encode({ ...header, kid: crypto.randomUUID() })}.${p}.${s}`,
  };
  for (const [name, token] of Object.entries(tokens)) {
    const rest = await fetch(`${SUPABASE_URL}/rest/v1/shops?select=id`, {
      headers: { apikey: SUPABASE_PUBLISHABLE_KEY, Authorization: `Bearer ${token}` },
    });
    assert.equal(rest.status, 401, `${name} at /rest/v1`);
    const body = await rest.json();
    assert.match(body.code, /^PGRST30[13]$/, `${name}: ${JSON.stringify(body)}`);
    for (const fn of ["inventory-operations", "analytics-operations", "admin-operations"]) {
      const answer = await fetch(`${SUPABASE_URL}/functions/v1/${fn}`, {
        method: "POST",
        headers: { apikey: SUPABASE_PUBLISHABLE_KEY, Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ action: "get_low_stock", shop_id: SHOP_A }),
      });
      assert.equal(answer.status, 401, `${name} at ${fn}`);
      assert.equal((await answer.json()).error.code, "unauthorized");
    }
  }
});
