// The part of every edge function shim that is not the module itself: the HTTP
// server, the environment, the request envelope handed to the wasm `handle`
// (docs/ARCHITECTURE.md, "The wasm boundary") and the last line of defence when
// the module traps. Everything about the request itself (methods, JSON, auth,
// errors) is decided in Rust.

/** What a shim hands over: the wasm-bindgen exports of its module, already initialized. */
export interface WasmFunction {
  /** The function's name, for log lines. */
  name: string;
  /** The module's `handle(request, env)`; its promise resolves to `WasmResponse`. */
  handle: (request: WasmRequest, env: WasmEnv) => Promise<unknown>;
  /** wasm-bindgen's `__wbg_reset_state`: a fresh instance of the same module. */
  resetState: () => void;
}

export interface WasmRequest {
  method: string;
  url: string;
  /** The request's own `Headers`: Rust reads the few it uses with `get`. */
  headers: Headers;
  /** At most `MAX_BODY_BYTES + 1` bytes, so Rust can tell "too large" apart. */
  body: Uint8Array;
  request_id: string;
}

export interface WasmEnv {
  supabase_url: string;
  anon_key: string;
  /** `SUPABASE_SECRET_KEYS` as the platform sets it (a JSON map), or empty; Rust parses it. */
  secret_keys: string;
  /** The legacy HS256 secret, or empty: HS256 tokens are then refused. */
  jwt_secret: string;
}

interface WasmResponse {
  status: number;
  headers: Record<string, string>;
  /** The JSON text, UTF-8 encoded. */
  body: Uint8Array<ArrayBuffer>;
}

/** The body limit (docs/BACKEND_API_REFERENCE.md, 64 KiB); Rust answers `payload_too_large` above it. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The same headers Rust puts on every answer (crates/edge-core/src/http.rs). */
const CORS_HEADERS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers":
    "authorization, x-client-info, apikey, content-type, idempotency-key, x-retry-count",
  "access-control-allow-methods": "POST, OPTIONS",
  "access-control-expose-headers": "x-request-id",
};

/**
 * The environment as the Edge Runtime provides it: `SUPABASE_URL`; the anon key
 * (`SUPABASE_ANON_KEY`, else the `default` entry of the JSON in `SUPABASE_PUBLISHABLE_KEYS`,
 * newer projects), sent upstream as `apikey` with a user's JWT; `SUPABASE_SECRET_KEYS`,
 * the keys a trusted caller may send in `apikey`; and the legacy JWT secret, which
 * verifies HS256 tokens: `SUPABASE_JWT_SECRET` (the local stack and self-hosting set it),
 * else `LEGACY_JWT_SECRET` (hosted projects refuse secrets named `SUPABASE_*`).
 * Missing URL or anon key are passed on empty; Rust answers every request with a logged `internal`.
 */
export function readEnv(): WasmEnv {
  const supabase_url = Deno.env.get("SUPABASE_URL") ?? "";
  let anon_key = Deno.env.get("SUPABASE_ANON_KEY") ?? "";
  const publishable = Deno.env.get("SUPABASE_PUBLISHABLE_KEYS");
  if (!anon_key && publishable) {
    try {
      const keys = JSON.parse(publishable);
      if (typeof keys?.default === "string") anon_key = keys.default;
    } catch {
      console.error("SUPABASE_PUBLISHABLE_KEYS is not JSON; no anon key");
    }
  }
  if (!supabase_url || !anon_key) {
    console.error("SUPABASE_URL or the anon key is not set; every request will fail");
  }
  return {
    supabase_url,
    anon_key,
    secret_keys: Deno.env.get("SUPABASE_SECRET_KEYS") ?? "",
    jwt_secret: Deno.env.get("SUPABASE_JWT_SECRET") || Deno.env.get("LEGACY_JWT_SECRET") || "",
  };
}

/**
 * The request handler of one function. A module that traps (a Rust panic is an
 * `unreachable` trap) or rejects is a bug: every request still waiting on that
 * instance answers 500 `internal` with its own request id, the failure is logged
 * with those ids, and the module is re-instantiated so the isolate keeps serving.
 */
