import { randomUUID } from "node:crypto";
import {
  CommandTargetNotReadyError,
  IAE_STOP_REASONS,
  IAE_TAGS,
  type CommandInfo,
  type IaeDescription,
} from "./compute";
import { appendSetupLines, findDatasetLine, lineField, upsertDatasetLine } from "./certificate";
import { isFinalStatus, parseDatasetStatus, reasonsOf, renderDatasetStatus, statusOf } from "./dataset-status";
import { finishJobIfDone, writeEndMarker } from "./completion";
import { parseJsonObject, UNCHANGED, updateJson, updateObject } from "./conditional-update";
import { costOfLog, type CostLog } from "../model/cost-log";
import { limitsOf, type MonitorDeps } from "./deps";
import { errorMessage } from "./errors";
import { costLogFor, jobRecordKey, parseJobRecord, planOfInstance, type CancelRecord } from "./job-record";
import { CANCELLED_BY_USER } from "./job-cancel";
import { drainQueue, type DrainOutcome } from "./job-queue";
import { replaceIae, replacementOf } from "./job-retry";
import { recordCompletionSpend } from "./spend-summary-writer";
import {
  activeCostLogKey,
  certificateKey,
  datasetLineName,
  datasetStatusKey,
  finishedCostLogKey,
} from "../model/layout";
import { defaultInvocation, leaseLive, type Invocation } from "./lease";
import { recordSpend } from "./ledger";
import { queueLimitsOf } from "../model/queue-limits";
import { PreconditionFailedError } from "./storage";
import { formatIsoSeconds, formatTime } from "./time-format";

/** EC2 state-change notification as EventBridge delivers it (fixtures/cloudwatch_startevent.json). */
export interface Ec2StateChangeEvent {
  readonly "detail-type"?: string;
  readonly source?: string;
  readonly time?: string;
  readonly detail: { readonly "instance-id": string; readonly state: string };
}

type MonitorAction =
  | "ignored"
  | "queue-drained"
  | "interruption-noted"
  | "command-delivered"
  | "already-delivered"
  | "delivery-in-progress"
  | "delivery-failed"
  | "untracked-terminated"
  | "finished";

export interface MonitorOutcome {
  readonly instanceId: string;
  readonly state: string;
  readonly action: MonitorAction;
  /** end.txt was written: this was the job's last IAE. */
  readonly jobFinished?: boolean;
  /** The closed cost log (action "finished"): its spend was recorded. */
  readonly costLog?: CostLog;
  readonly detail?: string;
  /** What the queue's drain did after an IAE ended (or on the scheduled sweep). */
  readonly queue?: DrainOutcome;
}

/** EventBridge's two-minute notice before AWS reclaims a spot instance. */
const SPOT_INTERRUPTION_WARNING = "EC2 Spot Instance Interruption Warning";

/** The scheduled sweep's event (EventBridge schedule rule): the queue's backstop drain. */
const SCHEDULED_EVENT = "Scheduled Event";

/** An end event of an IAE whose end was accounted already (a redelivery, or a retried invocation). */
const ALREADY_ACCOUNTED = "already accounted";

const END_STATES = new Set(["shutting-down", "terminated", "stopping", "stopped"]);

/** What one monitor invocation works with. */
interface Ctx {
  readonly deps: MonitorDeps;
  readonly invocation: Invocation;
}

/**
 * The monitor (SPEC 4.7): `running` → record the start and deliver the command exactly once
 * (a delivery claim in the cost log before SendCommand; a retried delivery finds the command SSM
 * accepted and reuses it); shutting-down/terminated → mark the cost log ended, write the finished
 * log and the ledger entry, mark a dataset that never finished FAILED with the reason, write
 * end.txt when the job is over, and only then drop the active log — every step repeatable, so a
 * retry after a crash at any point completes the job.
 *
 * Every event first describes the instance: one request, after which instances that are not IAEs
 * of this analysis are ignored. An IAE whose cost log is not written yet (a slow or interrupted job
 * manager) gets it from the job's write-ahead launch record; only an instance tagged for this
 * analysis that no launch record names is terminated as untracked.
 */
