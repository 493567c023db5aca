/**
 * What every benchmark returns, and the table `npm run bench` prints. Values are numbers or
 * short strings; checks compare one value with its target from the issue.
 */

export type Cell = string | number | boolean | null;

export interface BenchTable {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
}

export interface BenchCheck {
  readonly name: string;
  /** The measured value, with unit, as printed. */
  readonly value: string;
  readonly target: string;
  /** undefined: not judged (quick mode, or the measurement could not be made). */
  readonly met?: boolean;
}

export interface BenchSection {
  readonly id: string;
  readonly title: string;
  readonly status: "ok" | "unavailable" | "error";
  /** Why a section is unavailable or failed, or a remark about the method. */
  readonly notes: readonly string[];
  readonly tables: readonly BenchTable[];
  readonly checks: readonly BenchCheck[];
  readonly ms: number;
  /** When the section was measured (ISO). */
  readonly date?: string;
  /** Whether it ran at its smallest size. */
  readonly quick?: boolean;
  /** 1-minute load average of the machine when the section started and ended (noise indicator). */
  readonly loadAverage?: readonly [number, number];
  /** Raw figures for results.json. */
  readonly data?: unknown;
}

export interface BenchResults {
  readonly version: 1;
  readonly date: string;
  readonly quick: boolean;
  readonly machine: {
    readonly node: string;
    readonly platform: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGb: number;
  };
  readonly sections: readonly BenchSection[];
}

export function formatCell(c: Cell): string {
  if (c === null) return "-";
  if (typeof c === "boolean") return c ? "yes" : "no";
  if (typeof c === "number") return Number.isInteger(c) ? String(c) : String(Math.round(c * 100) / 100);
  return c;
}

/** A plain-text table: header, rule, rows; numbers right-aligned. */
export function formatTable(t: BenchTable): string {
  const cells = t.rows.map((r) => r.map(formatCell));
  const widths = t.columns.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const numeric = t.columns.map(
    (_, i) => t.rows.length > 0 && t.rows.every((r) => typeof r[i] === "number" || r[i] === null),
  );
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [t.title, line(t.columns), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

export function formatCheck(c: BenchCheck): string {
  const mark = c.met === undefined ? "[ -- ]" : c.met ? "[ ok ]" : "[MISS]";
  return `${mark} ${c.name}: ${c.value} (target ${c.target})`;
}

export function formatSection(s: BenchSection): string {
  const load = s.loadAverage ? `, load average ${s.loadAverage[0].toFixed(1)} → ${s.loadAverage[1].toFixed(1)}` : "";
  const head = `== ${s.title} [${s.status}] (${(s.ms / 1000).toFixed(1)} s${load})`;
  const parts = [
    head,
    ...s.notes.map((n) => `  note: ${n}`),
    ...s.tables.map(formatTable),
    ...(s.checks.length > 0 ? [s.checks.map(formatCheck).join("\n")] : []),
  ];
  return parts.join("\n\n");
}

/**
 * Sections of a new run merged into an earlier results file: re-run sections replace the old
 * ones, the others are kept, in `order`.
 */
export function mergeSections(
  previous: readonly BenchSection[],
  fresh: readonly BenchSection[],
  order: readonly string[],
): BenchSection[] {
  const byId = new Map(previous.map((s) => [s.id, s]));
  for (const s of fresh) byId.set(s.id, s);
  return order.filter((id) => byId.has(id)).map((id) => byId.get(id) as BenchSection);
}
