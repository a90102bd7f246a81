// Shared by the benchmark scripts (run.ts, catalog.ts, realtime.ts): the
// environment scripts/bench provides, user JWTs, process CPU from /proc,
// quantiles, and writing one section of BENCHMARKS.md between its markers.

export const env = (name: string): string => {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set (run scripts/bench)`);
  return value;
};

export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
export const OUTPUT = Deno.env.get("BENCH_OUTPUT") ?? `${ROOT}/BENCHMARKS.md`;

const CLOCK_TICKS_PER_SECOND = 100;

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** An hour-long `authenticated` JWT for `sub`, signed HS256 with the stack's legacy secret. */
export async function jwtFor(secret: string, sub: string): Promise<string> {
  const encode = (v: unknown) => base64url(new TextEncoder().encode(JSON.stringify(v)));
  const now = Math.floor(Date.now() / 1000);
  const body = `${encode({ alg: "HS256", typ: "JWT" })}.${
    encode({ sub, role: "authenticated", aud: "authenticated", iat: now, exp: now + 3600 })
  }`;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)));
  return `${body}.${base64url(signature)}`;
}

/** User + system CPU time of process `pid` so far, in ms (10 ms ticks). */
export function cpuMsOfPid(pid: number | string): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** The nearest-rank quantile; NaN for no values. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
export const median = (values: number[]) => quantile(values, 0.5);

/** Replaces the `<!-- marker -->` ... `<!-- /marker -->` section of BENCHMARKS.md, or appends it. */
export async function writeSection(marker: string, section: string) {
  const current = await Deno.readTextFile(OUTPUT).catch(() => "# Benchmarks\n");
  const marked = new RegExp(`<!-- ${marker} -->[\\s\\S]*<!-- /${marker} -->`);
  const report = marked.test(current) ? current.replace(marked, () => section) : `${current.trimEnd()}\n\n${section}\n`;
  await Deno.writeTextFile(OUTPUT, report);
}