export async function runMonitor(event: Ec2StateChangeEvent, deps: MonitorDeps): Promise<MonitorOutcome> {
  if (event["detail-type"] === SPOT_INTERRUPTION_WARNING) return onInterruptionWarning(event, deps);
  if (event["detail-type"] === SCHEDULED_EVENT) {
    // Backstop: jobs wait in the queue even if every IAE-end drain failed.
    return { instanceId: "", state: "scheduled", action: "queue-drained", queue: await drainQueue(deps) };
  }
  const instanceId = event.detail?.["instance-id"];
  const state = event.detail?.state;
  if (typeof instanceId !== "string" || typeof state !== "string") {
    return {
      instanceId: String(instanceId),
      state: String(state),
      action: "ignored",
      detail: "not an EC2 state-change event",
    };
  }
  const eventTime = event.time && !Number.isNaN(Date.parse(event.time)) ? new Date(event.time) : deps.clock.now();
  const ctx: Ctx = { deps, invocation: deps.invocation ?? defaultInvocation(deps.clock.now()) };
  if (state === "running") return onRunning(instanceId, eventTime, ctx);
  if (END_STATES.has(state)) {
    const outcome = await onEnded(instanceId, state, eventTime, ctx);
    // The group's spend summary gains this IAE's cost (bypass jobs too: the submitting group pays).
    if (outcome.action === "finished" && outcome.costLog) await recordCompletionSpend(deps, outcome.costLog);
    // Capacity freed up: start what waits (on every end event, so a retried invocation drains too).
    if (outcome.action !== "finished" && outcome.detail !== ALREADY_ACCOUNTED) return outcome;
    return { ...outcome, queue: await drainQueue(deps) };
  }
  return { instanceId, state, action: "ignored" };
}

/**
 * AWS will reclaim a spot IAE in two minutes: record it in its cost log (the termination that
 * follows relaunches the dataset once on demand) and tell the user in the certificate.
 */
async function onInterruptionWarning(event: Ec2StateChangeEvent, deps: MonitorDeps): Promise<MonitorOutcome> {
  const detail = event.detail as unknown as { readonly "instance-id"?: unknown; readonly "instance-action"?: unknown };
  const instanceId = typeof detail?.["instance-id"] === "string" ? detail["instance-id"] : "";
  const action = typeof detail?.["instance-action"] === "string" ? detail["instance-action"] : "terminate";
  const ctx: Ctx = { deps, invocation: deps.invocation ?? defaultInvocation(deps.clock.now()) };
  const at = event.time && !Number.isNaN(Date.parse(event.time)) ? event.time : deps.clock.now().toISOString();
  const log = instanceId
    ? await updateActiveLog(ctx, instanceId, (l) =>
        l.interruption ? UNCHANGED : { ...l, interruption: { at, action } },
      )
    : undefined;
  if (!log)
    return {
      instanceId,
      state: "interruption-warning",
      action: "ignored",
      detail: "not an active IAE of this analysis",
    };
  await appendCertificateNote(
    ctx,
    log,
    `[Monitor] AWS announced at ${at} that it reclaims the spot capacity of IAE ${instanceId} (${datasetLineName(datasetOf(log), log.member)}) in two minutes; if its analysis has not finished by then it is relaunched once on on-demand capacity.`,
  );
  return { instanceId, state: "interruption-warning", action: "interruption-noted" };
}

async function onRunning(instanceId: string, at: Date, ctx: Ctx): Promise<MonitorOutcome> {
  const { deps } = ctx;
  const [desc] = await deps.compute.describe([instanceId]);
  if (!desc || desc.tags[IAE_TAGS.analysis] !== deps.config.analysisName)
    return { instanceId, state: "running", action: "ignored" };
  if (desc.state !== "running" && desc.state !== "pending")
    return { instanceId, state: "running", action: "ignored", detail: `already ${desc.state}` };
  const found = await activeLog(instanceId, desc, ctx, true);
  if (found === "finished") return { instanceId, state: "running", action: "ignored", detail: "already finished" };
  if (!found) {
    await deps.compute.terminate([instanceId]);
    deps.log?.(`monitor: ${instanceId} is tagged for ${deps.config.analysisName} but no job launched it; terminated`);
    return { instanceId, state: "running", action: "untracked-terminated" };
  }
  if (found.end) return { instanceId, state: "running", action: "ignored", detail: "already ended" };
  if (found.commandid) return { instanceId, state: "running", action: "already-delivered", detail: found.commandid };
  const started = await updateActiveLog(ctx, instanceId, (l) =>
    l.start ? UNCHANGED : { ...l, start: formatIsoSeconds(at) },
  );
  if (!started) return { instanceId, state: "running", action: "ignored", detail: "cost log removed meanwhile" };
  if (!started.command)
    return { instanceId, state: "running", action: "ignored", detail: "cost log carries no command" };
  return deliver(instanceId, ctx);
}

