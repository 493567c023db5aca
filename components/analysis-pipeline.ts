import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Blueprint } from "../model/blueprint/types";
import { partitionOf, trustPolicyJson } from "./iam/document";
import {
  affiliateGroupPolicy,
  analysisBucketPolicy,
  iaePolicy,
  jobManagerPolicy,
  monitorPolicy,
  postprocessPolicy,
} from "./iam/policies";
import { HANDLER_ENTRIES } from "./lambda-bundle";
import { LambdaFunction } from "./lambda-function";
import { AWS_LIMITS, checkNameLength, checkPolicySize } from "./limits";
import { affiliateGroupName, analysisNames, iamUserName } from "./names";
import { runtimeConfigFromBlueprint } from "../model/runtime-config-build";
import { costTagsOf } from "./cost-tags";
import { neurocaasTags } from "./tags";
import type { UtilsOutputs } from "./utils-stack";
import { resolvedRoleName, SSM_CORE_POLICY } from "./utils-stack";
import { groupFolderKeys } from "../model/layout";
import { notificationFiltersFor, type NotificationFilter } from "./notifications";

export { type NotificationFilter };

/** Origins of the NeuroCAAS web client, allowed on websubstack buckets by default. */
const DEFAULT_CORS_ORIGINS: readonly string[] = ["https://neurocaas.org", "https://www.neurocaas.org"];

/** Id of the CORS rule of the web dashboard's origin (the policy pack looks for it). */
export const DASHBOARD_CORS_RULE_ID = "neurocaas-dashboard";

/** The dashboard's CORS rule: its origin only; ETag (multipart, conditional GETs) and Content-Range exposed. */
function dashboardCorsRule(origin: pulumi.Input<string>) {
  return {
    id: DASHBOARD_CORS_RULE_ID,
    allowedOrigins: [origin],
    allowedMethods: ["GET", "PUT", "POST", "DELETE", "HEAD"],
    allowedHeaders: ["*"],
    exposeHeaders: ["ETag", "Content-Range", "Content-Length", "x-amz-request-id"],
    maxAgeSeconds: 3000,
  };
}

const OBJECT_CREATED = "s3:ObjectCreated:*";
/** EC2 states the monitor reacts to (SPEC 4.7). */
const MONITORED_STATES = ["running", "shutting-down", "terminated"] as const;

export interface AnalysisPipelineArgs {
  /**
   * The analysis' blueprint (`model/blueprint/parse.ts`): PipelineName names the bucket (unless `bucketName`) and every
   * resource, REGION and STAGE, the affiliates with their users, the Lambda protocol and config.
   */
  readonly blueprint: Blueprint;
  /**
   * The bucket's name (`neurocaas:bucketName`) when it cannot be the blueprint's PipelineName.
   * Only the bucket changes: the PipelineName stays the analysis' name (job folders, IAE tags,
   * IAM, Lambdas, budgets) and every Pulumi resource name (URN) stays derived from it.
   */
  readonly bucketName?: string;
  /**
   * Utils stack outputs (StackReference or the in-program UtilsStack): the development role the
   * bucket policy admits, the IAE security group, key pair and subnets the job manager launches with.
   */
  readonly utils: pulumi.Input<UtilsOutputs>;
  /**
   * Web-client origins allowed by CORS. Default: the NeuroCAAS web client for websubstack, none
   * for webdev. An explicit list on a webdev analysis is honoured as written; the policy pack's
   * mandatory `neurocaas-s3-webdev-no-cors` rule then stops the deployment.
   */
  readonly corsOrigins?: readonly string[];
  /**
   * Origin of the web dashboard (`WebDashboard.origin`): allowed by its own CORS rule (ETag and
   * Content-Range exposed), on webdev buckets too — the only origin a webdev bucket allows.
   */
  readonly dashboardOrigin?: pulumi.Input<string>;
  /**
   * Let `pulumi destroy` empty and delete the bucket. Default off: destroy and renames leave the
   * bucket, its data and protections in place (`bucketKeepOptions`).
   */
  readonly forceDestroy: boolean;
  /** Days CloudWatch keeps the logs of the job manager, monitor and post-processing functions. */
  readonly logRetentionDays: number;
  /**
   * Parameter Store prefix of the group budgets, `{prefix}/{group}/{bucket}`; the job manager may
   * read only below it.
   */
  readonly budgetParameterPrefix: string;
  /**
   * Storage-bypass buckets (`neurocaas:bypassBuckets`) the IAEs and job manager may use besides
   * their own; the platform roles can reach no other bucket.
   */
  readonly bypassBuckets: readonly string[];
}

