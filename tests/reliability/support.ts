// Shared by the reliability tests: timed raw calls to the functions and to
// PostgREST, a seeded random source, latency figures, control of the stack's
// processes (for the fault tests) and a fingerprint of the whole database.
//
// Fixtures (users, shops, items, orders) and assertions come from tests/e2e,
// so both suites build their worlds the same way.
//
// Run: scripts/test (layer "reliability"), or against a running stack:
//   set -a; source .local/<stack>/stack.env; set +a
//   STACK_NAME=<stack> deno test --allow-net --allow-env --allow-read --allow-write --allow-run tests/reliability/

import { functionProcessUrl } from "../functions.ts";
import { assert, type FnAnswer, type FunctionName, type Sql, SUPABASE_ANON_KEY, SUPABASE_URL } from "../e2e/helpers.ts";

/** Every error code of docs/BACKEND_API_REFERENCE.md (a closed set). */
export const ERROR_CODES = new Set([
  "invalid_json",
  "invalid_request",
  "unknown_action",
  "method_not_allowed",
  "payload_too_large",
  "unauthorized",
  "forbidden",
  "not_found",
  "insufficient_stock",
  "stale_stock",
  "idempotency_conflict",
  "conflict",
  "upstream_unavailable",
  "internal",
]);

export interface TimedAnswer extends FnAnswer {
  ms: number;
  text: string;
}

/**
 * POSTs `body` (an object is sent as JSON, bytes and strings as they are) to a
 * function through the gateway, or straight to `baseUrl` when given. Never
 * throws on an HTTP status; a network failure rejects.
 */
export async function callFunction(
  fn: FunctionName,
  jwt: string | undefined,
  body: unknown,
  options: { headers?: Record<string, string>; baseUrl?: string; timeoutMs?: number } = {},
): Promise<TimedAnswer> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    apikey: SUPABASE_ANON_KEY,
    ...options.headers,
  };
  if (jwt) headers.authorization = `Bearer ${jwt}`;
  const payload = body instanceof Uint8Array || typeof body === "string" ? body : JSON.stringify(body);
  const url = options.baseUrl ?? `${SUPABASE_URL}/functions/v1/${fn}`;
  const started = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers,
    body: payload as BodyInit,
    signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text, ms };
}

/** A PostgREST request as supabase-js sends it (apikey + the user's JWT). */
export async function rest(
  jwt: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const res = await fetch(`${SUPABASE_URL}/rest/v1/${path}`, {
    method,
    headers: {
      apikey: SUPABASE_ANON_KEY,
      authorization: `Bearer ${jwt}`,
      "content-type": "application/json",
      prefer: "return=representation",
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the assertion message
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** An error answer of ours: JSON, the closed set, a request id. Returns the code. */
export function assertErrorEnvelope(answer: TimedAnswer, context: string): string {
  const error = (answer.body as { error?: Record<string, unknown> } | undefined)?.error;
  assert.ok(
    error && typeof error === "object",
    `${context}: not an error envelope: ${answer.status} ${answer.text.slice(0, 300)}`,
  );
  assert.ok(ERROR_CODES.has(error.code as string), `${context}: code ${error.code} is not in the closed set`);
  assert.equal(typeof error.message, "string", `${context}: message`);
  assert.match(error.request_id, /^[0-9a-f-]{36}$/, `${context}: request_id`);
  return error.code as string;
}

// ---------------------------------------------------------------- randomness

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SEED = Number(Deno.env.get("RELIABILITY_SEED") ?? Date.now() % 1_000_000);

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

export function shuffle<T>(random: () => number, items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Runs `tasks` with at most `limit` in flight; results in input order. */
export async function withConcurrency<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

// ---------------------------------------------------------------- figures

export interface LatencySummary {
  count: number;
  p50_ms: number;
  p95_ms: number;
  max_ms: number;
}

export function latency(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { count: sorted.length, p50_ms: at(0.5), p95_ms: at(0.95), max_ms: Math.round(sorted.at(-1) ?? 0) };
}

/**
 * Records the measured figures of one promise in $RELIABILITY_FIGURES (a JSON
 * object keyed by promise), which scripts/lib/reliability.sh prints after the
 * run and docs/RELIABILITY.md quotes.
 */
export async function recordFigures(promise: string, figures: Record<string, unknown>): Promise<void> {
  const path = Deno.env.get("RELIABILITY_FIGURES");
  console.log(`figures ${promise}: ${JSON.stringify(figures)}`);
  if (!path) return;
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(await Deno.readTextFile(path));
  } catch {
    // first figures of this run
  }
  all[promise] = { ...figures, seed: SEED, measured_at: new Date().toISOString() };
  await Deno.writeTextFile(path, JSON.stringify(all, null, 2) + "\n");
}

// ---------------------------------------------------------------- the stack

/**
 * Runs one of scripts/lib's stack functions (pg_stop, pg_start, proc_stop
 * gateway, gateway_start, proc_restarts gateway, ...) for the stack named by
 * $STACK_NAME, as scripts/test itself would; returns what it printed.
 */
export async function stackControl(command: string): Promise<string> {
  const root = new URL("../../", import.meta.url).pathname;
  const script = [
    "set -euo pipefail",
    `source "${root}scripts/lib/common.sh"`,
    `source "${root}scripts/lib/db.sh"`,
    `source "${root}scripts/lib/build.sh"`,
    `source "${root}scripts/lib/gateway.sh"`,
    `source "${root}scripts/lib/stack.sh"`,
    command,
  ].join("\n");
  const out = await new Deno.Command("bash", { args: ["-c", script], stdout: "piped", stderr: "piped" }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.ok(out.success, `stack command \`${command}\` failed: ${decode(out.stdout)}${decode(out.stderr)}`);
  return decode(out.stdout);
}

/** The URL of `fn`'s own Deno process on this stack (behind the gateway). */
export function functionUrl(fn: FunctionName): string {
  return functionProcessUrl(Number(new URL(SUPABASE_URL).port), fn);
}

// ---------------------------------------------------------------- the database

/**
 * md5 of every row of every table in schemas public and private (plus the
 * auth users): two equal fingerprints mean nothing was written anywhere.
 */
export async function databaseFingerprint(sql: Sql): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }[]>`
    select format('%I.%I', n.nspname, c.relname) as name
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'r' and n.nspname in ('public', 'private', 'auth')
     order by 1`;
  const out: Record<string, string> = {};
  for (const { name } of tables) {
    const [row] = await sql.unsafe(
      `select count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '') as fp from ${name} t`,
    );
    out[name] = row.fp as string;
  }
  return out;
}

/** Poll `probe` until it returns true or `timeoutMs` passes; returns the time it took. */
export async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    try {
      if (await probe()) return performance.now() - started;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return assert.fail(`${what} did not happen within ${timeoutMs} ms`);
}