/**
 * Claim the delivery (conditional write of `delivery` in the cost log), then send. A live claim
 * of another invocation means a duplicate event: it delivers, we do nothing. A claim whose holder
 * is gone is taken over with its delivery id, and the command it may have sent is looked up
 * first. Errors of the send itself fail the delivery; recording the accepted command id is
 * outside that handling (a failure there is retried and finds the command, the IAE keeps running).
 */
async function deliver(instanceId: string, ctx: Ctx): Promise<MonitorOutcome> {
  const { deps, invocation } = ctx;
  const limits = limitsOf(deps);
  let takenOver = false;
  const claimed = await updateJson<CostLog>(activeLogArgs(ctx, instanceId), (l) => {
    if (!l || l.commandid || l.end) return UNCHANGED;
    if (l.delivery && leaseLive(l.delivery, invocation, deps.clock.now())) return UNCHANGED;
    takenOver = l.delivery !== undefined;
    return {
      ...l,
      delivery: {
        id: l.delivery?.id ?? randomUUID(),
        holder: invocation.id,
        expires: invocation.deadline.toISOString(),
      },
    };
  });
  const log = claimed.value;
  if (!claimed.written) {
    if (!log) return { instanceId, state: "running", action: "ignored", detail: "cost log removed meanwhile" };
    if (log.commandid) return { instanceId, state: "running", action: "already-delivered", detail: log.commandid };
    return {
      instanceId,
      state: "running",
      action: "delivery-in-progress",
      detail: `another invocation (${log.delivery?.holder}) is delivering`,
    };
  }
  const current = log as CostLog;
  const deliveryId = (current.delivery as { id: string }).id;
  if (takenOver) {
    const earlier = await deps.compute.findCommand(instanceId, deliveryId);
    if (earlier) return recordDelivery(instanceId, current, earlier, ctx, "reused the command an earlier attempt sent");
  }
  let info: CommandInfo | undefined;
  let waited = 0;
  let delay = 2000;
  while (!info) {
    try {
      info = await deps.compute.sendCommand({
        instanceId,
        commands: [current.command as string],
        workingDirectory: current.workingdirectory ?? deps.config.workingDirectory,
        executionTimeoutSeconds: current.ssmtimeout ?? deps.config.ssmTimeoutSeconds,
        outputBucket: current.resultbucket ?? deps.config.bucketName,
        outputPrefix: `${current.jobpath}/internal_ec2_logs`,
        comment: `neurocaas ${current.jobpath}`,
        deliveryId,
      });
    } catch (err) {
      if (err instanceof CommandTargetNotReadyError && waited + delay <= limits.commandDeliveryMs) {
        await deps.clock.sleep(delay);
        waited += delay;
        delay = Math.min(delay * 2, 15_000);
        continue;
      }
      const why =
        err instanceof CommandTargetNotReadyError
          ? `IAE ${instanceId} did not become ready to receive its command within ${Math.round(limits.commandDeliveryMs / 1000)} s`
          : `the command could not be sent to IAE ${instanceId} (${errorMessage(err)})`;
      // The agent never registered: the infrastructure's fault, so the dataset gets one more IAE (on demand).
      const replacement =
        err instanceof CommandTargetNotReadyError ? await replaceIae(deps, current, "no-command") : undefined;
      await deps.compute.terminate([instanceId]);
      if (replacement?.replaced) {
        const note = `[Monitor] ${why}; it was terminated and replaced once by IAE ${replacement.instanceId} (on-demand capacity).`;
        await reportDataset(
          ctx,
          current,
          {
            status: "INITIALIZING",
            command: null,
            lastCommand: `replaced by IAE ${replacement.instanceId}`,
            reason: note,
            restart: true,
            instance: replacement.instanceId,
          },
          note,
        );
        return {
          instanceId,
          state: "running",
          action: "delivery-failed",
          detail: `${why}; replaced by ${replacement.instanceId}`,
        };
      }
      const also = replacement && !replacement.replaced ? ` It was not replaced: ${replacement.why}.` : "";
      const reason = `[JOB TERMINATE REASON] ${why}; it was terminated.${also} Submit the job again; contact NeuroCAAS administrator if this repeats.`;
      await reportDataset(
        ctx,
        current,
        { status: "FAILED", command: null, lastCommand: "command not delivered", reason },
        reason,
      );
      return { instanceId, state: "running", action: "delivery-failed", detail: why };
    }
  }
  return recordDelivery(instanceId, current, info, ctx);
}

