/**
 * The analysis' job queue (SPEC §11): jobs that would exceed DEPLOY_LIMIT, or whose launch hit
 * capacity limits, wait here whole and start in arrival order when capacity frees up.
 *
 * One object per analysis, `logs/_queue/queue.json` in the analysis bucket (users never see
 * `logs/`): the entries in arrival order, and who is draining. Every change is a conditional
 * read-modify-write, so concurrent queuers, drains and cancels never lose each other's changes and
 * the length limit holds exactly.
 *
 * Draining (`drainQueue`) is run by the monitor whenever an IAE ends, by the job manager right after
 * it queued a job, and by the scheduled sweep as a backstop. One drain runs at a time (a lease in
 * the queue object); a drain that finds another one running asks it to look again (`rerun`), so no
 * wake-up is lost. Starting a job is the conditional move of its record from `queued` to
 * `launching` (with the drain's lease): a job starts exactly once even if two drains overlap after
 * a lease expired, and a drain that died mid-launch is resumed by the next (same idempotency
 * tokens: its IAEs are adopted, never started twice).
 */
import { LaunchError } from "./compute";
import { parseJsonObject, UNCHANGED, updateJson } from "./conditional-update";
import { limitsOf, type MonitorDeps } from "./deps";
import { errorMessage, JobError } from "./errors";
import { plansOfRecord, transitionJob } from "./job-files";
import { LeaseLostError } from "./job-claim";
import { launchRequestOf, runLaunchCalls, withBatchIds, writeActiveCostLogs, type LaunchedPlan } from "./job-launch";
import { releaseJobBudget } from "./job-budget";
import { parseJobRecord, sha256, type JobRecord, type LaunchRecord } from "./job-record";
import { defaultInvocation, leaseLive, leaseOf, type Invocation, type Lease } from "./lease";
import { LAUNCH_TOKEN_LENGTH } from "./job-launch";
import { SHUTDOWN_LINE, TERMINATE_PREFIX } from "./certificate";
import { writeEndMarker } from "./completion";
import { queueLimitsOf } from "../model/queue-limits";

export const QUEUE_KEY = "logs/_queue/queue.json";

/** One waiting job. Everything else about it is in its job record. */
export interface QueueEntry {
  readonly recordKey: string;
  readonly group: string;
  readonly jobName: string;
  readonly instanceType: string;
  /** IAEs it starts (all at once). */
  readonly iaes: number;
  readonly queuedAt: string;
  /** Rejected after this (MAX_QUEUE_WAIT). */
  readonly deadline: string;
}

export interface QueueDoc {
  readonly version: 1;
  /** Arrival order. */
  readonly entries: readonly QueueEntry[];
  /** The drain running now. */
  readonly drain?: Lease;
  /** Something changed while a drain ran: it looks again before it stops. */
  readonly rerun?: boolean;
}

/** Capacity launch failures a job waits out in the queue (anything else fails it). */
const QUEUEABLE_LAUNCH_FAILURES: readonly LaunchError["kind"][] = [
  "capacity",
  "vcpu-limit",
  "throttled",
  "instance-limit",
];

export function isQueueableLaunchFailure(err: unknown): err is LaunchError {
  return err instanceof LaunchError && QUEUEABLE_LAUNCH_FAILURES.includes(err.kind);
}

/** The LaunchError behind a launch failure in words (`launchFailure` keeps it as the cause). */
export function launchCause(err: unknown): unknown {
  return err instanceof JobError && err.cause !== undefined ? err.cause : err;
}

type QueueDeps = Pick<MonitorDeps, "store" | "config" | "clock" | "limits">;

function queueArgs(deps: QueueDeps) {
  return {
    store: deps.store,
    bucket: deps.config.bucketName,
    key: QUEUE_KEY,
    attempts: limitsOf(deps).sharedWriteAttempts,
    sleep: deps.clock.sleep,
  };
}

function emptyQueue(): QueueDoc {
  return { version: 1, entries: [] };
}

function asQueue(doc: QueueDoc | undefined): QueueDoc {
  return doc && Array.isArray(doc.entries) ? doc : emptyQueue();
}

