import type { Blueprint } from "./blueprint/types";
import {
  DEFAULT_BUDGET_PARAMETER_PREFIX,
  RUNTIME_CONFIG_ENV,
  RUNTIME_CONFIG_FILE_ENV,
  type AnalysisRuntimeConfig,
} from "./runtime-config";

/**
 * The plain values of the utils stack (or of this analysis' own IAE identity) that the job
 * manager launches IAEs with. Local mode passes fake local values.
 */
export interface UtilsRuntimeValues {
  readonly iaeInstanceProfileArn: string;
  readonly iaeRoleArn: string;
  readonly keyName: string;
  readonly securityGroupIds: readonly string[];
  readonly subnetIds?: readonly string[];
  /** Defaults to `/neurocaas/budgets`. */
  readonly budgetParameterPrefix?: string;
}

/** Stack settings besides the blueprint that the handlers enforce. */
export interface StackRuntimeValues {
  /** `neurocaas:bucketName`: the analysis bucket when it is not named after the PipelineName. */
  readonly bucketName?: string;
  /** `neurocaas:bypassBuckets`: the only other buckets storage bypass may use. */
  readonly bypassBuckets?: readonly string[];
}

/** Pure: the runtime configuration every Lambda of an analysis receives in `NEUROCAAS_CONFIG`. */
export function runtimeConfigFromBlueprint(
  blueprint: Blueprint,
  utils: UtilsRuntimeValues,
  stack: StackRuntimeValues = {},
): AnalysisRuntimeConfig {
  const cfg = blueprint.Lambda.LambdaConfig;
  const base: AnalysisRuntimeConfig = {
    bucketName: stack.bucketName ?? blueprint.PipelineName,
    analysisName: blueprint.PipelineName,
    region: blueprint.REGION,
    stage: blueprint.STAGE,
    protocol: blueprint.Lambda.Protocol,
    ami: cfg.AMI,
    instanceType: cfg.INSTANCE_TYPE,
    allowedInstanceTypes: [...cfg.ALLOWED_INSTANCE_TYPES],
    command: cfg.COMMAND,
    workingDirectory: cfg.WORKING_DIRECTORY,
    shutdownBehavior: cfg.SHUTDOWN_BEHAVIOR,
    ssmTimeoutSeconds: cfg.SSM_TIMEOUT,
    launch: cfg.LAUNCH,
    deployLimit: cfg.DEPLOY_LIMIT,
    maxCost: cfg.MAXCOST,
    monitor: cfg.MONITOR,
    allowSpot: cfg.ALLOW_SPOT,
    imageVolumeSizeGb: cfg.IMAGE_VOLUME_SIZE,
    maxQueueLength: cfg.MAX_QUEUE_LENGTH,
    maxQueueWaitMinutes: cfg.MAX_QUEUE_WAIT,
    maxAttempts: cfg.MAX_ATTEMPTS,
    affiliates: blueprint.UXData.Affiliates.map((a) => ({ AffiliateName: a.AffiliateName, UserInput: a.UserInput })),
    iaeInstanceProfileArn: utils.iaeInstanceProfileArn,
    iaeRoleArn: utils.iaeRoleArn,
    keyName: utils.keyName,
    securityGroupIds: [...utils.securityGroupIds],
    budgetParameterPrefix: utils.budgetParameterPrefix ?? DEFAULT_BUDGET_PARAMETER_PREFIX,
  };
  return {
    ...base,
    ...(utils.subnetIds !== undefined && utils.subnetIds.length > 0 ? { subnetIds: [...utils.subnetIds] } : {}),
    ...(stack.bypassBuckets !== undefined && stack.bypassBuckets.length > 0
      ? { bypassBuckets: [...stack.bypassBuckets] }
      : {}),
    ...(blueprint.Lambda.ConfigSchema !== undefined ? { configSchema: blueprint.Lambda.ConfigSchema } : {}),
    ...(blueprint.Lambda.PostProcessing !== undefined
      ? { postProcessing: { ...blueprint.Lambda.PostProcessing } }
      : {}),
  };
}

/** Lambda's limit on the total size of a function's environment variables (keys + values). */
export const LAMBDA_ENV_LIMIT_BYTES = 4096;
/** File in the code archive holding the runtime config when it does not fit the environment. */
export const RUNTIME_CONFIG_FILE = "neurocaas-config.json";

export interface PackagedConfig {
  /** Environment variables of the function. */
  readonly variables: Record<string, string>;
  /** Extra files of the code archive. */
  readonly files: Record<string, string>;
}

function envSize(vars: Record<string, string>): number {
  return Object.entries(vars).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
}

/**
 * Pure: where a runtime config goes. Inline in `NEUROCAAS_CONFIG` when the environment stays
 * within Lambda's 4 KB. Otherwise the full JSON becomes a file of the code archive named by
 * `NEUROCAAS_CONFIG_PATH` (read by `loadRuntimeConfig`), and `NEUROCAAS_CONFIG` keeps the largest
 * summary that fits: first the affiliates cut to those with `UserInput: false` (the only ones
 * the job manager looks up), else without affiliates and ConfigSchema.
 */
export function packageRuntimeConfig(
  full: AnalysisRuntimeConfig,
  extraVariables: Record<string, string> = {},
): PackagedConfig {
  // An analysis in its own-named bucket ships without `analysisName` (`loadRuntimeConfig` reads it
  // as the bucket's): the functions of stacks without neurocaas:bucketName keep their environment.
  const { analysisName: _analysis, ...sameName } = full;
  const config = (full.analysisName === full.bucketName ? sameName : full) as AnalysisRuntimeConfig;
  const json = JSON.stringify(config);
  const inline = { ...extraVariables, [RUNTIME_CONFIG_ENV]: json };
  if (envSize(inline) <= LAMBDA_ENV_LIMIT_BYTES) return { variables: inline, files: {} };
  const { configSchema: _schema, ...withoutSchema } = config;
  const summaries: AnalysisRuntimeConfig[] = [
    { ...config, affiliates: config.affiliates.filter((a) => a.UserInput === false) },
    { ...withoutSchema, affiliates: [] },
  ];
  let variables: Record<string, string> = {};
  for (const summary of summaries) {
    variables = {
      ...extraVariables,
      [RUNTIME_CONFIG_ENV]: JSON.stringify(summary),
      [RUNTIME_CONFIG_FILE_ENV]: RUNTIME_CONFIG_FILE,
    };
    if (envSize(variables) <= LAMBDA_ENV_LIMIT_BYTES) return { variables, files: { [RUNTIME_CONFIG_FILE]: json } };
  }
  throw new Error(
    `The runtime config of analysis ${config.bucketName} does not fit Lambda's ${LAMBDA_ENV_LIMIT_BYTES}-byte environment ` +
      `(${envSize(variables)} bytes even without affiliates and ConfigSchema); shorten COMMAND or the other settings`,
  );
}
