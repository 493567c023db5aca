import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { CANCELLED_BY_USER } from "../../protocols/job-cancel";
import { sha256 } from "../../protocols/job-record";
import { readJobState, type JobRef, type JobState } from "./job-state";
import { validateJobId } from "../../model/job-id";

export interface CancelJobArgs {
  readonly client: S3Client;
  readonly bucket: string;
  readonly group: string;
  /** The job's id (its submit file's timestamp). */
  readonly job: string;
}

export interface CancelRequest {
  readonly submitKey: string;
  /** SHA-256 of the request as uploaded (names the folder of its rejection). */
  readonly submitDigest: string;
}

/** The cancel request's submit file (SPEC §11): uploaded like any submit file, so no new permission. */
function cancelSubmitKey(group: string, job: string): string {
  return `${group}/submissions/cancel_${job}_submit.json`;
}

/** Ask the platform to cancel a job: upload `{"cancel": job}` to the group's submissions/. */
export async function requestCancel(args: CancelJobArgs): Promise<CancelRequest> {
  const job = validateJobId(args.job);
  const body = JSON.stringify({ cancel: job });
  const submitKey = cancelSubmitKey(args.group, job);
  await args.client.send(
    new PutObjectCommand({
      Bucket: args.bucket,
      Key: submitKey,
      Body: Buffer.from(body),
      ContentType: "application/json",
    }),
  );
  return { submitKey, submitDigest: sha256(body) };
}

/** What became of a cancel request so far. */
export type CancelOutcome =
  | { readonly kind: "cancelled"; readonly state: JobState }
  | { readonly kind: "rejected"; readonly reason: string }
  | { readonly kind: "pending" };

/** Whether the job says it was cancelled (a dataset CANCELLED, or the certificate's cancel line). */
function isCancelled(state: JobState): boolean {
  return state.datasets.some((d) => d.status === "CANCELLED") || (state.certificate ?? "").includes(CANCELLED_BY_USER);
}

/** Look once: the job cancelled, the request rejected (its own certificate says why), or not yet. */
async function cancelOutcome(client: S3Client, ref: JobRef, request: CancelRequest): Promise<CancelOutcome> {
  const state = await readJobState(client, ref);
  if (isCancelled(state)) return { kind: "cancelled", state };
  const rejection = await readJobState(client, {
    bucket: ref.bucket,
    group: ref.group,
    job: `cancel-${ref.job}`,
    submitDigest: request.submitDigest,
  });
  if (rejection.rejected) {
    const line = (rejection.certificate ?? "").split("\n").find((l) => l.includes("ERROR."));
    return { kind: "rejected", reason: (line ?? "the cancel request was rejected").replace(/\t \[\+[^\]]*\]$/, "") };
  }
  return { kind: "pending" };
}

/** Poll until the cancel is carried out or rejected (or `timeoutMs` passes: then "pending"). */
export async function waitForCancel(
  client: S3Client,
  ref: JobRef,
  request: CancelRequest,
  opts: { readonly intervalMs?: number; readonly timeoutMs?: number } = {},
): Promise<CancelOutcome> {
  const until = Date.now() + (opts.timeoutMs ?? 120_000);
  for (;;) {
    const outcome = await cancelOutcome(client, ref, request);
    if (outcome.kind !== "pending" || Date.now() >= until) return outcome;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
  }
}