async function recordDelivery(
  instanceId: string,
  log: CostLog,
  info: CommandInfo,
  ctx: Ctx,
  note?: string,
): Promise<MonitorOutcome> {
  await updateActiveLog(ctx, instanceId, (l) => (l.commandid ? UNCHANGED : { ...l, commandid: info.commandId }));
  await reportDataset(ctx, log, {
    status: "INITIALIZING",
    command: info.commandId,
    lastCommand: `command ${info.commandId} sent`,
    reason: "",
  });
  return {
    instanceId,
    state: "running",
    action: "command-delivered",
    detail: note ? `${info.commandId} (${note})` : info.commandId,
  };
}

async function onEnded(instanceId: string, state: string, at: Date, ctx: Ctx): Promise<MonitorOutcome> {
  const { deps } = ctx;
  const bucket = deps.config.bucketName;
  const [desc] = await deps.compute.describe([instanceId]);
  if (desc && desc.tags[IAE_TAGS.analysis] !== deps.config.analysisName)
    return { instanceId, state, action: "ignored" };
  // EC2 forgets terminated instances after about an hour; a late event still finds the cost log.
  const found = desc ? await activeLog(instanceId, desc, ctx, false) : await readActiveLog(ctx, instanceId);
  if (!found) return { instanceId, state, action: "ignored" };
  if (found === "finished") return { instanceId, state, action: "ignored", detail: ALREADY_ACCOUNTED };
  // 1. Mark the IAE ended; everything below is repeatable until the active log is dropped (5.).
  const log = await updateActiveLog(ctx, instanceId, (l) => (l.end ? UNCHANGED : { ...l, end: formatIsoSeconds(at) }));
  if (!log) return { instanceId, state, action: "ignored", detail: "cost log removed meanwhile" };
  const group = log.group ?? log.jobpath.split("/")[0];
  const limits = limitsOf(deps);
  // 2. A dataset that never reached SUCCESS/FAILED says why (a cancelled job's: CANCELLED), unless
  // the IAE was (or is now) replaced: a spot IAE that AWS reclaimed is relaunched once on demand.
  const obj = log.jobrecord ? await deps.store.get(bucket, log.jobrecord) : undefined;
  let record = obj ? parseJobRecord(obj.body) : undefined;
  let replaced = replacementOf(record, instanceId)?.instanceId;
  if (!replaced && record && !record.cancel && (await spotReclaimedMidRun(ctx, log, desc))) {
    const r = await replaceIae(deps, log, "spot-interruption");
    if (r.replaced) {
      replaced = r.instanceId;
      const note = `[Monitor] AWS reclaimed the spot capacity of IAE ${instanceId} (${datasetLineName(datasetOf(log), log.member)}) before its analysis finished; relaunched once on on-demand capacity as IAE ${r.instanceId}. Both attempts count towards the job's cost.`;
      await reportDataset(
        ctx,
        log,
        {
          status: "INITIALIZING",
          command: null,
          lastCommand: `relaunched on demand as IAE ${r.instanceId}`,
          reason: note,
          restart: true,
          overrideFinal: true,
          instance: r.instanceId,
        },
        note,
      );
      const fresh = log.jobrecord ? await deps.store.get(bucket, log.jobrecord) : undefined;
      record = fresh ? parseJobRecord(fresh.body) : record;
    }
  }
  if (!replaced) await settleDataset(ctx, log, state, desc, at, record?.cancel);
  // An analysis that exited non-zero runs again only if the blueprint opts in (MAX_ATTEMPTS).
  const maxAttempts = queueLimitsOf(deps.config).maxAttempts;
  if (!replaced && record && !record.cancel && maxAttempts > 1 && (await analysisFailed(ctx, log, desc))) {
    const r = await replaceIae(deps, log, "analysis-failure", maxAttempts);
    const dataname = datasetLineName(datasetOf(log), log.member);
    if (r.replaced) {
      const attempt = r.run;
      const note = `[Monitor] The analysis of ${dataname} on IAE ${instanceId} failed (non-zero exit); running it again as attempt ${attempt} of at most ${maxAttempts} (MAX_ATTEMPTS) on IAE ${r.instanceId}. Every attempt counts towards the job's cost.`;
      await reportDataset(
        ctx,
        log,
        {
          status: "INITIALIZING",
          command: null,
          lastCommand: `attempt ${attempt} of ${maxAttempts} on IAE ${r.instanceId}`,
          reason: note,
          restart: true,
          overrideFinal: true,
          instance: r.instanceId,
        },
        note,
      );
      const fresh = log.jobrecord ? await deps.store.get(bucket, log.jobrecord) : undefined;
      record = fresh ? parseJobRecord(fresh.body) : record;
    } else
      await appendCertificateNote(
        ctx,
        log,
        `[Monitor] The analysis of ${dataname} on IAE ${instanceId} failed (non-zero exit); it is not run again: ${r.why}.`,
      );
  }
  // 3. Spend: the finished log and the ledger entry (once per instance id). Written only after the
  // replacement decision (2. above): another IAE's completion check must never see this IAE
  // accounted while its relaunch is not yet in the job record, or it would write end.txt early.
  await deps.store.put(bucket, finishedCostLogKey(group, instanceId), JSON.stringify(log, null, 2));
  await recordSpend(
    {
      store: deps.store,
      bucket,
      group,
      now: () => deps.clock.now(),
      sleep: deps.clock.sleep,
      maxAttempts: limits.sharedWriteAttempts,
    },
    instanceId,
    costOfLog(log),
  );
  // 4. end.txt when the job is over.
  let jobFinished = false;
  if (record && log.jobrecord)
    jobFinished = await finishJobIfDone(deps, ctx.invocation, record, log.jobrecord, instanceId);
  else if (!log.jobrecord) {
    // A cost log without a job record (an older deployment's): one IAE, one job.
    await writeEndMarker(deps.store, log.resultbucket ?? bucket, log.jobpath);
    jobFinished = true;
  }
  // 5. Only now the active log goes (a retry before this point redoes 1.–4.).
  await deps.store.delete(bucket, activeCostLogKey(instanceId));
  return { instanceId, state, action: "finished", jobFinished, costLog: log };
}