export function createHandler(
  fn: WasmFunction,
  env: WasmEnv = readEnv(),
): (request: Request) => Promise<Response> {
  // Requests whose `handle` promise is pending, by request id. A trap inside the
  // module's async code surfaces as an uncaught error (wasm-bindgen polls futures in
  // microtasks), not as a rejection of that promise, which would then never settle.
  const pending = new Map<string, (error: unknown) => void>();

  const failInstance = (error: unknown) => {
    const ids = [...pending.keys()];
    console.error(
      `[${fn.name}] wasm module failed; requests ${ids.join(", ") || "(none)"} answer 500:`,
      error,
    );
    const rejects = [...pending.values()];
    pending.clear();
    try {
      fn.resetState();
      console.error(`[${fn.name}] wasm module re-instantiated`);
    } catch (resetError) {
      console.error(`[${fn.name}] could not re-instantiate the wasm module:`, resetError);
    }
    for (const reject of rejects) reject(error);
  };

  const isOurs = (error: unknown) =>
    pending.size > 0 || error instanceof WebAssembly.RuntimeError;
  globalThis.addEventListener("error", (event) => {
    if (isOurs(event.error)) {
      event.preventDefault();
      failInstance(event.error);
    }
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    if (isOurs(event.reason)) {
      event.preventDefault();
      failInstance(event.reason);
    }
  });

  const callModule = (request: WasmRequest) =>
    new Promise<unknown>((resolve, reject) => {
      pending.set(request.request_id, reject);
      const settle = () => pending.delete(request.request_id);
      try {
        fn.handle(request, env).then(
          (value) => {
            settle();
            resolve(value);
          },
          (error) => {
            settle();
            reject(error);
            failInstance(error);
          },
        );
      } catch (error) {
        settle();
        reject(error);
        failInstance(error);
      }
    });

  return async (request: Request): Promise<Response> => {
    const requestId = crypto.randomUUID();
    let body: Uint8Array;
    try {
      body = await readBodyPrefix(request, MAX_BODY_BYTES + 1);
    } catch (error) {
      // The client went away or sent a broken stream: not a bug of ours.
      console.warn(`[request ${requestId}] could not read the body:`, error);
      return errorResponse(400, "invalid_request", "The request body could not be read.", requestId);
    }
    const wasmRequest: WasmRequest = {
      method: request.method,
      url: request.url,
      headers: request.headers,
      body,
      request_id: requestId,
    };
    try {
      return toResponse(await callModule(wasmRequest));
    } catch (error) {
      console.error(`[request ${requestId}] internal (500): ${error}`);
      return errorResponse(500, "internal", "Internal error; quote the request id when reporting it.", requestId);
    }
  };
}

/**
 * Serves the function. On the hosted Edge Runtime `Deno.serve(handler)` is what it
 * expects; the local stack runs one Deno per function and passes `PORT`.
 */
export function serveFunction(fn: WasmFunction): void {
  const handler = createHandler(fn);
  const port = Deno.env.get("PORT");
  if (port) {
    Deno.serve({
      port: Number(port),
      hostname: Deno.env.get("HOST") ?? "127.0.0.1",
      onListen: ({ hostname, port }) => console.log(`${fn.name} listening on http://${hostname}:${port}`),
    }, handler);
  } else {
    Deno.serve(handler);
  }
}

/** Reads at most `limit` bytes of the body and stops the upload there. */
export async function readBodyPrefix(request: Request, limit: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0);
  // A declared length within the limit is what the server lets through (it ends the
  // body there): read it in one piece, without the chunk loop and its copy.
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (Number.isSafeInteger(declared) && declared >= 0 && declared <= limit) {
    return new Uint8Array(await request.arrayBuffer());
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  let done = false;
  try {
    while (length < limit) {
      const chunk = await reader.read();
      if (chunk.done) {
        done = true;
        break;
      }
      const part = chunk.value.subarray(0, limit - length);
      chunks.push(part);
      length += part.length;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
  }
  const body = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

function toResponse(result: unknown): Response {
  const { status, headers, body } = result as WasmResponse;
  if (!Number.isInteger(status) || !(body instanceof Uint8Array) || typeof headers !== "object") {
    throw new Error(`handle returned a malformed response: ${JSON.stringify(result)}`);
  }
  return new Response(body, { status, headers });
}

function errorResponse(status: number, code: string, message: string, requestId: string): Response {
  const body = { error: { code, message, details: null, request_id: requestId } };
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...CORS_HEADERS, "content-type": "application/json", "x-request-id": requestId },
  });
}