export async function readQueue(deps: Pick<MonitorDeps, "store" | "config">): Promise<QueueDoc> {
  const obj = await deps.store.get(deps.config.bucketName, QUEUE_KEY);
  return asQueue(obj ? parseJsonObject<QueueDoc>(obj.body) : undefined);
}

/** The entry a job record stands for (queued jobs carry a launch template). */
export function queueEntryOf(record: JobRecord, recordKey: string): QueueEntry {
  const template = record.launch?.template;
  if (!template || !record.queue) throw new Error(`job record ${recordKey} has no queue or launch template`);
  return {
    recordKey,
    group: record.group,
    jobName: record.jobName,
    instanceType: template.instanceType,
    iaes: plansOfRecord(record).length,
    queuedAt: record.queue.queuedAt,
    deadline: record.queue.deadline,
  };
}

/**
 * Add a job at the end of the queue (idempotent: a job already there keeps its place). Returns its
 * position (1 = next). Throws a JobError naming MAX_QUEUE_LENGTH when the queue is full.
 */
export async function enqueue(deps: QueueDeps, entry: QueueEntry): Promise<number> {
  const { maxQueueLength } = queueLimitsOf(deps.config);
  let position = 0;
  await updateJson<QueueDoc>(queueArgs(deps), (current) => {
    const q = asQueue(current);
    const at = q.entries.findIndex((e) => e.recordKey === entry.recordKey);
    if (at >= 0) {
      position = at + 1;
      return UNCHANGED;
    }
    if (q.entries.length >= maxQueueLength) throw queueFull(maxQueueLength);
    position = q.entries.length + 1;
    return { ...q, entries: [...q.entries, entry], ...(q.drain ? { rerun: true } : {}) };
  });
  return position;
}

export function queueFull(maxQueueLength: number): JobError {
  return new JobError(
    maxQueueLength === 0
      ? "This analysis does not queue jobs (MAX_QUEUE_LENGTH 0) and has no free capacity right now. Try again later or contact NeuroCAAS administrator."
      : `The analysis' queue is full: ${maxQueueLength} job(s) are already waiting for capacity (MAX_QUEUE_LENGTH). Try again later or contact NeuroCAAS administrator.`,
  );
}

/** Take a job out of the queue (idempotent). */
export async function dequeue(deps: QueueDeps, recordKey: string): Promise<void> {
  await updateJson<QueueDoc>(queueArgs(deps), (current) => {
    if (!current || !asQueue(current).entries.some((e) => e.recordKey === recordKey)) return UNCHANGED;
    const q = asQueue(current);
    return { ...q, entries: q.entries.filter((e) => e.recordKey !== recordKey) };
  });
}

export interface DrainOutcome {
  /** Whether this call drained (false: another drain was running and was asked to look again). */
  readonly drained: boolean;
  /** Record keys of the jobs this drain started. */
  readonly started: readonly string[];
  /** Record keys of jobs rejected for waiting too long, or failed for good. */
  readonly ended: readonly string[];
}

/**
 * Start what fits, in arrival order: per instance type, the first waiting job that does not fit
 * under DEPLOY_LIMIT blocks the ones behind it (no overtaking), jobs of other types still start.
 * Jobs past their deadline are rejected.
 */
export async function drainQueue(deps: MonitorDeps): Promise<DrainOutcome> {
  const invocation = deps.invocation ?? defaultInvocation(deps.clock.now());
  const q = await acquireDrain(deps, invocation, false);
  if (!q) return { drained: false, started: [], ended: [] };
  return drainHeld(deps, invocation, q);
}

/**
 * The job manager's start gate: jobs start one at a time per analysis, so DEPLOY_LIMIT holds even
 * when many submissions arrive at once. It is the drain's lease: while the job manager counts the
 * running IAEs and launches, no drain (and no other job manager) starts anything; a job manager
 * that finds it taken queues its job, and the holder drains it right after (`rerun`). Returns
 * whether this invocation holds it; `releaseStartGate` ends it (draining what arrived meanwhile).
 */
export async function acquireStartGate(deps: MonitorDeps, invocation: Invocation): Promise<boolean> {
  return (await acquireDrain(deps, invocation, true)) !== undefined;
}

