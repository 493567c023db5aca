import { DEFAULT_POST_TRIGGER, type PostProcessing } from "../model/blueprint/types";
import type { PostProcessDeps } from "./deps";
import { jobRecordKey, type JobRecord } from "./job-record";
import { basename, jobFolderName } from "../model/layout";
import { createdObjects, type S3NotificationEvent } from "./s3-event";
import { PreconditionFailedError } from "./storage";

export interface PostProcessOutcome {
  readonly key: string;
  readonly action: "ignored" | "already-done" | "submitted";
  readonly submitKey?: string;
  readonly detail?: string;
}

/** Marker making post-processing run once per job and step. */
export function postMarkerKey(jobFolder: string, step: string): string {
  return `logs/_post/${jobFolder}/${step}.json`;
}

/**
 * Post-processing chain (SPEC 4.8): when a job's trigger file (default end.txt) appears in its
 * `process_results/`, once per job copy `logs/` to `logs_pre_{step}/` and write
 * `{group}/submissions/{step}_submit.json` (in the target bucket) that runs the next step on
 * the results with the same config.
 */
async function postProcessObject(bucket: string, key: string, deps: PostProcessDeps): Promise<PostProcessOutcome> {
  const post: PostProcessing | undefined = deps.config.postProcessing;
  if (!post) return { key, action: "ignored", detail: "this analysis has no post-processing step" };
  if (bucket !== deps.config.bucketName) return { key, action: "ignored", detail: "not this analysis' bucket" };
  const trigger = post.PostTrigger || DEFAULT_POST_TRIGGER;
  const ownPrefix = jobFolderName(deps.config.analysisName, "");
  const m = /^([^/]+)\/results\/(job__[^/]+)\/process_results\/(.+)$/.exec(key);
  if (!m || basename(m[3]) !== trigger || !m[2].startsWith(ownPrefix))
    return { key, action: "ignored", detail: `not a ${trigger} of a job's process_results/` };
  const [, group, jobName] = m;
  const jobFolder = `${group}/results/${jobName}`;
  const step = post.StepName;
  // A step whose results land in the same bucket must not chain on its own end.txt forever.
  if (jobName.endsWith(`_${step}`)) return { key, action: "ignored", detail: `this job is itself the ${step} step` };
  // Only jobs the job manager started: a folder without a job record (a rejection, a folder a
  // user's job never had, a key crafted by an IAE) starts nothing and is never touched.
  const recordObj = await deps.store.get(bucket, jobRecordKey(group, jobName));
  const record = recordObj ? (JSON.parse(recordObj.body) as JobRecord) : undefined;
  if (!record || record.outputBucket !== bucket || record.jobFolder !== jobFolder || record.state === "rejected") {
    const why = !record
      ? "no job record names it"
      : record.state === "rejected"
        ? "its job was rejected before anything ran"
        : `its job's folder is s3://${record.outputBucket}/${record.jobFolder}`;
    deps.log?.(`post-processing: ${key} ignored: ${why}; nothing done`);
    return { key, action: "ignored", detail: `${jobFolder}: ${why}` };
  }
  const now = deps.clock.now().toISOString();
  try {
    await deps.store.put(bucket, postMarkerKey(jobFolder, step), JSON.stringify({ trigger: key, at: now }), {
      ifNoneMatch: "*",
    });
  } catch (err) {
    if (err instanceof PreconditionFailedError) return { key, action: "already-done" };
    throw err;
  }
  const logKeys = await deps.store.list(bucket, `${jobFolder}/logs/`);
  for (const k of logKeys)
    await deps.store.copy(bucket, k, bucket, `${jobFolder}/logs_pre_${step}/${k.slice(`${jobFolder}/logs/`.length)}`);

  const configKey = record.configKey;
  const target = post.TargetBucket ?? bucket;
  const timestamp = `${jobName.slice(ownPrefix.length)}_${step}`;
  const results = `${jobFolder}/process_results/`;
  const submit =
    target === bucket
      ? { dataname: [results], configname: configKey, timestamp }
      : {
          dataname: [`s3://${bucket}/${results}`],
          configname: configKey ? `s3://${record.inputBucket ?? bucket}/${configKey}` : undefined,
          timestamp,
          resultpath: `s3://${target}/${group}/results`,
        };
  const submitKey = `${group}/submissions/${step}_submit.json`;
  await deps.store.put(target, submitKey, JSON.stringify(submit, null, 2));
  return { key, action: "submitted", submitKey: `s3://${target}/${submitKey}` };
}

/** Post-processing: one outcome per created object of the event. */
export async function runPostProcess(
  event: S3NotificationEvent,
  deps: PostProcessDeps,
): Promise<readonly PostProcessOutcome[]> {
  const out: PostProcessOutcome[] = [];
  for (const { bucket, key } of createdObjects(event)) out.push(await postProcessObject(bucket, key, deps));
  return out;
}
