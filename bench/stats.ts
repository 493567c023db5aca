/** Small statistics helpers for repeated measurements (pure). */

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Ratio rounded to `digits` decimals; undefined when the denominator is 0 or missing. */
export function ratio(numerator: number, denominator: number | undefined, digits = 2): number | undefined {
  if (denominator === undefined || denominator === 0 || !Number.isFinite(denominator)) return undefined;
  return round(numerator / denominator, digits);
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Milliseconds since `start` (a `process.hrtime.bigint()` value). */
export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}
