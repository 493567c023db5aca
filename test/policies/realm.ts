/**
 * Under jest, `structuredClone` returns objects of Node's outer realm, and google-protobuf (which
 * Pulumi uses to serialize inputs) tests `instanceof Array`: cloned lists would reach the mocks
 * as `{"0": ...}` objects. Policy tests must see the shapes the real engine sees, so clone in
 * this realm (plain data only; anything else goes to the built-in).
 */
const builtin = globalThis.structuredClone;

function realmClone<T>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const x of value) out.push(realmClone(x));
    return out as T;
  }
  if (value instanceof Date || Object.prototype.toString.call(value) === "[object Date]")
    return new Date((value as unknown as Date).getTime()) as T;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== null && proto !== Object.prototype && Object.getPrototypeOf(proto) !== null) return builtin(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = realmClone(v);
  return out as T;
}

globalThis.structuredClone = ((value: unknown, options?: { transfer?: unknown[] }) =>
  options?.transfer
    ? builtin(value, options as Parameters<typeof builtin>[1])
    : realmClone(value)) as typeof structuredClone;

export {};
