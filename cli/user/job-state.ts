import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { isStoppedByJobManager, terminateReasons } from "../../protocols/certificate";
import { reasonText } from "../../protocols/dataset-status";
import { datasetState, STATUS_FILE, type DatasetState } from "../../protocols/job-view";
import { endMarkerKey, jobFolderKey, jobFoldersPrefix, certificateKey, rejectedJobFolder } from "../../model/layout";
import { isNoSuchKey, listKeys } from "../transfer";

export { datasetState };

/** What a user can learn about one job from storage. */
export interface JobRef {
  readonly bucket: string;
  readonly group: string;
  readonly job: string;
  /**
   * The analysis name (PipelineName) in the job folder's name `job__{analysis}_{job}`, when known.
   * Otherwise it is learnt from the group's results folder (`jobFolderOf`): it is the bucket's
   * name unless the stack named the bucket apart (`neurocaas:bucketName`).
   */
  readonly analysis?: string;
  /**
   * SHA-256 of the submit file this client uploaded, when known: a submission rejected at step 1
   * (e.g. its timestamp is already taken) is reported in a sibling folder named after it.
   */
  readonly submitDigest?: string;
}

export interface JobState {
  /** The analysis name the job folder was found under (see `JobRef.analysis`). */
  readonly analysis: string;
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

async function readText(client: S3Client, bucket: string, key: string): Promise<string | undefined> {
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
async function exists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
  return page.Contents?.[0]?.Key === key;
}

/**
 * The analysis names of the job folders in a group's results folder: one listing of
 * `{group}/results/job__` with delimiter `_` (analysis names have no `_`), which a user's own-group
 * listing permission allows. Usually one name; none before the group's first job.
 */
async function analysisNamesIn(client: S3Client, bucket: string, group: string): Promise<string[]> {
  const prefix = jobFoldersPrefix(group);
  const names = new Set<string>();
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: "_", ContinuationToken: token }),
    );
    for (const p of page.CommonPrefixes ?? []) {
      const name = p.Prefix?.slice(prefix.length, -1);
      if (name) names.add(name);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return [...names].sort();
}

/**
 * The analysis name of a job: as given, else the one name the group's job folders carry, else
 * (several, e.g. a bucket adopted from another deployment) the one with a folder of this job —
 * any of its rejection folders counts. Undefined when no folder shows it yet.
 */
async function analysisOfJob(client: S3Client, ref: JobRef): Promise<string | undefined> {
  if (ref.analysis !== undefined) return ref.analysis;
  const names = await analysisNamesIn(client, ref.bucket, ref.group);
  if (names.length <= 1) return names[0];
  for (const name of names) {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: ref.bucket, Prefix: jobFolderKey(ref.group, name, ref.job), MaxKeys: 1 }),
    );
    if ((page.Contents ?? []).length > 0) return name;
  }
  return undefined;
}

/**
 * The job's own folder `{group}/results/job__{analysis}_{job}` and its analysis name. Until a folder
 * shows the analysis name, where a stack without `neurocaas:bucketName` puts it (the bucket's name).
 */
export async function ownJobFolder(client: S3Client, ref: JobRef): Promise<{ analysis: string; folder: string }> {
  const analysis = (await analysisOfJob(client, ref)) ?? ref.bucket;
  return { analysis, folder: jobFolderKey(ref.group, analysis, ref.job) };
}

export async function readJobState(client: S3Client, ref: JobRef): Promise<JobState> {
  const { analysis, folder: own } = await ownJobFolder(client, ref);
  // A submission rejected at step 1 is reported beside the job folder, never in it. Knowing what
  // was uploaded identifies its own rejection; otherwise a rejection counts when the job folder
  // itself has no certificate. Read only what is listed (a missing key is 403 for users, see `exists`).
  const rejection = await newestRejection(client, ref.bucket, rejectedJobFolder(own, ref.submitDigest));
  const jobFolder =
    rejection !== undefined &&
    (ref.submitDigest !== undefined || !(await exists(client, ref.bucket, certificateKey(own))))
      ? rejection
      : own;
  const [finished, logKeys] = await Promise.all([
    exists(client, ref.bucket, endMarkerKey(jobFolder)),
    listKeys(client, ref.bucket, `${jobFolder}/logs/`),
  ]);
  const certificate = logKeys.includes(certificateKey(jobFolder))
    ? await readText(client, ref.bucket, certificateKey(jobFolder))
    : undefined;
  const datasets: DatasetState[] = [];
  for (const key of logKeys.filter((k) => STATUS_FILE.test(k)).sort()) {
    const text = await readText(client, ref.bucket, key);
    if (text !== undefined) datasets.push(datasetState(key.slice(key.lastIndexOf("/") + 1), text));
  }
  return {
    analysis,
    jobFolder,
    certificate,
    datasets,
    finished,
    rejected: isStoppedByJobManager(certificate),
    terminateReasons: terminateReasons(certificate),
  };
}

/** The folder under `prefix` whose certificate was written last, if any. */
async function newestRejection(client: S3Client, bucket: string, prefix: string): Promise<string | undefined> {
  const suffix = `/${certificateKey("").slice(1)}`;
  let newest: { folder: string; at: number } | undefined;
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
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

const DEFAULT_UNKNOWN_JOB_GRACE_MS = 10 * 60_000;

/** Poll until the job is over (end.txt, or stopped by the job manager); returns the final state. */
export async function waitForJob(client: S3Client, ref: JobRef, args: WaitArgs = {}): Promise<JobState> {
  const interval = args.intervalMs ?? 2000;
  const started = Date.now();
  const deadline = args.timeoutMs === undefined ? Infinity : started + args.timeoutMs;
  const unknownDeadline = started + (args.unknownJobGraceMs ?? DEFAULT_UNKNOWN_JOB_GRACE_MS);
  let pinned = ref;
  for (;;) {
    const state = await readJobState(client, pinned);
    // Once the job's folder exists, its analysis name is known: no need to learn it again.
    if (!jobIsUnknown(state)) pinned = { ...pinned, analysis: state.analysis };
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
    await new Promise((r) =>
      setTimeout(r, Math.max(0, Math.min(interval, deadline - now, unknown ? unknownDeadline - now : Infinity))),
    );
  }
}
