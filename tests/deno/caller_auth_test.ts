// The functions verify their callers (config.toml: verify_jwt = false): a built shim
// under Deno against a fake project API that serves a JWKS and records the RPCs. A valid
// ES256 session token reaches the RPC; forged, expired, wrong-kid, `alg: none` and
// algorithm-confusion tokens are 401 `unauthorized` with CORS and no RPC; HS256 verifies
// only with a configured legacy secret; a secret key in `apikey` is a trusted caller;
// and random `kid`s cannot make the function fetch the JWKS per request.

import { assert } from "../assert.ts";
import {
  es256KeyPair,
  invoke,
  type RecordedRequest,
  ROOT_PATH,
  signEs256,
  signHs256,
  startFakePostgrest,
  startShim,
  TEST_ANON_KEY,
  TEST_JWT,
  TEST_KID,
  TEST_SIGNING_KEY,
  userClaims,
} from "./support.ts";

const SHOP_ID = "6f1c2a9e-3b7d-4c1e-9a55-0d8e4f2b7c10";
const LOW_STOCK = { items: [] };
const LEGACY_SECRET = "legacy-jwt-secret-with-at-least-32-characters";
const SECRET_KEY = "sb_secret_test_0123456789abcdef";
const ENTRYPOINT = `${ROOT_PATH}/functions/inventory-operations/index.ts`;
const BODY = { action: "get_low_stock", shop_id: SHOP_ID };

const upstream = startFakePostgrest((request: RecordedRequest) =>
  request.path === "/rest/v1/rpc/get_low_stock_items"
    ? Response.json(LOW_STOCK)
    : Response.json({ code: "PGRST202", message: `no route ${request.path}` }, { status: 404 })
);
const baseEnv = { SUPABASE_URL: upstream.url, SUPABASE_ANON_KEY: TEST_ANON_KEY };
/** Signing keys only, as a project that has moved off the legacy secret. */
const shim = await startShim(ENTRYPOINT, {
  ...baseEnv,
  SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET_KEY }),
});

