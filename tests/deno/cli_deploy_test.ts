// Deploying exactly as the real CLI does: the pinned Supabase CLI runs
// `functions deploy --use-api` against a fake Management API (a `--profile` whose
// `api_url` is this test's server), which records the multipart uploads. The test checks
// what each function's upload holds (metadata and files: the `.wasm` static files are
// uploaded with `--use-api`), then unpacks one upload into an empty folder and serves the
// function from there under Deno, answering real requests.
// Needs the build (`cargo xtask build-wasm`): the `.wasm` files are part of the upload.

import { assert } from "../assert.ts";
import { FUNCTIONS, ROOT_PATH, startFakePostgrest, startShim, TEST_ANON_KEY, TEST_JWT } from "./support.ts";

/** A project ref as the Management API makes them: 20 lowercase letters. */
const PROJECT_REF = "abcdefghijklmnopqrst";
/** A personal access token of the shape the CLI checks (`sbp_` + 40 hex). */
const ACCESS_TOKEN = `sbp_${"0123456789abcdef".repeat(3).slice(0, 40)}`;

interface Upload {
  slug: string;
  query: URLSearchParams;
  metadata: Record<string, unknown>;
  /** Uploaded file name (path relative to the project root) -> bytes. */
  files: Map<string, Uint8Array>;
}

interface ApiCall {
  method: string;
  path: string;
  authorization: string | null;
}

