// Shared by the Deno tests of the edge functions: where things are, the function list,
// Go-style glob expansion (what the Supabase CLI uses for `static_files`), a fake
// PostgREST upstream and running a shim as its own Deno process.

import { parse as parseToml } from "smol-toml";

export const ROOT = new URL("../../", import.meta.url);
export const ROOT_PATH = ROOT.pathname.replace(/\/$/, "");
export const SUPABASE_DIR = `${ROOT_PATH}/supabase`;

export { FUNCTIONS } from "../functions.ts";

export const TEST_ANON_KEY = "test-anon-key";

// ---------------------------------------------------------------- the test project's keys

/** Where a Supabase project publishes its signing keys (the fake upstream serves them). */
export const JWKS_PATH = "/auth/v1/.well-known/jwks.json";
export const TEST_KID = "test-signing-key-1";

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array | string): string {
  const raw = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
  let binary = "";
  for (const byte of raw) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A fresh ES256 key pair, its public half as a JWK with `kid` (what a JWKS lists). */
export async function es256KeyPair(kid: string) {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { privateKey: pair.privateKey, jwk: { kty, crv, x, y, kid, alg: "ES256", use: "sig" } };
}

/** The project's signing key: its public JWK is what the fake upstream serves at `JWKS_PATH`. */
export const TEST_SIGNING_KEY = await es256KeyPair(TEST_KID);
export const TEST_JWKS = { keys: [TEST_SIGNING_KEY.jwk] };

/** A signed-in user's claims as Supabase Auth issues them, valid for an hour. */
export function userClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: "http://127.0.0.1/auth/v1",
    sub: crypto.randomUUID(),
    aud: "authenticated",
    role: "authenticated",
    iat: now,
    exp: now + 3600,
    session_id: crypto.randomUUID(),
    is_anonymous: false,
    ...extra,
  };
}

/** An ES256 JWT signed with `key` (default: the project's key) under `header`. */
export async function signEs256(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { kid: TEST_KID },
  key: CryptoKey = TEST_SIGNING_KEY.privateKey,
): Promise<string> {
  const input = `${base64url(JSON.stringify({ alg: "ES256", typ: "JWT", ...header }))}.${base64url(JSON.stringify(claims))}`;
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, encoder.encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/** An HS256 JWT signed with `secret` (the legacy scheme), under `header`. */
export async function signHs256(
  claims: Record<string, unknown>,
  secret: string | Uint8Array<ArrayBuffer>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const input = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT", ...header }))}.${base64url(JSON.stringify(claims))}`;
  const raw = typeof secret === "string" ? encoder.encode(secret) : secret;
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/** A valid user session token of the test project: every shim verifies it against `TEST_JWKS`. */
export const TEST_JWT = await signEs256(userClaims());

export interface FunctionConfig {
  entrypoint?: string;
  import_map?: string;
  static_files?: string[];
  verify_jwt?: boolean;
}

/** The `[functions.*]` tables of supabase/config.toml. */
export async function functionConfigs(): Promise<Record<string, FunctionConfig>> {
  const config = parseToml(await Deno.readTextFile(`${SUPABASE_DIR}/config.toml`));
  return (config.functions ?? {}) as Record<string, FunctionConfig>;
}

/** `path.Join`-style normalization of a `/`-separated path ("a/../b" -> "b"). */
export function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else out.push(part);
  }
  return (path.startsWith("/") ? "/" : "") + out.join("/");
}

/**
 * Go's `filepath.Match` for one path segment: `*` and `?` never match `/`,
 * `[...]` / `[^...]` classes, `\` escapes. This is what afero.Glob (used by the CLI
 * for `static_files`) applies to each segment.
 */
export function segmentRegExp(segment: string): RegExp {
  let source = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "\\" && i + 1 < segment.length) source += escapeRegExp(segment[++i]);
    else if (c === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) throw new Error(`bad glob class in ${segment}`);
      let body = segment.slice(i + 1, end);
      if (body.startsWith("^")) body = "^" + body.slice(1).replace(/\\/g, "\\\\");
      else body = body.replace(/\\/g, "\\\\");
      source += `[${body}]`;
      i = end;
    } else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Expands a glob relative to `cwd` like Go's `filepath.Glob`; returns normalized relative file paths. */