function test(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

function call(url: string, headers: Record<string, string>) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(BODY),
    signal: AbortSignal.timeout(15_000),
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}`, apikey: TEST_ANON_KEY });

/** 401 `unauthorized` in our envelope, with CORS and the request id, and no RPC sent. */
async function assertRefused(response: Response, rpcsBefore: number, why: string) {
  const body = await response.json();
  assert.deepEqual(response.status, 401, `${why}: ${JSON.stringify(body)}`);
  assert.deepEqual(body.error.code, "unauthorized", why);
  assert.match(body.error.request_id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(response.headers.get("x-request-id"), body.error.request_id);
  assert.deepEqual(response.headers.get("access-control-allow-origin"), "*", why);
  assert.deepEqual(response.headers.get("access-control-allow-methods"), "POST, OPTIONS", why);
  assert.deepEqual(upstream.requests.length, rpcsBefore, `${why}: no RPC may be sent`);
  return body.error.message as string;
}

async function assertReachesRpc(response: Response, why: string) {
  assert.deepEqual(response.status, 200, `${why}: ${await response.clone().text()}`);
  assert.deepEqual(await response.json(), { data: LOW_STOCK });
  const sent = upstream.requests.at(-1)!;
  assert.deepEqual(sent.path, "/rest/v1/rpc/get_low_stock_items");
  return sent;
}

test("a valid ES256 session token reaches the RPC, forwarded unchanged", async () => {
  const sent = await assertReachesRpc(await invoke(shim.url, BODY), "ES256");
  assert.deepEqual(sent.headers.get("authorization"), `Bearer ${TEST_JWT}`);
  assert.deepEqual(sent.headers.get("apikey"), TEST_ANON_KEY);
});

test("forged, expired, not-yet-valid, wrong-audience and anon tokens are 401 with CORS", async () => {
  const attacker = await es256KeyPair(TEST_KID);
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, string][] = [
    ["signed with another key under the project's kid", await signEs256(userClaims(), { kid: TEST_KID }, attacker.privateKey)],
    ["payload swapped after signing", swapPayload(TEST_JWT, userClaims({ role: "service_role" }))],
    ["expired", await signEs256(userClaims({ iat: now - 7200, exp: now - 3600 }))],
    ["not valid yet", await signEs256(userClaims({ nbf: now + 3600 }))],
    ["no expiry", await signEs256(userClaims({ exp: undefined }))],
    ["audience of another service", await signEs256(userClaims({ aud: "storage" }))],
    ["the anon role", await signEs256(userClaims({ role: "anon", aud: "authenticated" }))],
    ["`alg: none`", unsigned(userClaims())],
    ["a kid the project does not have", await signEs256(userClaims(), { kid: "not-a-project-key" }, attacker.privateKey)],
    ["no kid", await signEs256(userClaims(), {})],
  ];
  for (const [why, token] of cases) {
    await assertRefused(await call(shim.url, bearer(token)), upstream.requests.length, why);
  }
});

test("algorithm confusion: an HS256 token keyed with the project's public key is 401", async () => {
  // The classic attack: HMAC "signed" with the public key's bytes, naming its kid.
  const publicJwk = new TextEncoder().encode(JSON.stringify(TEST_SIGNING_KEY.jwk));
  const token = await signHs256(userClaims(), publicJwk, { kid: TEST_KID });
  const message = await assertRefused(await call(shim.url, bearer(token)), upstream.requests.length, "HS256");
  assert.match(message, /HS256/);
});

test("RS256 verifies against the project's RSA key, and only with that key's kid", async () => {
  const rsa = await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
  const { kty, n, e } = await crypto.subtle.exportKey("jwk", rsa.publicKey);
  const rsaUpstream = startFakePostgrest(() => Response.json(LOW_STOCK));
  rsaUpstream.setJwks({ keys: [TEST_SIGNING_KEY.jwk, { kty, n, e, kid: "rsa-key", alg: "RS256", use: "sig" }] });
  const withRsa = await startShim(ENTRYPOINT, { SUPABASE_URL: rsaUpstream.url, SUPABASE_ANON_KEY: TEST_ANON_KEY });
  const signRs256 = async (kid: string) => {
    const part = (value: unknown) =>
      btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const input = `${part({ alg: "RS256", typ: "JWT", kid })}.${part(userClaims())}`;
    const signature = new Uint8Array(
      await crypto.subtle.sign("RSASSA-PKCS1-v1_5", rsa.privateKey, new TextEncoder().encode(input)),
    );
    return `${input}.${btoa(String.fromCharCode(...signature)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
  };
  try {
    const valid = await call(withRsa.url, bearer(await signRs256("rsa-key")));
    assert.deepEqual(valid.status, 200, await valid.clone().text());
    await valid.body?.cancel();
    const before = rsaUpstream.requests.length;
    const wrongKid = await call(withRsa.url, bearer(await signRs256(TEST_KID)));
    assert.deepEqual(wrongKid.status, 401, await wrongKid.clone().text());
    assert.deepEqual((await wrongKid.json()).error.code, "unauthorized");
    assert.deepEqual(rsaUpstream.requests.length, before);
  } finally {
    await withRsa.stop();
    await rsaUpstream.stop();
  }
});

test("HS256 verifies with the legacy secret when one is configured, and only then", async () => {
  const legacy = await startShim(ENTRYPOINT, { ...baseEnv, SUPABASE_JWT_SECRET: LEGACY_SECRET });
  try {
    const valid = await signHs256(userClaims(), LEGACY_SECRET);
    await assertReachesRpc(await call(legacy.url, bearer(valid)), "HS256 with the legacy secret");
    // The legacy service_role key (no audience) is a trusted caller.
    const serviceRole = await signHs256(
      { iss: "supabase", role: "service_role", iat: 0, exp: Math.floor(Date.now() / 1000) + 60 },
      LEGACY_SECRET,
    );
    await assertReachesRpc(await call(legacy.url, bearer(serviceRole)), "legacy service_role key");
    const forged = await signHs256(userClaims(), "not-the-legacy-secret-not-the-legacy-secret");
    await assertRefused(await call(legacy.url, bearer(forged)), upstream.requests.length, "wrong secret");
    // ES256 keeps working beside it.
    await assertReachesRpc(await invoke(legacy.url, BODY), "ES256 beside the legacy secret");
  } finally {
    await legacy.stop();
  }
  // Without a legacy secret, the same valid HS256 token is refused.
  const valid = await signHs256(userClaims(), LEGACY_SECRET);
  await assertRefused(await call(shim.url, bearer(valid)), upstream.requests.length, "HS256 without a secret");
});

