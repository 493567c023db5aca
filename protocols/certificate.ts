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

export function renderCertificate(datasets: readonly DatasetLine[], setupLines: readonly string[]): string {
  return [
    "PER ENVIRONMENT MONITORING:",
    "================",
    ...datasets.map(renderDatasetLine),
    "================",
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

/** Accumulates the job manager's setup log with times since it started. */
export class CertificateLog {
  private readonly lines: string[] = [];
  private datasets: DatasetLine[] = [];

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

  render(): string {
    return renderCertificate(this.datasets, this.lines);
  }
}

/**
 * Replace the `index`-th dataset line (0-based, counting only DATANAME lines) of a certificate,
 * leaving everything else (including lines the IAE rewrote) as is. Returns the text unchanged
 * when there is no such line.
 */
export function replaceDatasetLine(certificate: string, index: number, line: DatasetLine): string {
  const lines = certificate.split("\n");
  let seen = -1;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("DATANAME: ")) {
      seen++;
      if (seen === index) {
        lines[i] = renderDatasetLine(line);
        return lines.join("\n");
      }
    }
  }
  return certificate;
}

/** Append a line to the setup log at the end of a certificate. */
export function appendSetupLine(certificate: string, message: string): string {
  const trimmed = certificate.endsWith("\n") ? certificate.slice(0, -1) : certificate;
  return `${trimmed}\n${message}\n`;
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
