/**
 * The job certificate (`logs/certificate.txt`, SPEC 4.3) and dataset status files. Pure
 * rendering; callers write the text. The certificate is rewritten as a whole on every update.
 */

export const STEP_NAMES = ["Initialization", "Validation", "Environment Setup", "Initialize Processing"] as const;
export type StepNumber = 1 | 2 | 3 | 4;

export const TERMINATE_PREFIX = "[JOB TERMINATE REASON]";
export const SHUTDOWN_LINE = "[Job Manager] Shutting down job.";
export const BUDGET_REJECTION = "Job is not covered by budget. Contact NeuroCAAS administrator.";

export type DatasetStatusName = "INITIALIZING" | "IN PROGRESS" | "SUCCESS" | "FAILED";

export interface DatasetLine {
  readonly dataname: string;
  readonly status: string;
  readonly time: string;
  readonly lastCommand: string;
}

export function stepDoneLine(step: StepNumber): string {
  return `[Job Manager] STEP ${step}/4 (${STEP_NAMES[step - 1]}): DONE`;
}

export function stepErrorLine(step: StepNumber, kind: "AWS" | "INTERNAL", message: string): string {
  return `[Job Manager] STEP ${step}/4 (${STEP_NAMES[step - 1]}): ${kind} ERROR. ${TERMINATE_PREFIX} ${message}`;
}

/** `H:MM:SS.ff` like Python's timedelta, truncated to hundredths. */
export function formatElapsed(ms: number): string {
  const clamped = Math.max(0, ms);
  const hundredths = Math.floor(clamped / 10);
  const h = Math.floor(hundredths / 360000);
  const m = Math.floor((hundredths % 360000) / 6000);
  const s = Math.floor((hundredths % 6000) / 100);
  const f = hundredths % 100;
  return `${h}:${pad(m)}:${pad(s)}.${pad(f)}`;
}

/** `YYYY-MM-DD HH:MM:SS` (UTC), the TIME column. */
export function formatTime(d: Date): string {
  return d.toISOString().replace("T", " ").slice(0, 19);
}

function pad(n: number): string {
  return n.toString().padStart(2, "0");
}

export function renderDatasetLine(line: DatasetLine): string {
  return `DATANAME: ${line.dataname} | STATUS: ${line.status} | TIME: ${line.time} | LAST COMMAND: ${line.lastCommand}`;
}

const DIVIDER = "================";

export function renderCertificate(datasets: readonly DatasetLine[], setupLines: readonly string[]): string {
  return [
    "PER ENVIRONMENT MONITORING:",
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

function lineIsFor(line: string, dataname: string): boolean {
  return line.startsWith(`DATANAME: ${dataname} |`) || line === `DATANAME: ${dataname}`;
}

/**
 * The monitoring block rebuilt in the order of `planned`: for each planned dataset the line some
 * writer already put there (kept as it is: it is newer than ours), else ours; then lines for
 * datasets we do not plan, unchanged.
 */
export function mergeDatasetLines(certificate: string, planned: readonly DatasetLine[]): string {
  const lines = certificate.split("\n");
  const block = datasetBlock(lines);
  if (!block) return renderCertificate(planned, []).replace(/\n$/, "") + (certificate.trim() ? `\n${certificate}` : "\n");
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

/** Replace the line of `line.dataname` in the monitoring block, or add it at the block's end. */
export function upsertDatasetLine(certificate: string | undefined, line: DatasetLine | string, dataname?: string): string {
  const text = typeof line === "string" ? line : renderDatasetLine(line);
  const name = typeof line === "string" ? (dataname as string) : line.dataname;
  let lines = (certificate ?? renderCertificate([], [])).split("\n");
  let block = datasetBlock(lines);
  if (!block) {
    lines = mergeDatasetLines(certificate ?? "", []).split("\n");
    block = datasetBlock(lines) as { start: number; end: number };
  }
  const at = lines.findIndex((l, i) => i >= block.start && i < block.end && lineIsFor(l, name));
  if (at === -1) lines.splice(block.end, 0, text);
  else lines[at] = text;
  return lines.join("\n");
}

/** The current line of a dataset in the monitoring block, if any. */
export function findDatasetLine(certificate: string, dataname: string): string | undefined {
  const lines = certificate.split("\n");
  const block = datasetBlock(lines);
  if (!block) return undefined;
  return lines.slice(block.start, block.end).find((l) => lineIsFor(l, dataname));
}

/** Append lines to the setup log at the end of a certificate. */
export function appendSetupLines(certificate: string, messages: readonly string[]): string {
  if (messages.length === 0) return certificate;
  const trimmed = certificate.endsWith("\n") ? certificate.slice(0, -1) : certificate;
  return `${trimmed}\n${messages.join("\n")}\n`;
}

/** Append a line to the setup log at the end of a certificate. */
export function appendSetupLine(certificate: string, message: string): string {
  return appendSetupLines(certificate, [message]);
}

export interface DatasetStatus {
  readonly status: DatasetStatusName;
  readonly reason: readonly string[];
  readonly input: string;
  readonly instance: string | null;
  readonly command: string | null;
  readonly [extra: string]: unknown;
}

export function renderDatasetStatus(status: DatasetStatus): string {
  return `${JSON.stringify(status, null, 2)}\n`;
}
