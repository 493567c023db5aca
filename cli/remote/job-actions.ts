import * as fs from "node:fs";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { GetCommandInvocationCommand, type GetCommandInvocationCommandOutput } from "@aws-sdk/client-ssm";
import { Ec2ComputeBackend } from "../../protocols/aws/ec2-compute";
import { S3ObjectStore } from "../../protocols/aws/s3-store";
import { UNCHANGED, updateObject } from "../../protocols/conditional-update";
import { parseDatasetStatus, renderDatasetStatus, statusOf } from "../../protocols/dataset-status";
import { CommandTargetNotReadyError } from "../../protocols/compute";
import { analysisBucketOf, readState, writeState, type RemoteContext } from "./context";
import { debugCommandRequest, initialStatus, parseDebugSubmission, planDebugJob } from "./debug-job";
import { assertRunning, describeInstance } from "./instances";
import { jobAt, selectedInstance, updateInstance, type DevJob } from "./state";
import { internalLogsPrefix } from "../../model/layout";

function readSubmitFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read submit file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`submit file ${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** `remote submit-job -s SUBMITFILE`: run the blueprint COMMAND on the selected instance. */
export async function submitJob(ctx: RemoteContext, submitFile: string): Promise<DevJob> {
  const sub = parseDebugSubmission(readSubmitFile(submitFile), submitFile);
  const state = readState(ctx);
  const rec = selectedInstance(state);
  const info = await describeInstance(ctx.clients.ec2, rec.instanceId);
  assertRunning(info, "run a job");
  const bucket = analysisBucketOf(ctx);
  const cfg = ctx.blueprint.Lambda.LambdaConfig;
  const now = ctx.clock();
  const plan = planDebugJob(bucket, cfg.COMMAND, sub, now);
  const putStatus = (body: Record<string, unknown>) =>
    ctx.clients.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: plan.statusKey,
        Body: renderDatasetStatus(body),
        ContentType: "application/json",
      }),
    );
  const status = initialStatus(plan, sub, rec.instanceId);
  await putStatus(status);
  // The job manager's compute backend delivers the command, so the SSM request is the same.
  const compute = new Ec2ComputeBackend({
    ec2: ctx.clients.ec2,
    ssm: ctx.clients.ssm,
    sleep: ctx.sleep,
    launchRetryMs: 0,
  });
  let commandId: string;
  try {
    const sent = await compute.sendCommand(
      debugCommandRequest({
        bucket,
        instanceId: rec.instanceId,
        workingDirectory: cfg.WORKING_DIRECTORY,
        executionTimeoutSeconds: cfg.SSM_TIMEOUT,
        plan,
      }),
    );
    commandId = sent.commandId;
  } catch (err) {
    await putStatus({ ...status, status: "FAILED", reason: [`command not delivered: ${(err as Error).message}`] });
    if (err instanceof CommandTargetNotReadyError) {
      throw new Error(
        `the SSM agent of ${rec.instanceId} cannot receive commands yet (${err.message}); wait a minute after start and retry`,
        { cause: err },
      );
    }
    throw err;
  }
  await recordCommandId(ctx, bucket, plan.statusKey, commandId);
  const job: DevJob = {
    commandId,
    submitFile,
    datasetKey: sub.datasetKey,
    configKey: sub.configKey,
    resultFolder: plan.resultFolder,
    jobFolder: plan.jobFolder,
    statusKey: plan.statusKey,
    command: plan.command,
    startedAt: now.toISOString(),
  };
  writeState(
    ctx,
    updateInstance(state, rec.instanceId, (r) => ({ ...r, jobs: [...r.jobs, job] })),
  );
  ctx.out(`job ${rec.jobs.length} sent to ${rec.instanceId}: SSM command ${commandId}`);
  ctx.out(`command: ${plan.command}`);
  ctx.out(`results: s3://${bucket}/${plan.jobFolder}/`);
  return job;
}

/**
 * Put the command id into the status file unless the instance has already moved it past
 * INITIALIZING (a conditional read-modify-write: the instance writes the same file).
 */