export async function releaseStartGate(deps: MonitorDeps, invocation: Invocation): Promise<DrainOutcome> {
  return drainHeld(deps, invocation, undefined);
}

/** Take the drain lease (the queue object is created when `create`); undefined when another holds it (it is asked to look again). */
async function acquireDrain(deps: QueueDeps, invocation: Invocation, create: boolean): Promise<QueueDoc | undefined> {
  const out = await updateJson<QueueDoc>(queueArgs(deps), (current) => {
    if (!current && !create) return UNCHANGED;
    const q = asQueue(current);
    if (leaseLive(q.drain, invocation, deps.clock.now())) return q.rerun ? UNCHANGED : { ...q, rerun: true };
    if (!create && q.entries.length === 0) return q.drain ? { ...q, drain: undefined, rerun: false } : UNCHANGED;
    return { ...q, drain: leaseOf(invocation), rerun: false };
  });
  return out.written && out.value?.drain?.holder === invocation.id ? out.value : undefined;
}

/** Drain while holding the lease (`q`: the queue as read; undefined: release first), then release it unless something changed meanwhile. */
async function drainHeld(
  deps: MonitorDeps,
  invocation: Invocation,
  first: QueueDoc | undefined,
): Promise<DrainOutcome> {
  const started: string[] = [];
  const ended: string[] = [];
  let q = first;
  for (;;) {
    if (q) await drainPass(deps, invocation, q, started, ended);
    // Stop holding the lease, unless something changed meanwhile: then look again.
    let again = false;
    const released = await updateJson<QueueDoc>(queueArgs(deps), (current) => {
      const c = asQueue(current);
      if (c.drain?.holder !== invocation.id) return UNCHANGED;
      again = c.rerun === true || q === undefined;
      if (!again) return { ...c, drain: undefined };
      return c.rerun === true ? { ...c, rerun: false } : UNCHANGED;
    });
    if (!again || !released.value) break;
    q = released.value;
  }
  return { drained: true, started, ended };
}

/** One pass over the queue as read (a fresh read for each job it touches). */
async function drainPass(
  deps: MonitorDeps,
  invocation: Invocation,
  q: QueueDoc,
  started: string[],
  ended: string[],
): Promise<void> {
  const limit = deps.config.deployLimit;
  const running = new Map<string, number>();
  const blocked = new Set<string>();
  const now = deps.clock.now();
  for (const entry of q.entries) {
    if (Date.parse(entry.deadline) <= now.getTime()) {
      if (await expireJob(deps, entry)) ended.push(entry.recordKey);
      continue;
    }
    if (blocked.has(entry.instanceType)) continue;
    if (!running.has(entry.instanceType))
      running.set(entry.instanceType, await deps.compute.countRunning({ instanceType: entry.instanceType }));
    const count = running.get(entry.instanceType) as number;
    if (count + entry.iaes > limit) {
      blocked.add(entry.instanceType);
      continue;
    }
    const result = await startQueuedJob(deps, invocation, entry);
    if (result === "started") {
      started.push(entry.recordKey);
      running.set(entry.instanceType, count + entry.iaes);
    } else if (result === "ended") {
      ended.push(entry.recordKey);
    } else if (result === "capacity") {
      blocked.add(entry.instanceType);
    }
  }
}

type StartResult = "started" | "gone" | "not-ready" | "capacity" | "ended";

async function readRecord(deps: QueueDeps, recordKey: string): Promise<JobRecord | undefined> {
  const obj = await deps.store.get(deps.config.bucketName, recordKey);
  return obj ? parseJobRecord(obj.body) : undefined;
}

function recordArgs(deps: QueueDeps, recordKey: string) {
  return {
    store: deps.store,
    bucket: deps.config.bucketName,
    key: recordKey,
    attempts: limitsOf(deps).conditionalWriteAttempts,
    sleep: deps.clock.sleep,
  };
}

/** Fresh idempotency tokens for launch attempt `k` of a queued job (a rolled-back launch's tokens would return its terminated IAEs). */
function withFreshTokens(launch: LaunchRecord, k: number): LaunchRecord {
  return {
    ...launch,
    batches: launch.batches.map((b) => ({
      token: sha256(`${b.token}#queued-launch-${k}`).slice(0, LAUNCH_TOKEN_LENGTH),
      plans: b.plans,
      ...(b.instanceTags ? { instanceTags: b.instanceTags } : {}),
    })),
  };
}

