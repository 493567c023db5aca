/**
 * Step 4's launch (SPEC 4.1, 4.5): the job's IAEs in batched launch calls, all or nothing, each
 * call written ahead into the job record (its token and plans) and its instance ids recorded as
 * soon as it returns, so a resumed attempt adopts instead of launching twice; then the active
 * cost logs. Never waits for boot.
 */
import { mapBounded } from "./concurrency";
import {
  IAE_TAGS,
  LaunchError,
  tagValue,
  type ComputeBackend,
  type IaeDescription,
  type IaeLaunchRequest,
  type LaunchedIae,
} from "./compute";
import { LeaseLostError } from "./job-claim";
import { launchFailure } from "./job-failure";
import {
  costLogFor,
  sha256,
  type IaeCommon,
  type JobRecord,
  type LaunchBatchRecord,
  type LaunchRecord,
  type LaunchTemplate,
  type PlannedIae,
} from "./job-record";
import { activeCostLogKey, finishedCostLogKey } from "../model/layout";
import { PreconditionFailedError, type ObjectStore } from "./storage";
import { formatIsoSeconds } from "./time-format";

/** One IAE of a job. */
export type IaePlan = PlannedIae;

/** An IAE and the plan it runs. */
export interface LaunchedPlan {
  readonly plan: IaePlan;
  readonly iae: LaunchedIae;
}

/** Length of a launch's idempotency token (the EC2 backend appends its market, within EC2's 64). */
export const LAUNCH_TOKEN_LENGTH = 60;

/**
 * The job's launch calls: plans with the same `groupKey` (everything but per-instance tags alike)
 * in plan order, cut into batches of at most `cap` IAEs. A job of N datasets makes
 * ceil(N / cap) launch calls.
 */
export function launchBatches(
  plans: readonly IaePlan[],
  cap: number,
  groupKey: (plan: IaePlan) => string,
): IaePlan[][] {
  const size = Math.max(1, Math.floor(cap));
  const groups = new Map<string, IaePlan[]>();
  for (const plan of plans) {
    const k = groupKey(plan);
    const group = groups.get(k);
    if (group) group.push(plan);
    else groups.set(k, [plan]);
  }
  const batches: IaePlan[][] = [];
  for (const group of groups.values())
    for (let i = 0; i < group.length; i += size) batches.push(group.slice(i, i + size));
  return batches;
}

/** The idempotency token of one launch call: the same for every attempt of the same job and batch. */
export function launchToken(recordKey: string, submitDigest: string, batch: readonly IaePlan[]): string {
  return sha256(`${recordKey}#${submitDigest}#${batch[0].index}#${batch.length}`).slice(0, LAUNCH_TOKEN_LENGTH);
}

/** Launch call `n` of a job from its recorded template and batch (the job manager's and the queue's drain's one rule). */
export function launchRequestOf(template: LaunchTemplate, batch: LaunchBatchRecord, n: number): IaeLaunchRequest {
  const { subnetIds, ...shared } = template;
  return {
    ...shared,
    count: batch.plans.length,
    ...(batch.instanceTags ? { instanceTags: batch.instanceTags } : {}),
    subnetId: subnetIds?.[n % Math.max(1, subnetIds.length)],
    clientToken: batch.token,
  };
}

/** Whether two launch records plan the same launch calls (a resume may adopt the earlier one's IAEs). */
export function sameLaunch(a: LaunchRecord, b: LaunchRecord): boolean {
  const strip = (r: LaunchRecord): string => JSON.stringify(r.batches.map((x) => ({ token: x.token, plans: x.plans })));
  return strip(a) === strip(b);
}

/** The record with launch call `n`'s instance ids (plan order) and the `instances` list they make. */
export function withBatchIds(record: JobRecord, n: number, ids: readonly string[]): JobRecord {
  const launch = record.launch as LaunchRecord;
  const batches: LaunchBatchRecord[] = launch.batches.map((b, i) => (i === n ? { ...b, instanceIds: [...ids] } : b));
  return { ...record, launch: { ...launch, batches }, instances: instancesOf(batches) };
}

/** The `instances` list of a job record from its launch batches (plan order). */
function instancesOf(batches: readonly LaunchBatchRecord[]): JobRecord["instances"] {
  return batches
    .flatMap((b) =>
      (b.instanceIds ?? []).map((instanceId, i) => ({
        instanceId,
        dataset: b.plans[i].dataset,
        index: b.plans[i].index,
      })),
    )
    .sort((a, b) => a.index - b.index);
}

