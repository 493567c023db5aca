import { CommandTargetNotReadyError, IAE_TAGS } from "./compute";
import { appendSetupLine, formatTime, renderDatasetStatus, replaceDatasetLine } from "./certificate";
import { costOfLog, formatLogTime, type CostLog } from "./cost-log";
import { limitsOf, type ProtocolDeps } from "./deps";
import { errorMessage } from "./errors";
import type { JobRecord } from "./job-record";
import { activeCostLogKey, certificateKey, datasetStatusKey, END_MARKER_BODY, endMarkerKey, finishedCostLogKey } from "./layout";
import { recordSpend } from "./ledger";
import { PreconditionFailedError, type StoredObject } from "./storage";

/** EC2 state-change notification as EventBridge delivers it (fixtures/cloudwatch_startevent.json). */
export interface Ec2StateChangeEvent {
  readonly "detail-type"?: string;
  readonly source?: string;
  readonly time?: string;
  readonly detail: { readonly "instance-id": string; readonly state: string };
}

export type MonitorAction = "ignored" | "command-delivered" | "already-delivered" | "delivery-failed" | "untracked-terminated" | "finished";

export interface MonitorOutcome {
  readonly instanceId: string;
  readonly state: string;
  readonly action: MonitorAction;
  /** end.txt was written: this was the job's last IAE. */
  readonly jobFinished?: boolean;
  /** The closed cost log (action "finished"): its spend was recorded. */
  readonly costLog?: CostLog;
  readonly detail?: string;
}

const END_STATES = new Set(["shutting-down", "terminated", "stopping", "stopped"]);

/**
 * The monitor (SPEC 4.7): `running` → record the start and deliver the command (retrying while
 * the IAE's agent registers, bounded; an IAE that cannot get its command is terminated and
 * reported); shutting-down/terminated → record the end, move the cost log to `logs/{group}/`,
 * add its spend to the ledger, and write end.txt after the job's last IAE.
 */
export async function monitorInstance(event: Ec2StateChangeEvent, deps: ProtocolDeps): Promise<MonitorOutcome> {
  const instanceId = event.detail?.["instance-id"];
  const state = event.detail?.state;
  if (typeof instanceId !== "string" || typeof state !== "string") {
    return { instanceId: String(instanceId), state: String(state), action: "ignored", detail: "not an EC2 state-change event" };
  }
  const eventTime = event.time && !Number.isNaN(Date.parse(event.time)) ? new Date(event.time) : deps.clock.now();
  if (state === "running") return onRunning(instanceId, eventTime, deps);
  if (END_STATES.has(state)) return onEnded(instanceId, state, eventTime, deps);
  return { instanceId, state, action: "ignored" };
}

async function onRunning(instanceId: string, at: Date, deps: ProtocolDeps): Promise<MonitorOutcome> {
  const bucket = deps.config.bucketName;
  const limits = limitsOf(deps);
  let current = await deps.store.get(bucket, activeCostLogKey(instanceId));
  if (!current) {
    // Cheap rejection of instances that are not IAEs of this analysis.
    const [desc] = await deps.compute.describe([instanceId]);
    if (!desc || desc.tags[IAE_TAGS.analysis] !== bucket) return { instanceId, state: "running", action: "ignored" };
    if (desc.state !== "running" && desc.state !== "pending") return { instanceId, state: "running", action: "ignored", detail: `already ${desc.state}` };
    // An IAE of ours can boot before the job manager has written its cost log: wait (bounded).
    for (let waited = 0; !current && waited < limits.costLogWaitMs; waited += 1000) {
      await deps.clock.sleep(1000);
      current = await deps.store.get(bucket, activeCostLogKey(instanceId));
    }
    if (!current) {
      await deps.compute.terminate([instanceId]);
      deps.log?.(`monitor: ${instanceId} is tagged for ${bucket} but has no cost log; terminated`);
      return { instanceId, state: "running", action: "untracked-terminated" };
    }
  }
  let log = JSON.parse(current.body) as CostLog;
  if (log.commandid) return { instanceId, state: "running", action: "already-delivered" };
  const started = await updateActiveLog(deps, instanceId, (l) => (l.start ? l : { ...l, start: formatLogTime(at) }));
  if (!started) return { instanceId, state: "running", action: "ignored", detail: "cost log removed meanwhile" };
  log = started;
  if (!log.command) return { instanceId, state: "running", action: "ignored", detail: "cost log carries no command" };

  let waited = 0;
  let delay = 2000;
  for (;;) {
    try {
      const info = await deps.compute.sendCommand({
        instanceId,
        commands: [log.command],
        workingDirectory: log.workingdirectory ?? deps.config.workingDirectory,
        executionTimeoutSeconds: log.ssmtimeout ?? deps.config.ssmTimeoutSeconds,
        outputBucket: log.resultbucket ?? bucket,
        outputPrefix: `${log.jobpath}/internal_ec2_logs`,
        comment: `neurocaas ${log.jobpath}`.slice(0, 100),
      });
      await updateActiveLog(deps, instanceId, (l) => ({ ...l, commandid: info.commandId }));
      await reportDataset(deps, log, { status: "INITIALIZING", command: info.commandId, lastCommand: `command ${info.commandId} sent`, reason: [] });
      return { instanceId, state: "running", action: "command-delivered", detail: info.commandId };
    } catch (err) {
      const retry = err instanceof CommandTargetNotReadyError && waited + delay <= limits.commandDeliveryMs;
      if (retry) {
        await deps.clock.sleep(delay);
        waited += delay;
        delay = Math.min(delay * 2, 15_000);
        continue;
      }
      const why =
        err instanceof CommandTargetNotReadyError
          ? `IAE ${instanceId} did not become ready to receive its command within ${Math.round(limits.commandDeliveryMs / 1000)} s`
          : `the command could not be sent to IAE ${instanceId} (${errorMessage(err)})`;
      await deps.compute.terminate([instanceId]);
      const reason = `[JOB TERMINATE REASON] ${why}; it was terminated. Submit the job again; contact NeuroCAAS administrator if this repeats.`;
      await reportDataset(deps, log, { status: "FAILED", command: null, lastCommand: "command not delivered", reason: [reason] }, reason);
      return { instanceId, state: "running", action: "delivery-failed", detail: why };
    }
  }
}