/**
 * Start one queued job whole: move its record from `queued` to `launching` (this drain's lease;
 * the exactly-once point), launch every batch, write the cost logs and files, mark it started,
 * turn its reservation into running IAEs, take it out of the queue.
 */
async function startQueuedJob(deps: MonitorDeps, invocation: Invocation, entry: QueueEntry): Promise<StartResult> {
  const record = await readRecord(deps, entry.recordKey);
  if (
    !record ||
    record.state === "started" ||
    record.state === "rejected" ||
    record.state === "failed" ||
    record.state === "cancelled" ||
    !record.launch?.template ||
    !record.queue
  ) {
    // Started, closed or cancelled meanwhile (or a crash after it started): nothing waits any more.
    if (record) await releaseJobBudget(deps, record.group, entry.recordKey, limitsOf(deps).sharedWriteAttempts);
    await dequeue(deps, entry.recordKey);
    return "gone";
  }
  if (record.state !== "queued" && leaseLive(record.lease, invocation, deps.clock.now())) return "not-ready"; // still being queued, or started by another drain
  const resuming = record.state === "launching";
  const now = deps.clock.now();
  const claimed = await updateJson<JobRecord>(recordArgs(deps, entry.recordKey), (r) => {
    if (!r || !r.launch || !r.queue) return UNCHANGED;
    if (r.state === "queued") {
      const k = r.queue.launches + 1;
      return {
        ...r,
        state: "launching",
        lease: leaseOf(invocation),
        launch: withFreshTokens(r.launch, k),
        queue: { ...r.queue, launches: k },
        instances: [],
        updated: now.toISOString(),
      };
    }
    if (r.state === "launching" && !leaseLive(r.lease, invocation, deps.clock.now()))
      return { ...r, lease: leaseOf(invocation), updated: now.toISOString() };
    return UNCHANGED;
  });
  const mine = claimed.value;
  if (!claimed.written || !mine?.launch?.template || mine.lease?.holder !== invocation.id) return "not-ready";
  const launch = mine.launch;
  const template = launch.template as NonNullable<LaunchRecord["template"]>;
  const launched: LaunchedPlan[] = [];
  const update = (change: (r: JobRecord) => JobRecord) =>
    updateJson<JobRecord>(recordArgs(deps, entry.recordKey), (r) => {
      if (!r || r.lease?.holder !== invocation.id) throw new LeaseLostError(entry.recordKey);
      return { ...change(r), updated: deps.clock.now().toISOString() };
    }).then((o) => o.value as JobRecord);
  const limits = limitsOf(deps);
  try {
    await runLaunchCalls({
      compute: deps.compute,
      batches: launch.batches.map((b) => b.plans),
      requests: launch.batches.map((b, n) => launchRequestOf(template, b, n)),
      recorded: launch,
      resuming,
      concurrency: limits.launchConcurrency,
      instanceType: template.instanceType,
      recordBatch: (n, ids) => update((r) => withBatchIds(r, n, ids)).then(() => undefined),
      launched,
    });
  } catch (err) {
    if (err instanceof LeaseLostError) return "not-ready";
    // All or nothing: what started is terminated; the job waits (capacity) or fails for good.
    await deps.compute.terminate(launched.map((l) => l.iae.instanceId));
    if (isQueueableLaunchFailure(launchCause(err))) {
      await update((r) => ({
        ...r,
        state: "queued",
        lease: undefined,
        instances: [],
        queue: r.queue ? { ...r.queue, reason: errorMessage(err) } : r.queue,
      }));
      deps.log?.(`queue: ${record.jobName} still waits: ${errorMessage(err)}`);
      return "capacity";
    }
    await update((r) => ({ ...r, state: "failed", exitCode: 99, lease: undefined }));
    await closeWaitingJob(deps, mine, entry.recordKey, {
      status: "FAILED",
      reason: `${TERMINATE_PREFIX} ${errorMessage(err)}`,
      lastCommand: "could not start",
      lines: [
        `[Queue] ${TERMINATE_PREFIX} The job left the queue but its IAEs could not be started: ${errorMessage(err)}`,
        SHUTDOWN_LINE,
      ],
    });
    return "ended";
  }
  const activeWritten: string[] = [];
  await writeActiveCostLogs({
    store: deps.store,
    compute: deps.compute,
    bucket: deps.config.bucketName,
    common: launch.common,
    launched,
    now: deps.clock.now(),
    resuming,
    written: activeWritten,
  });
  const ids = new Map(launched.map((l) => [l.plan.index, l.iae.instanceId]));
  const waited = Math.round((now.getTime() - Date.parse(record.queue.queuedAt)) / 60_000);
  await transitionJob(
    deps,
    mine,
    { status: "INITIALIZING", reason: "", lastCommand: "waiting for IAE", from: ["QUEUED"], instances: ids },
    [
      `[Queue] Capacity is free: started the job after ${waited} min in the queue; requested ${launched.length} IAE(s): ${launched.map((l) => l.iae.instanceId).join(", ")}. Each IAE receives its command as soon as it is running.`,
    ],
  );
  const final = await update((r) => ({
    ...r,
    state: r.cancel ? "cancelled" : "started",
    exitCode: 0,
    lease: undefined,
  }));
  // Cancelled while this drain launched it: nothing of it may run (the monitor accounts the IAEs' ends).
  if (final.cancel) await deps.compute.terminate(launched.map((l) => l.iae.instanceId));
  await releaseJobBudget(deps, record.group, entry.recordKey, limits.sharedWriteAttempts);
  await dequeue(deps, entry.recordKey);
  deps.log?.(`queue: started ${record.jobName} (${launched.length} IAE(s))`);
  return "started";
}