/**
 * The IAE's active cost log; when there is none, the one its job's write-ahead launch record
 * describes (created here, If-None-Match), "finished" when it was already accounted, undefined
 * when no job launched it — or, `toRun`, when its job has failed (it must not run; its end is
 * still accounted).
 */
async function activeLog(
  instanceId: string,
  desc: IaeDescription,
  ctx: Ctx,
  toRun: boolean,
): Promise<CostLog | "finished" | undefined> {
  const { deps } = ctx;
  const bucket = deps.config.bucketName;
  const current = await readActiveLog(ctx, instanceId);
  if (current) return current;
  const group = desc.tags[IAE_TAGS.group];
  const job = desc.tags[IAE_TAGS.job];
  if (!group || !job) return undefined;
  if (await deps.store.exists(bucket, finishedCostLogKey(group, instanceId))) return "finished";
  const recordKey = jobRecordKey(group, job);
  const obj = await deps.store.get(bucket, recordKey);
  const record = obj ? parseJobRecord(obj.body) : undefined;
  if (!record?.launch || record.state === "rejected" || (toRun && record.state === "failed")) return undefined;
  const plan = planOfInstance(record, desc);
  if (!plan) return undefined;
  const log = costLogFor(record.launch.common, plan, desc, formatIsoSeconds(desc.launchTime));
  try {
    await deps.store.put(bucket, activeCostLogKey(instanceId), JSON.stringify(log, null, 2), { ifNoneMatch: "*" });
    deps.log?.(`monitor: ${instanceId} had no cost log yet; created it from the launch record of ${record.jobName}`);
    return log;
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    return readActiveLog(ctx, instanceId);
  }
}

/** A spot IAE whose capacity AWS reclaimed (warning recorded, or the termination's reason) before its analysis succeeded. */
async function spotReclaimedMidRun(ctx: Ctx, log: CostLog, desc: IaeDescription | undefined): Promise<boolean> {
  if (!(desc?.spot ?? log.spot)) return false;
  if (!log.interruption && !/spot/i.test(desc?.stateReason ?? "")) return false;
  const current = await readDatasetStatus(ctx, log);
  // FAILED counts as interrupted: the analysis, killed with its machine, may report so on its way down.
  const status = statusOf(current);
  return status !== "SUCCESS" && status !== "CANCELLED";
}

/**
 * The analysis itself failed: its command ended Failed with a non-zero exit code and its dataset is
 * FAILED, on an IAE that was not killed at its time limit, stopped under it or reclaimed as spot
 * (those are the infrastructure's or the user's limits, not a deterministic failure to retry).
 */
