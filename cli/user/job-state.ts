import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { isStoppedByJobManager, terminateReasons } from "../../protocols/certificate";
import { reasonText } from "../../protocols/dataset-status";
import { datasetState, STATUS_FILE, type DatasetState } from "../../protocols/job-view";
import { endMarkerKey, jobFolderKey, certificateKey, rejectedJobFolder } from "../../protocols/layout";
import { isNoSuchKey, listKeys } from "../transfer";

export { datasetState, type DatasetState };

/** What a user can learn about one job from storage. */
export interface JobRef {
  readonly bucket: string;
  readonly group: string;
  readonly job: string;
  /**
   * SHA-256 of the submit file this client uploaded, when known: a submission rejected at step 1
   * (e.g. its timestamp is already taken) is reported in a sibling folder named after it.
   */
  readonly submitDigest?: string;
}

export interface JobState {
  readonly jobFolder: string;
  /** Undefined until the job manager has written it. */
  readonly certificate?: string;
  readonly datasets: readonly DatasetState[];
  /** `process_results/end.txt` exists: nothing more will happen to this job. */
  readonly finished: boolean;
  /**
   * The job manager stopped the job (its certificate says "Shutting down job."): nothing more will
   * happen either, but a job rejected before any IAE started never gets an end.txt.
   */
  readonly rejected: boolean;
  /** The `[JOB TERMINATE REASON]` lines of the certificate, without their time stamps. */
  readonly terminateReasons: readonly string[];
}

/** Nothing more will happen to the job: it finished (end.txt) or the job manager stopped it. */
export function jobIsOver(state: JobState): boolean {
  return state.finished || state.rejected;
}

/** No trace of the job at all: no certificate, status files or end.txt. */
export function jobIsUnknown(state: JobState): boolean {
  return state.certificate === undefined && state.datasets.length === 0 && !state.finished;
}

export async function readText(client: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await res.Body!.transformToString("utf-8");
  } catch (err) {
    if (isNoSuchKey(err)) return undefined;
    throw err;
  }
}

/**
 * Whether a key exists, by listing it as a prefix: users may list their own group folder but,
 * lacking s3:ListBucket on the whole bucket, get 403 (not 404) from S3 for a missing key.
 */
export async function exists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
  return page.Contents?.[0]?.Key === key;
}

export async function readJobState(client: S3Client, ref: JobRef): Promise<JobState> {
  const own = jobFolderKey(ref.group, ref.bucket, ref.job);
  // A submission rejected at step 1 is reported beside the job folder, never in it. Knowing what
  // was uploaded identifies its own rejection; otherwise a rejection counts when the job folder
  // itself has no certificate. Read only what is listed (a missing key is 403 for users, see `exists`).
  const rejection = await newestRejection(client, ref.bucket, rejectedJobFolder(own, ref.submitDigest));
  const jobFolder = rejection !== undefined && (ref.submitDigest !== undefined || !(await exists(client, ref.bucket, certificateKey(own)))) ? rejection : own;
  const [finished, logKeys] = await Promise.all([exists(client, ref.bucket, endMarkerKey(jobFolder)), listKeys(client, ref.bucket, `${jobFolder}/logs/`)]);
  const certificate = logKeys.includes(certificateKey(jobFolder)) ? await readText(client, ref.bucket, certificateKey(jobFolder)) : undefined;
  const datasets: DatasetState[] = [];
  for (const key of logKeys.filter((k) => STATUS_FILE.test(k)).sort()) {
    const text = await readText(client, ref.bucket, key);
    if (text !== undefined) datasets.push(datasetState(key.slice(key.lastIndexOf("/") + 1), text));
  }
  return { jobFolder, certificate, datasets, finished, rejected: isStoppedByJobManager(certificate), terminateReasons: terminateReasons(certificate) };
}

/** The folder under `prefix` whose certificate was written last, if any. */
async function newestRejection(client: S3Client, bucket: string, prefix: string): Promise<string | undefined> {
  const suffix = `/${certificateKey("").slice(1)}`;
  let newest: { folder: string; at: number } | undefined;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined || !o.Key.endsWith(suffix)) continue;
      const at = o.LastModified?.getTime() ?? 0;
      if (newest === undefined || at > newest.at) newest = { folder: o.Key.slice(0, -suffix.length), at };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return newest?.folder;
}

/** Human-readable report: the certificate followed by one line per dataset. */
export function formatJobState(ref: JobRef, state: JobState): string {
  const cancelled = state.datasets.some((d) => d.status === "CANCELLED");
  const queued = state.datasets.length > 0 && state.datasets.every((d) => d.status === "QUEUED");
  const phase = state.rejected
    ? "stopped by the job manager"
    : cancelled
      ? `cancelled by user${state.finished ? " (end.txt present)" : " (its IAEs are being terminated)"}`
      : state.finished
        ? "finished (end.txt present)"
        : queued
          ? "QUEUED: waiting for capacity"
          : "not finished";
  const lines = [`job ${ref.job} in s3://${ref.bucket}/${state.jobFolder}/ — ${phase}`];
  lines.push("", "certificate.txt:", state.certificate?.trimEnd() ?? "(not written yet)", "");
  if (state.datasets.length === 0) lines.push("datasets: (no status files yet)");
  for (const d of state.datasets) {
    const text = reasonText(d.reason);
    const reason = text === "" ? "" : ` — ${text}`;
    // Ensemble members share their dataset: each has its own status file, named by its member number.
    const member = typeof d.body.member === "number" ? ` (inst${d.body.member})` : "";
    lines.push(`dataset ${d.input ?? d.file}${member}: ${d.status ?? "UNKNOWN"}${reason}`);
  }
  return lines.join("\n");
}

export interface WaitArgs {
  readonly intervalMs?: number;
  /** Give up after this long (undefined: until the job is over). */
  readonly timeoutMs?: number;
  /**
   * Give up when no trace of the job (certificate, status file, end.txt) appears for this long:
   * the job manager writes the certificate within seconds of a submission, so a job still unknown
   * after this was never started (e.g. a group the analysis does not serve). Default 10 minutes.
   */
  readonly unknownJobGraceMs?: number;
  readonly onPoll?: (state: JobState) => void;
}

export const DEFAULT_UNKNOWN_JOB_GRACE_MS = 10 * 60_000;

/** Poll until the job is over (end.txt, or stopped by the job manager); returns the final state. */
export async function waitForJob(client: S3Client, ref: JobRef, args: WaitArgs = {}): Promise<JobState> {
  const interval = args.intervalMs ?? 2000;
  const started = Date.now();
  const deadline = args.timeoutMs === undefined ? Infinity : started + args.timeoutMs;
  const unknownDeadline = started + (args.unknownJobGraceMs ?? DEFAULT_UNKNOWN_JOB_GRACE_MS);
  for (;;) {
    const state = await readJobState(client, ref);
    args.onPoll?.(state);
    if (jobIsOver(state)) return state;
    const unknown = jobIsUnknown(state);
    const now = Date.now();
    if (now >= deadline || (unknown && now >= unknownDeadline)) {
      const seconds = Math.round((now - started) / 1000);
      const what = unknown
        ? `nothing was written to s3://${ref.bucket}/${state.jobFolder}/ (was the submit file uploaded to ${ref.group}/submissions/, and does the analysis serve the group "${ref.group}"?)`
        : `it is still running (no ${endMarkerKey(state.jobFolder)} yet); \`neurocaas status --watch\` follows it further`;
      throw new Error(`gave up waiting for job ${ref.job} after ${seconds} s: ${what}`);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(interval, deadline - now, unknown ? unknownDeadline - now : Infinity))));
  }
}
