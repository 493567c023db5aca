/**
 * What every Lambda handler shares: the analysis runtime config (`NEUROCAAS_CONFIG` JSON or the
 * `NEUROCAAS_CONFIG_PATH` file), the invocation's lease, the operator log and the SDK retry
 * setting. No AWS SDK client is built here: each handler (`submit.ts`, `monitor.ts`,
 * `postprocess.ts`, `guard.ts`) builds only the clients it uses, inside its first invocation
 * (cached per container), never at import time, so its bundle holds only those clients.
 */
import type { Invocation } from "../lease";
import {
  DEFAULT_BUDGET_PARAMETER_PREFIX,
  loadRuntimeConfig,
  type AnalysisRuntimeConfig,
} from "../../model/runtime-config";

/** Attempts per AWS request including the SDK's own retries of 5xx and throttling. */
export const MAX_ATTEMPTS = 5;

export const log = (message: string): void => console.log(message);

/**
 * The analysis config of this Lambda: `NEUROCAAS_CONFIG`, or the archive file named by
 * `NEUROCAAS_CONFIG_PATH` when the config does not fit the environment (`loadRuntimeConfig`).
 */
export function readRuntimeConfig(env: NodeJS.ProcessEnv = process.env): AnalysisRuntimeConfig {
  const config = loadRuntimeConfig(env);
  for (const key of ["bucketName", "region", "ami", "instanceType", "command"] as const) {
    if (typeof config[key] !== "string" || config[key] === "")
      throw new Error(`runtime config field "${key}" must be a non-empty string`);
  }
  return { ...config, budgetParameterPrefix: config.budgetParameterPrefix || DEFAULT_BUDGET_PARAMETER_PREFIX };
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
export function withInvocation<D extends { readonly invocation?: Invocation }>(
  deps: D,
  context: LambdaContext | undefined,
): D {
  if (!context || typeof context.awsRequestId !== "string") return deps;
  const invocation: Invocation = {
    id: context.awsRequestId,
    deadline: new Date(Date.now() + context.getRemainingTimeInMillis()),
  };
  return { ...deps, invocation };
}

/** `build` once per container (Lambda reuses a container for many invocations). */
export function perContainer<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}
