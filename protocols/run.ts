/**
 * Injectable entry points: the Lambda handlers (handlers/*.ts) call these with AWS adapters,
 * local mode calls them with a local S3 endpoint and a local ComputeBackend.
 */
import type { GuardDeps, ProtocolDeps } from "./deps";
import { sweepAccount, type GuardDecision } from "./guard";
import { decodeEventKey } from "./layout";
import { monitorInstance, type Ec2StateChangeEvent, type MonitorOutcome } from "./monitor";
import { postProcessObject, type PostProcessOutcome } from "./postprocess";
import { createSubmission } from "./protocol-registry";
import { recordSubmissionSpend, refreshSpendSummaryQuietly } from "./spend-summary-writer";
import type { JobOutcome } from "./submission";

export type { Ec2StateChangeEvent, MonitorOutcome } from "./monitor";
export type { JobOutcome } from "./submission";
export type { PostProcessOutcome } from "./postprocess";
export type { GuardDecision } from "./guard";

/** An S3 event notification as Lambda receives it (keys URL-encoded). */
export interface S3NotificationEvent {
  readonly Records?: readonly {
    readonly eventName?: string;
    readonly s3: {
      readonly bucket: { readonly name: string };
      /** `versionId` (versioned buckets) and `sequencer` tell one upload of a key from the next. */
      readonly object: { readonly key: string; readonly versionId?: string; readonly sequencer?: string };
    };
  }[];
}

export interface SubmitReport {
  /** 0 when every submit file started a job (or was a repeat of one that did), else 99. */
  readonly exitCode: 0 | 99;
  readonly jobs: readonly JobOutcome[];
}

/** Job manager: one job per `*submit.json` record of the event. */
export async function runSubmit(event: S3NotificationEvent, deps: ProtocolDeps): Promise<SubmitReport> {
  const records = (event.Records ?? []).filter((r) => r.eventName === undefined || r.eventName.startsWith("ObjectCreated"));
  const jobs: JobOutcome[] = [];
  for (const r of records) {
    const key = safeDecode(r.s3.object.key);
    const upload = r.s3.object.versionId || r.s3.object.sequencer || undefined;
    const outcome = await createSubmission(deps, { bucket: r.s3.bucket.name, key, ...(upload ? { upload: String(upload) } : {}) }).run();
    jobs.push(outcome);
    await refreshAfterSubmission(deps, outcome);
  }
  const exitCode = jobs.length > 0 && jobs.every((j) => j.exitCode === 0) ? 0 : 99;
  return { exitCode, jobs };
}

/** Monitor: one EC2 state change. */
export async function runMonitor(event: Ec2StateChangeEvent, deps: ProtocolDeps): Promise<MonitorOutcome> {
  const outcome = await monitorInstance(event, deps);
  if (outcome.action === "finished" && outcome.costLog) {
    const log = outcome.costLog;
    // Bypass jobs keep their folder elsewhere, but their spend is the submitting group's.
    await refreshSpendSummaryQuietly(deps, { group: log.group ?? log.jobpath.split("/")[0], readBudget: false, finished: log });
  }
  return outcome;
}

/** The group's spend summary after a submission that reached the budget check (accepted or rejected). */
async function refreshAfterSubmission(deps: ProtocolDeps, outcome: JobOutcome): Promise<void> {
  if (outcome.spend && !outcome.duplicate) await recordSubmissionSpend(deps, outcome.spend, outcome.exitCode === 0 && outcome.instanceIds.length > 0);
}

/** Post-processing: one outcome per created object of the event. */
export async function runPostProcess(event: S3NotificationEvent, deps: ProtocolDeps): Promise<readonly PostProcessOutcome[]> {
  const out: PostProcessOutcome[] = [];
  for (const r of event.Records ?? []) {
    if (r.eventName !== undefined && !r.eventName.startsWith("ObjectCreated")) continue;
    out.push(await postProcessObject(r.s3.bucket.name, safeDecode(r.s3.object.key), deps));
  }
  return out;
}

/** Account guard sweep (scheduled; the event content is not used). */
export async function runGuard(_event: unknown, deps: GuardDeps): Promise<readonly GuardDecision[]> {
  return sweepAccount(deps);
}

function safeDecode(key: string): string {
  try {
    return decodeEventKey(key);
  } catch {
    // A malformed escape: keep the raw key; validation will name it.
    return key;
  }
}