/** Pure: the S3 triggers of an analysis (components/notifications.ts; local mode uses the same). */
export function notificationFilters(bp: Blueprint): NotificationFilter[] {
  return notificationFiltersFor({
    stage: bp.STAGE,
    affiliates: bp.UXData.Affiliates,
    postProcessing: bp.Lambda.PostProcessing,
  });
}

/**
 * Resource options of the bucket and the settings that protect its data. With `forceDestroy` off
 * (the default), S3 refuses to delete a non-empty bucket, so deleting it would fail `pulumi destroy`
 * and a `PipelineName` change half-way; instead Pulumi forgets the bucket (`retainOnDelete`) and
 * leaves it, its data, public access block, ownership and encryption in place. With the opt-in,
 * destroy empties and deletes it.
 */
export function bucketKeepOptions(forceDestroy: boolean): Pick<pulumi.CustomResourceOptions, "retainOnDelete"> {
  return { retainOnDelete: !forceDestroy };
}

/**
 * How often the monitor drains the job queue as a backstop (SPEC §11): queued jobs normally start
 * when an IAE ends; this catches a drain that failed, and rejects jobs past MAX_QUEUE_WAIT.
 */
const QUEUE_SWEEP_SCHEDULE = "rate(5 minutes)";

/** The EventBridge pattern of the monitor's single static rule. */
export function monitorEventPattern(): Record<string, unknown> {
  return {
    source: ["aws.ec2"],
    $or: [
      { "detail-type": ["EC2 Instance State-change Notification"], detail: { state: [...MONITORED_STATES] } },
      // Spot ("NeuroCAAS Save") IAEs: the two-minute notice before AWS reclaims them (SPEC §11).
      { "detail-type": ["EC2 Spot Instance Interruption Warning"] },
    ],
  };
}

/**
 * One analysis: hardened bucket with group folders, IAM groups per affiliate, the per-analysis
 * IAE identity, job-manager / monitor / post-processing Lambdas (each a `LambdaFunction`) with
 * their triggers.
 */
