import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PolicyDocument } from "./iam/document";
import { trustPolicyJson } from "./iam/document";
import { handlerArchive, LAMBDA_HANDLER, LAMBDA_RUNTIME } from "./lambda-bundle";
import { checkPolicySize } from "./limits";
import type { AnalysisRuntimeConfig } from "../model/runtime-config";
import { packageRuntimeConfig, type PackagedConfig } from "../model/runtime-config-build";
import type { Tags } from "./tags";

/** The children of a `LambdaFunction`. */
type LambdaFunctionChild = "role" | "policy" | "logGroup" | "function";

export interface LambdaFunctionArgs {
  /** Physical function name; also names its log group `/aws/lambda/{functionName}`. */
  readonly functionName: string;
  /** Physical name of the function's execution role (trusted by lambda.amazonaws.com only). */
  readonly roleName: string;
  /** Name of the role's one inline policy. */
  readonly policyName: string;
  /**
   * What the function may do (a builder of components/iam/policies.ts); checked against IAM's
   * inline-policy size limit. The function is created only after the policy is attached.
   */
  readonly policy: pulumi.Input<PolicyDocument>;
  /** Handler entry under protocols/handlers/ (`HANDLER_ENTRIES`), bundled with esbuild. */
  readonly entry: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Days CloudWatch keeps the function's logs. */
  readonly logRetentionDays: number;
  /** Queue receiving asynchronous invocations that failed every retry. */
  readonly deadLetterQueueArn: pulumi.Input<string>;
  /** Runtime config (inline or archived, see `packageRuntimeConfig`); omitted for the guard. */
  readonly runtimeConfig?: pulumi.Input<AnalysisRuntimeConfig>;
  /** Further environment variables. */
  readonly variables?: Record<string, string>;
  /** Tags of the function and its log group. */
  readonly tags: Tags;
  /** Tags of the role; default `tags`. */
  readonly roleTags?: Tags;
  /**
   * Where the children lived before this component existed, so stacks deployed then keep them
   * (Pulumi aliases, no replacement): their former parent and, where it differed from
   * `{name}-role`, `{name}-policy`, `{name}-logs` and `{name}`, their former names.
   */
  readonly movedFrom?: {
    readonly parent: pulumi.Resource;
    readonly names?: Partial<Record<LambdaFunctionChild, string>>;
  };
}

/**
 * One NeuroCAAS Lambda with its own identity: an execution role, its inline policy, the log
 * group (retention) and the bundled function, created in that order so the function never runs
 * without its permissions or logs.
 */
export class LambdaFunction extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;
  readonly policy: aws.iam.RolePolicy;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly fn: aws.lambda.Function;

  constructor(name: string, args: LambdaFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neurocaas:components:LambdaFunction", name, {}, opts);
    const child = (
      which: LambdaFunctionChild,
      extra: pulumi.CustomResourceOptions = {},
    ): pulumi.CustomResourceOptions => ({
      parent: this,
      ...extra,
      ...(args.movedFrom !== undefined
        ? {
            aliases: [
              {
                parent: args.movedFrom.parent,
                ...(args.movedFrom.names?.[which] !== undefined ? { name: args.movedFrom.names[which] } : {}),
              },
            ],
          }
        : {}),
    });

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: args.roleName,
        assumeRolePolicy: trustPolicyJson("lambda.amazonaws.com"),
        tags: { ...(args.roleTags ?? args.tags) },
      },
      child("role"),
    );
    this.policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.name,
        name: args.policyName,
        policy: pulumi
          .output(args.policy)
          .apply((doc) => JSON.stringify(checkPolicySize("role inline policy", args.roleName, doc as PolicyDocument))),
      },
      child("policy"),
    );
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: `/aws/lambda/${args.functionName}`,
        retentionInDays: args.logRetentionDays,
        tags: { ...args.tags },
      },
      child("logGroup"),
    );

    const extra = args.variables ?? {};
    const packaged =
      args.runtimeConfig === undefined
        ? pulumi.output<PackagedConfig>({ variables: extra, files: {} })
        : pulumi.output(args.runtimeConfig).apply((c) => packageRuntimeConfig(c as AnalysisRuntimeConfig, extra));
    this.fn = new aws.lambda.Function(
      name,
      {
        name: args.functionName,
        runtime: LAMBDA_RUNTIME,
        handler: LAMBDA_HANDLER,
        architectures: ["arm64"],
        code: packaged.apply((p) => handlerArchive(args.entry, p.files)),
        role: this.role.arn,
        timeout: args.timeoutSeconds,
        memorySize: args.memoryMb,
        environment: { variables: packaged.apply((p) => p.variables) },
        deadLetterConfig: { targetArn: args.deadLetterQueueArn },
        loggingConfig: { logFormat: "Text", logGroup: this.logGroup.name },
        tags: { ...args.tags },
      },
      child("function", { dependsOn: [this.policy, this.logGroup] }),
    );

    this.registerOutputs({ functionName: this.fn.name, functionArn: this.fn.arn, roleArn: this.role.arn });
  }
}
