/**
 * The S3 key layout of one analysis bucket (SPEC.md §1). Pure functions only: every part of the
 * project (job manager, monitor, local mode, CLI, IAE workflow) derives keys from here.
 */
import { createHash } from "node:crypto";

const GROUP_FOLDERS = ["inputs", "configs", "submissions", "results"] as const;

export const END_MARKER_BODY = "end of analysis marker";
export const ACTIVE_LOG_PREFIX = "logs/active/";

/** Job folder names start with it (`job__{analysis}_{timestamp}`). */
export const JOB_FOLDER_PREFIX = "job__";

/** Top-level names the layout uses for something else: never a group's folder. */
export const RESERVED_GROUP_NAMES: readonly string[] = ["logs", ...GROUP_FOLDERS];

/**
 * Whether a name can never be a group: `logs`, a group folder's name, or a job folder's prefix.
 * The platform roles' IAM Denies rely on it (components/iam/policies.ts, platformWriteDenies).
 */
export function isReservedGroupName(name: string): boolean {
  return RESERVED_GROUP_NAMES.includes(name) || name.startsWith(JOB_FOLDER_PREFIX);
}

/** `{group}/{folder}/` placeholder keys created when a group is added. */
export function groupFolderKeys(group: string): string[] {
  return GROUP_FOLDERS.map((f) => `${group}/${f}/`);
}

/**
 * `job__{analysis}_{timestamp}` (two underscores; analysis images depend on it). The analysis is
 * the blueprint's PipelineName, which is also the bucket's name unless the stack sets
 * `neurocaas:bucketName`. Analysis names have no `_`: the first `_` after the prefix ends it.
 */
export function jobFolderName(analysis: string, timestamp: string): string {
  return `${JOB_FOLDER_PREFIX}${analysis}_${timestamp}`;
}

/** `{group}/results/job__{analysis}_{timestamp}` without trailing slash. */
export function jobFolderKey(group: string, analysis: string, timestamp: string): string {
  return `${group}/results/${jobFolderName(analysis, timestamp)}`;
}

/** The prefix every job folder of a group has (`{group}/results/job__`). */
export function jobFoldersPrefix(group: string): string {
  return `${group}/results/${JOB_FOLDER_PREFIX}`;
}

/**
 * The prefix of the folders where submissions rejected at step 1 are reported (a real job's
 * folder is never touched): `{jobFolder}_rejected-{first 8 hex digits of the submit file's
 * SHA-256}`, followed by `-{id of the upload}` so that every rejected upload has its own. Without
 * a digest, the prefix of every rejection of that job folder.
 */
export function rejectedJobFolder(jobFolder: string, submitDigest = ""): string {
  return `${jobFolder}_rejected-${submitDigest.slice(0, 8)}`;
}

export function certificateKey(jobFolder: string): string {
  return `${jobFolder}/logs/certificate.txt`;
}

/**
 * Longest file name (bytes) derived from a key: local file systems allow 255 bytes per name,
 * s3rver stores an object as `{name}._S3rver_metadata.json` (+22) and atomic local writes add a
 * temporary suffix (about +26). S3 itself allows 1,024-byte keys, so a valid dataset key can be
 * longer than any file name built from it.
 */
export const MAX_DERIVED_NAME_BYTES = 200;

/**
 * `name` when it fits in `maxBytes` (UTF-8); else its head, `~`, and 12 hex digits of its SHA-256,
 * keeping `keepTail` (e.g. an extension) — distinct names stay distinct.
 */
export function boundedName(name: string, maxBytes = MAX_DERIVED_NAME_BYTES, keepTail = ""): string {
  if (Buffer.byteLength(name + keepTail) <= maxBytes) return name + keepTail;
  const mark = `~${createHash("sha256").update(name, "utf-8").digest("hex").slice(0, 12)}`;
  return `${truncateUtf8(name, maxBytes - Buffer.byteLength(mark + keepTail))}${mark}${keepTail}`;
}

/** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes that does not split a character. */
function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let out = "";
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) break;
    bytes += n;
    out += ch;
  }
  return out;
}

/**
 * The ensemble member a status file or certificate line belongs to (`jobnb`, 1-based), or
 * undefined for an ordinary one-IAE-per-dataset job.
 */
export type EnsembleMember = number | undefined;

/**
 * `DATASET_NAME:{basename}_STATUS.txt` (ensemble member i: `…_inst{i}_STATUS.txt`, like its config
 * copy `…inst{i}config.json`), bounded to MAX_DERIVED_NAME_BYTES for very long basenames.
 */
export function datasetStatusFileName(datasetKey: string, member?: EnsembleMember): string {
  const tail = `${member !== undefined ? `_inst${member}` : ""}_STATUS.txt`;
  return `DATASET_NAME:${boundedName(basename(datasetKey), MAX_DERIVED_NAME_BYTES - Buffer.byteLength("DATASET_NAME:" + tail))}${tail}`;
}

export function datasetStatusKey(jobFolder: string, datasetKey: string, member?: EnsembleMember): string {
  return `${jobFolder}/logs/${datasetStatusFileName(datasetKey, member)}`;
}

/** `{folder}/{jobName}inst{i}config.json`: the config copy of ensemble member i (SPEC 4.8). */
export function ensembleConfigKey(folder: string, jobName: string, member: number): string {
  return `${folder}/${jobName}inst${member}config.json`;
}

/**
 * The ensemble member an IAE runs, from its config key (placeholder 4: the platform's config copy
 * `job__…inst{i}config.json`) and, when known, the config's own `"jobnb": i`, which must agree.
 * Undefined for an ordinary job.
 */
export function ensembleMemberOf(configKey: string, config?: Readonly<Record<string, unknown>>): EnsembleMember {
  const m = /^job__.*inst([1-9][0-9]*)config\.json$/.exec(basename(configKey));
  if (!m) return undefined;
  const member = Number(m[1]);
  if (config !== undefined && config.jobnb !== member) return undefined;
  return member;
}

/** The DATANAME of a dataset's certificate line: the dataset key, and for ensemble member i ` (inst{i})`. */
export function datasetLineName(datasetKey: string, member?: EnsembleMember): string {
  return member === undefined ? datasetKey : `${datasetKey} (inst${member})`;
}

export function endMarkerKey(jobFolder: string): string {
  return `${jobFolder}/process_results/end.txt`;
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
