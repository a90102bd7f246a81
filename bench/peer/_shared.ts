// What both peer functions share, written as the Supabase Edge Functions
// guides write it (CORS headers, a supabase-js client per request carrying
// the caller's Authorization header). Benchmark peers only: never deployed.

import { createClient, type SupabaseClient } from "@supabase/supabase-js";

export const corsHeaders = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers": "authorization, x-client-info, apikey, content-type",
  "Access-Control-Allow-Methods": "POST, OPTIONS",
};

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...corsHeaders, "Content-Type": "application/json" },
  });
}

/** A PostgREST error of our SQL functions: `message` is the stable code, `details` JSON text. */
export function rpcError(error: { code?: string; message: string; details?: string; hint?: string }): Response {
  const status = /^PT\d{3}$/.test(error.code ?? "") ? Number(error.code!.slice(2)) : 500;
  let details: unknown = null;
  try {
    details = error.details ? JSON.parse(error.details) : null;
  } catch {
    details = null;
  }
  return json(status, { error: { code: error.message, message: error.hint ?? error.message, details } });
}

export function badRequest(message: string): Response {
  return json(400, { error: { code: "invalid_request", message, details: null } });
}

export const isUuid = (v: unknown): v is string =>
  typeof v === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);

export const isDate = (v: unknown): v is string => typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v);

/** The local stack serves each function on its own port; the Edge Runtime calls Deno.serve(handler). */
function serve(handler: (req: Request) => Promise<Response>): void {
  const port = Deno.env.get("PORT");
  if (port) Deno.serve({ port: Number(port), hostname: "127.0.0.1" }, handler);
  else Deno.serve(handler);
}

/**
 * Serves a peer: CORS preflight, POST only, a JSON body, and a supabase-js client per
 * request carrying the caller's Authorization header, then `action(body, supabase)`.
 */
export function servePeer(
  action: (body: Record<string, unknown>, supabase: SupabaseClient) => Promise<Response>,
): void {
  serve(async (req) => {
    if (req.method === "OPTIONS") return new Response("ok", { headers: corsHeaders });
    if (req.method !== "POST") return json(405, { error: { code: "method_not_allowed", message: "POST only" } });

    let body: Record<string, unknown>;
    try {
      body = await req.json();
    } catch {
      return json(400, { error: { code: "invalid_json", message: "Body is not JSON" } });
    }

    const supabase = createClient(Deno.env.get("SUPABASE_URL") ?? "", Deno.env.get("SUPABASE_ANON_KEY") ?? "", {
      global: { headers: { Authorization: req.headers.get("Authorization")! } },
    });
    return action(body, supabase);
  });
}
