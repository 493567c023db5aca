import type { Blueprint } from "./blueprint/types";
import { DEFAULT_BUDGET_PARAMETER_PREFIX, type AnalysisRuntimeConfig } from "../protocols/runtime-config";

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

/** Pure: the runtime configuration every Lambda of an analysis receives in `NEUROCAAS_CONFIG`. */
export function runtimeConfigFromBlueprint(blueprint: Blueprint, utils: UtilsRuntimeValues): AnalysisRuntimeConfig {
  const cfg = blueprint.Lambda.LambdaConfig;
  const base: AnalysisRuntimeConfig = {
    bucketName: blueprint.PipelineName,
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
    ...(blueprint.Lambda.ConfigSchema !== undefined ? { configSchema: blueprint.Lambda.ConfigSchema } : {}),
    ...(blueprint.Lambda.PostProcessing !== undefined ? { postProcessing: { ...blueprint.Lambda.PostProcessing } } : {}),
  };
}
