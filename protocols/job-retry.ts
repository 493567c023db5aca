/**
 * Retry what the infrastructure broke (SPEC §11): an IAE whose spot capacity AWS reclaimed, or
 * one that never received its command, is replaced once, on on-demand capacity, by an IAE that
 * runs the same plan (dataset, config, command). The replacement is written ahead into the job
 * record (its idempotency token) before the launch and completed with its id after, so a repeated
 * event adopts the instance instead of starting a second one; its own cost log (attempt 2) makes
 * both attempts' spend count. The infrastructure is retried once per dataset; an analysis that
 * exited non-zero is run again only while the blueprint's MAX_ATTEMPTS allows (`maxAttempts`).
 */
import { IAE_TAGS, LaunchError } from "./compute";
import { UNCHANGED, updateJson } from "./conditional-update";
import type { CostLog } from "../model/cost-log";
import { limitsOf, type MonitorDeps } from "./deps";
import { errorMessage } from "./errors";
import { LAUNCH_TOKEN_LENGTH } from "./job-launch";
import { costLogFor, planByIndex, sha256, type JobRecord, type RetryKind, type RetryRecord } from "./job-record";
import { activeCostLogKey } from "../model/layout";
import { PreconditionFailedError } from "./storage";
import { formatIsoSeconds } from "./time-format";

export type ReplaceResult =
  | {
      readonly replaced: true;
      readonly instanceId: string;
      /** The analysis' run the replacement is (1 + the plan's analysis-failure retries up to it). */
      readonly run: number;
    }
  | { readonly replaced: false; readonly why: string };

/**
 * Replace the IAE of `log`: for an infrastructure `kind` once per dataset, on demand; for
 * "analysis-failure", on the capacity type the job asked for, while the dataset has run fewer than
 * `maxAttempts` times. Repeatable: a second call for the same IAE returns the same replacement.
 */
export async function replaceIae(
  deps: MonitorDeps,
  log: CostLog,
  kind: RetryKind,
  maxAttempts = 1,
): Promise<ReplaceResult> {
  const id = log["instance-id"];
  const recordKey = log.jobrecord;
  if (!recordKey || log.datasetindex === undefined) return { replaced: false, why: "its job has no launch record" };
  const bucket = deps.config.bucketName;
  const args = {
    store: deps.store,
    bucket,
    key: recordKey,
    attempts: limitsOf(deps).conditionalWriteAttempts,
    sleep: deps.clock.sleep,
  };
  const index = log.datasetindex;
  const now = deps.clock.now();
  // 1. Write the replacement ahead (one per plan, ever).
  const out = await updateJson<JobRecord>(args, (r) => {
    if (!r?.launch?.template || r.cancel || r.state === "cancelled" || r.state === "failed" || r.state === "rejected")
      return UNCHANGED;
    const ofPlan = (r.retries ?? []).filter((x) => x.index === index);
    if (ofPlan.some((x) => x.replaces === id)) return UNCHANGED;
    // Only the plan's latest IAE may be replaced (an older one's late event starts nothing).
    if (ofPlan.some((x) => x.instanceId === undefined || (log.attempt ?? 1) < x.attempt)) return UNCHANGED;
    const analysisRuns = 1 + ofPlan.filter((x) => x.kind === "analysis-failure").length;
    if (kind === "analysis-failure" ? analysisRuns >= maxAttempts : ofPlan.some((x) => x.kind !== "analysis-failure"))
      return UNCHANGED;
    const retry: RetryRecord = {
      index,
      kind,
      attempt: (log.attempt ?? 1) + 1,
      replaces: id,
      token: sha256(`${recordKey}#replace#${index}#${id}`).slice(0, LAUNCH_TOKEN_LENGTH),
      // An infrastructure retry runs on demand; an analysis retry on the capacity the job asked for.
      spot: kind === "analysis-failure" && r.launch.template.spot,
      at: now.toISOString(),
    };
    return { ...r, retries: [...(r.retries ?? []), retry], updated: now.toISOString() };
  });
  const record = out.value;
  const retry = record?.retries?.find((x) => x.index === index && x.replaces === id);
  if (!record?.launch?.template || record.cancel || !retry) {
    const earlier = record?.retries?.filter((x) => x.index === index) ?? [];
    const why = record?.cancel
      ? "the job was cancelled"
      : !record?.launch?.template ||
          record.state === "cancelled" ||
          record.state === "failed" ||
          record.state === "rejected"
        ? "its job cannot start IAEs again"
        : kind === "analysis-failure"
          ? `its analysis has run ${1 + earlier.filter((x) => x.kind === "analysis-failure").length} of at most ${maxAttempts} time(s) (MAX_ATTEMPTS)`
          : (log.attempt ?? 1) >= 2
            ? "it was already the replacement of an earlier IAE"
            : "its dataset was already run again once after an infrastructure failure";
    return { replaced: false, why };
  }
  const plan = planByIndex(record, index);
  const batchIndex = record.launch.batches.findIndex((b) => b.plans.some((p) => p.index === index));
  if (!plan || batchIndex < 0) return { replaced: false, why: "its plan is not in the launch record" };
  const batch = record.launch.batches[batchIndex];
  const tags = batch.instanceTags?.[batch.plans.findIndex((p) => p.index === index)] ?? {
    [IAE_TAGS.dataset]: plan.dataset,
  };
  const { subnetIds, ...template } = record.launch.template;
  // 2. Launch (or adopt what an earlier attempt of this call started), on demand.
  let iae;
  try {
    [iae] = await deps.compute.launch({
      ...template,
      spot: retry.spot,
      count: 1,
      instanceTags: [tags],
      subnetId: subnetIds?.[0],
      clientToken: retry.token,
      adopt: true,
    });
  } catch (err) {
    if (err instanceof LaunchError)
      return { replaced: false, why: `no replacement could be started (${errorMessage(err)})` };
    throw err;
  }
  // 3. Its id in the record and its cost log (If-None-Match: a repeat finds them written).
  await updateJson<JobRecord>(args, (r) => {
    if (!r) return UNCHANGED;
    const retries = (r.retries ?? []).map((x) =>
      x.index === index && x.replaces === id && x.instanceId === undefined ? { ...x, instanceId: iae.instanceId } : x,
    );
    return retries.some((x, i) => x !== (r.retries ?? [])[i])
      ? { ...r, retries, updated: deps.clock.now().toISOString() }
      : UNCHANGED;
  });
  try {
    const replacement = costLogFor(record.launch.common, plan, iae, formatIsoSeconds(deps.clock.now()), retry);
    await deps.store.put(bucket, activeCostLogKey(iae.instanceId), JSON.stringify(replacement, null, 2), {
      ifNoneMatch: "*",
    });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
  }
  deps.log?.(`monitor: IAE ${id} (${kind}) replaced by ${iae.instanceId}`);
  const run =
    1 +
    (record.retries ?? []).filter(
      (x) => x.index === index && x.kind === "analysis-failure" && x.attempt <= retry.attempt,
    ).length;
  return { replaced: true, instanceId: iae.instanceId, run };
}

/** The replacement recorded for an IAE, if any. */
export function replacementOf(record: JobRecord | undefined, instanceId: string): RetryRecord | undefined {
  return record?.retries?.find((r) => r.replaces === instanceId);
}
