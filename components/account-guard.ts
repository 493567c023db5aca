import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { partitionOf } from "./iam/document";
import { guardPolicy } from "./iam/policies";
import { HANDLER_ENTRIES } from "./lambda-bundle";
import { LambdaFunction } from "./lambda-function";
import { checkNameLength, AWS_LIMITS } from "./limits";
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
    const functionName = fitName(args.namePrefix, "account-guard", NAME_LIMITS.lambdaFunction);
    const ruleName = checkNameLength(
      "EventBridge rule",
      fitName(args.namePrefix, "account-guard-schedule", NAME_LIMITS.eventRule),
      AWS_LIMITS.eventRuleNameChars,
    );

    const dlq = new aws.sqs.Queue(
      `${name}-dlq`,
      {
        name: fitName(args.namePrefix, "account-guard-failed", NAME_LIMITS.sqsQueue),
        messageRetentionSeconds: 14 * 24 * 3600,
        sqsManagedSseEnabled: true,
        tags,
      },
      parent,
    );
    const guard = new LambdaFunction(
      `${name}-fn`,
      {
        functionName,
        roleName: fitName(args.namePrefix, "account-guard", NAME_LIMITS.iamRole),
        policyName: "account-guard",
        policy: dlq.arn.apply((dlqArn) =>
          guardPolicy({
            region: args.region,
            exemptInstancesParameter: args.exemptInstancesParameter,
            logGroupArn: `arn:${partitionOf(args.region)}:logs:${args.region}:*:log-group:/aws/lambda/${functionName}`,
            deadLetterQueueArn: dlqArn,
          }),
        ),
        entry: HANDLER_ENTRIES.guard,
        timeoutSeconds: 300,
        memoryMb: 256,
        logRetentionDays: args.logRetentionDays,
        deadLetterQueueArn: dlq.arn,
        variables: { [EXEMPT_PARAMETER_ENV]: args.exemptInstancesParameter },
        tags,
        // Before LambdaFunction existed the role and policy were the guard's own `{name}-role`, `{name}-policy`.
        movedFrom: { parent: this, names: { role: `${name}-role`, policy: `${name}-policy` } },
      },
      parent,
    );
    const fn = guard.fn;
    this.fn = fn;
    this.role = guard.role;
    this.rule = new aws.cloudwatch.EventRule(
      `${name}-schedule`,
      {
        name: ruleName,
        description: "NeuroCAAS account guard: sweep IAEs past their Timeout tag",
        scheduleExpression: args.schedule,
        tags,
      },
      parent,
    );
    const permission = new aws.lambda.Permission(
      `${name}-permission`,
      {
        action: "lambda:InvokeFunction",
        function: fn.name,
        principal: "events.amazonaws.com",
        sourceArn: this.rule.arn,
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-target`,
      { rule: this.rule.name, arn: fn.arn },
      { parent: this, dependsOn: [permission] },
    );
    this.registerOutputs({ functionName: fn.name, ruleName: this.rule.name });
  }
}
