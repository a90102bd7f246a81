// Deploy readiness (docs/BACKEND_SETUP_GUIDE.md, deploying): deploying cannot be tried here, so this
// checks what `supabase functions deploy --use-api` relies on, after the build:
// every entrypoint, import map and `static_files` glob of supabase/config.toml resolves
// to files that exist; every file a shim reads at runtime is matched by a glob (else the
// hosted bundle silently lacks it); the import graph stays inside what the CLI uploads;
// and `deno check` passes on every shim.

import { assert } from "../assert.ts";
import { exists, FUNCTIONS, functionConfigs, glob, normalize, ROOT_PATH, SUPABASE_DIR } from "./support.ts";

/** Project-root-relative path of a config path (config paths are relative to supabase/). */
function fromConfig(path: string): string {
  return normalize(`supabase/${path}`);
}

// The same import pattern the CLI follows when it collects the files of a function.
const IMPORT = /(?:import|export)\s+(?:{[^{}]+}|.*?)\s*(?:from)?\s*['"](.*?)['"]|import\(\s*['"](.*?)['"]\)/gi;
// Files read at runtime relative to the module: `new URL("./pkg/x_bg.wasm", import.meta.url)`.
const MODULE_RELATIVE_URL = /new URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g;

/** The local modules reachable from `entrypoint` (root-relative), as the CLI walks them. */
async function importGraph(entrypoint: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [entrypoint];
  while (queue.length > 0) {
    const current = queue.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    const source = await Deno.readTextFile(`${ROOT_PATH}/${current}`);
    for (const match of source.matchAll(IMPORT)) {
      const specifier = (match[1] || match[2] || "").trim();
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue;
      queue.push(normalize(`${current.replace(/[^/]*$/, "")}${specifier}`));
    }
  }
  return [...seen].sort();
}

const configs = await functionConfigs();

Deno.test("config.toml declares every function with JWT verification", () => {
  assert.deepEqual(Object.keys(configs).sort(), FUNCTIONS.map((f) => f.name).sort());
  for (const { name } of FUNCTIONS) {
    assert.deepEqual(configs[name].verify_jwt, true, `${name}: verify_jwt`);
    assert.deepEqual(configs[name].entrypoint, `../functions/${name}/index.ts`, `${name}: entrypoint`);
  }
});

for (const { name, stem } of FUNCTIONS) {
  Deno.test(`${name}: entrypoint, import map and static files resolve after the build`, async () => {
    const config = configs[name];
    assert.ok(await exists(`${ROOT_PATH}/${fromConfig(config.entrypoint!)}`), "entrypoint missing");
    if (config.import_map) {
      assert.ok(await exists(`${ROOT_PATH}/${fromConfig(config.import_map)}`), "import map missing");
    }
    const patterns = config.static_files ?? [];
    assert.ok(patterns.length > 0, "static_files must list the wasm module");
    for (const pattern of patterns) {
      const matched = await glob(fromConfig(pattern), ROOT_PATH);
      assert.ok(matched.length > 0, `static_files glob ${pattern} matches nothing (run the build first)`);
    }
  });

  Deno.test(`${name}: every file the shim reads at runtime is a static file`, async () => {
    const config = configs[name];
    const staticFiles = new Set<string>();
    for (const pattern of config.static_files ?? []) {
      for (const file of await glob(fromConfig(pattern), ROOT_PATH)) staticFiles.add(file);
    }
    const modules = await importGraph(fromConfig(config.entrypoint!));
    const read: string[] = [];
    for (const module of modules) {
      assert.ok(await exists(`${ROOT_PATH}/${module}`), `${module} is imported but missing`);
      assert.ok(!module.endsWith(".wasm"), `${module}: a .wasm must be read, not imported`);
      const source = await Deno.readTextFile(`${ROOT_PATH}/${module}`);
      for (const match of source.matchAll(MODULE_RELATIVE_URL)) {
        read.push(normalize(`${module.replace(/[^/]*$/, "")}${match[1]}`));
      }
    }
    const wasm = `functions/${name}/pkg/${stem}_bg.wasm`;
    assert.ok(read.includes(wasm), `the shim does not read ${wasm}`);
    for (const file of read) {
      assert.ok(staticFiles.has(file), `${file} is read at runtime but no static_files glob matches it`);
    }
  });

  Deno.test(`${name}: the shim loads its module with initSync, not the fetch()-based init()`, async () => {
    const source = await Deno.readTextFile(`${ROOT_PATH}/functions/${name}/index.ts`);
    assert.match(source, /initSync\(\{ module: await Deno\.readFile\(new URL\("\.\/pkg\/\w+_bg\.wasm", import\.meta\.url\)\) \}\)/);
    assert.notMatch(source, /import\s+\w+\s*(,|from)/, "no default import of the glue's init()");
  });
}

Deno.test("deno check passes on every shim", async () => {
  const entrypoints = FUNCTIONS.map(({ name }) => `${ROOT_PATH}/functions/${name}/index.ts`);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["check", ...entrypoints],
    cwd: ROOT_PATH,
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.deepEqual(code, 0, new TextDecoder().decode(stderr));
});

Deno.test("static_files globs follow Go's filepath.Match (the CLI's afero.Glob)", async () => {
  // `*` must not cross `/`: a pattern that only matches with `**` semantics must fail.
  assert.deepEqual(await glob("functions/*.wasm", ROOT_PATH), []);
  assert.deepEqual(await glob("supabase/config.tom?", ROOT_PATH), ["supabase/config.toml"]);
  assert.ok(SUPABASE_DIR.endsWith("/supabase"));
});
