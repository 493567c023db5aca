import { fillCommand } from "../../protocols/command-template";
import type { CommandRequest } from "../../protocols/compute";
import { datasetStatusKey } from "../../model/layout";

/**
 * A debug job on a development instance (SPEC 5.1 `remote submit-job`): the blueprint COMMAND,
 * filled by the same templating code as the job manager and delivered by the same compute
 * backend (`Ec2ComputeBackend.sendCommand`), with result folder `results/debugjob{time}`.
 * Pure builders; the command module does the I/O.
 */

export interface DebugSubmission {
  readonly datasetKey: string;
  readonly configKey: string;
  readonly group: string;
}

/** Validate a submit file's content for a debug job (one dataset, keys inside the bucket). */
export function parseDebugSubmission(raw: unknown, file: string): DebugSubmission {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new Error(`${file}: a submit file must be a JSON object`);
  const obj = raw as Record<string, unknown>;
  let data = obj.dataname;
  if (Array.isArray(data)) {
    if (data.length !== 1)
      throw new Error(
        `${file}: dataname lists ${data.length} datasets; a debug job on a development instance runs exactly one`,
      );
    data = data[0];
  }
  const problems: string[] = [];
  if (typeof data !== "string" || data === "") problems.push(`"dataname" must be a dataset key (string)`);
  if (typeof obj.configname !== "string" || obj.configname === "")
    problems.push(`"configname" must be a config key (string)`);
  if (problems.length > 0) throw new Error(`${file}: ${problems.join("; ")}`);
  const datasetKey = data as string;
  const configKey = obj.configname as string;
  for (const [k, v] of [
    ["dataname", datasetKey],
    ["configname", configKey],
  ] as const) {
    if (v.startsWith("s3://"))
      throw new Error(
        `${file}: ${k} "${v}" is an s3:// URI; debug jobs read from the analysis bucket, give a key like {group}/inputs/...`,
      );
  }
  const slash = datasetKey.indexOf("/");
  if (slash <= 0)
    throw new Error(`${file}: dataname "${datasetKey}" must start with the group folder ({group}/inputs/...)`);
  return { datasetKey, configKey, group: datasetKey.slice(0, slash) };
}

/** `YYYYMMDD-HHMMSS` in UTC. */
export function debugJobStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d+Z$/, "")
    .replace(/[-:]/g, "")
    .replace("T", "-");
}

export interface DebugJobPlan {
  readonly resultFolder: string;
  readonly jobFolder: string;
  readonly statusKey: string;
  readonly command: string;
}

export function planDebugJob(bucket: string, commandTemplate: string, sub: DebugSubmission, now: Date): DebugJobPlan {
  const resultFolder = `results/debugjob${debugJobStamp(now)}`;
  const jobFolder = `${sub.group}/${resultFolder}`;
  return {
    resultFolder,
    jobFolder,
    statusKey: datasetStatusKey(jobFolder, sub.datasetKey),
    command: fillCommand(commandTemplate, {
      bucket,
      datasetKey: sub.datasetKey,
      resultFolder,
      configKey: sub.configKey,
    }),
  };
}

/**
 * The dataset status file written before the command is sent, shaped like the job manager's
 * (SPEC 4.3): `command` becomes the SSM command id once it is delivered.
 */
export function initialStatus(plan: DebugJobPlan, sub: DebugSubmission, instanceId: string): Record<string, unknown> {
  return {
    status: "INITIALIZING",
    reason: [],
    input: sub.datasetKey,
    instance: instanceId,
    command: null,
    job: plan.resultFolder.slice("results/".length),
  };
}

export interface RunShellArgs {
  readonly bucket: string;
  readonly instanceId: string;
  readonly workingDirectory: string;
  readonly executionTimeoutSeconds: number;
  readonly plan: DebugJobPlan;
}

/** The command request the job manager's monitor sends for an IAE, here for the dev instance. */
export function debugCommandRequest(args: RunShellArgs): CommandRequest {
  return {
    instanceId: args.instanceId,
    commands: [args.plan.command],
    workingDirectory: args.workingDirectory,
    executionTimeoutSeconds: args.executionTimeoutSeconds,
    outputBucket: args.bucket,
    outputPrefix: `${args.plan.jobFolder}/internal_ec2_logs`,
    comment: `neurocaas ${args.plan.jobFolder}`.slice(0, 100),
  };
}
