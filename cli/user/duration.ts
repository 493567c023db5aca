/** `--timeout` values: seconds, or a number with `s`, `m` or `h` (`90`, `90s`, `15m`, `1.5h`). */
const DURATION = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/i;
const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string, option = "--timeout"): number {
  const m = DURATION.exec(text.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[(m[2] ?? "s").toLowerCase()] : NaN;
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new Error(
      `${option}: expected a positive duration such as 90, 90s, 15m or 2h (seconds when no unit is given), got "${text}"`,
    );
  }
  return ms;
}