export class AnalysisPipeline extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly groups: aws.iam.Group[] = [];
  readonly iaeRole: aws.iam.Role;
  readonly iaeInstanceProfile: aws.iam.InstanceProfile;
  readonly jobManager: aws.lambda.Function;
  readonly monitor: aws.lambda.Function;
  readonly postprocess?: aws.lambda.Function;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly notification: aws.s3.BucketNotification;
  readonly monitorRule: aws.cloudwatch.EventRule;
  /** The scheduled sweep that drains the job queue (backstop). */
  readonly queueSweepRule: aws.cloudwatch.EventRule;

  constructor(name: string, args: AnalysisPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neurocaas:components:AnalysisPipeline", name, {}, opts);
    const bp = args.blueprint;
    const analysis = bp.PipelineName;
    const region = bp.REGION;
    const cfg = bp.Lambda.LambdaConfig;
    const names = analysisNames(analysis, args.bucketName);
    const bucket = names.bucket;
    const parent = { parent: this };
    const tags = (component: string) => neurocaasTags(analysis, bp.STAGE, component);
    // The cost limits, readable by the policy pack on a first preview (components/cost-tags.ts).
    const costTags = (component: string) => ({ ...tags(component), ...costTagsOf(bp) });
    const partition = partitionOf(region);
    const utils = pulumi.output(args.utils);

    for (const [kind, n, limit] of [
      ["EventBridge rule", names.monitorRule, AWS_LIMITS.eventRuleNameChars],
      ["EventBridge rule", names.queueSweepRule, AWS_LIMITS.eventRuleNameChars],
      ["Lambda function", names.jobManagerFunction, AWS_LIMITS.lambdaNameChars],
      ["Lambda function", names.monitorFunction, AWS_LIMITS.lambdaNameChars],
      ["Lambda function", names.postprocessFunction, AWS_LIMITS.lambdaNameChars],
    ] as const)
      checkNameLength(kind, n, limit);

    // --- Bucket ------------------------------------------------------------------------------
    // Data is never deleted: unless the operator opted in (forceDestroy), `pulumi destroy` and a
    // rename leave the bucket, its data and its protections (public access block, ownership,
    // encryption) in place and only stop managing them (bucketKeepOptions).
    const keep = bucketKeepOptions(args.forceDestroy);
    this.bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      {
        bucket: names.bucket,
        forceDestroy: args.forceDestroy,
        tags: tags("bucket"),
      },
      { parent: this, ...keep },
    );
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: this.bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      { parent: this, ...keep },
    );
    new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      {
        bucket: this.bucket.id,
        rule: { objectOwnership: "BucketOwnerEnforced" },
      },
      { parent: this, ...keep },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: this.bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
      },
      { parent: this, ...keep },
    );
    const corsOrigins = args.corsOrigins ?? (bp.STAGE === "websubstack" ? DEFAULT_CORS_ORIGINS : []);
    if (corsOrigins.length > 0 || args.dashboardOrigin !== undefined) {
      new aws.s3.BucketCorsConfiguration(
        `${name}-cors`,
        {
          bucket: this.bucket.id,
          corsRules: [
            ...(corsOrigins.length > 0
              ? [
                  {
                    allowedOrigins: [...corsOrigins],
                    allowedMethods: ["GET", "PUT", "POST", "DELETE", "HEAD"],
                    allowedHeaders: ["*"],
                    exposeHeaders: ["ETag"],
                    maxAgeSeconds: 3000,
                  },
                ]
              : []),
            ...(args.dashboardOrigin !== undefined ? [dashboardCorsRule(args.dashboardOrigin)] : []),
          ],
        },
        parent,
      );
    }
    new aws.s3.BucketPolicy(
      `${name}-bucket-policy`,
      {
        bucket: this.bucket.id,
        policy: utils.apply((u) =>
          JSON.stringify(
            checkPolicySize(
              "bucket policy",
              bucket,
              analysisBucketPolicy({ region, bucket, devRoleArn: u.iaeRoleArn }),
            ),
          ),
        ),
      },
      { parent: this, dependsOn: [publicAccess] },
    );

    // --- Affiliates: folders, groups, policies, members -----------------------------------------
    for (const affiliate of bp.UXData.Affiliates) {
      const group = affiliate.AffiliateName;
      const slug = `${name}-${group}`;
      for (const key of groupFolderKeys(group)) {
        // Zero-byte folder markers: kept when the group or the stack goes away, never rewritten.
        new aws.s3.BucketObjectv2(
          `${slug}-${key.split("/")[1]}-folder`,
          {
            bucket: this.bucket.id,
            key,
            content: "",
          },
          { parent: this, retainOnDelete: true, ignoreChanges: ["content", "contentType", "metadata", "tags"] },
        );
      }
      const groupName = affiliateGroupName(analysis, group);
      // Fixed names: a replacement must delete the old group/policy first (IAM names are unique).
      const iamGroup = new aws.iam.Group(
        `${slug}-group`,
        { name: groupName, path: "/neurocaas/" },
        { parent: this, deleteBeforeReplace: true },
      );
      this.groups.push(iamGroup);
      const doc = checkPolicySize("managed policy", groupName, affiliateGroupPolicy(region, bucket, group));
      const managed = new aws.iam.Policy(
        `${slug}-policy`,
        {
          name: groupName,
          path: "/neurocaas/",
          description: `NeuroCAAS: group ${group} in analysis ${analysis}`,
          policy: JSON.stringify(doc),
          tags: tags("affiliate-policy"),
        },
        { parent: this, deleteBeforeReplace: true },
      );
      new aws.iam.GroupPolicyAttachment(
        `${slug}-policy-attachment`,
        { group: iamGroup.name, policyArn: managed.arn },
        parent,
      );
      // One non-exclusive membership per user: a GroupMembership owns a group's whole member list
      // and would remove users that another stack (or an administrator) added.
      for (const user of affiliate.UserNames) {
        new aws.iam.UserGroupMembership(
          `${slug}-member-${user}`,
          {
            user: iamUserName(user, region),
            groups: [iamGroup.name],
          },
          parent,
        );
      }
    }

    // --- The analysis' own IAE identity -----------------------------------------------------------
    this.iaeRole = new aws.iam.Role(
      `${name}-iae-role`,
      {
        name: names.iaeRole,
        description: `NeuroCAAS IAEs of ${analysis}: SSM agent and this analysis' bucket only`,
        assumeRolePolicy: trustPolicyJson("ec2.amazonaws.com"),
        tags: costTags("iae-role"),
      },
      parent,
    );
    const iaeSsm = new aws.iam.RolePolicyAttachment(
      `${name}-iae-ssm`,
      {
        role: this.iaeRole.name,
        policyArn: `arn:${partition}:iam::aws:policy/${SSM_CORE_POLICY}`,
      },
      parent,
    );
    const iaeS3 = new aws.iam.RolePolicy(
      `${name}-iae-s3`,
      {
        role: this.iaeRole.name,
        name: "analysis-bucket",
        policy: JSON.stringify(
          checkPolicySize(
            "role inline policy",
            names.iaeRole,
            iaePolicy({ region, bucket, analysis, bypassBuckets: args.bypassBuckets }),
          ),
        ),
      },
      parent,
    );
    this.iaeInstanceProfile = new aws.iam.InstanceProfile(
      `${name}-iae-profile`,
      {
        name: names.iaeInstanceProfile,
        role: resolvedRoleName(this.iaeRole, [iaeSsm, iaeS3]),
        tags: tags("iae-role"),
      },
      { parent: this, dependsOn: [iaeSsm, iaeS3] },
    );

    // --- Dead letters and runtime config ------------------------------------------------------------
    this.deadLetterQueue = new aws.sqs.Queue(
      `${name}-dlq`,
      {
        name: names.deadLetterQueue,
        messageRetentionSeconds: 14 * 24 * 3600,
        sqsManagedSseEnabled: true,
        tags: tags("dead-letter-queue"),
      },
      parent,
    );
    const runtimeConfig = pulumi
      .all([utils, this.iaeInstanceProfile.arn, this.iaeRole.arn])
      .apply(([u, profileArn, roleArn]) =>
        runtimeConfigFromBlueprint(
          bp,
          {
            iaeInstanceProfileArn: profileArn,
            iaeRoleArn: roleArn,
            keyName: u.keyName,
            securityGroupIds: [u.iaeSecurityGroupId],
            subnetIds: u.subnetIds,
            budgetParameterPrefix: args.budgetParameterPrefix,
          },
          { bypassBuckets: args.bypassBuckets, bucketName: bucket },
        ),
      );
    const logGroupArn = (fn: string) => `arn:${partition}:logs:${region}:*:log-group:${names.logGroup(fn)}`;
    // The Lambdas were direct children of the pipeline before LambdaFunction existed.
    const movedFrom = { parent: this };

    // --- Job manager ------------------------------------------------------------------------------
    const jm = new LambdaFunction(
      `${name}-job-manager`,
      {
        functionName: names.jobManagerFunction,
        roleName: names.jobManagerRole,
        policyName: "job-manager",
        policy: pulumi.all([utils, this.iaeRole.arn, this.deadLetterQueue.arn]).apply(([u, iaeRoleArn, dlq]) =>
          jobManagerPolicy({
            region,
            bucket,
            analysis,
            iaeRoleArn,
            amiIds: [cfg.AMI],
            keyName: u.keyName,
            securityGroupIds: [u.iaeSecurityGroupId],
            budgetParameterPrefix: args.budgetParameterPrefix,
            logGroupArn: logGroupArn(names.jobManagerFunction),
            deadLetterQueueArn: dlq,
            bypassBuckets: args.bypassBuckets,
          }),
        ),
        entry: HANDLER_ENTRIES.submit,
        timeoutSeconds: cfg.EXECUTION_TIMEOUT,
        memoryMb: 512,
        logRetentionDays: args.logRetentionDays,
        deadLetterQueueArn: this.deadLetterQueue.arn,
        runtimeConfig,
        tags: costTags("job-manager"),
        roleTags: tags("job-manager"),
        movedFrom,
      },
      parent,
    );
    this.jobManager = jm.fn;

    // --- Monitor ----------------------------------------------------------------------------------
    const mon = new LambdaFunction(
      `${name}-monitor`,
      {
        functionName: names.monitorFunction,
        roleName: names.monitorRole,
        policyName: "monitor",
        // The queue's drain launches waiting jobs: the monitor launches exactly as the job manager does.
        policy: pulumi.all([utils, this.iaeRole.arn, this.deadLetterQueue.arn]).apply(([u, iaeRoleArn, dlq]) =>
          monitorPolicy({
            region,
            bucket,
            analysis,
            bypassBuckets: args.bypassBuckets,
            logGroupArn: logGroupArn(names.monitorFunction),
            deadLetterQueueArn: dlq,
            iaeRoleArn,
            amiIds: [cfg.AMI],
            keyName: u.keyName,
            securityGroupIds: [u.iaeSecurityGroupId],
          }),
        ),
        entry: HANDLER_ENTRIES.monitor,
        timeoutSeconds: 900,
        memoryMb: 512,
        logRetentionDays: args.logRetentionDays,
        deadLetterQueueArn: this.deadLetterQueue.arn,
        runtimeConfig,
        tags: tags("monitor"),
        movedFrom,
      },
      parent,
    );
    this.monitor = mon.fn;
    this.monitorRule = new aws.cloudwatch.EventRule(
      `${name}-monitor-rule`,
      {
        name: names.monitorRule,
        description: `NeuroCAAS ${analysis}: EC2 state changes of IAEs`,
        eventPattern: JSON.stringify(monitorEventPattern()),
        tags: tags("monitor"),
      },
      parent,
    );
    const monPermission = new aws.lambda.Permission(
      `${name}-monitor-permission`,
      {
        action: "lambda:InvokeFunction",
        function: mon.fn.name,
        principal: "events.amazonaws.com",
        sourceArn: this.monitorRule.arn,
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-monitor-target`,
      {
        rule: this.monitorRule.name,
        arn: mon.fn.arn,
      },
      { parent: this, dependsOn: [monPermission] },
    );
    this.queueSweepRule = new aws.cloudwatch.EventRule(
      `${name}-queue-sweep`,
      {
        name: names.queueSweepRule,
        description: `NeuroCAAS ${analysis}: start queued jobs that fit, reject those past MAX_QUEUE_WAIT (backstop)`,
        scheduleExpression: QUEUE_SWEEP_SCHEDULE,
        tags: tags("monitor"),
      },
      parent,
    );
    const sweepPermission = new aws.lambda.Permission(
      `${name}-queue-sweep-permission`,
      {
        action: "lambda:InvokeFunction",
        function: mon.fn.name,
        principal: "events.amazonaws.com",
        sourceArn: this.queueSweepRule.arn,
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-queue-sweep-target`,
      {
        rule: this.queueSweepRule.name,
        arn: mon.fn.arn,
      },
      { parent: this, dependsOn: [sweepPermission] },
    );

    // --- Post-processing (optional) ---------------------------------------------------------------
    const post = bp.Lambda.PostProcessing;
    const permissions: pulumi.Resource[] = [];
    if (post !== undefined) {
      const pp = new LambdaFunction(
        `${name}-postprocess`,
        {
          functionName: names.postprocessFunction,
          roleName: names.postprocessRole,
          policyName: "postprocess",
          policy: this.deadLetterQueue.arn.apply((dlq) =>
            postprocessPolicy({
              region,
              bucket,
              targetBucket: post.TargetBucket ?? bucket,
              stepName: post.StepName,
              logGroupArn: logGroupArn(names.postprocessFunction),
              deadLetterQueueArn: dlq,
            }),
          ),
          entry: HANDLER_ENTRIES.postprocess,
          timeoutSeconds: 300,
          memoryMb: 256,
          logRetentionDays: args.logRetentionDays,
          deadLetterQueueArn: this.deadLetterQueue.arn,
          runtimeConfig,
          tags: tags("postprocess"),
          movedFrom,
        },
        parent,
      );
      this.postprocess = pp.fn;
      permissions.push(
        new aws.lambda.Permission(
          `${name}-postprocess-s3-permission`,
          {
            action: "lambda:InvokeFunction",
            function: pp.fn.name,
            principal: "s3.amazonaws.com",
            sourceArn: this.bucket.arn,
          },
          parent,
        ),
      );
    }

    // --- The bucket's single notification configuration ------------------------------------------
    permissions.push(
      new aws.lambda.Permission(
        `${name}-job-manager-s3-permission`,
        {
          action: "lambda:InvokeFunction",
          function: jm.fn.name,
          principal: "s3.amazonaws.com",
          sourceArn: this.bucket.arn,
        },
        parent,
      ),
    );
    const functionFor = (target: NotificationFilter["target"]): aws.lambda.Function => {
      if (target === "postprocess" && this.postprocess !== undefined) return this.postprocess;
      return jm.fn;
    };
    this.notification = new aws.s3.BucketNotification(
      `${name}-notification`,
      {
        bucket: this.bucket.id,
        lambdaFunctions: notificationFilters(bp).map((f) => ({
          lambdaFunctionArn: functionFor(f.target).arn,
          events: [OBJECT_CREATED],
          ...(f.filterPrefix !== undefined ? { filterPrefix: f.filterPrefix } : {}),
          filterSuffix: f.filterSuffix,
        })),
      },
      { parent: this, dependsOn: permissions },
    );

    this.registerOutputs({
      bucketName: this.bucket.bucket,
      jobManagerFunctionName: this.jobManager.name,
      monitorFunctionName: this.monitor.name,
      iaeRoleArn: this.iaeRole.arn,
      iaeInstanceProfileArn: this.iaeInstanceProfile.arn,
    });
  }
}