/** The Management API endpoints `functions deploy --use-api` calls, recording what it sends. */
function startFakeManagementApi() {
  const calls: ApiCall[] = [];
  const uploads: Upload[] = [];
  let bulkUpdate: unknown = null;
  const now = new Date().toISOString();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    calls.push({ method: request.method, path: url.pathname, authorization: request.headers.get("authorization") });
    const project = `/v1/projects/${PROJECT_REF}`;
    if (request.method === "GET" && url.pathname === project) {
      return Response.json({
        id: PROJECT_REF,
        ref: PROJECT_REF,
        organization_id: "fake-org",
        organization_slug: "fake-org",
        name: "deploy-test",
        region: "us-east-1",
        created_at: now,
        status: "ACTIVE_HEALTHY",
        database: { host: `db.${PROJECT_REF}.supabase.co`, version: "15.8.1", postgres_engine: "15", release_channel: "ga" },
      });
    }
    if (request.method === "GET" && url.pathname === `${project}/functions`) return Response.json([]);
    if (request.method === "POST" && url.pathname === `${project}/functions/deploy`) {
      const form = await request.formData();
      const files = new Map<string, Uint8Array>();
      for (const entry of form.getAll("file")) {
        assert.ok(entry instanceof File, "every `file` part is a file");
        files.set(entry.name, new Uint8Array(await entry.arrayBuffer()));
      }
      const metadata = JSON.parse(String(form.get("metadata")));
      const slug = url.searchParams.get("slug") ?? "";
      uploads.push({ slug, query: url.searchParams, metadata, files });
      return Response.json({
        id: crypto.randomUUID(),
        slug,
        name: metadata.name ?? slug,
        version: 1,
        status: "ACTIVE",
        created_at: Date.now(),
        updated_at: Date.now(),
        verify_jwt: metadata.verify_jwt,
        entrypoint_path: metadata.entrypoint_path,
      }, { status: 201 });
    }
    if (request.method === "PUT" && url.pathname === `${project}/functions`) {
      bulkUpdate = await request.json();
      return Response.json({ functions: bulkUpdate });
    }
    return Response.json({ message: `not faked: ${request.method} ${url.pathname}` }, { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    calls,
    uploads,
    bulkUpdate: () => bulkUpdate,
    stop: () => server.shutdown(),
  };
}

async function runDeploy(apiUrl: string) {
  const home = await Deno.makeTempDir({ prefix: "cli-deploy-home-" });
  const profile = `${home}/profile.yaml`;
  await Deno.writeTextFile(
    profile,
    [
      "name: fake-management-api",
      `api_url: ${apiUrl}`,
      `dashboard_url: ${apiUrl}/dashboard`,
      "project_host: supabase.test",
      "",
    ].join("\n"),
  );
  const { code, stdout, stderr } = await new Deno.Command(`${ROOT_PATH}/node_modules/.bin/supabase`, {
    args: ["functions", "deploy", "--use-api", `--remote=${PROJECT_REF}`, "--profile", profile, "--yes"],
    cwd: ROOT_PATH,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      // A fresh HOME: no login, no linked project, no telemetry state of the developer's.
      HOME: home,
      SUPABASE_ACCESS_TOKEN: ACCESS_TOKEN,
      SUPABASE_TELEMETRY_DISABLED: "1",
      DO_NOT_TRACK: "1",
      NO_COLOR: "1",
      CI: "1",
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(home, { recursive: true });
  const decoder = new TextDecoder();
  return { code, output: `${decoder.decode(stdout)}\n${decoder.decode(stderr)}` };
}

const api = startFakeManagementApi();
const deployed = await runDeploy(api.url);

function test(name: string, fn: () => Promise<void> | void) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

test("the pinned CLI deploys every function with --use-api to the Management API of the profile", () => {
  assert.deepEqual(deployed.code, 0, deployed.output);
  for (const call of api.calls) assert.deepEqual(call.authorization, `Bearer ${ACCESS_TOKEN}`, call.path);
  // One upload per function (bundle only), then one bulk update that activates them all.
  // (CLI 3.1.0 sometimes also reads `GET /v1/projects/<ref>` on its way out; not asserted.)
  const calls = api.calls.map((c) => `${c.method} ${c.path}`);
  const project = `/v1/projects/${PROJECT_REF}`;
  assert.deepEqual(calls.filter((c) => c === `POST ${project}/functions/deploy`).length, FUNCTIONS.length, calls.join("\n"));
  assert.deepEqual(calls.filter((c) => c === `PUT ${project}/functions`).length, 1, calls.join("\n"));
  assert.ok(calls.indexOf(`PUT ${project}/functions`) > calls.lastIndexOf(`POST ${project}/functions/deploy`));
  assert.deepEqual(api.uploads.map((u) => u.slug).sort(), FUNCTIONS.map((f) => f.name).sort());
  for (const upload of api.uploads) assert.deepEqual(upload.query.get("bundleOnly"), "true", upload.slug);
  const updated = api.bulkUpdate() as { slug: string }[];
  assert.deepEqual(updated.map((f) => f.slug).sort(), FUNCTIONS.map((f) => f.name).sort());
});

for (const { name, stem } of FUNCTIONS) {
  test(`${name}: metadata says entrypoint, verify_jwt = false and the .wasm static pattern`, () => {
    const upload = api.uploads.find((u) => u.slug === name);
    assert.ok(upload, `no upload for ${name}:\n${deployed.output}`);
    assert.deepEqual(upload.metadata.name, name);
    assert.deepEqual(upload.metadata.entrypoint_path, `functions/${name}/index.ts`);
    assert.deepEqual(upload.metadata.verify_jwt, false);
    assert.deepEqual(upload.metadata.static_patterns, [`functions/${name}/pkg/*.wasm`]);
  });

  test(`${name}: the upload holds the shim, the shared module, the JS glue and the .wasm as built`, async () => {
    const upload = api.uploads.find((u) => u.slug === name)!;
    const expected = [
      `functions/${name}/index.ts`,
      "functions/_shared/serve.ts",
      `functions/${name}/pkg/${stem}.js`,
      `functions/${name}/pkg/${stem}_bg.wasm`,
    ];
    assert.deepEqual([...upload.files.keys()].sort(), expected.sort());
    for (const file of expected) {
      const local = await Deno.readFile(`${ROOT_PATH}/${file}`);
      assert.deepEqual(upload.files.get(file)!.length, local.length, `${file}: size`);
      assert.ok(upload.files.get(file)!.every((byte, i) => byte === local[i]), `${file}: bytes differ`);
    }
  });
}

test("an upload unpacked into an empty folder serves the function under Deno", async () => {
  const upload = api.uploads.find((u) => u.slug === "inventory-operations")!;
  const dir = await Deno.makeTempDir({ prefix: "deployed-bundle-" });
  for (const [file, bytes] of upload.files) {
    await Deno.mkdir(`${dir}/${file.replace(/\/[^/]*$/, "")}`, { recursive: true });
    await Deno.writeFile(`${dir}/${file}`, bytes);
  }
  const upstream = startFakePostgrest(() => Response.json({ items: [] }));
  const shim = await startShim(`${dir}/${upload.metadata.entrypoint_path}`, {
    SUPABASE_URL: upstream.url,
    SUPABASE_ANON_KEY: TEST_ANON_KEY,
  });
  try {
    const preflight = await fetch(shim.url, { method: "OPTIONS" });
    await preflight.body?.cancel();
    assert.deepEqual(preflight.status, 200);
    assert.deepEqual(preflight.headers.get("access-control-allow-origin"), "*");

    const invalid = await fetch(shim.url, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_JWT}`, apikey: TEST_ANON_KEY, "content-type": "application/json" },
      body: JSON.stringify({ action: "get_low_stock", shop_id: "not-a-uuid" }),
    });
    const body = await invalid.json();
    assert.deepEqual(invalid.status, 400, JSON.stringify(body));
    assert.deepEqual(body.error.code, "invalid_request");
    assert.deepEqual(body.error.details, { field: "shop_id" });
    assert.deepEqual(upstream.requests.length, 0);
  } finally {
    await shim.stop();
    await upstream.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

test("stop the fake Management API", async () => {
  await api.stop();
});
