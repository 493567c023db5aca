/**
 * The job certificate (`logs/certificate.txt`, SPEC 4.3): pure codec of its text, used by every
 * writer (job manager, monitor, the IAE's `log-command`) and reader (`neurocaas status`). The
 * certificate is rewritten as a whole on every update, each writer merging its part into the
 * current text with a conditional read-modify-write. Status files: dataset-status.ts; times:
 * time-format.ts.
 */
import { formatElapsed, formatTime } from "./time-format";

const STEP_NAMES = ["Initialization", "Validation", "Environment Setup", "Initialize Processing"] as const;
export type StepNumber = 1 | 2 | 3 | 4;

export const TERMINATE_PREFIX = "[JOB TERMINATE REASON]";
export const SHUTDOWN_LINE = "[Job Manager] Shutting down job.";
export const BUDGET_REJECTION = "Job is not covered by budget. Contact NeuroCAAS administrator.";

const MONITORING_HEADER = "PER ENVIRONMENT MONITORING:";
const DIVIDER = "================";

/** One line of the certificate's monitoring block. */
export interface DatasetLine {
  readonly dataname: string;
  readonly status: string;
  readonly time: string;
  readonly lastCommand: string;
  /** CPU use as the IAE reports it (`12.3` or `N/A`); the platform's lines carry none. */
  readonly cpuUsage?: string;
}

export function stepDoneLine(step: StepNumber): string {
  return `[Job Manager] STEP ${step}/4 (${STEP_NAMES[step - 1]}): DONE`;
}

export function stepErrorLine(step: StepNumber, kind: "AWS" | "INTERNAL", message: string): string {
  return `[Job Manager] STEP ${step}/4 (${STEP_NAMES[step - 1]}): ${kind} ERROR. ${TERMINATE_PREFIX} ${message}`;
}

// ------------------------------------------------------------------ dataset lines

function renderDatasetLine(line: DatasetLine): string {
  const cpu = line.cpuUsage === undefined ? "" : ` | CPU_USAGE: ${line.cpuUsage} %`;
  return `DATANAME: ${line.dataname} | STATUS: ${line.status} | TIME: ${line.time} | LAST COMMAND: ${line.lastCommand}${cpu}`;
}

/** Text fit for one cell of a dataset line: one line, no `|` (it separates the cells), at most 200 characters, `N/A` when empty. */
export function lineText(text: string): string {
  return (
    text
      .replace(/[\r\n]+/g, " ")
      .replace(/\|/g, "/")
      .trim()
      .slice(0, 200) || "N/A"
  );
}

export type LineField = "STATUS" | "TIME" | "LAST COMMAND" | "CPU_USAGE";

/** The DATANAME of a certificate line, or undefined when it is not a dataset line. */
export function datanameOfLine(line: string): string | undefined {
  const m = /^DATANAME: (.*?)(?: \| |$)/.exec(line);
  return m ? m[1] : undefined;
}

function fieldPattern(field: LineField): RegExp {
  return new RegExp(`( \\| ${field}: )([^|]*?)(?= \\||$)`);
}

/** One cell of a dataset line (`CPU_USAGE` with its ` %`), or undefined when the line has none. */
export function lineField(line: string, field: LineField): string | undefined {
  return fieldPattern(field).exec(line)?.[2];
}

/** The line with some cells replaced; cells the line does not have stay absent, the others as they are. */
export function withLineFields(line: string, fields: Partial<Record<LineField, string>>): string {
  let out = line;
  for (const [field, value] of Object.entries(fields) as [LineField, string][])
    out = out.replace(fieldPattern(field), (_all, head: string) => `${head}${value}`);
  return out;
}

export interface IaeLineArgs {
  readonly dataname: string;
  readonly status: string;
  readonly time: Date;
  readonly finished: boolean;
  readonly lastOutput: string;
  readonly cpuPercent?: number;
}

