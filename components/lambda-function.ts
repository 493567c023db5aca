import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { handlerArchive, LAMBDA_HANDLER, LAMBDA_RUNTIME } from "./lambda-bundle";
import { RUNTIME_CONFIG_ENV, RUNTIME_CONFIG_FILE_ENV, type AnalysisRuntimeConfig } from "../protocols/runtime-config";
import type { Tags } from "./tags";

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
export function packageRuntimeConfig(config: AnalysisRuntimeConfig, extraVariables: Record<string, string> = {}): PackagedConfig {
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
    variables = { ...extraVariables, [RUNTIME_CONFIG_ENV]: JSON.stringify(summary), [RUNTIME_CONFIG_FILE_ENV]: RUNTIME_CONFIG_FILE };
    if (envSize(variables) <= LAMBDA_ENV_LIMIT_BYTES) return { variables, files: { [RUNTIME_CONFIG_FILE]: json } };
  }
  throw new Error(
    `The runtime config of analysis ${config.bucketName} does not fit Lambda's ${LAMBDA_ENV_LIMIT_BYTES}-byte environment ` +
      `(${envSize(variables)} bytes even without affiliates and ConfigSchema); shorten COMMAND or the other settings`,
  );
}

export interface NeurocaasFunctionArgs {
  /** Physical function name (also names the log group `/aws/lambda/{name}`). */
  readonly functionName: string;
  /** Handler entry under protocols/handlers/. */
  readonly entry: string;
  readonly roleArn: pulumi.Input<string>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly logRetentionDays: number;
  readonly deadLetterQueueArn: pulumi.Input<string>;
  /** Runtime config (inline or archived, see `packageRuntimeConfig`); omitted for the guard. */
  readonly runtimeConfig?: pulumi.Input<AnalysisRuntimeConfig>;
  readonly variables?: Record<string, string>;
  readonly tags: Tags;
}

export interface NeurocaasFunction {
  readonly fn: aws.lambda.Function;
  readonly logGroup: aws.cloudwatch.LogGroup;
}

/** A bundled Lambda with its own log group (retention) and a dead-letter queue for async failures. */
export function neurocaasFunction(name: string, args: NeurocaasFunctionArgs, opts: pulumi.CustomResourceOptions): NeurocaasFunction {
  const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
    name: `/aws/lambda/${args.functionName}`,
    retentionInDays: args.logRetentionDays,
    tags: { ...args.tags },
  }, opts);
  const extra = args.variables ?? {};
  const packaged = args.runtimeConfig === undefined
    ? pulumi.output<PackagedConfig>({ variables: extra, files: {} })
    : pulumi.output(args.runtimeConfig).apply((c) => packageRuntimeConfig(c as AnalysisRuntimeConfig, extra));
  const fn = new aws.lambda.Function(name, {
    name: args.functionName,
    runtime: LAMBDA_RUNTIME,
    handler: LAMBDA_HANDLER,
    architectures: ["arm64"],
    code: packaged.apply((p) => handlerArchive(args.entry, p.files)),
    role: args.roleArn,
    timeout: args.timeoutSeconds,
    memorySize: args.memoryMb,
    environment: { variables: packaged.apply((p) => p.variables) },
    deadLetterConfig: { targetArn: args.deadLetterQueueArn },
    loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
    tags: { ...args.tags },
  }, { ...opts, dependsOn: [logGroup] });
  return { fn, logGroup };
}
