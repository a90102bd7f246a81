// Replica-served reads at scale, run by `scripts/bench scale` on the
// 10,000-shop database with a streaming standby and a gateway that sends
// /rest/v1 GETs to it: the same STABLE SQL functions called by GET (served
// by the standby, as hosted's load balancer routes them) and by POST (served
// by the primary), interleaved round by round in an order alternated every
// round, so the machine's load falls on both alike. Each answer is checked
// to be the same on both paths before anything is measured. Prints one
// markdown table row per read (scripts/bench puts them in its section).

import { env, jwtFor, median, quantile } from "./support.ts";

const URL_ = env("SUPABASE_URL");
const ANON_KEY = env("SUPABASE_ANON_KEY");
const SHOP_ID = env("SCALE_SHOP_ID");
const USER_ID = env("SCALE_USER_ID");
const YESTERDAY = env("SCALE_YESTERDAY");

const WARMUP = 20;
const ROUNDS = 10;
const PER_ROUND = 20;

const daysBefore = (day: string, days: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);

const READS: { name: string; fn: string; args: Record<string, string> }[] = [
  {
    name: "`get_sales_metrics`, 90 days of a large shop",
    fn: "get_sales_metrics",
    args: { p_shop_id: SHOP_ID, p_start: daysBefore(YESTERDAY, 89), p_end: YESTERDAY },
  },
  { name: "`get_shop_stats` of a large shop", fn: "get_shop_stats", args: { p_shop_id: SHOP_ID } },
  { name: "`get_low_stock_items` of a large shop", fn: "get_low_stock_items", args: { p_shop_id: SHOP_ID } },
];

const jwt = await jwtFor(env("SUPABASE_JWT_SECRET"), USER_ID);
const headers = { apikey: ANON_KEY, authorization: `Bearer ${jwt}` };

async function call(fn: string, args: Record<string, string>, by: "GET" | "POST"): Promise<[number, string]> {
  const started = performance.now();
  const response = by === "GET"
    ? await fetch(`${URL_}/rest/v1/rpc/${fn}?${new URLSearchParams(args)}`, { headers })
    : await fetch(`${URL_}/rest/v1/rpc/${fn}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(args),
    });
  const body = await response.text();
  const elapsed = performance.now() - started;
  if (!response.ok) throw new Error(`${by} ${fn}: ${response.status} ${body}`);
  return [elapsed, body];
}

for (const read of READS) {
  const [, byGet] = await call(read.fn, read.args, "GET");
  const [, byPost] = await call(read.fn, read.args, "POST");
  if (byGet !== byPost) throw new Error(`${read.fn}: the standby's answer differs from the primary's`);
  for (let i = 0; i < WARMUP; i++) {
    await call(read.fn, read.args, "GET");
    await call(read.fn, read.args, "POST");
  }
  const times: Record<"GET" | "POST", number[]> = { GET: [], POST: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order: ("GET" | "POST")[] = round % 2 === 0 ? ["GET", "POST"] : ["POST", "GET"];
    for (const by of order) {
      for (let i = 0; i < PER_ROUND; i++) times[by].push((await call(read.fn, read.args, by))[0]);
    }
  }
  const ms = (v: number) => v.toFixed(2);
  console.log(
    `| ${read.name} | ${byGet.length} | ${ms(median(times.GET))} / ${ms(quantile(times.GET, 0.95))} | ` +
      `${ms(median(times.POST))} / ${ms(quantile(times.POST, 0.95))} | ` +
      `${(median(times.GET) / median(times.POST)).toFixed(2)} |`,
  );
}
