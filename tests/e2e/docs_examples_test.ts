// The supabase-js examples of README.md and docs/BACKEND_API_REFERENCE.md,
// run as written against the local stack. A block runs when the line before
// its ```ts fence is `<!-- runs in tests/e2e/docs_examples_test.ts -->`.
// Its one import must be supabase-js's `createClient`; `SUPABASE_URL` and
// `SUPABASE_PUBLISHABLE_KEY` come from .local/stack.env, and what the block
// prints with console.log is checked here.

import { createClient } from "@supabase/supabase-js";
import { assert, SUPABASE_PUBLISHABLE_KEY, SUPABASE_URL, test } from "./helpers.ts";

const MARKER = "<!-- runs in tests/e2e/docs_examples_test.ts -->";
const IMPORT = 'import { createClient } from "@supabase/supabase-js";';

function examples(markdown: string): string[] {
  const blocks: string[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== MARKER) continue;
    assert.equal(lines[i + 1], "```ts", `the marker on line ${i + 1} precedes a ts block`);
    const end = lines.indexOf("```", i + 2);
    assert.ok(end > i, `the block after line ${i + 1} is closed`);
    blocks.push(lines.slice(i + 2, end).join("\n"));
    i = end;
  }
  return blocks;
}

// deno-lint-ignore no-explicit-any
async function run(code: string): Promise<any[][]> {
  const body = code.split("\n");
  assert.equal(body[0], IMPORT, "an example imports createClient from supabase-js, and nothing else");
  assert.ok(!body.slice(1).some((line) => line.startsWith("import ")), "one import");
  const printed: unknown[][] = [];
  const console = { log: (...values: unknown[]) => printed.push(values) };
  // The clients it makes are kept to stop their token refresh timers afterwards.
  const clients: ReturnType<typeof createClient>[] = [];
  const tracked = (...args: Parameters<typeof createClient>) => {
    const client = createClient(...args);
    clients.push(client);
    return client;
  };
  // The block is plain JavaScript apart from its import: run it as an async function.
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  const example = new AsyncFunction("createClient", "SUPABASE_URL", "SUPABASE_PUBLISHABLE_KEY", "console", body.slice(1).join("\n"));
  try {
    await example(tracked, SUPABASE_URL, SUPABASE_PUBLISHABLE_KEY, console);
  } finally {
    for (const client of clients) await client.auth.stopAutoRefresh();
  }
  // deno-lint-ignore no-explicit-any
  return printed as any[][];
}

for (const file of ["README.md", "docs/BACKEND_API_REFERENCE.md"]) {
  test(`${file}: the sign-in, function call and table read example runs as written`, async () => {
    const markdown = await Deno.readTextFile(new URL(`../../${file}`, import.meta.url));
    const blocks = examples(markdown);
    assert.equal(blocks.length, 1, `${file} has one runnable example`);
    const printed = await run(blocks[0]);
    assert.equal(printed.length, 1, "the example prints one line");
    const [lowStock, shops] = printed[0];
    assert.ok(Array.isArray(lowStock) && lowStock.length > 0, `low-stock items of the demo shop: ${JSON.stringify(lowStock)}`);
    assert.ok(lowStock.every((item: { stock: number }) => typeof item.stock === "number"));
    assert.deepEqual(shops, [{ name: "Dhaka Threads", currency: "BDT" }]);
  });
}
