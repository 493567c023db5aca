import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { trustPolicyJson } from "./iam/document";
import { guardPolicy } from "./iam/policies";
import { HANDLER_ENTRIES } from "./lambda-bundle";
import { neurocaasFunction } from "./lambda-function";
import { checkNameLength, checkPolicySize, AWS_LIMITS } from "./limits";
import { NAME_LIMITS, fitName } from "./names";
import { neurocaasTags, SHARED_ANALYSIS, SHARED_STAGE } from "./tags";

/** Environment variable naming the exemptions parameter (read by protocols/handlers/aws-deps.ts). */
export const EXEMPT_PARAMETER_ENV = "NEUROCAAS_EXEMPT_PARAMETER";

export interface AccountGuardArgs {
  readonly region: string;
  readonly namePrefix: string;
  /** EventBridge schedule expression, e.g. `rate(15 minutes)`. */
  readonly schedule: string;
  readonly exemptInstancesParameter: string;
  readonly logRetentionDays: number;
}

/** The scheduled sweeper that stops (spot: terminates) IAEs past their Timeout tag (SPEC §7). */
export class AccountGuard extends pulumi.ComponentResource {
  readonly fn: aws.lambda.Function;
  readonly rule: aws.cloudwatch.EventRule;
  readonly role: aws.iam.Role;

  constructor(name: string, args: AccountGuardArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neurocaas:components:AccountGuard", name, {}, opts);
    const parent = { parent: this };
    const tags = neurocaasTags(SHARED_ANALYSIS, SHARED_STAGE, "account-guard");
    const partition = args.region.startsWith("us-gov-") ? "aws-us-gov" : args.region.startsWith("cn-") ? "aws-cn" : "aws";
    const functionName = fitName(args.namePrefix, "account-guard", NAME_LIMITS.lambdaFunction);
    const ruleName = checkNameLength("EventBridge rule", fitName(args.namePrefix, "account-guard-schedule", NAME_LIMITS.eventRule), AWS_LIMITS.eventRuleNameChars);

    const dlq = new aws.sqs.Queue(`${name}-dlq`, {
      name: fitName(args.namePrefix, "account-guard-failed", NAME_LIMITS.sqsQueue),
      messageRetentionSeconds: 14 * 24 * 3600,
      sqsManagedSseEnabled: true,
      tags,
    }, parent);
    this.role = new aws.iam.Role(`${name}-role`, {
      name: fitName(args.namePrefix, "account-guard", NAME_LIMITS.iamRole),
      assumeRolePolicy: trustPolicyJson("lambda.amazonaws.com"),
      tags,
    }, parent);
    const policy = new aws.iam.RolePolicy(`${name}-policy`, {
      role: this.role.name,
      name: "account-guard",
      policy: dlq.arn.apply((dlqArn) => JSON.stringify(checkPolicySize("role inline policy", functionName, guardPolicy({
        region: args.region,
        exemptInstancesParameter: args.exemptInstancesParameter,
        logGroupArn: `arn:${partition}:logs:${args.region}:*:log-group:/aws/lambda/${functionName}`,
        deadLetterQueueArn: dlqArn,
      })))),
    }, parent);
    const { fn } = neurocaasFunction(`${name}-fn`, {
      functionName,
      entry: HANDLER_ENTRIES.guard,
      roleArn: this.role.arn,
      timeoutSeconds: 300,
      memoryMb: 256,
      logRetentionDays: args.logRetentionDays,
      deadLetterQueueArn: dlq.arn,
      variables: { [EXEMPT_PARAMETER_ENV]: args.exemptInstancesParameter },
      tags,
    }, { parent: this, dependsOn: [policy] });
    this.fn = fn;
    this.rule = new aws.cloudwatch.EventRule(`${name}-schedule`, {
      name: ruleName,
      description: "NeuroCAAS account guard: sweep IAEs past their Timeout tag",
      scheduleExpression: args.schedule,
      tags,
    }, parent);
    const permission = new aws.lambda.Permission(`${name}-permission`, {
      action: "lambda:InvokeFunction",
      function: fn.name,
      principal: "events.amazonaws.com",
      sourceArn: this.rule.arn,
    }, parent);
    new aws.cloudwatch.EventTarget(`${name}-target`, { rule: this.rule.name, arn: fn.arn }, { parent: this, dependsOn: [permission] });
    this.registerOutputs({ functionName: fn.name, ruleName: this.rule.name });
  }
}
