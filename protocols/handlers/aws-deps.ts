/**
 * Builds the protocol dependencies of a Lambda from its environment: the analysis runtime config
 * (`NEUROCAAS_CONFIG` JSON or the `NEUROCAAS_CONFIG_PATH` file) and the AWS SDK clients. Called inside each invocation (cached
 * per container), never at import time.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { PricingClient } from "@aws-sdk/client-pricing";
import { SSMClient } from "@aws-sdk/client-ssm";
import { Ec2ComputeBackend } from "../aws/ec2-compute";
import { PricingApiPriceSource } from "../aws/pricing";
import { S3ObjectStore } from "../aws/s3-store";
import { ParameterStoreBudgets, ParameterStoreExemptions } from "../aws/ssm-parameters";
import { DEFAULT_LIMITS, systemClock, type GuardDeps, type ProtocolDeps } from "../deps";
import type { Invocation } from "../lease";
import { createS3Client } from "../s3-client";
import { DEFAULT_BUDGET_PARAMETER_PREFIX, loadRuntimeConfig, type AnalysisRuntimeConfig } from "../runtime-config";

const MAX_ATTEMPTS = 5;

/**
 * The analysis config of this Lambda: `NEUROCAAS_CONFIG`, or the archive file named by
 * `NEUROCAAS_CONFIG_PATH` when the config does not fit the environment (`loadRuntimeConfig`).
 */
export function readRuntimeConfig(env: NodeJS.ProcessEnv = process.env): AnalysisRuntimeConfig {
  const config = loadRuntimeConfig(env);
  for (const key of ["bucketName", "region", "ami", "instanceType", "command"] as const) {
    if (typeof config[key] !== "string" || config[key] === "") throw new Error(`runtime config field "${key}" must be a non-empty string`);
  }
  return { ...config, budgetParameterPrefix: config.budgetParameterPrefix || DEFAULT_BUDGET_PARAMETER_PREFIX };
}

const log = (message: string): void => console.log(message);

let cached: ProtocolDeps | undefined;

export function awsProtocolDeps(): ProtocolDeps {
  if (cached) return cached;
  const config = readRuntimeConfig();
  const ssm = new SSMClient({ region: config.region, maxAttempts: MAX_ATTEMPTS });
  const ec2 = new EC2Client({ region: config.region, maxAttempts: MAX_ATTEMPTS });
  cached = {
    config,
    store: new S3ObjectStore(createS3Client({ region: config.region, maxAttempts: MAX_ATTEMPTS })),
    compute: new Ec2ComputeBackend({ ec2, ssm, sleep: systemClock.sleep, launchRetryMs: DEFAULT_LIMITS.launchRetryMs, log }),
    budgets: new ParameterStoreBudgets(ssm, config.budgetParameterPrefix || DEFAULT_BUDGET_PARAMETER_PREFIX),
    // The Pricing API is served from us-east-1.
    prices: new PricingApiPriceSource(new PricingClient({ region: "us-east-1", maxAttempts: MAX_ATTEMPTS }), undefined, log),
    clock: systemClock,
    log,
  };
  return cached;
}

/** The part of Lambda's context object the handlers use. */
export interface LambdaContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/**
 * The deps of one invocation: claims are leased to its request id (which Lambda keeps for its own
 * retries of the invocation) until its deadline (now + the time Lambda leaves it).
 */
export function invocationDeps(context: LambdaContext | undefined): ProtocolDeps {
  const deps = awsProtocolDeps();
  if (!context || typeof context.awsRequestId !== "string") return deps;
  const invocation: Invocation = { id: context.awsRequestId, deadline: new Date(Date.now() + context.getRemainingTimeInMillis()) };
  return { ...deps, invocation };
}

let cachedGuard: GuardDeps | undefined;

/** The guard runs per account/region and needs no analysis config. */
export function awsGuardDeps(env: NodeJS.ProcessEnv = process.env): GuardDeps {
  if (cachedGuard) return cachedGuard;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const ssm = new SSMClient({ region, maxAttempts: MAX_ATTEMPTS });
  const ec2 = new EC2Client({ region, maxAttempts: MAX_ATTEMPTS });
  const cloudwatch = new CloudWatchClient({ region, maxAttempts: MAX_ATTEMPTS });
  cachedGuard = {
    compute: new Ec2ComputeBackend({ ec2, ssm, cloudwatch, sleep: systemClock.sleep, launchRetryMs: DEFAULT_LIMITS.launchRetryMs, log }),
    exemptions: new ParameterStoreExemptions(ssm, env.NEUROCAAS_EXEMPT_PARAMETER || undefined),
    clock: systemClock,
    log,
  };
  return cachedGuard;
}
