// Shared by the Realtime tests: supabase-js clients whose channels carry a
// user's JWT, a recorder of what a channel receives, and the examples of
// docs/BACKEND_API_REFERENCE.md loaded as a module (the tests run exactly
// the code the reference shows).

import {
  createClient,
  type RealtimeChannel,
  type RealtimePostgresChangesPayload,
  type SupabaseClient,
} from "@supabase/supabase-js";
import { assert, SUPABASE_ANON_KEY, SUPABASE_URL } from "../e2e/helpers.ts";

/**
 * supabase-js as a signed-in frontend uses it: the session's JWT goes to
 * PostgREST, the functions and Realtime (`accessToken` hands it to all three).
 * `vsn` picks the Realtime protocol (realtime-js defaults to 2.0.0).
 *
 * The token reaches realtime-js asynchronously; a channel subscribed before
 * it arrives joins without it (as anon) and realtime-js does not send it
 * afterwards, so the client is returned once it has the token, as an app
 * subscribes after sign-in.
 */
export async function realtimeClient(jwt: string, vsn?: "1.0.0" | "2.0.0"): Promise<SupabaseClient> {
  const client = createClient(SUPABASE_URL, SUPABASE_ANON_KEY, {
    accessToken: () => Promise.resolve(jwt),
    realtime: vsn ? { vsn } : {},
  });
  await client.realtime.setAuth();
  return client;
}

// deno-lint-ignore no-explicit-any
export type Change = RealtimePostgresChangesPayload<Record<string, any>>;

/** What one channel received: its status changes, changes and system messages. */
export class Recorder {
  statuses: string[] = [];
  changes: Change[] = [];
  // deno-lint-ignore no-explicit-any
  system: any[] = [];
  errors: (Error | undefined)[] = [];

  onStatus = (status: string, error?: Error) => {
    this.statuses.push(status);
    if (error) this.errors.push(error);
  };
  onChange = (payload: Change) => {
    this.changes.push(payload);
  };

  /** Waits for `predicate` over the changes so far. */
  async changeWhere(what: string, predicate: (c: Change) => boolean, timeoutMs = 10_000): Promise<Change> {
    await waitFor(what, timeoutMs, () => this.changes.some(predicate));
    return this.changes.find(predicate)!;
  }

  async status(wanted: string, timeoutMs = 10_000): Promise<void> {
    await waitFor(`status ${wanted} (have ${this.statuses.join(", ")})`, timeoutMs, () => this.statuses.includes(wanted));
  }
}

/**
 * Subscribes a channel with the given postgres_changes bindings and waits
 * for SUBSCRIBED and the server's "Subscribed to PostgreSQL" message.
 */
export async function subscribe(
  client: SupabaseClient,
  name: string,
  bindings: { event: "*" | "INSERT" | "UPDATE" | "DELETE"; table: string; filter?: string }[],
): Promise<{ channel: RealtimeChannel; recorder: Recorder }> {
  const recorder = new Recorder();
  let channel = client.channel(name);
  for (const binding of bindings) {
    channel = channel.on(
      // deno-lint-ignore no-explicit-any
      "postgres_changes" as any,
      { schema: "public", ...binding },
      recorder.onChange,
    );
  }
  channel.on("system", {}, (payload) => recorder.system.push(payload));
  channel.subscribe(recorder.onStatus);
  await recorder.status("SUBSCRIBED");
  await waitFor("the postgres_changes system message", 10_000, () =>
    recorder.system.some((m) => m.extension === "postgres_changes"));
  const subscribed = recorder.system.find((m) => m.extension === "postgres_changes");
  assert.deepEqual(
    { status: subscribed.status, message: subscribed.message },
    { status: "ok", message: "Subscribed to PostgreSQL" },
  );
  return { channel, recorder };
}

export async function waitFor(what: string, timeoutMs: number, probe: () => boolean): Promise<void> {
  const started = performance.now();
  while (!probe()) {
    if (performance.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await sleep(25);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Closes every channel and socket of the clients. */
export async function closeAll(...clients: SupabaseClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.removeAllChannels()));
}

/**
 * The ```ts blocks of the Realtime section of the API reference, written
 * into one module under .local/ and imported (so a block that stops
 * compiling or working fails these tests).
 */
// deno-lint-ignore no-explicit-any
export async function docExamples(): Promise<Record<string, any>> {
  const root = new URL("../../", import.meta.url);
  const text = await Deno.readTextFile(new URL("docs/BACKEND_API_REFERENCE.md", root));
  const section = text.split(/^## Realtime$/m)[1]?.split(/^## /m)[0];
  assert.ok(section, "docs/BACKEND_API_REFERENCE.md has a `## Realtime` section");
  const blocks = [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  assert.ok(blocks.length >= 3, "the Realtime section shows its examples as ```ts blocks");
  const dir = new URL(".local/", root);
  await Deno.mkdir(dir, { recursive: true });
  const file = new URL(`realtime-doc-examples-${crypto.randomUUID()}.ts`, dir);
  await Deno.writeTextFile(file, blocks.join("\n"));
  try {
    return await import(file.href);
  } finally {
    await Deno.remove(file);
  }
}
