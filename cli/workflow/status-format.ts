/**
 * The dataset status file and the dataset's certificate line (SPEC 4.3), as pure functions.
 */

export type DatasetStatus = "INITIALIZING" | "IN PROGRESS" | "SUCCESS" | "FAILED";

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

export type StatusDoc = Record<string, unknown> & {
  status: DatasetStatus;
  /** A list of lines, as the job manager writes it. */
  reason: string[];
  input: string;
  std: Record<string, string>;
};

export interface ProgressArgs {
  readonly status: DatasetStatus;
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

export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function formatMb(mb: number | undefined): string {
  return mb === undefined ? "N/A" : `${mb.toFixed(1)} MB`;
}

export function formatPercent(p: number | undefined): string {
  return p === undefined ? "N/A" : `${p.toFixed(1)} %`;
}

/**
 * The status document after an update: fields written by the job manager (`instance`, `command`,
 * anything unknown) are kept; progress fields are replaced. Keys follow STATUS_FIELD_ORDER.
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
    job_start: isoSeconds(p.jobStart),
    job_finish: p.jobFinish ? isoSeconds(p.jobFinish) : "N/A",
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

export interface CertificateLineArgs {
  readonly dataname: string;
  readonly status: DatasetStatus;
  readonly time: Date;
  readonly finished: boolean;
  readonly lastOutput: string;
  readonly cpuPercent?: number;
}

/** `YYYY-MM-DD HH:MM:SS` in UTC. */
export function certificateTime(d: Date): string {
  return d.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "");
}

/** One dataset line; newlines and `|` in the output are flattened so the line stays parseable. */
export function formatCertificateLine(a: CertificateLineArgs): string {
  const last = a.lastOutput.replace(/[\r\n]+/g, " ").replace(/\|/g, "/").trim().slice(0, 200) || "N/A";
  const time = `${certificateTime(a.time)}${a.finished ? " (finished)" : ""}`;
  const cpu = a.cpuPercent === undefined ? "N/A" : `${a.cpuPercent.toFixed(1)}`;
  return `DATANAME: ${a.dataname} | STATUS: ${a.status} | TIME: ${time} | LAST COMMAND: ${last} | CPU_USAGE: ${cpu} %`;
}

export const MONITORING_HEADER = "PER ENVIRONMENT MONITORING:";
export const DIVIDER = "================";

/** The DATANAME of a certificate line, or undefined when it is not a dataset line. */
export function datanameOfLine(line: string): string | undefined {
  const m = /^DATANAME: (.*?)(?: \| |$)/.exec(line);
  return m ? m[1] : undefined;
}

function basename(p: string): string {
  const t = p.replace(/\/+$/, "");
  return t.slice(t.lastIndexOf("/") + 1);
}

/**
 * Replace the line of `dataname` in the monitoring block (matched by key, by `s3://` URI suffix,
 * then by basename), appending it to the block when absent. A certificate without a block (or
 * none at all) gets a minimal one, keeping everything else it said.
 */
export function upsertCertificateLine(certificate: string | undefined, dataname: string, line: string): string {
  const lines = (certificate ?? "").split("\n");
  const dividers = lines.flatMap((l, i) => (l.trim() === DIVIDER ? [i] : []));
  if (dividers.length < 2) {
    const block = [MONITORING_HEADER, DIVIDER, line, DIVIDER];
    const rest = certificate && certificate.trim() ? ["", certificate] : [];
    return [...block, ...rest].join("\n");
  }
  const [start, end] = [dividers[0], dividers[1]];
  const candidates = (match: (name: string) => boolean): number =>
    lines.findIndex((l, i) => i > start && i < end && match(datanameOfLine(l) ?? "\u0000"));
  let at = candidates((n) => n === dataname);
  if (at === -1) at = candidates((n) => n.endsWith(`/${dataname}`) && n.startsWith("s3://"));
  if (at === -1) at = candidates((n) => basename(n) === basename(dataname));
  if (at === -1) {
    lines.splice(end, 0, line);
  } else {
    lines[at] = line;
  }
  return lines.join("\n");
}

/** The line for `dataname` in a certificate (same matching as upsert), if any. */
export function findCertificateLine(certificate: string, dataname: string): string | undefined {
  const probe = "\u0001PROBE\u0001";
  const replaced = upsertCertificateLine(certificate, dataname, probe).split("\n");
  const i = replaced.indexOf(probe);
  const original = certificate.split("\n");
  return replaced.length === original.length ? original[i] : undefined;
}
