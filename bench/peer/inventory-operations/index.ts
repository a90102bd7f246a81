// Peer of inventory-operations for the benchmarks: the same actions as a plain
// TypeScript Edge Function with supabase-js, as the Supabase docs show it
// (https://supabase.com/docs/guides/functions/auth). Never shipped.

import { badRequest, isUuid, json, rpcError, servePeer } from "../_shared.ts";

servePeer(async (body, supabase) => {
  switch (body.action) {
    case "update": {
      if (!isUuid(body.item_id)) return badRequest("item_id must be a UUID");
      if (!Number.isInteger(body.change) || body.change === 0) return badRequest("change must be a non-zero integer");
      const { data, error } = await supabase.rpc("update_stock", {
        p_item_id: body.item_id,
        p_change: body.change,
        p_reason: body.reason ?? "manual",
      });
      if (error) return rpcError(error);
      return json(200, { data });
    }
    case "process_order": {
      if (!isUuid(body.order_id)) return badRequest("order_id must be a UUID");
      const { data, error } = await supabase.rpc("process_order_stock_changes", { p_order_id: body.order_id });
      if (error) return rpcError(error);
      return json(200, { data });
    }
    case "get_low_stock": {
      if (!isUuid(body.shop_id)) return badRequest("shop_id must be a UUID");
      const { data, error } = await supabase.rpc("get_low_stock_items", { p_shop_id: body.shop_id }, { get: true });
      if (error) return rpcError(error);
      return json(200, { data });
    }
    default:
      return json(400, { error: { code: "unknown_action", message: "Unknown action" } });
  }
});
