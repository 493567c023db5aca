import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { handlerArchive, LAMBDA_HANDLER, LAMBDA_RUNTIME } from "./lambda-bundle";
import type { AnalysisRuntimeConfig } from "../model/runtime-config";
import { packageRuntimeConfig, type PackagedConfig } from "../model/runtime-config-build";
import type { Tags } from "./tags";

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
