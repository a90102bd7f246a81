// Minimal assertions for the Deno tests. `node:assert` would need @types/node in
// node_modules for type checking and JSR's @std/assert is not reachable here; the values
// compared are JSON data, so structural equality over canonical JSON is exact enough.

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Deep equality of JSON-like values (key order does not matter, array order does). */
export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  const a = canonical(actual);
  const e = canonical(expected);
  if (a !== e) {
    throw new AssertionError(`${message ? message + ": " : ""}expected ${e}, got ${a}`);
  }
}

export function assertNotEquals(actual: unknown, unexpected: unknown, message?: string): void {
  if (canonical(actual) === canonical(unexpected)) {
    throw new AssertionError(`${message ? message + ": " : ""}did not expect ${canonical(actual)}`);
  }
}

export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  if (!pattern.test(text)) {
    throw new AssertionError(`${message ? message + ": " : ""}${JSON.stringify(text)} does not match ${pattern}`);
  }
}

export function assertNotMatch(text: string, pattern: RegExp, message?: string): void {
  if (pattern.test(text)) {
    throw new AssertionError(`${message ? message + ": " : ""}${JSON.stringify(text)} matches ${pattern}`);
  }
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v === undefined ? "<undefined>" : v) ?? "<undefined>";
}
