/**
 * The dataset status file `logs/DATASET_NAME:{basename}_STATUS.txt` (SPEC 4.3: JSON despite
 * `.txt`), written by the job manager (INITIALIZING), the IAE (`log-command`: progress, usage,
 * output) and the monitor (command delivered, FAILED when an IAE ended without a final status).
 * Pure codec: every writer and reader goes through it; callers write with a conditional
 * read-modify-write.
 */
import { formatIsoSeconds } from "./time-format";

/**
 * `QUEUED`: the job waits for capacity (SPEC §11; the queue's drain moves it to INITIALIZING).
 * `CANCELLED`: a user cancelled the job (final, like SUCCESS and FAILED).
 */
export type DatasetStatusName = "QUEUED" | "INITIALIZING" | "IN PROGRESS" | "SUCCESS" | "FAILED" | "CANCELLED";

/** A dataset whose status is final is never set back or changed by the platform. */
export function isFinalStatus(status: unknown): boolean {
  return status === "SUCCESS" || status === "FAILED" || status === "CANCELLED";
}

export function renderDatasetStatus(doc: Readonly<Record<string, unknown>>): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The status document, or undefined when the text is not a JSON object (e.g. caught mid-write). */
export function parseDatasetStatus(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The `status` field when it is a string. */
export function statusOf(doc: Readonly<Record<string, unknown>> | undefined): string | undefined {
  return typeof doc?.status === "string" ? doc.status : undefined;
}

/** The `reason` lines (a list of non-empty strings; files of older versions hold one text). */
export function reasonsOf(doc: Readonly<Record<string, unknown>> | undefined): string[] {
  const reason = doc?.reason;
  if (Array.isArray(reason)) return reason.filter((r): r is string => typeof r === "string" && r !== "");
  return typeof reason === "string" && reason !== "" ? [reason] : [];
}

/** A status file's `reason` (a list of lines, or text in older files) as one line. */
export function reasonText(reason: unknown): string {
  if (reason === undefined || reason === null) return "";
  if (Array.isArray(reason))
    return reason
      .filter((r) => r !== "")
      .map(String)
      .join("; ");
  return typeof reason === "string" ? reason : JSON.stringify(reason);
}

// ------------------------------------------------------------------ the IAE's progress

/** Field order of the status file (the original's order, plus `exit_code` and `max_memory_usage`). */
export const STATUS_FIELD_ORDER = [
  "instance",
  "command",
  "input",
  "status",
  "reason",
  "exit_code",
  "memory_usage",
  "max_memory_usage",
  "cpu_usage",
  "average_cpu_usage",
  "job_start",
  "job_finish",
  "std",
] as const;

/** Fields the IAE side writes; every other field (instance, command, member, job, …) belongs to the platform. */
const IAE_FIELDS: ReadonlySet<string> = new Set(STATUS_FIELD_ORDER.filter((f) => f !== "instance" && f !== "command"));

export type StatusDoc = Record<string, unknown> & {
  status: DatasetStatusName;
  /** A list of lines, as the job manager writes it. */
  reason: string[];
  input: string;
  std: Record<string, string>;
};

export interface ProgressArgs {
  readonly status: DatasetStatusName;
  readonly reason: string;
  readonly input: string;
  readonly exitCode?: number | null;
  readonly memoryMb?: number;
  readonly peakMemoryMb?: number;
  readonly cpuPercent?: number;
  readonly averageCpuPercent?: number;
  readonly jobStart: Date;
  readonly jobFinish?: Date;
  /** Output lines keyed by their line index (index → text). */
  readonly std: Record<string, string>;
  /** Used when the existing file does not name them (e.g. outside a platform job). */
  readonly instance?: string;
  readonly command?: string;
}

function formatMb(mb: number | undefined): string {
  return mb === undefined ? "N/A" : `${mb.toFixed(1)} MB`;
}

function formatPercent(p: number | undefined): string {
  return p === undefined ? "N/A" : `${p.toFixed(1)} %`;
}

/**
 * The status document after an IAE progress update: fields written by the job manager
 * (`instance`, `command`, anything unknown) are kept; progress fields are replaced. Keys follow
 * STATUS_FIELD_ORDER.
 */
export function buildStatusDoc(existing: Record<string, unknown> | undefined, p: ProgressArgs): StatusDoc {
  const merged: Record<string, unknown> = {
    instance: p.instance ?? "N/A",
    command: p.command ?? "N/A",
    ...(existing ?? {}),
    input: p.input,
    status: p.status,
    reason: [p.reason],
    exit_code: p.exitCode ?? null,
    memory_usage: formatMb(p.memoryMb),
    max_memory_usage: formatMb(p.peakMemoryMb),
    cpu_usage: formatPercent(p.cpuPercent),
    average_cpu_usage: formatPercent(p.averageCpuPercent),
    job_start: formatIsoSeconds(p.jobStart),
    job_finish: p.jobFinish ? formatIsoSeconds(p.jobFinish) : "N/A",
    std: p.std,
  };
  // Legacy keys the original removed to avoid confusion with `std`.
  delete merged.stdout;
  delete merged.stderr;
  const ordered: Record<string, unknown> = {};
  for (const k of STATUS_FIELD_ORDER) ordered[k] = merged[k];
  for (const [k, v] of Object.entries(merged)) if (!(k in ordered)) ordered[k] = v;
  return ordered as StatusDoc;
}

/**
 * An IAE's document with the platform's fields of the current file (recorded since the IAE read
 * it, e.g. the command id the monitor writes after SSM accepted the command) taken over.
 */
export function withPlatformFields(
  doc: Readonly<Record<string, unknown>>,
  current: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> {
  return {
    ...doc,
    ...Object.fromEntries(
      Object.entries(current ?? {}).filter(([k, v]) => !IAE_FIELDS.has(k) && v !== "N/A" && v !== null),
    ),
  };
}