async function analysisFailed(ctx: Ctx, log: CostLog, desc: IaeDescription | undefined): Promise<boolean> {
  const reason = desc?.stateReason ?? "";
  if (reason === IAE_STOP_REASONS.timeLimit || reason === IAE_STOP_REASONS.hostStopped) return false;
  if ((desc?.spot ?? log.spot) && (log.interruption || /spot/i.test(reason))) return false;
  if (!log.commandid) return false;
  const id = log["instance-id"];
  const command = await ctx.deps.compute.commandStatus(id, log.commandid).catch(() => undefined);
  if (command?.status !== "Failed" || command.exitCode === undefined || command.exitCode <= 0) return false;
  const current = await readDatasetStatus(ctx, log);
  return statusOf(current) === "FAILED";
}

/** The dataset's status file as it stands (parsed; undefined when absent or unreadable). */
async function readDatasetStatus(ctx: Ctx, log: CostLog) {
  const bucket = log.resultbucket ?? ctx.deps.config.bucketName;
  return parseDatasetStatus(
    (await ctx.deps.store.get(bucket, datasetStatusKey(log.jobpath, datasetOf(log), log.member)))?.body ?? "",
  );
}

async function readActiveLog(ctx: Ctx, instanceId: string): Promise<CostLog | undefined> {
  const obj = await ctx.deps.store.get(ctx.deps.config.bucketName, activeCostLogKey(instanceId));
  return obj ? parseJsonObject<CostLog>(obj.body) : undefined;
}

function activeLogArgs(ctx: Ctx, instanceId: string) {
  return {
    store: ctx.deps.store,
    bucket: ctx.deps.config.bucketName,
    key: activeCostLogKey(instanceId),
    attempts: limitsOf(ctx.deps).conditionalWriteAttempts,
    sleep: ctx.deps.clock.sleep,
  };
}

/** Conditional read-modify-write of an active cost log; undefined when it no longer exists. */
async function updateActiveLog(
  ctx: Ctx,
  instanceId: string,
  change: (log: CostLog) => CostLog | typeof UNCHANGED,
): Promise<CostLog | undefined> {
  const out = await updateJson<CostLog>(activeLogArgs(ctx, instanceId), (l) => (l ? change(l) : UNCHANGED));
  return out.value;
}

/**
 * An IAE ended with its dataset not SUCCESS/FAILED: settle it from what the platform knows.
 * No command was ever delivered → FAILED, it never ran (capacity reclaimed, stopped by hand). The
 * command ended → its result (an analysis that reports no status of its own still gets one; a
 * failed command's exit code and stderr are recorded). The command was still running → FAILED,
 * interrupted (a spot reclaim, or the machine going away, says so). SUCCESS and FAILED written by
 * the IAE stay as they are — unless it was killed at a time limit (its `__duration__`, or a
 * SUCCESS whose command then timed out): then the analysis did not finish, and the dataset is
 * FAILED.
 */
