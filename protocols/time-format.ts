/** The time formats of the job files (SPEC 4.3, cost logs, status files), written once. */

/** `YYYY-MM-DD HH:MM:SS` (UTC): the certificate's TIME column. */
export function formatTime(d: Date): string {
  return d.toISOString().replace("T", " ").slice(0, 19);
}

/** `2020-05-12T03:18:06Z` (UTC, no milliseconds): cost logs, status files, EC2 events (the original's format). */
export function formatIsoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `H:MM:SS.ff` like Python's timedelta, truncated to hundredths: the setup log's `[+…]`. */
export function formatElapsed(ms: number): string {
  const clamped = Math.max(0, ms);
  const hundredths = Math.floor(clamped / 10);
  const h = Math.floor(hundredths / 360000);
  const m = Math.floor((hundredths % 360000) / 6000);
  const s = Math.floor((hundredths % 6000) / 100);
  const f = hundredths % 100;
  return `${h}:${pad(m)}:${pad(s)}.${pad(f)}`;
}

function pad(n: number): string {
  return n.toString().padStart(2, "0");
}