/** A job waited longer than MAX_QUEUE_WAIT: rejected with the reason, its reservation released. */
async function expireJob(deps: MonitorDeps, entry: QueueEntry): Promise<boolean> {
  const closed = await updateJson<JobRecord>(recordArgs(deps, entry.recordKey), (r) => {
    if (!r || r.state !== "queued") return UNCHANGED;
    return { ...r, state: "rejected", exitCode: 99, lease: undefined, updated: deps.clock.now().toISOString() };
  });
  const record = closed.value ?? (await readRecord(deps, entry.recordKey));
  if (!closed.written) {
    // Not waiting any more (started, closed, cancelled): drop the entry. A job still being queued
    // or started (launching) is left to whoever holds it.
    if (!record || (record.state !== "launching" && record.state !== "claimed")) await dequeue(deps, entry.recordKey);
    return false;
  }
  const { maxQueueWaitMinutes } = queueLimitsOf(deps.config);
  const why = `The job waited ${maxQueueWaitMinutes} min in the queue (MAX_QUEUE_WAIT) without capacity becoming free (${record?.queue?.reason ?? "no capacity"}). Submit it again later or contact NeuroCAAS administrator.`;
  await closeWaitingJob(deps, record as JobRecord, entry.recordKey, {
    status: "FAILED",
    reason: `${TERMINATE_PREFIX} ${why}`,
    lastCommand: "never started",
    lines: [`[Queue] ${TERMINATE_PREFIX} ${why}`, SHUTDOWN_LINE],
  });
  return true;
}

/**
 * A job that waited ends without running (expired, failed to start, cancelled): its files say so,
 * end.txt is written, its reservation released, its entry removed. Repeatable.
 */
export async function closeWaitingJob(
  deps: Pick<MonitorDeps, "store" | "config" | "clock" | "limits">,
  record: JobRecord,
  recordKey: string,
  how: {
    readonly status: "FAILED" | "CANCELLED";
    readonly reason: string;
    readonly lastCommand: string;
    readonly lines: readonly string[];
  },
): Promise<void> {
  await transitionJob(
    deps,
    record,
    { status: how.status, reason: how.reason, lastCommand: how.lastCommand },
    how.lines,
  );
  await writeEndMarker(deps.store, record.outputBucket, record.jobFolder);
  await releaseJobBudget(deps, record.group, recordKey, limitsOf(deps).sharedWriteAttempts);
  await dequeue(deps, recordKey);
}
