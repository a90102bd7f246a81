// Peer of analytics-operations for the benchmarks: the same actions as a plain
// TypeScript Edge Function with supabase-js, as the Supabase docs show it
// (https://supabase.com/docs/guides/functions/auth). Never shipped.

import { badRequest, isDate, isUuid, json, rpcError, servePeer } from "../_shared.ts";

servePeer(async (body, supabase) => {
  switch (body.action) {
    case "generate_daily": {
      if (!isUuid(body.shop_id)) return badRequest("shop_id must be a UUID");
      if (body.date !== undefined && !isDate(body.date)) return badRequest("date must be YYYY-MM-DD");
      const { data, error } = await supabase.rpc("generate_daily_sales_metrics", {
        p_shop_id: body.shop_id,
        p_date: body.date ?? null,
      });
      if (error) return rpcError(error);
      return json(200, { data });
    }
    case "get_metrics": {
      if (!isUuid(body.shop_id)) return badRequest("shop_id must be a UUID");
      if (!isDate(body.start_date) || !isDate(body.end_date)) return badRequest("dates must be YYYY-MM-DD");
      const { data, error } = await supabase.rpc("get_sales_metrics", {
        p_shop_id: body.shop_id,
        p_start: body.start_date,
        p_end: body.end_date,
      }, { get: true });
      if (error) return rpcError(error);
      return json(200, { data });
    }
    default:
      return json(400, { error: { code: "unknown_action", message: "Unknown action" } });
  }
});
