import { createHash } from "node:crypto";

/**
 * The job record `logs/_jobs/{group}/{jobName}.json` in the analysis bucket: the claim that makes
 * one submission start exactly one job (created with `If-None-Match: *`), then the job's state.
 * Users never see `logs/`.
 */
export interface JobRecord {
  readonly version: 1;
  /** Identity of the submission that owns this job. */
  readonly submission: { readonly bucket: string; readonly key: string; readonly sha256: string };
  readonly group: string;
  readonly jobName: string;
  /** Bucket and key prefix (no trailing slash) of the job folder. */
  readonly outputBucket: string;
  readonly jobFolder: string;
  readonly state: "claimed" | "started" | "rejected" | "failed";
  readonly exitCode?: 0 | 99;
  /** Config key (in `inputBucket`) and input bucket, once validated; post-processing reuses them. */
  readonly configKey?: string;
  readonly inputBucket?: string;
  readonly instances: readonly { readonly instanceId: string; readonly dataset: string; readonly index: number }[];
  readonly created: string;
  readonly updated: string;
}

export function jobRecordKey(group: string, jobName: string): string {
  return `logs/_jobs/${group}/${jobName}.json`;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf-8").digest("hex");
}

export function sameSubmission(record: JobRecord, bucket: string, key: string, digest: string): boolean {
  return record.submission.bucket === bucket && record.submission.key === key && record.submission.sha256 === digest;
}
