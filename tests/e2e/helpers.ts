// Shared by the end-to-end tests: environment, JWTs, supabase-js clients, a
// database connection (as postgres) for fixtures and state assertions, and the
// assertions every test makes about an edge function's answer.
//
// Each test file builds its own world (users, two shops, team members) with
// unique ids, so files depend neither on supabase/seed.sql nor on each other.
// Files run one after the other (no --parallel): "a refused call changes
// nothing" also compares platform-wide tables (snapshots, platform metrics)
// that the admin tests write.
//
// Run: set -a; source .local/stack.env; set +a
//      deno test --allow-net --allow-env --allow-read tests/e2e/

import { createClient, FunctionsHttpError, type SupabaseClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { assert } from "../assert.ts";

// The assertions live in tests/assert.ts, shared with every other TypeScript test.
export { assert };

function requireEnv(name: string): string {
  const value = Deno.env.get(name);
  if (!value) {
    throw new Error(
      `${name} is not set: run through scripts/test, or export .local/stack.env first`,
    );
  }
  return value;
}

export const SUPABASE_URL = requireEnv("SUPABASE_URL");
export const SUPABASE_ANON_KEY = requireEnv("SUPABASE_ANON_KEY");
export const SUPABASE_SERVICE_ROLE_KEY = requireEnv("SUPABASE_SERVICE_ROLE_KEY");
export const SUPABASE_PUBLISHABLE_KEY = requireEnv("SUPABASE_PUBLISHABLE_KEY");
export const SUPABASE_SECRET_KEY = requireEnv("SUPABASE_SECRET_KEY");
/** `es256` (sessions signed with the stack's ES256 key) or `legacy` (HS256). */
export const AUTH_SIGNING = requireEnv("AUTH_SIGNING");
/** The password of every seeded demo user. */
export const DEMO_PASSWORD = requireEnv("DEMO_PASSWORD");
const SUPABASE_JWT_SECRET = requireEnv("SUPABASE_JWT_SECRET");
const DATABASE_URL = requireEnv("DATABASE_URL");

/** A `[functions.<name>]` section of supabase/config.toml (tests/functions.ts lists them). */
export type FunctionName = string;

/** Deno.test with the sanitizers off: the database pool and supabase-js keep sockets between tests. */
export function test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

// ---------------------------------------------------------------- JWTs

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const encoder = new TextEncoder();

/** An HS256 JWT signed with the project's secret, as Supabase Auth issues them. */
export async function signJwt(
  claims: Record<string, unknown>,
  secret = SUPABASE_JWT_SECRET,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const payload = base64url(
    encoder.encode(JSON.stringify({ iat: now, exp: now + 3600, ...claims })),
  );
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(`${header}.${payload}`));
  return `${header}.${payload}.${base64url(new Uint8Array(signature))}`;
}

// ---------------------------------------------------------------- clients

/**
 * supabase-js as a frontend builds it: the anon key, and the signed-in user's
 * JWT in Authorization. Without a JWT the client calls as anon.
 */
export function clientFor(jwt?: string): SupabaseClient {
  return createClient(SUPABASE_URL, SUPABASE_ANON_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: jwt ? { headers: { Authorization: `Bearer ${jwt}` } } : {},
  });
}

export interface FnAnswer {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** `supabase.functions.invoke`, reading error bodies the way the API reference shows. */
export async function invoke(
  client: SupabaseClient,
  fn: FunctionName,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<FnAnswer> {
  const { data, error, response } = await client.functions.invoke(fn, {
    body: body as Record<string, unknown>,
    headers,
  });
  if (error) {
    if (!(error instanceof FunctionsHttpError)) throw error;
    const res = error.context as Response;
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      assert.fail(`${fn} answered ${res.status} with a body that is not JSON: ${text}`);
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }
  assert.ok(response, "supabase-js returned no response");
  return { status: response.status, headers: response.headers, body: data };
}

/** A raw HTTP call to a function, for what supabase-js cannot send (bad JSON, OPTIONS, GET). */
export async function rawCall(
  fn: FunctionName,
  init: RequestInit & { headers?: Record<string, string> },
): Promise<FnAnswer> {
  const res = await fetch(`${SUPABASE_URL}/functions/v1/${fn}`, init);
  const text = await res.text();
  let body: unknown = null;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: res.status, headers: res.headers, body };
}

export function assertCors(answer: FnAnswer): void {
  assert.equal(answer.headers.get("access-control-allow-origin"), "*");
  const allowed = (answer.headers.get("access-control-allow-headers") ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase());
  for (const h of ["authorization", "x-client-info", "apikey", "content-type", "idempotency-key"]) {
    assert.ok(allowed.includes(h), `Access-Control-Allow-Headers lacks ${h}: ${allowed}`);
  }
}

/** 200 `{"data": ...}` with the CORS headers; returns `data`. */
// deno-lint-ignore no-explicit-any
export function assertOk(answer: FnAnswer): any {
  assert.equal(
    answer.status,
    200,
    `expected 200, got ${answer.status}: ${JSON.stringify(answer.body)}`,
  );
  assertCors(answer);
  assert.ok(
    answer.body && typeof answer.body === "object" && "data" in answer.body,
    `a success body is {"data": ...}: ${JSON.stringify(answer.body)}`,
  );
  assert.deepEqual(Object.keys(answer.body), ["data"]);
  return answer.body.data;
}

/** The error envelope (docs/BACKEND_API_REFERENCE.md) with this status and code; returns `error`. */
// deno-lint-ignore no-explicit-any
export function assertError(answer: FnAnswer, status: number, code: string): any {
  assert.equal(
    answer.status,
    status,
    `expected ${status} ${code}, got ${answer.status}: ${JSON.stringify(answer.body)}`,
  );
  assertCors(answer);
  const error = answer.body?.error;
  assert.ok(error && typeof error === "object", `an error body is {"error": ...}: ${JSON.stringify(answer.body)}`);
  assert.equal(error.code, code, `expected code ${code}: ${JSON.stringify(answer.body)}`);
  assert.equal(typeof error.message, "string");
  assert.ok(error.message.length > 0, "error.message is a human sentence");
  assert.match(error.request_id, /^[0-9a-f-]{36}$/, "error.request_id is a UUID");
  return error;
}

// ---------------------------------------------------------------- database

export type Sql = ReturnType<typeof postgres>;

/**
 * A connection as postgres (DATABASE_URL): not a superuser, as on hosted, but
 * it bypasses RLS; for fixtures and state assertions.
 */
export function connectDb(): Sql {
  return postgres(DATABASE_URL, { max: 2, onnotice: () => {}, idle_timeout: 5 });
}

export function uuid(): string {
  return crypto.randomUUID();
}

/** A short unique suffix for names, slugs and SKUs. */
export function tag(): string {
  return crypto.randomUUID().slice(0, 8);
}
