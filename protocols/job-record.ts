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

/**
 * Everything of a launch request the IAEs of a job share (SPEC 4.5), so that a launch can be made
 * later from the record alone: by the queue's drain, or to replace one IAE (job-retry.ts).
 */
export interface LaunchTemplate {
  readonly imageId: string;
  readonly instanceType: string;
  readonly volumeSizeGb: number;
  /** A "NeuroCAAS Save" job: spot capacity first. */
  readonly spot: boolean;
  /** Tags of every IAE of the job (the per-IAE ones are each batch's `instanceTags`). */
  readonly tags: Readonly<Record<string, string>>;
  readonly instanceProfileArn?: string;
  readonly keyName?: string;
  readonly securityGroupIds: readonly string[];
  readonly subnetIds?: readonly string[];
  readonly shutdownBehavior: "terminate" | "stop";
}

/** One launch call: written before the call is made, its instance ids as soon as it returns. */
export interface LaunchBatchRecord {
  /** The launch's idempotency token: instances started by it carry it (`IaeDescription.launchToken`). */
  readonly token: string;
  /** Plans in launch order: the instance with launch index i runs plans[i]. */
  readonly plans: readonly PlannedIae[];
  /** Instance ids in plan order, once the launch returned. */
  readonly instanceIds?: readonly string[];
  /** Per-IAE tags in plan order (SPEC 4.5: each IAE names its dataset). */
  readonly instanceTags?: readonly Readonly<Record<string, string>>[];
}

/** The write-ahead record of step 4: enough to find, describe and account every IAE of the job. */
export interface LaunchRecord {
  readonly common: IaeCommon;
  readonly batches: readonly LaunchBatchRecord[];
  /** The shared launch parameters (absent in records of older versions: they cannot be queued or retried). */
  readonly template?: LaunchTemplate;
}

/** Why the platform started an IAE again for one plan (job-retry.ts). */
export type RetryKind = "spot-interruption" | "no-command" | "analysis-failure";

/**
 * One replacement IAE, written ahead of its launch call (its token) and completed with its id:
 * a repeated event adopts the instance the token started instead of starting a second one.
 */
export interface RetryRecord {
  /** The plan (its `index`) the replacement runs. */
  readonly index: number;
  readonly kind: RetryKind;
  /** 2 for the first replacement of the plan, and so on. */
  readonly attempt: number;
  /** The IAE it replaces. */
  readonly replaces: string;
  /** The launch's idempotency token. */
  readonly token: string;
  readonly spot: boolean;
  readonly at: string;
  readonly instanceId?: string;
}

/** A job waiting in the analysis' queue (job-queue.ts): why it waits and until when. */
interface QueueRecord {
  readonly queuedAt: string;
  /** After this the job is rejected (MAX_QUEUE_WAIT). */
  readonly deadline: string;
  readonly reason: string;
  /** Its place in the queue when it was queued (1 = next). */
  readonly position: number;
  /** Launches tried for it so far (each with fresh idempotency tokens: a rolled-back launch's cannot be reused). */
  readonly launches: number;
}

/** A user's cancel request (job-cancel.ts). */
export interface CancelRecord {
  readonly requestedAt: string;
  /** The submit file that asked for it. */
  readonly request: string;
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
  /**
   * claimed → launching (write-ahead launch record written) → started; or rejected / failed.
   * A job waiting for capacity: launching → queued → (the queue's drain) launching → started.
   * Cancelled by the user at any point: cancelled.
   */
  readonly state: JobState;
  /** Who works on the job while it is claimed or launching; taken over once the holder is gone. */
  readonly lease?: Lease;
  readonly exitCode?: 0 | 99;
  /** Config key (in `inputBucket`) and input bucket, once validated; post-processing reuses them. */
  readonly configKey?: string;
  readonly inputBucket?: string;
  readonly launch?: LaunchRecord;
  /** Set when the job was queued: the queue's drain (not the job manager) starts it. */
  readonly queue?: QueueRecord;
  /** USD reserved for this job in its group's ledger while it waits (job-budget.ts). */
  readonly reservation?: number;
  /** A user's cancel request (job-cancel.ts): whoever holds the job stops it. */
  readonly cancel?: CancelRecord;
  /** IAEs started again for a plan (job-retry.ts). */
  readonly retries?: readonly RetryRecord[];
  readonly instances: readonly { readonly instanceId: string; readonly dataset: string; readonly index: number }[];
  readonly created: string;
  readonly updated: string;
}

type JobState = "claimed" | "launching" | "queued" | "started" | "rejected" | "failed" | "cancelled";

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
    return typeof r === "object" &&
      r !== null &&
      typeof r.submission === "object" &&
      r.submission !== null &&
      Array.isArray(r.instances)
      ? r
      : undefined;
  } catch {
    return undefined;
  }
}

/** Which plan an instance runs: from the recorded ids, else from its launch token and launch index. */
export function planOfInstance(
  record: JobRecord,
  instance: { readonly instanceId: string; readonly launchToken?: string; readonly launchIndex?: number },
): PlannedIae | undefined {
  const retry = retryOfInstance(record, instance);
  if (retry) return planByIndex(record, retry.index);
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

/** The replacement an instance is, by its recorded id or its launch token. */
function retryOfInstance(
  record: JobRecord,
  instance: { readonly instanceId: string; readonly launchToken?: string },
): RetryRecord | undefined {
  return (record.retries ?? []).find(
    (r) =>
      r.instanceId === instance.instanceId ||
      (r.instanceId === undefined && instance.launchToken !== undefined && r.token === instance.launchToken),
  );
}

/** The plan with this index (its certificate line, dataset, config and command). */
export function planByIndex(record: JobRecord, index: number): PlannedIae | undefined {
  for (const batch of record.launch?.batches ?? [])
    for (const plan of batch.plans) if (plan.index === index) return plan;
  return undefined;
}

/**
 * The IAEs of a job known so far, and whether that is all of them: a launch call written ahead
 * whose instances are not recorded yet may have started more.
 */
export function jobMembers(record: JobRecord): { readonly ids: readonly string[]; readonly complete: boolean } {
  const ids = new Set(record.instances.map((i) => i.instanceId));
  let complete = true;
  for (const batch of record.launch?.batches ?? []) {
    if (batch.instanceIds === undefined) complete = false;
    for (const id of batch.instanceIds ?? []) ids.add(id);
  }
  for (const retry of record.retries ?? []) {
    if (retry.instanceId === undefined) complete = false;
    else ids.add(retry.instanceId);
  }
  return { ids: [...ids], complete };
}

/** An IAE's active cost log from the job's shared fields and its plan. */
export function costLogFor(
  common: IaeCommon,
  plan: PlannedIae,
  iae: { readonly instanceId: string; readonly instanceType: string; readonly spot: boolean },
  launched: string,
  retry?: Pick<RetryRecord, "attempt" | "replaces" | "kind">,
): CostLog {
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
    ...(retry ? { attempt: retry.attempt, replaces: retry.replaces, retry: retry.kind } : {}),
  };
}
