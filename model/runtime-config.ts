import { readFileSync } from "node:fs";
import type { Affiliate, ProtocolName, Stage, PostProcessing } from "./blueprint/types";

/**
 * What the job-manager, monitor and post-processing handlers need to know about one analysis.
 * The Pulumi program builds it from the blueprint and the utils stack outputs and passes it to
 * each Lambda as JSON in the `NEUROCAAS_CONFIG` environment variable; local mode builds the same
 * object from the same blueprint (see `runtimeConfigFromBlueprint` in components/).
 */
export interface AnalysisRuntimeConfig {
  /** The analysis bucket (stack key `neurocaas:bucketName`; by default the blueprint's PipelineName). */
  readonly bucketName: string;
  /**
   * The analysis name, the blueprint's PipelineName: job folders are `job__{analysisName}_{ts}`,
   * IAEs are tagged with it and budgets are looked up by it. It differs from `bucketName` only
   * when the stack sets `neurocaas:bucketName` (bucket names are global across AWS accounts).
   */
  readonly analysisName: string;
  readonly region: string;
  readonly stage: Stage;
  readonly protocol: ProtocolName;
  readonly ami: string;
  readonly instanceType: string;
  readonly allowedInstanceTypes: readonly string[];
  readonly command: string;
  readonly workingDirectory: string;
  readonly shutdownBehavior: "terminate" | "stop";
  readonly ssmTimeoutSeconds: number;
  readonly launch: boolean;
  readonly deployLimit: number;
  readonly maxCost: number;
  readonly monitor: boolean;
  readonly allowSpot: boolean;
  readonly imageVolumeSizeGb: number;
  readonly affiliates: readonly Pick<Affiliate, "AffiliateName" | "UserInput">[];
  /** Utils stack outputs the IAEs are launched with. */
  readonly iaeInstanceProfileArn: string;
  readonly iaeRoleArn: string;
  readonly keyName: string;
  readonly securityGroupIds: readonly string[];
  readonly subnetIds?: readonly string[];
  /** Parameter-store prefix for budgets: `{prefix}/{group}/{bucket}`. */
  readonly budgetParameterPrefix: string;
  readonly configSchema?: Record<string, unknown>;
  readonly postProcessing?: PostProcessing;
  /**
   * Buckets besides the analysis bucket that storage bypass may read and write
   * (`neurocaas:bypassBuckets`; the platform roles can reach nothing else). Absent: none.
   */
  readonly bypassBuckets?: readonly string[];
  /** Most jobs waiting in the queue (blueprint MAX_QUEUE_LENGTH; 0: no queue, jobs over DEPLOY_LIMIT are rejected). Absent: QUEUE_DEFAULTS. */
  readonly maxQueueLength?: number;
  /** Longest a job waits in the queue before it is rejected, minutes (blueprint MAX_QUEUE_WAIT). */
  readonly maxQueueWaitMinutes?: number;
  /** Runs of a dataset whose analysis exits non-zero (blueprint MAX_ATTEMPTS). Absent: QUEUE_DEFAULTS (1, never again). */
  readonly maxAttempts?: number;
}

export const RUNTIME_CONFIG_ENV = "NEUROCAAS_CONFIG";
export const DEFAULT_BUDGET_PARAMETER_PREFIX = "/neurocaas/budgets";

/**
 * Set instead of a complete `NEUROCAAS_CONFIG` when the config does not fit Lambda's 4 KB
 * environment (e.g. hundreds of affiliates): the full JSON is then a file of that name in the
 * function's code archive, and `NEUROCAAS_CONFIG` holds a summary whose `affiliates` lists only
 * those with `UserInput: false`. `loadRuntimeConfig` prefers the file.
 */
export const RUNTIME_CONFIG_FILE_ENV = "NEUROCAAS_CONFIG_PATH";

/** The runtime config of a Lambda (or local process) from its environment. */
export function loadRuntimeConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, "utf8"),
): AnalysisRuntimeConfig {
  const file = env[RUNTIME_CONFIG_FILE_ENV];
  const source = file !== undefined && file !== "" ? `file ${file}` : `environment variable ${RUNTIME_CONFIG_ENV}`;
  let text: string | undefined;
  if (file !== undefined && file !== "") {
    const root = env.LAMBDA_TASK_ROOT ?? process.cwd();
    text = readFile(file.startsWith("/") ? file : `${root}/${file}`);
  } else {
    text = env[RUNTIME_CONFIG_ENV];
  }
  if (text === undefined || text === "")
    throw new Error(`No runtime config: set ${RUNTIME_CONFIG_ENV} (JSON) or ${RUNTIME_CONFIG_FILE_ENV}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`Runtime config in ${source} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    Array.isArray(parsed) ||
    typeof (parsed as { bucketName?: unknown }).bucketName !== "string"
  ) {
    throw new Error(`Runtime config in ${source} must be a JSON object with at least "bucketName"`);
  }
  return withAnalysisName(parsed as Omit<AnalysisRuntimeConfig, "analysisName"> & { analysisName?: unknown });
}

/** Configs written before buckets could be named apart from their analysis carry no `analysisName`: it is the bucket's. */
function withAnalysisName(
  config: Omit<AnalysisRuntimeConfig, "analysisName"> & { analysisName?: unknown },
): AnalysisRuntimeConfig {
  const { analysisName } = config;
  if (analysisName === undefined) return { ...config, analysisName: config.bucketName };
  if (typeof analysisName !== "string" || analysisName === "")
    throw new Error(`runtime config field "analysisName" must be a non-empty string (the blueprint's PipelineName)`);
  return { ...config, analysisName };
}
