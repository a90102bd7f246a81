// The one assertion helper of every TypeScript test (tests/deno, tests/e2e,
// tests/reliability, bench). JSR's @std/assert is not reachable from every machine
// and node:assert needs @types/node for type checking; the values compared are JSON
// data, so structural equality over canonical JSON is exact enough.

export class AssertionError extends Error {
  override name = "AssertionError";
}

/** JSON with sorted keys: equal data gives equal text whatever the key order. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
    2,
  ) ?? "<undefined>";
}

function prefix(message?: string): string {
  return message ? `${message}: ` : "";
}

interface Assert {
  ok(condition: unknown, message?: string): asserts condition;
  /** `Object.is` equality (numbers, strings, booleans, null). */
  equal<T>(actual: T, expected: T, message?: string): void;
  /** Deep equality of JSON-like values (key order does not matter, array order does). */
  deepEqual(actual: unknown, expected: unknown, message?: string): void;
  notDeepEqual(actual: unknown, unexpected: unknown, message?: string): void;
  match(actual: unknown, pattern: RegExp, message?: string): void;
  notMatch(actual: string, pattern: RegExp, message?: string): void;
  fail(message: string): never;
}

export const assert: Assert = {
  ok(condition: unknown, message = "expected a truthy value"): asserts condition {
    if (!condition) throw new AssertionError(message);
  },
  equal<T>(actual: T, expected: T, message?: string): void {
    if (!Object.is(actual, expected)) {
      throw new AssertionError(`${prefix(message)}expected ${canonical(expected)}, got ${canonical(actual)}`);
    }
  },
  deepEqual(actual: unknown, expected: unknown, message?: string): void {
    const a = canonical(actual);
    const e = canonical(expected);
    if (a !== e) throw new AssertionError(`${message ? message + "\n" : ""}expected:\n${e}\ngot:\n${a}`);
  },
  notDeepEqual(actual: unknown, unexpected: unknown, message?: string): void {
    if (canonical(actual) === canonical(unexpected)) {
      throw new AssertionError(`${prefix(message)}did not expect ${canonical(actual)}`);
    }
  },
  match(actual: unknown, pattern: RegExp, message?: string): void {
    if (typeof actual !== "string" || !pattern.test(actual)) {
      throw new AssertionError(`${prefix(message)}${canonical(actual)} does not match ${pattern}`);
    }
  },
  notMatch(actual: string, pattern: RegExp, message?: string): void {
    if (pattern.test(actual)) {
      throw new AssertionError(`${prefix(message)}${JSON.stringify(actual)} matches ${pattern}`);
    }
  },
  fail(message: string): never {
    throw new AssertionError(message);
  },
};
