import { createHash } from "node:crypto";
import type { CostLog } from "../model/cost-log";
import type { EnsembleMember } from "../model/layout";
import type { Lease } from "./lease";

/** What makes two deliveries the same submission: where, what, and which upload of it. */
export interface SubmissionIdentity {
  readonly bucket: string;
  readonly key: string;
  readonly sha256: string;
  /**
   * The upload that triggered the job (S3 event `versionId`, else `sequencer`): a redelivered
   * event carries the same value, a new upload of the same text another one. Absent when the event
   * did not say (then identical text counts as the same submission).
   */
  readonly upload?: string;
}

/** One IAE the job manager planned, as the write-ahead launch record keeps it. */
export interface PlannedIae {
  /** Position in the certificate's monitoring block. */
  readonly index: number;
  /** Dataset key in the input bucket (placeholder 2). */
  readonly dataset: string;
  /** Config key in the input bucket (placeholder 4). */
  readonly configKey: string;
  readonly command: string;
  /** Ensemble member (`jobnb`, 1-based). */
  readonly member?: EnsembleMember;
}

/** Cost-log fields every IAE of a job shares (see `costLogFor`). */
export interface IaeCommon {
  /** On-demand USD per hour (spot IAEs are recorded at this upper bound). */
  readonly price: number;
  readonly databucket: string;
  readonly jobpath: string;
  readonly resultbucket: string;
  readonly group: string;
  readonly analysis: string;
  readonly jobrecord: string;
  readonly workingdirectory: string;
  readonly ssmtimeout: number;
  /** `__duration__` minutes (the Timeout tag). */
  readonly timeout: number;
}

/** One launch call: written before the call is made, its instance ids as soon as it returns. */
export interface LaunchBatchRecord {
  /** The launch's idempotency token: instances started by it carry it (`IaeDescription.launchToken`). */
  readonly token: string;
  /** Plans in launch order: the instance with launch index i runs plans[i]. */
  readonly plans: readonly PlannedIae[];
  /** Instance ids in plan order, once the launch returned. */
  readonly instanceIds?: readonly string[];
}

/** The write-ahead record of step 4: enough to find, describe and account every IAE of the job. */
export interface LaunchRecord {
  readonly common: IaeCommon;
  readonly batches: readonly LaunchBatchRecord[];
}

/**
 * The job record `logs/_jobs/{group}/{jobName}.json` in the analysis bucket: the claim that makes
 * one submission start exactly one job (created with `If-None-Match: *`), then the job's state.
 * Users never see `logs/`.
 */
export interface JobRecord {
  readonly version: 1;
  /** Identity of the submission that owns this job. */
  readonly submission: SubmissionIdentity;
  readonly group: string;
  readonly jobName: string;
  /** Bucket and key prefix (no trailing slash) of the job folder. */
  readonly outputBucket: string;
  readonly jobFolder: string;
  /** claimed → launching (write-ahead launch record written) → started; or rejected / failed. */
  readonly state: "claimed" | "launching" | "started" | "rejected" | "failed";
  /** Who works on the job while it is claimed or launching; taken over once the holder is gone. */
  readonly lease?: Lease;
  readonly exitCode?: 0 | 99;
  /** Config key (in `inputBucket`) and input bucket, once validated; post-processing reuses them. */
  readonly configKey?: string;
  readonly inputBucket?: string;
  readonly launch?: LaunchRecord;
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

/** Same submit file, same text, and (when both deliveries name it) the same upload. */
export function sameSubmission(record: JobRecord, identity: SubmissionIdentity): boolean {
  const s = record.submission;
  if (s.bucket !== identity.bucket || s.key !== identity.key || s.sha256 !== identity.sha256) return false;
  return s.upload === undefined || identity.upload === undefined || s.upload === identity.upload;
}

/** A job record from its text; undefined for anything that is not one. */
export function parseJobRecord(body: string): JobRecord | undefined {
  try {
    const r = JSON.parse(body) as JobRecord;
    return typeof r === "object" && r !== null && typeof r.submission === "object" && r.submission !== null && Array.isArray(r.instances) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Which plan an instance runs: from the recorded ids, else from its launch token and launch index. */
export function planOfInstance(record: JobRecord, instance: { readonly instanceId: string; readonly launchToken?: string; readonly launchIndex?: number }): PlannedIae | undefined {
  for (const batch of record.launch?.batches ?? []) {
    const at = batch.instanceIds?.indexOf(instance.instanceId) ?? -1;
    if (at >= 0) return batch.plans[at];
  }
  if (instance.launchToken === undefined || instance.launchIndex === undefined) return undefined;
  const batch = record.launch?.batches.find((b) => b.token === instance.launchToken);
  // Recorded ids are authoritative: an instance they do not list is not this plan's.
  if (!batch || batch.instanceIds !== undefined) return undefined;
  return batch.plans[instance.launchIndex];
}

/**
 * The IAEs of a job known so far, and whether that is all of them: a launch call written ahead
 * whose instances are not recorded yet may have started more.
 */
export function jobMembers(record: JobRecord): { readonly ids: readonly string[]; readonly complete: boolean } {
  if (!record.launch) return { ids: record.instances.map((i) => i.instanceId), complete: true };
  const ids = new Set(record.instances.map((i) => i.instanceId));
  let complete = true;
  for (const batch of record.launch.batches) {
    if (batch.instanceIds === undefined) complete = false;
    for (const id of batch.instanceIds ?? []) ids.add(id);
  }
  return { ids: [...ids], complete };
}

/** An IAE's active cost log from the job's shared fields and its plan. */
export function costLogFor(common: IaeCommon, plan: PlannedIae, iae: { readonly instanceId: string; readonly instanceType: string; readonly spot: boolean }, launched: string): CostLog {
  return {
    "instance-id": iae.instanceId,
    "instance-type": iae.instanceType,
    spot: iae.spot,
    price: common.price,
    databucket: common.databucket,
    datapath: [plan.dataset],
    jobpath: common.jobpath,
    configpath: plan.configKey,
    start: null,
    end: null,
    group: common.group,
    analysis: common.analysis,
    resultbucket: common.resultbucket,
    jobrecord: common.jobrecord,
    datasetindex: plan.index,
    ...(plan.member !== undefined ? { member: plan.member } : {}),
    command: plan.command,
    workingdirectory: common.workingdirectory,
    ssmtimeout: common.ssmtimeout,
    timeout: common.timeout,
    launched,
    commandid: null,
  };
}
