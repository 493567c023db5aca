import { IAE_TAGS, tagValue } from "./compute";
import { appendSetupLines } from "./certificate";
import type { CostLog } from "../model/cost-log";
import { parseJsonObject, UNCHANGED, updateJson, updateObject } from "./conditional-update";
import { limitsOf, type MonitorDeps } from "./deps";
import { jobMembers, type JobRecord } from "./job-record";
import { activeCostLogKey, certificateKey, END_MARKER_BODY, endMarkerKey, finishedCostLogKey } from "../model/layout";
import { leaseLive, type Invocation } from "./lease";
import type { ObjectStore } from "./storage";

/**
 * When a job is over, and who says so (SPEC 4.7, §10.4: every started job ends with end.txt).
 *
 * A job is over when its job manager is done (or provably gone) and none of its IAEs is still
 * active. Both sides check after writing their own part: the job manager after marking the job
 * started, each IAE's monitor after marking its cost log ended. S3 is strongly consistent, so of
 * two writers finishing together at least one sees the other's write, and end.txt is written at
 * least once (it is idempotent). An IAE has ended when its finished cost log exists or its active
 * log carries an `end`.
 */
export async function finishJobIfDone(
  deps: MonitorDeps,
  invocation: Invocation,
  record: JobRecord,
  recordKey: string,
  justEnded?: string,
): Promise<boolean> {
  const now = deps.clock.now();
  const managerBusy =
    (record.state === "claimed" || record.state === "launching") && leaseLive(record.lease, invocation, now);
  if (managerBusy) return false; // it checks again when it is done
  const members = jobMembers(record);
  for (const id of members.ids) {
    if (id === justEnded) continue;
    if (!(await memberEnded(deps, record.group, id))) return false;
  }
  if (!members.complete) {
    // A launch call written ahead whose instances were never recorded: look for them by tags.
    const alive = await deps.compute.listRunning({
      tags: { [IAE_TAGS.analysis]: deps.config.analysisName, [IAE_TAGS.job]: tagValue(record.jobName) },
    });
    if (alive.some((i) => i.instanceId !== justEnded && i.tags[IAE_TAGS.group] === record.group)) return false;
  }
  if (record.state === "claimed" || record.state === "launching")
    await closeAbandonedRecord(deps, invocation, recordKey, record);
  await writeEndMarker(deps.store, record.outputBucket, record.jobFolder);
  return true;
}

/**
 * `process_results/end.txt`: nothing more will happen to the job (clients polling for completion
 * stop waiting). Written only from here: by `finishJobIfDone`, by the job manager rolling back a
 * failed launch, and by the monitor for a job without a record (an older deployment's).
 */
export async function writeEndMarker(store: ObjectStore, bucket: string, jobFolder: string): Promise<void> {
  await store.put(bucket, endMarkerKey(jobFolder), END_MARKER_BODY);
}

async function memberEnded(deps: MonitorDeps, group: string, instanceId: string): Promise<boolean> {
  const bucket = deps.config.bucketName;
  const active = await deps.store.get(bucket, activeCostLogKey(instanceId));
  if (active) return Boolean(parseJsonObject<CostLog>(active.body)?.end);
  // No active log: accounted already, or not yet (its events will come).
  return deps.store.exists(bucket, finishedCostLogKey(group, instanceId));
}

/**
 * The job manager died mid-launch and no attempt resumed it, and every IAE it started has ended:
 * close the record (a late retry must not start the job again) and say so in the certificate.
 */
async function closeAbandonedRecord(
  deps: MonitorDeps,
  invocation: Invocation,
  recordKey: string,
  record: JobRecord,
): Promise<void> {
  const limits = limitsOf(deps);
  const closed = await updateJson<JobRecord>(
    { store: deps.store, bucket: deps.config.bucketName, key: recordKey, attempts: limits.conditionalWriteAttempts },
    (r) => {
      if (!r || (r.state !== "claimed" && r.state !== "launching") || leaseLive(r.lease, invocation, deps.clock.now()))
        return UNCHANGED;
      return { ...r, state: "failed", exitCode: 99, updated: deps.clock.now().toISOString() };
    },
  );
  if (!closed.written) return;
  const note = `[Monitor] The job manager stopped before it finished starting this job and was not resumed; the ${jobMembers(record).ids.length} IAE(s) it started have ended. Submit the job again with a new timestamp for the datasets that did not run.`;
  await updateObject(
    {
      store: deps.store,
      bucket: record.outputBucket,
      key: certificateKey(record.jobFolder),
      attempts: limits.conditionalWriteAttempts,
    },
    (c) => (c ? appendSetupLines(c.body, [note]) : UNCHANGED),
  );
}
