/**
 * What a user can tell about a job from the files in its folder (certificate, dataset status
 * files, end.txt). Pure functions with no Node or SDK imports: the user CLI (cli/user/job-state.ts)
 * and the web dashboard (dashboard/) both derive job state with them.
 */
import { isStoppedByJobManager } from "./certificate";
import { parseDatasetStatus } from "./dataset-status";

/** One dataset status file (`logs/DATASET_NAME:{name}_STATUS.txt`, JSON despite `.txt`) as a user sees it. */
export interface DatasetState {
  readonly file: string;
  readonly input?: string;
  readonly status?: string;
  readonly reason?: unknown;
  readonly body: Record<string, unknown>;
}

/** Status files of a job folder: `{job}/logs/DATASET_NAME:{name}_STATUS.txt` (group 1: the name). */
export const STATUS_FILE = /\/logs\/DATASET_NAME:(.*)_STATUS\.txt$/;

/** A dataset status file as the user sees it; a file caught mid-write reads as unparsed. */
export function datasetState(file: string, text: string): DatasetState {
  const body = parseDatasetStatus(text) ?? { unparsed: text };
  return {
    file,
    input: typeof body.input === "string" ? body.input : undefined,
    status: typeof body.status === "string" ? body.status : undefined,
    reason: body.reason,
    body,
  };
}

/** One line of the certificate's monitoring block, as the job manager and the IAE write it. */
export interface CertificateDatasetLine {
  readonly dataname: string;
  readonly status: string;
  readonly time: string;
  readonly lastCommand: string;
  /** `CPU_USAGE: {x} %` appended by the IAE side, when present. */
  readonly cpuUsage?: string;
}

/** The dataset lines of a certificate's monitoring block (`DATANAME: … | STATUS: … | …`). */
export function certificateDatasetLines(certificate: string | undefined): CertificateDatasetLine[] {
  if (certificate === undefined) return [];
  const out: CertificateDatasetLine[] = [];
  for (const line of certificate.split("\n")) {
    if (!line.startsWith("DATANAME: ")) continue;
    const fields = new Map<string, string>();
    // Field names are fixed; values may contain " | " only in LAST COMMAND (the IAE flattens it).
    const re = /(?:^| \| )(DATANAME|STATUS|TIME|LAST COMMAND|CPU_USAGE): /g;
    const marks: { name: string; start: number; end: number }[] = [];
    for (let m = re.exec(line); m !== null; m = re.exec(line))
      marks.push({ name: m[1], start: m.index, end: m.index + m[0].length });
    marks.forEach((mark, i) =>
      fields.set(mark.name, line.slice(mark.end, i + 1 < marks.length ? marks[i + 1].start : undefined).trim()),
    );
    const cpu = fields.get("CPU_USAGE");
    out.push({
      dataname: fields.get("DATANAME") ?? "",
      status: fields.get("STATUS") ?? "",
      time: fields.get("TIME") ?? "",
      lastCommand: fields.get("LAST COMMAND") ?? "",
      ...(cpu !== undefined ? { cpuUsage: cpu.replace(/\s*%$/, "") } : {}),
    });
  }
  return out;
}

/**
 * A job's phase as a user sees it:
 * - `submitted`: nothing written yet (the job manager has not answered);
 * - `rejected`: the job manager stopped the job before or while starting it (its reason is in the certificate);
 * - `queued`: waiting for capacity (every dataset QUEUED; SPEC §11);
 * - `running`: started, no end.txt yet;
 * - `cancelled`: a user cancelled it (a dataset CANCELLED);
 * - `succeeded`: end.txt and every dataset SUCCESS;
 * - `failed`: end.txt and some dataset did not succeed.
 */
export type JobPhase = "submitted" | "queued" | "running" | "succeeded" | "failed" | "rejected" | "cancelled";

export interface JobEvidence {
  readonly certificate?: string;
  readonly datasets: readonly Pick<DatasetState, "status">[];
  /** `process_results/end.txt` exists. */
  readonly finished: boolean;
}

export function jobPhase(job: JobEvidence): JobPhase {
  if (isStoppedByJobManager(job.certificate)) return "rejected";
  if (job.datasets.some((d) => d.status === "CANCELLED")) return "cancelled";
  if (job.finished) {
    const ok = job.datasets.length > 0 && job.datasets.every((d) => d.status === "SUCCESS");
    return ok ? "succeeded" : "failed";
  }
  if (job.certificate === undefined && job.datasets.length === 0) return "submitted";
  if (job.datasets.length > 0 && job.datasets.every((d) => d.status === "QUEUED")) return "queued";
  return "running";
}
