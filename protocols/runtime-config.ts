import type { Affiliate, ProtocolName, Stage, PostProcessing } from "../components/blueprint/types";

/**
 * What the job-manager, monitor and post-processing handlers need to know about one analysis.
 * The Pulumi program builds it from the blueprint and the utils stack outputs and passes it to
 * each Lambda as JSON in the `NEUROCAAS_CONFIG` environment variable; local mode builds the same
 * object from the same blueprint (see `runtimeConfigFromBlueprint` in components/).
 */
export interface AnalysisRuntimeConfig {
  readonly bucketName: string;
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
}

export const RUNTIME_CONFIG_ENV = "NEUROCAAS_CONFIG";
export const DEFAULT_BUDGET_PARAMETER_PREFIX = "/neurocaas/budgets";
