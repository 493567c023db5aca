/**
 * The S3 key layout of one analysis bucket (SPEC.md §1). Pure functions only: every part of the
 * project (job manager, monitor, local mode, CLI, IAE workflow) derives keys from here.
 */

export const GROUP_FOLDERS = ["inputs", "configs", "submissions", "results"] as const;
export type GroupFolder = (typeof GROUP_FOLDERS)[number];

export const END_MARKER_BODY = "end of analysis marker";
export const ACTIVE_LOG_PREFIX = "logs/active/";

/** `{group}/{folder}/` placeholder keys created when a group is added. */
export function groupFolderKeys(group: string): string[] {
  return GROUP_FOLDERS.map((f) => `${group}/${f}/`);
}

/** `job__{bucket}_{timestamp}` (two underscores; analysis images depend on it). */
export function jobFolderName(bucket: string, timestamp: string): string {
  return `job__${bucket}_${timestamp}`;
}

/** `{group}/results/job__{bucket}_{timestamp}` without trailing slash. */
export function jobFolderKey(group: string, bucket: string, timestamp: string): string {
  return `${group}/results/${jobFolderName(bucket, timestamp)}`;
}

/**
 * Where a submission whose timestamp is already taken is reported (the existing job folder is
 * never touched): a sibling named after the first 8 hex digits of the submit file's SHA-256.
 */
export function rejectedJobFolder(jobFolder: string, submitDigest: string): string {
  return `${jobFolder}_rejected-${submitDigest.slice(0, 8)}`;
}

export function certificateKey(jobFolder: string): string {
  return `${jobFolder}/logs/certificate.txt`;
}

export function datasetStatusKey(jobFolder: string, datasetKey: string): string {
  return `${jobFolder}/logs/DATASET_NAME:${basename(datasetKey)}_STATUS.txt`;
}

export function endMarkerKey(jobFolder: string): string {
  return `${jobFolder}/process_results/end.txt`;
}

export function updateMarkerKey(jobFolder: string): string {
  return `${jobFolder}/process_results/update.txt`;
}

export function processResultsPrefix(jobFolder: string): string {
  return `${jobFolder}/process_results/`;
}

export function internalLogsPrefix(jobFolder: string): string {
  return `${jobFolder}/internal_ec2_logs/`;
}

export function activeCostLogKey(instanceId: string): string {
  return `${ACTIVE_LOG_PREFIX}${instanceId}.json`;
}

export function finishedCostLogKey(group: string, instanceId: string): string {
  return `logs/${group}/${instanceId}.json`;
}

/** Last path component of a key; for a folder key (`a/b/`) the folder name. */
export function basename(key: string): string {
  const trimmed = key.endsWith("/") ? key.slice(0, -1) : key;
  const i = trimmed.lastIndexOf("/");
  return i === -1 ? trimmed : trimmed.slice(i + 1);
}

/**
 * The group of a submit key: the part before the first `/submissions/` (or `/results/` for
 * analyses whose affiliates have `UserInput: false`). Returns undefined when the key has none.
 */
export function groupOfKey(key: string, folder: "submissions" | "results" = "submissions"): string | undefined {
  const marker = `/${folder}/`;
  const i = key.indexOf(marker);
  if (i <= 0) return undefined;
  return key.slice(0, i);
}

/** Decode an S3 event key exactly once (`+` is a space, then percent-decoding). */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, " "));
}

/** Encode a key the way S3 event notifications do (inverse of `decodeEventKey`). */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, "+").replace(/%2F/g, "/");
}