export async function glob(pattern: string, cwd: string): Promise<string[]> {
  const segments = normalize(pattern).split("/");
  let candidates = [""];
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    const next: string[] = [];
    for (const base of candidates) {
      const dir = base === "" ? cwd : `${cwd}/${base}`;
      if (!/[*?[\\]/.test(segment)) {
        const path = base === "" ? segment : `${base}/${segment}`;
        if (await exists(`${cwd}/${path}`)) next.push(path);
        continue;
      }
      const matcher = segmentRegExp(segment);
      try {
        for await (const entry of Deno.readDir(dir)) {
          if (matcher.test(entry.name) && (last || entry.isDirectory)) {
            next.push(base === "" ? entry.name : `${base}/${entry.name}`);
          }
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    candidates = next;
  }
  const files: string[] = [];
  for (const path of candidates) {
    if ((await Deno.stat(`${cwd}/${path}`)).isFile) files.push(path);
  }
  return files.sort();
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** A port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string's parameters: a read-only call's arguments go there, by GET. */
  query: URLSearchParams;
  headers: Headers;
  body: string;
}

/**
 * A stand-in for the project's API: PostgREST answers with `respond` and records what it
 * was sent; `JWKS_PATH` answers `jwks` (the test project's keys unless replaced) and is
 * counted apart, in `jwksFetches`.
 */
export function startFakePostgrest(
  respond: (request: RecordedRequest) => Response | Promise<Response>,
) {
  const requests: RecordedRequest[] = [];
  const state = { jwks: TEST_JWKS as unknown, jwksFetches: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    if (new URL(request.url).pathname === JWKS_PATH) {
      state.jwksFetches++;
      return state.jwks === null ? new Response("", { status: 404 }) : Response.json(state.jwks);
    }
    const recorded = {
      method: request.method,
      path: new URL(request.url).pathname,
      query: new URL(request.url).searchParams,
      headers: request.headers,
      body: await request.text(),
    };
    requests.push(recorded);
    return respond(recorded);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    /** How often the JWKS was fetched so far. */
    jwksFetches: () => state.jwksFetches,
    /** Replaces the key set served from now on; `null` answers 404 (no /auth/v1). */
    setJwks: (jwks: unknown) => (state.jwks = jwks),
    stop: () => server.shutdown(),
  };
}

export interface RunningShim {
  url: string;
  /** Everything the process wrote so far (stdout and stderr). */
  output: () => string;
  stop: () => Promise<void>;
}

/** Runs `entrypoint` as its own Deno process on a free port, as the local stack does. */
export async function startShim(entrypoint: string, env: Record<string, string>): Promise<RunningShim> {
  const port = freePort();
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-net", "--allow-env", "--allow-read", entrypoint],
    env: { ...env, PORT: String(port), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(process.stdout), drain(process.stderr)]);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (!output.includes("listening on")) {
    const status = await Promise.race([process.status, new Promise((r) => setTimeout(r, 50, null))]);
    if (status !== null) throw new Error(`${entrypoint} exited before listening:\n${output}`);
    if (Date.now() > deadline) {
      process.kill();
      throw new Error(`${entrypoint} did not start listening:\n${output}`);
    }
  }
  return {
    url,
    output: () => output,
    stop: async () => {
      process.kill();
      await process.status;
      await drained;
    },
  };
}

/** POSTs a JSON body the way supabase-js `functions.invoke` does. */
export function invoke(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${TEST_JWT}`,
      apikey: TEST_ANON_KEY,
      "content-type": "application/json",
      ...headers,
    },
    body: JSON.stringify(body),
    // A shim that lost a request (e.g. a trap not handled) must fail the test, not hang it.
    signal: AbortSignal.timeout(15_000),
  });
}
