// The HTTP envelope every function shares (docs/BACKEND_API_REFERENCE.md, "Responses" and "CORS"):
// CORS preflight, methods, JSON, the closed set of actions, authentication.
// All of these are refused before the database is asked anything.

import {
  assert,
  assertCors,
  assertError,
  clientFor,
  type FunctionName,
  invoke,
  rawCall,
  signJwt,
  test,
  uuid,
} from "./helpers.ts";
import { FUNCTIONS as EDGE_FUNCTIONS } from "../functions.ts";

/** Each function's closed set of actions, as docs/BACKEND_API_REFERENCE.md lists them. */
const ACTIONS: Record<FunctionName, string[]> = {
  "inventory-operations": ["update", "process_order", "restore_order", "get_low_stock"],
  "analytics-operations": ["generate_daily", "generate_product", "get_metrics", "get_shop_stats"],
  "admin-operations": [
    "generate_platform_metrics",
    "get_platform_stats",
    "create_backup",
    "restore_backup",
    "list_backups",
    "cleanup_snapshots",
  ],
};
const FUNCTIONS = EDGE_FUNCTIONS.map((f) => f.name);

test("every deployed function has its actions listed here", () => {
  assert.deepEqual(Object.keys(ACTIONS).sort(), [...FUNCTIONS].sort());
  return Promise.resolve();
});

// A well-signed token of a user who exists nowhere: enough to pass authentication.
const userJwt = await signJwt({ sub: uuid(), role: "authenticated", aud: "authenticated", email: "nobody@e2e.test" });
const auth = { Authorization: `Bearer ${userJwt}`, "Content-Type": "application/json" };

for (const fn of FUNCTIONS) {
  test(`${fn}: OPTIONS preflight answers 200 with the CORS headers, no JWT needed`, async () => {
    const answer = await rawCall(fn, {
      method: "OPTIONS",
      headers: {
        Origin: "https://shop.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
      },
    });
    assert.equal(answer.status, 200);
    assertCors(answer);
    const methods = (answer.headers.get("access-control-allow-methods") ?? "").split(",").map((m) => m.trim());
    assert.ok(methods.includes("POST") && methods.includes("OPTIONS"), `allow-methods: ${methods}`);
  });

  test(`${fn}: a body that is not JSON is 400 invalid_json`, async () => {
    assertError(await rawCall(fn, { method: "POST", headers: auth, body: '{"action": "x", ' }), 400, "invalid_json");
    const notUtf8 = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    assertError(await rawCall(fn, { method: "POST", headers: auth, body: notUtf8 }), 400, "invalid_json");
  });

  test(`${fn}: JSON that is not an object with an action is 400 invalid_request`, async () => {
    for (const body of ["[1, 2]", '"update"', "{}", '{"action": 7}']) {
      assertError(await rawCall(fn, { method: "POST", headers: auth, body }), 400, "invalid_request");
    }
  });

  test(`${fn}: an action it does not offer is 400 unknown_action, listing the ones it does`, async () => {
    const error = assertError(await invoke(clientFor(userJwt), fn, { action: "drop_tables" }), 400, "unknown_action");
    assert.deepEqual([...error.details.available].sort(), [...ACTIONS[fn]].sort());
    for (const other of FUNCTIONS.filter((f) => f !== fn)) {
      const foreign = ACTIONS[other][0];
      assertError(await invoke(clientFor(userJwt), fn, { action: foreign }), 400, "unknown_action");
    }
  });

  test(`${fn}: methods other than POST and OPTIONS are 405 method_not_allowed`, async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const answer = await rawCall(fn, { method, headers: { Authorization: auth.Authorization } });
      assertError(answer, 405, "method_not_allowed");
    }
  });

  test(`${fn}: no, a malformed or a forged JWT is 401 unauthorized`, async () => {
    const body = JSON.stringify({ action: ACTIONS[fn][0] });
    const forged = await signJwt(
      { sub: uuid(), role: "authenticated", aud: "authenticated" },
      "not-the-project-secret-not-the-project-secret",
    );
    const attempts: Record<string, string>[] = [
      { "Content-Type": "application/json" },
      { "Content-Type": "application/json", Authorization: "Bearer not-a-jwt" },
      { "Content-Type": "application/json", Authorization: `Basic ${btoa("user:password")}` },
      { "Content-Type": "application/json", Authorization: `Bearer ${forged}` },
    ];
    for (const headers of attempts) {
      assertError(await rawCall(fn, { method: "POST", headers, body }), 401, "unauthorized");
    }
  });
}
