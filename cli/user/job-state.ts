import { GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { endMarkerKey, jobFolderKey, certificateKey } from "../../protocols/layout";
import { listKeys } from "./transfer";

/** What a user can learn about one job from storage. */
export interface JobRef {
  readonly bucket: string;
  readonly group: string;
  readonly job: string;
}

export interface DatasetState {
  readonly file: string;
  readonly input?: string;
  readonly status?: string;
  readonly reason?: unknown;
  readonly body: Record<string, unknown>;
}

export interface JobState {
  readonly jobFolder: string;
  /** Undefined until the job manager has written it. */
  readonly certificate?: string;
  readonly datasets: readonly DatasetState[];
  /** `process_results/end.txt` exists: nothing more will happen to this job. */
  readonly finished: boolean;
}

const STATUS_FILE = /\/logs\/DATASET_NAME:(.*)_STATUS\.txt$/;

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

export async function readText(client: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await res.Body!.transformToString("utf-8");
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function exists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Parse a dataset status file (JSON despite `.txt`); a file caught mid-write reads as unparsed. */
export function parseDatasetStatus(file: string, text: string): DatasetState {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    body = { unparsed: text };
  }
  return {
    file,
    input: typeof body.input === "string" ? body.input : undefined,
    status: typeof body.status === "string" ? body.status : undefined,
    reason: body.reason,
    body,
  };
}

export async function readJobState(client: S3Client, ref: JobRef): Promise<JobState> {
  const jobFolder = jobFolderKey(ref.group, ref.bucket, ref.job);
  const [certificate, finished, logKeys] = await Promise.all([
    readText(client, ref.bucket, certificateKey(jobFolder)),
    exists(client, ref.bucket, endMarkerKey(jobFolder)),
    listKeys(client, ref.bucket, `${jobFolder}/logs/`),
  ]);
  const datasets: DatasetState[] = [];
  for (const key of logKeys.filter((k) => STATUS_FILE.test(k)).sort()) {
    const text = await readText(client, ref.bucket, key);
    if (text !== undefined) datasets.push(parseDatasetStatus(key.slice(key.lastIndexOf("/") + 1), text));
  }
  return { jobFolder, certificate, datasets, finished };
}

/** A status file's `reason` (a list of lines, or text in older files) as one line. */
export function reasonText(reason: unknown): string {
  if (reason === undefined || reason === null) return "";
  if (Array.isArray(reason)) return reason.filter((r) => r !== "").map(String).join("; ");
  return typeof reason === "string" ? reason : JSON.stringify(reason);
}

/** Human-readable report: the certificate followed by one line per dataset. */
export function formatJobState(ref: JobRef, state: JobState): string {
  const lines = [`job ${ref.job} in s3://${ref.bucket}/${state.jobFolder}/ — ${state.finished ? "finished (end.txt present)" : "not finished"}`];
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
  /** Give up after this long (undefined: wait forever). */
  readonly timeoutMs?: number;
  readonly onPoll?: (state: JobState) => void;
}

/** Poll until end.txt exists; returns the final state. */
export async function waitForJob(client: S3Client, ref: JobRef, args: WaitArgs = {}): Promise<JobState> {
  const interval = args.intervalMs ?? 2000;
  const deadline = args.timeoutMs === undefined ? Infinity : Date.now() + args.timeoutMs;
  for (;;) {
    const state = await readJobState(client, ref);
    args.onPoll?.(state);
    if (state.finished) return state;
    if (Date.now() + interval > deadline) {
      throw new Error(`job ${ref.job} did not finish within ${Math.round((args.timeoutMs ?? 0) / 1000)} s (no ${endMarkerKey(state.jobFolder)})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