async function recordCommandId(ctx: RemoteContext, bucket: string, key: string, commandId: string): Promise<void> {
  await updateObject({ store: new S3ObjectStore(ctx.clients.s3), bucket, key, sleep: ctx.sleep }, (current) => {
    const doc = current ? parseDatasetStatus(current.body) : undefined;
    return doc && statusOf(doc) === "INITIALIZING" ? renderDatasetStatus({ ...doc, command: commandId }) : UNCHANGED;
  });
}

async function invocation(
  ctx: RemoteContext,
  index: number,
): Promise<{ job: DevJob; instanceId: string; res?: GetCommandInvocationCommandOutput }> {
  const rec = selectedInstance(readState(ctx));
  const job = jobAt(rec, index);
  try {
    const res = await ctx.clients.ssm.send(
      new GetCommandInvocationCommand({ CommandId: job.commandId, InstanceId: rec.instanceId }),
    );
    return { job, instanceId: rec.instanceId, res };
  } catch (err) {
    // Right after SendCommand the invocation may not be registered yet.
    if ((err as { name?: string }).name === "InvocationDoesNotExist") return { job, instanceId: rec.instanceId };
    throw err;
  }
}

export function parseJobIndex(value: string | undefined): number {
  if (value === undefined) return -1;
  if (!/^-?[0-9]+$/.test(value.trim()))
    throw new Error(`--job must be an integer index (0 = first job, -1 = latest), got "${value}"`);
  return Number(value);
}

/** `remote job-status [-j INDEX]`. */
export async function jobStatus(ctx: RemoteContext, index: number): Promise<string> {
  const { job, instanceId, res } = await invocation(ctx, index);
  if (!res) {
    ctx.out(`job ${job.resultFolder} on ${instanceId}: Pending (SSM has not registered command ${job.commandId} yet)`);
    return "Pending";
  }
  const status = res.Status ?? "Unknown";
  const details = res.StatusDetails && res.StatusDetails !== status ? ` (${res.StatusDetails})` : "";
  const code = res.ResponseCode !== undefined && res.ResponseCode !== -1 ? `, exit code ${res.ResponseCode}` : "";
  ctx.out(`job ${job.resultFolder} on ${instanceId}: ${status}${details}${code}`);
  ctx.out(`command ${job.commandId} started ${job.startedAt}`);
  return status;
}

/** `remote job-output [-j INDEX]`: the invocation's stdout and stderr. */
export async function jobOutput(ctx: RemoteContext, index: number): Promise<void> {
  const { job, instanceId, res } = await invocation(ctx, index);
  if (!res) {
    ctx.out(
      `job ${job.resultFolder} on ${instanceId}: no output yet (SSM has not registered command ${job.commandId} yet)`,
    );
    return;
  }
  const bucket = analysisBucketOf(ctx);
  ctx.out(`---- stdout (${res.Status ?? "Unknown"}) ----`);
  ctx.out(await fullOutput(ctx, bucket, ssmOutputKey(job, instanceId, "stdout"), res.StandardOutputContent ?? ""));
  ctx.out("---- stderr ----");
  ctx.out(await fullOutput(ctx, bucket, ssmOutputKey(job, instanceId, "stderr"), res.StandardErrorContent ?? ""));
}

/** SSM returns at most this many characters of each stream; the rest is only in the bucket. */
export const SSM_INLINE_OUTPUT_LIMIT = 24_000;

/** Where SSM puts a stream of an AWS-RunShellScript invocation under OutputS3KeyPrefix. */
function ssmOutputKey(job: DevJob, instanceId: string, stream: "stdout" | "stderr"): string {
  return `${internalLogsPrefix(job.jobFolder)}${job.commandId}/${instanceId}/awsrunShellScript/0.awsrunShellScript/${stream}`;
}

async function fullOutput(ctx: RemoteContext, bucket: string, key: string, inline: string): Promise<string> {
  if (inline.length < SSM_INLINE_OUTPUT_LIMIT) return inline;
  try {
    const obj = await ctx.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = await obj.Body?.transformToString("utf8");
    if (text !== undefined) return text;
  } catch (err) {
    return `${inline}\n(output truncated by SSM; the full text at s3://${bucket}/${key} could not be read: ${(err as Error).message})`;
  }
  return inline;
}
