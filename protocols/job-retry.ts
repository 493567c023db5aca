/**
 * Retry what the infrastructure broke (SPEC §11): an IAE whose spot capacity AWS reclaimed, or
 * one that never received its command, is replaced once, on on-demand capacity, by an IAE that
 * runs the same plan (dataset, config, command). The replacement is written ahead into the job
 * record (its idempotency token) before the launch and completed with its id after, so a repeated
 * event adopts the instance instead of starting a second one; its own cost log (attempt 2) makes
 * both attempts' spend count. A replacement is never replaced again.
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
  { readonly replaced: true; readonly instanceId: string } | { readonly replaced: false; readonly why: string };

/** Replace the IAE of `log` once, on demand. Repeatable: a second call for the same IAE returns the same replacement. */
export async function replaceIae(deps: MonitorDeps, log: CostLog, kind: RetryKind): Promise<ReplaceResult> {
  const id = log["instance-id"];
  if ((log.attempt ?? 1) >= 2) return { replaced: false, why: "it was already the replacement of an earlier IAE" };
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
    if ((r.retries ?? []).some((x) => x.index === index)) return UNCHANGED;
    const retry: RetryRecord = {
      index,
      kind,
      attempt: 2,
      replaces: id,
      token: sha256(`${recordKey}#replace#${index}#${id}`).slice(0, LAUNCH_TOKEN_LENGTH),
      spot: false,
      at: now.toISOString(),
    };
    return { ...r, retries: [...(r.retries ?? []), retry], updated: now.toISOString() };
  });
  const record = out.value;
  const retry = record?.retries?.find((x) => x.index === index);
  if (!record?.launch?.template || !retry)
    return { replaced: false, why: record?.cancel ? "the job was cancelled" : "its job cannot start IAEs again" };
  if (retry.replaces !== id)
    return {
      replaced: false,
      why: `its dataset was already run again once (IAE ${retry.instanceId ?? retry.replaces})`,
    };
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
      spot: false,
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
      x.index === index && x.instanceId === undefined ? { ...x, instanceId: iae.instanceId } : x,
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
  return { replaced: true, instanceId: iae.instanceId };
}

/** The replacement recorded for an IAE, if any. */
export function replacementOf(record: JobRecord | undefined, instanceId: string): RetryRecord | undefined {
  return record?.retries?.find((r) => r.replaces === instanceId);
}