async function settleDataset(
  ctx: Ctx,
  log: CostLog,
  state: string,
  desc: IaeDescription | undefined,
  at: Date,
  cancel?: CancelRecord,
): Promise<void> {
  const { deps } = ctx;
  const id = log["instance-id"];
  const bucket = log.resultbucket ?? deps.config.bucketName;
  const current = parseDatasetStatus(
    (await deps.store.get(bucket, datasetStatusKey(log.jobpath, datasetOf(log), log.member)))?.body ?? "",
  );
  const status = statusOf(current) ?? "INITIALIZING";
  if (cancel && status !== "SUCCESS" && status !== "CANCELLED") {
    // The IAE reported progress after the cancel request, or FAILED as it was killed by it: the user's cancel stands.
    const reason = `The job was ${CANCELLED_BY_USER} (${cancel.request}).`;
    await reportDataset(ctx, log, {
      status: "CANCELLED",
      command: log.commandid ?? null,
      lastCommand: CANCELLED_BY_USER,
      reason,
      overrideFinal: true,
      finishedAt: formatIsoSeconds(at),
    });
    return;
  }
  const iae = `IAE ${id} (${datasetLineName(datasetOf(log), log.member)})`;
  const hostStopped = `[JOB TERMINATE REASON] ${iae} was interrupted: ${desc?.stateMessage ?? "the machine running it stopped"}. Resubmit the job to run it again.`;
  const lookUp = (): Promise<CommandInfo | undefined> =>
    log.commandid
      ? deps.compute
          .commandStatus(id, log.commandid)
          .catch(() => ({ commandId: log.commandid as string, status: "Unknown" as const }))
      : log.delivery
        ? deps.compute.findCommand(id, log.delivery.id)
        : Promise.resolve(undefined);
  let command: CommandInfo | undefined;
  // A reported SUCCESS stands unless the command was cut off at its time limit (its results may be incomplete).
  if (status === "SUCCESS" && desc?.stateReason !== IAE_STOP_REASONS.timeLimit) command = await lookUp();
  const killedAtLimit = desc?.stateReason === IAE_STOP_REASONS.timeLimit || command?.status === "TimedOut";
  if (isFinalStatus(status) && !killedAtLimit) {
    // The analysis saw its end coming (e.g. it was signalled): its status stands, the cause is noted.
    if (desc?.stateReason === IAE_STOP_REASONS.hostStopped) await appendCertificateNote(ctx, log, hostStopped);
    return;
  }
  command ??= await lookUp();
  const spotReclaimed = (desc?.spot ?? log.spot) && /spot/i.test(desc?.stateReason ?? "");
  const cause = desc?.stateReason ? ` (${desc.stateReason})` : "";
  const finished = { finishedAt: formatIsoSeconds(at) };
  let report: DatasetReport;
  if (desc?.stateReason === IAE_STOP_REASONS.timeLimit) {
    const reason = `[JOB TERMINATE REASON] ${iae} was killed: ${desc.stateMessage ?? "it exceeded its time limit"}. The analysis did not finish; submit the job again with a larger __duration__.`;
    report = {
      status: "FAILED",
      command: command?.commandId ?? null,
      lastCommand: "killed at its time limit",
      reason,
      overrideFinal: true,
      ...finished,
    };
  } else if (desc?.stateReason === IAE_STOP_REASONS.hostStopped) {
    report = {
      status: "FAILED",
      command: command?.commandId ?? null,
      lastCommand: "interrupted",
      reason: hostStopped,
      ...finished,
    };
  } else if (!command) {
    const reason = `[JOB TERMINATE REASON] IAE ${id} ended (${state})${cause} before its analysis started${spotReclaimed ? ": AWS reclaimed its spot capacity" : ""}; nothing ran. Submit the job again.`;
    report = { status: "FAILED", command: null, lastCommand: "ended before it ran", reason };
  } else if (command.status === "TimedOut" && isFinalStatus(status)) {
    const reason = `[JOB TERMINATE REASON] The command on IAE ${id} timed out${command.details ? ` (${command.details})` : ""} after the analysis reported ${status}: its results may be incomplete. Submit the job again.`;
    report = {
      status: "FAILED",
      command: command.commandId,
      lastCommand: "command TimedOut",
      reason,
      overrideFinal: true,
      ...finished,
    };
  } else if (command.status === "Success") {
    report = {
      status: "SUCCESS",
      command: command.commandId,
      lastCommand: `command ${command.commandId} finished`,
      reason: `The command finished successfully (the analysis reported no final status of its own).`,
      ...finished,
    };
  } else if (command.status === "Failed" || command.status === "TimedOut" || command.status === "Cancelled") {
    const how = [command.exitCode !== undefined ? `exit code ${command.exitCode}` : undefined, command.details]
      .filter(Boolean)
      .join(", ");
    const reason = `[JOB TERMINATE REASON] The command on IAE ${id} ended ${command.status}${how ? ` (${how})` : ""} before the analysis reported a final status.`;
    report = {
      status: "FAILED",
      command: command.commandId,
      lastCommand: `command ${command.status}`,
      reason,
      ...(command.stderr ? { stderr: command.stderr } : {}),
      ...finished,
    };
  } else {
    const reason = spotReclaimed
      ? `[JOB TERMINATE REASON] IAE ${id} was interrupted while its analysis was ${status}: AWS reclaimed the spot capacity it ran on${cause}. The analysis did not finish; submit the job again.`
      : `[JOB TERMINATE REASON] IAE ${id} was interrupted: it ended (${state})${cause} while its analysis was ${status}. The analysis did not finish; submit the job again.`;
    report = { status: "FAILED", command: command.commandId, lastCommand: "interrupted", reason, ...finished };
  }
  await reportDataset(ctx, log, report, report.status === "FAILED" ? report.reason : undefined);
}

interface DatasetReport {
  readonly status: "INITIALIZING" | "SUCCESS" | "FAILED" | "CANCELLED";
  /** INITIALIZING again over any status that is not final (the dataset runs again on a replacement IAE). */
  readonly restart?: boolean;
  /** The IAE the status file names (default: the cost log's). */
  readonly instance?: string;
  readonly command: string | null;
  readonly lastCommand: string;
  /** Added to the status file's reasons ("" for none). */
  readonly reason: string;
  /** Also replace a final status (the platform knows the analysis did not finish). */
  readonly overrideFinal?: boolean;
  /** The command's stderr, recorded as the status file's output when the analysis recorded none. */
  readonly stderr?: string;
  /** When the IAE ended (`job_finish`, unless the analysis recorded its own). */
  readonly finishedAt?: string;
}