/** The IAE's own line (`log-command`): its time (` (finished)` once done), its last output line and its CPU use. */
export function iaeDatasetLine(a: IaeLineArgs): string {
  return renderDatasetLine({
    dataname: a.dataname,
    status: a.status,
    time: `${formatTime(a.time)}${a.finished ? " (finished)" : ""}`,
    lastCommand: lineText(a.lastOutput),
    cpuUsage: a.cpuPercent === undefined ? "N/A" : a.cpuPercent.toFixed(1),
  });
}

// ------------------------------------------------------------------ the whole certificate

export function renderCertificate(datasets: readonly DatasetLine[], setupLines: readonly string[]): string {
  return [
    MONITORING_HEADER,
    DIVIDER,
    ...datasets.map(renderDatasetLine),
    DIVIDER,
    "Once jobs start, these logs will be updated regularly. Allow some time [~1 minute] after all jobs finish for results to appear.",
    "For more information, see DATASET_NAME: files for stdout and stderr output.",
    "",
    "++++++++++++++++++",
    "",
    "JOB MANAGER SETUP LOG:",
    ...setupLines,
    "",
  ].join("\n");
}

/**
 * Accumulates the job manager's setup log (times since it started) and its dataset lines. The
 * certificate is shared with the monitor, the IAEs and local mode, so it is never rewritten from
 * this object alone: `applyTo` merges it into the current text (its new setup lines appended,
 * dataset lines added only where no writer has put one yet), and the caller writes the result
 * with a conditional read-modify-write.
 */
export class CertificateLog {
  private readonly lines: string[] = [];
  private datasets: DatasetLine[] = [];
  private flushed = 0;

  constructor(
    private readonly startedAt: Date,
    private readonly now: () => Date,
  ) {}

  append(message: string): void {
    this.lines.push(`${message}\t [+${formatElapsed(this.now().getTime() - this.startedAt.getTime())}]`);
  }

  setDatasets(datasets: readonly DatasetLine[]): void {
    this.datasets = [...datasets];
  }

  get setupLines(): readonly string[] {
    return this.lines;
  }

  /** The whole certificate as this writer alone sees it. */
  render(): string {
    return renderCertificate(this.datasets, this.lines);
  }

  /** `current` (or a fresh certificate) with the lines not yet written merged in. */
  applyTo(current: string | undefined): string {
    let text = current ?? renderCertificate([], []);
    if (this.datasets.length > 0) text = mergeDatasetLines(text, this.datasets);
    return appendSetupLines(text, this.lines.slice(this.flushed));
  }

  /** Call after the text from `applyTo` was written. */
  markWritten(): void {
    this.flushed = this.lines.length;
  }
}

/** Index range [start, end) of the monitoring block's lines, or undefined when the text has none. */
function datasetBlock(lines: readonly string[]): { start: number; end: number } | undefined {
  const first = lines.findIndex((l) => l.trim() === DIVIDER);
  if (first === -1) return undefined;
  const second = lines.findIndex((l, i) => i > first && l.trim() === DIVIDER);
  return second === -1 ? undefined : { start: first + 1, end: second };
}

/**
 * How a writer names its dataset: `exact` (the platform, which knows the dataset key), or
 * `loose` (the IAE side, given a key or an `s3://` URI): the exact name first, then a line whose
 * DATANAME is the bypass URI `s3://bucket/{dataname}`, then one with the same basename.
 */
export type LineMatch = "exact" | "loose";

function lineIsFor(line: string, dataname: string): boolean {
  return line.startsWith(`DATANAME: ${dataname} |`) || line === `DATANAME: ${dataname}`;
}

function basename(p: string): string {
  const t = p.replace(/\/+$/, "");
  return t.slice(t.lastIndexOf("/") + 1);
}

/** Index in `lines` of the line of `dataname` within the block, or -1. */
function lineIndex(
  lines: readonly string[],
  block: { start: number; end: number },
  dataname: string,
  match: LineMatch,
): number {
  const find = (is: (line: string) => boolean): number =>
    lines.findIndex((l, i) => i >= block.start && i < block.end && is(l));
  const exact = find((l) => lineIsFor(l, dataname));
  if (exact !== -1 || match === "exact") return exact;
  const uri = find(
    (l) => (datanameOfLine(l) ?? "").startsWith("s3://") && (datanameOfLine(l) ?? "").endsWith(`/${dataname}`),
  );
  if (uri !== -1) return uri;
  return find((l) => datanameOfLine(l) !== undefined && basename(datanameOfLine(l) as string) === basename(dataname));
}