async function onEnded(instanceId: string, state: string, at: Date, deps: ProtocolDeps): Promise<MonitorOutcome> {
  const bucket = deps.config.bucketName;
  const limits = limitsOf(deps);
  const current = await deps.store.get(bucket, activeCostLogKey(instanceId));
  if (!current) return { instanceId, state, action: "ignored" };
  const log = JSON.parse(current.body) as CostLog;
  const group = log.group ?? log.jobpath.split("/")[0];
  const finished: CostLog = { ...log, end: log.end ?? formatLogTime(at) };
  await deps.store.put(bucket, finishedCostLogKey(group, instanceId), JSON.stringify(finished, null, 2));
  await recordSpend(
    { store: deps.store, bucket, group, now: () => deps.clock.now(), sleep: deps.clock.sleep, maxAttempts: limits.conditionalWriteAttempts },
    instanceId,
    costOfLog(finished),
  );
  await deps.store.delete(bucket, activeCostLogKey(instanceId));
  const jobFinished = await finishJobIfLast(deps, instanceId, finished);
  return { instanceId, state, action: "finished", jobFinished, costLog: finished };
}

/** end.txt once no IAE of the job has an active cost log. S3 is strongly consistent, so of two
 * IAEs ending together at least the one deleting its log last sees none left. */
async function finishJobIfLast(deps: ProtocolDeps, instanceId: string, log: CostLog): Promise<boolean> {
  const bucket = deps.config.bucketName;
  const limits = limitsOf(deps);
  let members: string[] = [instanceId];
  if (log.jobrecord) {
    for (let waited = 0; ; waited += 1000) {
      const obj = await deps.store.get(bucket, log.jobrecord);
      const record = obj ? (JSON.parse(obj.body) as JobRecord) : undefined;
      const ids = record?.instances.map((i) => i.instanceId) ?? [];
      if (ids.includes(instanceId) || record?.state === "failed" || !record) {
        members = ids.length > 0 ? ids : members;
        break;
      }
      // The job manager lists a job's instances right after launching them; wait briefly.
      if (waited >= limits.costLogWaitMs) break;
      await deps.clock.sleep(1000);
    }
  }
  const stillActive = await Promise.all(members.filter((id) => id !== instanceId).map((id) => deps.store.exists(bucket, activeCostLogKey(id))));
  if (stillActive.some(Boolean)) return false;
  await deps.store.put(log.resultbucket ?? bucket, endMarkerKey(log.jobpath), END_MARKER_BODY);
  return true;
}

/** Read-modify-write of an active cost log; undefined when it no longer exists. */
async function updateActiveLog(deps: ProtocolDeps, instanceId: string, change: (log: CostLog) => CostLog): Promise<CostLog | undefined> {
  const bucket = deps.config.bucketName;
  const key = activeCostLogKey(instanceId);
  const attempts = limitsOf(deps).conditionalWriteAttempts;
  for (let attempt = 1; ; attempt++) {
    const obj: StoredObject | undefined = await deps.store.get(bucket, key);
    if (!obj) return undefined;
    const next = change(JSON.parse(obj.body) as CostLog);
    try {
      await deps.store.put(bucket, key, JSON.stringify(next, null, 2), { ifMatch: obj.etag });
      return next;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= attempts) throw err;
    }
  }
}

interface DatasetReport {
  readonly status: "INITIALIZING" | "FAILED";
  readonly command: string | null;
  readonly lastCommand: string;
  readonly reason: readonly string[];
}

/** Update the dataset's status file and certificate line (and append a setup line on failure). */
async function reportDataset(deps: ProtocolDeps, log: CostLog, report: DatasetReport, setupLine?: string): Promise<void> {
  const bucket = log.resultbucket ?? deps.config.bucketName;
  const dataset = Array.isArray(log.datapath) ? log.datapath[0] : log.datapath;
  const statusKey = datasetStatusKey(log.jobpath, dataset);
  const existing = await deps.store.get(bucket, statusKey);
  const previous = parseObject(existing?.body);
  // Never overwrite a status the IAE side has already moved past INITIALIZING.
  if (report.status !== "FAILED" && previous.status !== undefined && previous.status !== "INITIALIZING") return;
  await deps.store.put(
    bucket,
    statusKey,
    renderDatasetStatus({ ...previous, status: report.status, reason: report.reason, input: dataset, instance: log["instance-id"], command: report.command }),
  );
  const cert = await deps.store.get(bucket, certificateKey(log.jobpath));
  if (!cert) return;
  let text = replaceDatasetLine(cert.body, log.datasetindex ?? 0, { dataname: dataset, status: report.status, time: formatTime(deps.clock.now()), lastCommand: report.lastCommand });
  if (setupLine) text = appendSetupLine(text, setupLine);
  await deps.store.put(bucket, certificateKey(log.jobpath), text);
}

function parseObject(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