/** Append a line to the job's certificate setup log (conditional read-modify-write). */
async function appendCertificateNote(ctx: Ctx, log: CostLog, note: string): Promise<void> {
  const { deps } = ctx;
  const bucket = log.resultbucket ?? deps.config.bucketName;
  await updateObject(
    {
      store: deps.store,
      bucket,
      key: certificateKey(log.jobpath),
      attempts: limitsOf(deps).conditionalWriteAttempts,
      sleep: deps.clock.sleep,
    },
    (obj) => (obj && !obj.body.includes(note) ? appendSetupLines(obj.body, [note]) : UNCHANGED),
  );
}

/** Output text as a status file's `std`: line index → line (each with its newline, as log-command writes it). */
function stdOf(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => l !== "")
      .map((l, i) => [String(i), `${l}\n`]),
  );
}

function datasetOf(log: CostLog): string {
  return Array.isArray(log.datapath) ? log.datapath[0] : (log.datapath as string);
}

/**
 * Update the dataset's status file and certificate line (and append a setup line), each with a
 * conditional read-modify-write: a status or line the IAE already moved past INITIALIZING is never
 * set back, a final one (SUCCESS/FAILED) never changed, and nobody's other lines are lost.
 */
async function reportDataset(ctx: Ctx, log: CostLog, report: DatasetReport, setupLine?: string): Promise<void> {
  const { deps } = ctx;
  const limits = limitsOf(deps);
  const bucket = log.resultbucket ?? deps.config.bucketName;
  const dataset = datasetOf(log);
  const overrides = (current: string | undefined): boolean =>
    current === undefined ||
    (report.status === "INITIALIZING" && !report.restart
      ? current === "INITIALIZING"
      : report.overrideFinal === true || !isFinalStatus(current));
  const status = await updateObject(
    {
      store: deps.store,
      bucket,
      key: datasetStatusKey(log.jobpath, dataset, log.member),
      attempts: limits.conditionalWriteAttempts,
      sleep: deps.clock.sleep,
    },
    (obj) => {
      const previous = obj ? (parseDatasetStatus(obj.body) ?? {}) : {};
      if (!overrides(statusOf(previous))) return UNCHANGED;
      const reasons = reasonsOf(previous);
      // A repeated event (at-least-once delivery) finds its report already recorded.
      if (report.reason !== "" && reasons.includes(report.reason) && statusOf(previous) === report.status)
        return UNCHANGED;
      const hasOutput =
        typeof previous.std === "object" && previous.std !== null && Object.keys(previous.std).length > 0;
      const recordedFinish = typeof previous.job_finish === "string" && previous.job_finish !== "N/A";
      return renderDatasetStatus({
        ...previous,
        status: report.status,
        reason: report.reason ? [...reasons, report.reason] : reasons,
        input: dataset,
        ...(log.member !== undefined ? { member: log.member } : {}),
        instance: report.instance ?? log["instance-id"],
        command: report.restart
          ? report.command
          : (report.command ?? (typeof previous.command === "string" ? previous.command : null)),
        // A dataset that runs again has not finished yet (the earlier IAE's end is in its reasons).
        ...(report.restart && recordedFinish ? { job_finish: "N/A" } : {}),
        ...(report.finishedAt !== undefined && !recordedFinish ? { job_finish: report.finishedAt } : {}),
        ...(report.stderr !== undefined && !hasOutput ? { std: stdOf(report.stderr) } : {}),
      });
    },
  );
  if (!status.written) return;
  const dataname = datasetLineName(dataset, log.member);
  await updateObject(
    {
      store: deps.store,
      bucket,
      key: certificateKey(log.jobpath),
      attempts: limits.conditionalWriteAttempts,
      sleep: deps.clock.sleep,
    },
    (obj) => {
      if (!obj) return UNCHANGED;
      const line = findDatasetLine(obj.body, dataname);
      const lineStatus = line ? lineField(line, "STATUS") : undefined;
      let text = obj.body;
      if (overrides(lineStatus))
        text = upsertDatasetLine(text, {
          dataname,
          status: report.status,
          time: formatTime(deps.clock.now()),
          lastCommand: report.lastCommand,
        });
      if (setupLine) text = appendSetupLines(text, [setupLine]);
      return text === obj.body ? UNCHANGED : text;
    },
  );
}