/**
 * The monitoring block rebuilt in the order of `planned`: for each planned dataset the line some
 * writer already put there (kept as it is: it is newer than ours), else ours; then lines for
 * datasets we do not plan, unchanged. A certificate without a block gets a whole new one in front.
 */
export function mergeDatasetLines(certificate: string, planned: readonly DatasetLine[]): string {
  const lines = certificate.split("\n");
  const block = datasetBlock(lines);
  if (!block)
    return renderCertificate(planned, []).replace(/\n$/, "") + (certificate.trim() ? `\n${certificate}` : "\n");
  const existing = lines.slice(block.start, block.end);
  const used = new Set<number>();
  const merged = planned.map((p) => {
    const at = existing.findIndex((l, i) => !used.has(i) && lineIsFor(l, p.dataname));
    if (at === -1) return renderDatasetLine(p);
    used.add(at);
    return existing[at];
  });
  const rest = existing.filter((_, i) => !used.has(i));
  return [...lines.slice(0, block.start), ...merged, ...rest, ...lines.slice(block.end)].join("\n");
}

/**
 * Replace the line of `dataname` in the monitoring block, or add it at the block's end. A
 * certificate without a block (or none at all) gets a minimal one in front, keeping everything
 * else it said.
 */
export function upsertLine(
  certificate: string | undefined,
  dataname: string,
  line: string,
  match: LineMatch = "exact",
): string {
  const lines = (certificate ?? "").split("\n");
  const block = datasetBlock(lines);
  if (!block) {
    const rest = certificate && certificate.trim() ? ["", certificate] : [];
    return [MONITORING_HEADER, DIVIDER, line, DIVIDER, ...rest].join("\n");
  }
  const at = lineIndex(lines, block, dataname, match);
  if (at === -1) lines.splice(block.end, 0, line);
  else lines[at] = line;
  return lines.join("\n");
}

/** `upsertLine` of a platform writer's dataset line. */
export function upsertDatasetLine(certificate: string | undefined, line: DatasetLine): string {
  return upsertLine(certificate, line.dataname, renderDatasetLine(line));
}

/** The current line of a dataset in the monitoring block, if any. */
export function findDatasetLine(certificate: string, dataname: string, match: LineMatch = "exact"): string | undefined {
  const lines = certificate.split("\n");
  const block = datasetBlock(lines);
  if (!block) return undefined;
  const at = lineIndex(lines, block, dataname, match);
  return at === -1 ? undefined : lines[at];
}

/** Append lines to the setup log at the end of a certificate. */
export function appendSetupLines(certificate: string, messages: readonly string[]): string {
  if (messages.length === 0) return certificate;
  const trimmed = certificate.endsWith("\n") ? certificate.slice(0, -1) : certificate;
  return `${trimmed}\n${messages.join("\n")}\n`;
}

// ------------------------------------------------------------------ what readers learn

/** The certificate's terminate-reason lines, from the prefix on, without the `\t [+H:MM:SS.ff]` suffix. */
export function terminateReasons(certificate: string | undefined): string[] {
  if (certificate === undefined) return [];
  return certificate
    .split("\n")
    .filter((l) => l.includes(TERMINATE_PREFIX))
    .map((l) =>
      l
        .slice(l.indexOf(TERMINATE_PREFIX))
        .replace(/\t \[\+[0-9:.]+\]\s*$/, "")
        .trim(),
    );
}

/** The job manager wrote its shutdown line: the job was rejected or failed to start. */
export function isStoppedByJobManager(certificate: string | undefined): boolean {
  return certificate !== undefined && certificate.split("\n").some((l) => l.startsWith(SHUTDOWN_LINE));
}
