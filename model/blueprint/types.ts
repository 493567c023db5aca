/**
 * The blueprint of one analysis, as it lives in a Pulumi stack config under the key
 * `neurocaas:blueprint` (SPEC.md §6). The JSON Schema in `schema.ts` is the single source of
 * truth for validation; these types must match it. `Blueprint` is the normalized form
 * (defaults applied explicitly, numeric strings converted) that `parseBlueprint` returns.
 */
import { QUEUE_DEFAULTS } from "../queue-limits";

/** Job-manager protocols this project carries (SPEC 4.8). */
export type ProtocolName = "default" | "ensemble" | "input-checking";

/** Deployment stages. Legacy `develop` is accepted on input and normalized to `webdev`. */
export type Stage = "webdev" | "websubstack";

export interface Affiliate {
  /** Group folder name and IAM group name. */
  readonly AffiliateName: string;
  /** IAM user names without the region suffix. */
  readonly UserNames: readonly string[];
  /** true: jobs start from `{group}/submissions/`; false: from `{group}/results/`. */
  readonly UserInput: boolean;
  readonly ContactEmail?: string;
}

export interface LambdaConfig {
  readonly AMI: string;
  readonly INSTANCE_TYPE: string;
  /** Shell command with at most four `{}` slots (SPEC 4.5). */
  readonly COMMAND: string;
  readonly WORKING_DIRECTORY: string;
  readonly SHUTDOWN_BEHAVIOR: "terminate" | "stop";
  /** Job-manager Lambda timeout in seconds. */
  readonly EXECUTION_TIMEOUT: number;
  /** SSM command execution timeout in seconds. */
  readonly SSM_TIMEOUT: number;
  readonly LAUNCH: boolean;
  /** Cap on running IAEs of one instance type. */
  readonly DEPLOY_LIMIT: number;
  /** Default per-group budget in USD when no parameter-store budget exists. */
  readonly MAXCOST: number;
  readonly MONITOR: boolean;
  /** Instance types a submit file may request besides INSTANCE_TYPE. */
  readonly ALLOWED_INSTANCE_TYPES: readonly string[];
  /** Whether configs that set `__duration__` may run as spot ("NeuroCAAS Save") jobs. */
  readonly ALLOW_SPOT: boolean;
  /** Root volume size of the machine image in GB (added to `__dataset_size__`). */
  readonly IMAGE_VOLUME_SIZE: number;
  /** Most jobs waiting for capacity (over DEPLOY_LIMIT, or capacity errors); 0: no queue, such jobs are rejected. */
  readonly MAX_QUEUE_LENGTH: number;
  /** Minutes a queued job may wait before it is rejected. */
  readonly MAX_QUEUE_WAIT: number;
  /** Runs of a dataset whose analysis exits non-zero (1: never run again); infrastructure failures are retried once regardless. */
  readonly MAX_ATTEMPTS: number;
}

export interface PostProcessing {
  /** Result file name whose creation triggers post-processing (default `end.txt`). */
  readonly PostTrigger: string;
  /** Name of the next step; used for `logs_pre_{step}/` and `{step}_submit.json`. */
  readonly StepName: string;
  /** Bucket whose submissions folder receives the next step's submit file (default: this bucket). */
  readonly TargetBucket?: string;
}

export interface LambdaSettings {
  readonly Protocol: ProtocolName;
  readonly LambdaConfig: LambdaConfig;
  /** Present when the analysis has a post-processing step (SPEC 4.8). */
  readonly PostProcessing?: PostProcessing;
  /** JSON Schema that configs must satisfy (input-checking protocol). */
  readonly ConfigSchema?: Record<string, unknown>;
}

export interface Blueprint {
  readonly PipelineName: string;
  readonly REGION: string;
  readonly STAGE: Stage;
  readonly Lambda: LambdaSettings;
  readonly UXData: { readonly Affiliates: readonly Affiliate[] };
}

/** Defaults of SPEC §6, applied by key presence, never by truthiness. */
export const LAMBDA_CONFIG_DEFAULTS = {
  WORKING_DIRECTORY: "~/bin",
  SHUTDOWN_BEHAVIOR: "terminate",
  EXECUTION_TIMEOUT: 900,
  SSM_TIMEOUT: 172000,
  LAUNCH: true,
  DEPLOY_LIMIT: 100,
  MAXCOST: 300,
  MONITOR: true,
  ALLOWED_INSTANCE_TYPES: [] as readonly string[],
  ALLOW_SPOT: true,
  IMAGE_VOLUME_SIZE: 100,
  MAX_QUEUE_LENGTH: QUEUE_DEFAULTS.maxQueueLength,
  MAX_QUEUE_WAIT: QUEUE_DEFAULTS.maxQueueWaitMinutes,
  MAX_ATTEMPTS: QUEUE_DEFAULTS.maxAttempts,
} as const;

export const DEFAULT_POST_TRIGGER = "end.txt";
