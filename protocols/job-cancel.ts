/**
 * Cancel (SPEC §11): a submit file `{"cancel": "<timestamp>"}` in a group's `submissions/` stops
 * that group's job. The request is recorded in the job record first (`cancel`), so whoever holds
 * the job at that moment (its job manager, a queue drain) sees it and stops too; then its queue
 * entry and reservation go, its IAEs are terminated, its status files and certificate say
 * CANCELLED / `cancelled by user`, and end.txt is written (by the monitor once the last IAE has
 * ended and its spend is accounted; here when none was running). Every step is repeatable:
 * cancelling twice, or a redelivered request, changes nothing more.
 */
import { IAE_TAGS, tagValue } from "./compute";
import { UNCHANGED, updateJson } from "./conditional-update";
import { finishJobIfDone } from "./completion";
import { limitsOf, type ProtocolDeps } from "./deps";
import { JobError } from "./errors";
import { transitionJob } from "./job-files";
import { closeWaitingJob } from "./job-queue";
import { jobMembers, jobRecordKey, parseJobRecord, type JobRecord } from "./job-record";
import { endMarkerKey, jobFolderName } from "../model/layout";
import { defaultInvocation, leaseLive } from "./lease";
import { formatIsoSeconds } from "./time-format";

export const CANCELLED_BY_USER = "cancelled by user";

export interface CancelOutcome {
  readonly outputBucket: string;
  readonly jobFolder: string;
  /** What happened, in words (also in the job's certificate). */
  readonly summary: string;
  readonly instanceIds: readonly string[];
}

/** The setup line a cancelled job's certificate gets. */
function cancelLine(requestKey: string, at: Date): string {
  return `[Job Manager] Job ${CANCELLED_BY_USER} (request ${requestKey} at ${formatIsoSeconds(at)}): queued launches dropped, its IAEs terminated; spend is accounted up to their termination.`;
}

/**
 * Cancel the job `timestamp` of `group`. Throws a JobError when the group has no such job (another
 * group's jobs are not this group's to name: same answer), or when it had already ended.
 */
export async function cancelJob(
  deps: ProtocolDeps,
  group: string,
  timestamp: string,
  requestKey: string,
): Promise<CancelOutcome> {
  const bucket = deps.config.bucketName;
  const jobName = jobFolderName(deps.config.analysisName, timestamp);
  const recordKey = jobRecordKey(group, jobName);
  const invocation = deps.invocation ?? defaultInvocation(deps.clock.now());
  const now = deps.clock.now();
  const existing = await deps.store.get(bucket, recordKey);
  if (!existing)
    throw new JobError(
      `There is no job with timestamp ${JSON.stringify(timestamp)} (${jobName}) in group ${group}'s jobs of this analysis, so nothing was cancelled. Check the timestamp (neurocaas status lists your jobs).`,
    );
  const args = {
    store: deps.store,
    bucket,
    key: recordKey,
    attempts: limitsOf(deps).conditionalWriteAttempts,
    sleep: deps.clock.sleep,
  };
  const before = parseJobRecord(existing.body);
  if (!before || before.group !== group)
    throw new JobError(
      `There is no job with timestamp ${JSON.stringify(timestamp)} in group ${group}'s jobs of this analysis; nothing was cancelled.`,
    );
  if (before.state === "rejected" || before.state === "failed") {
    throw new JobError(
      `Job ${jobName} had already ended (${before.state === "rejected" ? "rejected" : "failed"}) before the cancel request; nothing was cancelled.`,
    );
  }
  if (!before.cancel && (await deps.store.exists(before.outputBucket, endMarkerKey(before.jobFolder)))) {
    throw new JobError(
      `Job ${jobName} had already finished (end.txt is written) before the cancel request; nothing was cancelled.`,
    );
  }
  // 1. Record the request: the holder of a job still being started sees it and stops.
  const marked = await updateJson<JobRecord>(args, (r) => {
    if (!r || r.cancel || r.state === "rejected" || r.state === "failed") return UNCHANGED;
    const held = (r.state === "claimed" || r.state === "launching") && leaseLive(r.lease, invocation, now);
    return {
      ...r,
      cancel: { requestedAt: now.toISOString(), request: requestKey },
      state: held ? r.state : "cancelled",
      updated: now.toISOString(),
    };
  });
  const record = marked.value as JobRecord;
  const at = record.cancel ? new Date(record.cancel.requestedAt) : now;
  const line = cancelLine(record.cancel?.request ?? requestKey, at);
  const reason = `The job was ${CANCELLED_BY_USER} (${record.cancel?.request ?? requestKey}).`;
  // 2. A job still waiting: out of the queue, reservation released, end.txt (nothing ran).
  const ids = jobMembers(record).ids;
  const alive = (
    await deps.compute.listRunning({
      tags: { [IAE_TAGS.analysis]: deps.config.analysisName, [IAE_TAGS.job]: tagValue(record.jobName) },
    })
  )
    .filter((i) => i.tags[IAE_TAGS.group] === group)
    .map((i) => i.instanceId);
  const targets = [...new Set([...ids, ...alive])];
  // 3. Files first (a final status is never changed; the monitor keeps CANCELLED when the IAEs end).
  await transitionJob(deps, record, { status: "CANCELLED", reason, lastCommand: CANCELLED_BY_USER }, [line]);
  if (record.queue && ids.length === 0 && record.state === "cancelled") {
    await closeWaitingJob(deps, record, recordKey, {
      status: "CANCELLED",
      reason,
      lastCommand: CANCELLED_BY_USER,
      lines: [line],
    });
  }
  // 4. IAEs terminated; the monitor accounts each end and writes end.txt after the last one.
  if (targets.length > 0) await deps.compute.terminate(targets);
  if (record.state === "cancelled") await finishJobIfDone(deps, invocation, record, recordKey);
  deps.log?.(`cancel: ${jobName} of ${group}: ${targets.length} IAE(s) terminated`);
  return {
    outputBucket: record.outputBucket,
    jobFolder: record.jobFolder,
    summary: marked.written
      ? `Job ${jobName} ${CANCELLED_BY_USER}; ${targets.length} IAE(s) terminated.`
      : `Job ${jobName} was already cancelled; nothing more to do.`,
    instanceIds: targets,
  };
}

/**
 * The holder of a job (its job manager or a queue drain) finds a cancel request recorded while it
 * worked: whatever it started is terminated and the job's files say so.
 */
export async function stopCancelledJob(
  deps: ProtocolDeps,
  record: JobRecord,
  recordKey: string,
  started: readonly string[],
): Promise<void> {
  if (!record.cancel) return;
  const line = cancelLine(record.cancel.request, new Date(record.cancel.requestedAt));
  const reason = `The job was ${CANCELLED_BY_USER} (${record.cancel.request}).`;
  await transitionJob(deps, record, { status: "CANCELLED", reason, lastCommand: CANCELLED_BY_USER }, [line]);
  if (started.length > 0) await deps.compute.terminate(started);
  await finishJobIfDone(deps, deps.invocation ?? defaultInvocation(deps.clock.now()), record, recordKey);
}