export interface LaunchCallsArgs {
  readonly compute: ComputeBackend;
  readonly batches: readonly (readonly IaePlan[])[];
  /** One request per batch. */
  readonly requests: readonly IaeLaunchRequest[];
  /** The launch as recorded (an earlier attempt's, when resuming): batches with ids are adopted. */
  readonly recorded: LaunchRecord;
  /** An earlier attempt may have made the calls: the backend looks for their instances first. */
  readonly resuming: boolean;
  readonly concurrency: number;
  /** Type of adopted IAEs the backend no longer describes. */
  readonly instanceType: string;
  /** Record a call's instance ids in the job record as soon as it returned. */
  readonly recordBatch: (n: number, ids: readonly string[]) => Promise<void>;
  /** Receives every IAE as soon as it is started or adopted, so that a failure can roll them back. */
  readonly launched: LaunchedPlan[];
}

/**
 * Make every launch call (at most `concurrency` at once, none started after a failure). By
 * contract the backend answers in launch order: IAE i carries instanceTags[i], so it runs plan i
 * (its dataset, config and command) — matched by index, never by arrival. Throws the first
 * failure in words (`launchFailure`), or LeaseLostError when another attempt took the job over.
 */
export async function runLaunchCalls(a: LaunchCallsArgs): Promise<void> {
  const failures: unknown[] = [];
  await mapBounded(
    a.batches,
    a.concurrency,
    async (plans, n) => {
      try {
        const known = a.recorded.batches[n].instanceIds;
        const iaes = known
          ? await adopt(a.compute, known, a.instanceType)
          : await a.compute.launch({ ...a.requests[n], ...(a.resuming ? { adopt: true } : {}) });
        if (iaes.length !== plans.length) {
          await a.compute.terminate(iaes.map((i) => i.instanceId));
          throw new LaunchError(
            "service",
            `the compute backend started ${iaes.length} IAE(s) for ${plans.length} requested`,
          );
        }
        iaes.forEach((iae, i) => a.launched.push({ plan: plans[i], iae }));
        if (!known)
          await a.recordBatch(
            n,
            iaes.map((i) => i.instanceId),
          );
      } catch (err) {
        failures.push(err);
        throw err;
      }
    },
    { stopOnError: true },
  ).catch(() => undefined);
  if (failures.length > 0) throw failures.find((f) => f instanceof LeaseLostError) ?? launchFailure(failures[0]);
  a.launched.sort((x, y) => x.plan.index - y.plan.index);
}

/** Instances an earlier attempt recorded for a launch call, as launched IAEs (gone ones included). */
async function adopt(compute: ComputeBackend, ids: readonly string[], instanceType: string): Promise<LaunchedIae[]> {
  const described = new Map((await compute.describe(ids)).map((d) => [d.instanceId, d]));
  return ids.map((id) => ({
    instanceId: id,
    instanceType: described.get(id)?.instanceType ?? instanceType,
    spot: described.get(id)?.spot ?? false,
  }));
}

/** Every running instance this job ever started (found by its tags), so that a failing resume can stop them all. */
export async function runningIaesOfJob(
  compute: ComputeBackend,
  analysis: string,
  jobName: string,
  isOwn: (iae: IaeDescription) => boolean,
): Promise<LaunchedPlan[]> {
  const mine = await compute.listRunning({
    tags: { [IAE_TAGS.analysis]: analysis, [IAE_TAGS.job]: tagValue(jobName) },
  });
  return mine.filter(isOwn).map((iae) => ({
    plan: { index: -1, dataset: iae.tags[IAE_TAGS.dataset] ?? "", configKey: "", command: "" },
    iae,
  }));
}

export interface ActiveLogsArgs {
  readonly store: ObjectStore;
  readonly compute: ComputeBackend;
  /** The analysis bucket (cost logs live under its `logs/`). */
  readonly bucket: string;
  readonly common: IaeCommon;
  readonly launched: readonly LaunchedPlan[];
  readonly now: Date;
  /** A resumed job: IAEs an earlier attempt started may have ended and been accounted already. */
  readonly resuming: boolean;
  /** Receives each instance id whose log this wrote, as soon as it is written (a failure rolls them back). */
  readonly written: string[];
}

/**
 * Active cost logs, created only where none exists (the monitor may have created one from the
 * launch record and moved on) and only for IAEs still alive or unaccounted: an adopted IAE that
 * already ended belongs to the monitor's bookkeeping.
 */
export async function writeActiveCostLogs(a: ActiveLogsArgs): Promise<void> {
  const now = formatIsoSeconds(a.now);
  const alive = a.resuming
    ? new Set(
        (await a.compute.describe(a.launched.map((l) => l.iae.instanceId)))
          .filter((d) => d.state === "pending" || d.state === "running")
          .map((d) => d.instanceId),
      )
    : undefined;
  await mapBounded(a.launched, 16, async ({ plan, iae }) => {
    if (alive && !alive.has(iae.instanceId)) return;
    if (alive && (await a.store.exists(a.bucket, finishedCostLogKey(a.common.group, iae.instanceId)))) return;
    try {
      await a.store.put(
        a.bucket,
        activeCostLogKey(iae.instanceId),
        JSON.stringify(costLogFor(a.common, plan, iae, now), null, 2),
        { ifNoneMatch: "*" },
      );
      a.written.push(iae.instanceId);
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  });
}