test("a secret key in apikey is a trusted caller, forwarded with that key", async () => {
  const alone = await assertReachesRpc(await call(shim.url, { apikey: SECRET_KEY }), "apikey only");
  assert.deepEqual(alone.headers.get("apikey"), SECRET_KEY);
  assert.deepEqual(alone.headers.get("authorization"), null);
  // As supabase-js sends it by default: the key as Bearer too.
  const asBearer = await assertReachesRpc(
    await call(shim.url, { apikey: SECRET_KEY, authorization: `Bearer ${SECRET_KEY}` }),
    "apikey and Bearer",
  );
  assert.deepEqual(asBearer.headers.get("authorization"), `Bearer ${SECRET_KEY}`);
  for (const apikey of [`${SECRET_KEY}x`, "sb_publishable_test", TEST_ANON_KEY]) {
    await assertRefused(await call(shim.url, { apikey }), upstream.requests.length, `apikey ${apikey}`);
  }
});

test("random kids cannot make the function fetch the JWKS per request", async () => {
  const fetchesBefore = upstream.jwksFetches();
  const attacker = await es256KeyPair("x");
  const tokens = await Promise.all(
    Array.from({ length: 40 }, () => signEs256(userClaims(), { kid: crypto.randomUUID() }, attacker.privateKey)),
  );
  const rpcs = upstream.requests.length;
  for (const token of tokens) {
    await assertRefused(await call(shim.url, bearer(token)), rpcs, "random kid");
  }
  // At most one refetch in the bound's window, whatever the number of unknown kids.
  assert.ok(upstream.jwksFetches() - fetchesBefore <= 1, `${upstream.jwksFetches() - fetchesBefore} JWKS fetches`);
  // And the project's own tokens keep working from the cache.
  await assertReachesRpc(await invoke(shim.url, BODY), "after the random kids");
});

test("a cold isolate fetches the JWKS once for a burst of concurrent requests", async () => {
  const cold = await startShim(ENTRYPOINT, baseEnv);
  try {
    const before = upstream.jwksFetches();
    const answers = await Promise.all(Array.from({ length: 12 }, () => invoke(cold.url, BODY)));
    for (const answer of answers) {
      assert.deepEqual(answer.status, 200, await answer.clone().text());
      await answer.body?.cancel();
    }
    assert.deepEqual(upstream.jwksFetches() - before, 1);
  } finally {
    await cold.stop();
  }
});

test("without a JWKS (a stack with no /auth/v1): HS256 verifies with the legacy secret, ES256 is 503", async () => {
  const noAuth = startFakePostgrest((request) =>
    request.path === "/rest/v1/rpc/get_low_stock_items" ? Response.json(LOW_STOCK) : new Response("", { status: 404 })
  );
  noAuth.setJwks(null);
  const legacyOnly = await startShim(ENTRYPOINT, {
    SUPABASE_URL: noAuth.url,
    SUPABASE_ANON_KEY: TEST_ANON_KEY,
    SUPABASE_JWT_SECRET: LEGACY_SECRET,
  });
  try {
    const hs256 = await call(legacyOnly.url, bearer(await signHs256(userClaims(), LEGACY_SECRET)));
    assert.deepEqual(hs256.status, 200, await hs256.clone().text());
    await hs256.body?.cancel();
    assert.deepEqual(noAuth.requests.at(-1)?.path, "/rest/v1/rpc/get_low_stock_items");
    assert.deepEqual(noAuth.jwksFetches(), 0, "HS256 never needs the JWKS");

    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await invoke(legacyOnly.url, BODY);
      const body = await response.json();
      assert.deepEqual(response.status, 503, JSON.stringify(body));
      assert.deepEqual(body.error.code, "upstream_unavailable");
      assert.deepEqual(response.headers.get("access-control-allow-origin"), "*");
    }
    assert.deepEqual(noAuth.jwksFetches(), 1, "a failed fetch is bounded like a successful one");
    assert.ok(legacyOnly.output().includes("JWKS fetch"), legacyOnly.output());
  } finally {
    await legacyOnly.stop();
    await noAuth.stop();
  }
});

test("stop the shim and the fake upstream", async () => {
  await shim.stop();
  await upstream.stop();
});

function swapPayload(token: string, claims: Record<string, unknown>): string {
  const [header, , signature] = token.split(".");
  const payload = btoa(JSON.stringify(claims)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${header}.${payload}.${signature}`;
}

function unsigned(claims: Record<string, unknown>): string {
  const part = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${part({ alg: "none", typ: "JWT", kid: TEST_KID })}.${part(claims)}.`;
}

