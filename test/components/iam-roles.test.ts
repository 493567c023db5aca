import {
  analysisBucketPolicy,
  guardPolicy,
  iaePolicy,
  jobManagerPolicy,
  monitorPolicy,
  postprocessPolicy,
} from "../../components/iam/policies";
import type { PolicyDocument } from "../../components/iam/document";
import { decide, ACCOUNT, type Decision, type SimRequest } from "./iam-sim";

const R = "us-east-1";
const B = "caiman-ncap-web";
const OTHER = "dlc-web";
const AMI = "ami-0849b3d20fe3258e3";
const IAE_ROLE = `arn:aws:iam::${ACCOUNT}:role/${B}-iae`;
const INSTANCE = `arn:aws:ec2:${R}:${ACCOUNT}:instance/i-0123456789abcdef0`;
const obj = (key: string, bucket = B) => `arn:aws:s3:::${bucket}/${key}`;
const LOG_GROUP = `arn:aws:logs:${R}:${ACCOUNT}:log-group:/aws/lambda/${B}-job-manager`;
const DLQ = `arn:aws:sqs:${R}:${ACCOUNT}:${B}-failed-invocations`;

type Row = [string, SimRequest, Decision];
const allow: Decision = "Allowed";
const deny: Decision = "ImplicitlyDenied";
/** Closed by the explicit Deny on users' folders (SPEC §10.2), not merely by a missing Allow. */
const denied: Decision = "ExplicitlyDenied";

function run(policy: PolicyDocument, rows: Row[]) {
  it.each(rows)("%s", async (_label, req, expected) => {
    expect(await decide([policy], req)).toBe(expected);
  });
}

describe("IAE role of one analysis", () => {
  run(iaePolicy({ region: R, bucket: B, bypassBuckets: [] }), [
    ["reads its users' inputs", { action: "s3:GetObject", resource: obj("brunolab/inputs/movie.tif") }, allow],
    ["reads configs", { action: "s3:GetObject", resource: obj("brunolab/configs/config.yaml") }, allow],
    [
      "writes results",
      { action: "s3:PutObject", resource: obj("brunolab/results/job__x_1/process_results/out.h5") },
      allow,
    ],
    ["lists its bucket", { action: "s3:ListBucket", resource: `arn:aws:s3:::${B}` }, allow],
    ["cannot overwrite user inputs", { action: "s3:PutObject", resource: obj("brunolab/inputs/movie.tif") }, denied],
    ["cannot delete anything", { action: "s3:DeleteObject", resource: obj("brunolab/results/job__x_1/out.h5") }, deny],
    ["cannot read cost logs", { action: "s3:GetObject", resource: obj("logs/active/i-0123.json") }, deny],
    [
      "cannot read another analysis' bucket",
      { action: "s3:GetObject", resource: obj("brunolab/inputs/movie.tif", OTHER) },
      deny,
    ],
    [
      "cannot write another analysis' bucket",
      { action: "s3:PutObject", resource: obj("brunolab/results/x/out.h5", OTHER) },
      deny,
    ],
    ["cannot list another analysis' bucket", { action: "s3:ListBucket", resource: `arn:aws:s3:::${OTHER}` }, deny],
    ["cannot launch instances", { action: "ec2:RunInstances", resource: INSTANCE }, deny],
    ["cannot pass roles", { action: "iam:PassRole", resource: IAE_ROLE }, deny],
  ]);
});

describe("IAE role with a storage-bypass bucket", () => {
  run(iaePolicy({ region: R, bucket: B, bypassBuckets: ["lab-archive"] }), [
    ["reads the bypass bucket", { action: "s3:GetObject", resource: obj("data/movie.tif", "lab-archive") }, allow],
    ["still not other buckets", { action: "s3:GetObject", resource: obj("data/movie.tif", OTHER) }, deny],
  ]);
});

describe("job-manager role", () => {
  const policy = jobManagerPolicy({
    region: R,
    bucket: B,
    iaeRoleArn: IAE_ROLE,
    amiIds: [AMI],
    keyName: "neurocaas-dev-key",
    securityGroupIds: ["sg-0aaaaaaaaaaaaaaaa"],
    budgetParameterPrefix: "/neurocaas/budgets",
    logGroupArn: LOG_GROUP,
    deadLetterQueueArn: DLQ,
    bypassBuckets: [],
  });
  const tagged = (analysis: string) => ({
    "aws:RequestTag/neurocaas:analysis": analysis,
    "aws:RequestTag/PriceTracking": "On",
  });
  run(policy, [
    [
      "passes the IAE role to EC2",
      { action: "iam:PassRole", resource: IAE_ROLE, context: { "iam:PassedToService": "ec2.amazonaws.com" } },
      allow,
    ],
    ["passes no other role", { action: "iam:PassRole", resource: `arn:aws:iam::${ACCOUNT}:role/admin` }, deny],
    [
      "passes no other analysis' IAE role",
      {
        action: "iam:PassRole",
        resource: `arn:aws:iam::${ACCOUNT}:role/${OTHER}-iae`,
        context: { "iam:PassedToService": "ec2.amazonaws.com" },
      },
      deny,
    ],
    [
      "passes the IAE role only to EC2",
      { action: "iam:PassRole", resource: IAE_ROLE, context: { "iam:PassedToService": "lambda.amazonaws.com" } },
      deny,
    ],
    [
      "launches instances tagged for its analysis",
      { action: "ec2:RunInstances", resource: INSTANCE, context: tagged(B) },
      allow,
    ],
    [
      "launches nothing tagged for another analysis",
      { action: "ec2:RunInstances", resource: INSTANCE, context: tagged(OTHER) },
      deny,
    ],
    [
      "launches nothing without PriceTracking",
      { action: "ec2:RunInstances", resource: INSTANCE, context: { "aws:RequestTag/neurocaas:analysis": B } },
      deny,
    ],
    [
      "launches from the blueprint image",
      { action: "ec2:RunInstances", resource: `arn:aws:ec2:${R}::image/${AMI}` },
      allow,
    ],
    [
      "launches from no other image",
      { action: "ec2:RunInstances", resource: `arn:aws:ec2:${R}::image/ami-0000000000000000f` },
      deny,
    ],
    [
      "tags only at launch",
      { action: "ec2:CreateTags", resource: INSTANCE, context: { "ec2:CreateAction": "RunInstances" } },
      allow,
    ],
    ["cannot retag running instances", { action: "ec2:CreateTags", resource: INSTANCE }, deny],
    [
      "tags its own new IAEs with their dataset",
      {
        action: "ec2:CreateTags",
        resource: INSTANCE,
        context: { "aws:ResourceTag/neurocaas:analysis": B, "aws:TagKeys": ["neurocaas:dataset"] },
      },
      allow,
    ],
    [
      "tags its own IAEs' volumes with their dataset",
      {
        action: "ec2:CreateTags",
        resource: `arn:aws:ec2:${R}:${ACCOUNT}:volume/vol-0123456789abcdef0`,
        context: { "aws:ResourceTag/neurocaas:analysis": B, "aws:TagKeys": ["neurocaas:dataset"] },
      },
      allow,
    ],
    [
      "sets no other tag on its IAEs",
      {
        action: "ec2:CreateTags",
        resource: INSTANCE,
        context: { "aws:ResourceTag/neurocaas:analysis": B, "aws:TagKeys": ["neurocaas:dataset", "Timeout"] },
      },
      deny,
    ],
    [
      "tags no other analysis' instances",
      {
        action: "ec2:CreateTags",
        resource: INSTANCE,
        context: { "aws:ResourceTag/neurocaas:analysis": OTHER, "aws:TagKeys": ["neurocaas:dataset"] },
      },
      deny,
    ],
    [
      "terminates its own IAEs",
      { action: "ec2:TerminateInstances", resource: INSTANCE, context: { "ec2:ResourceTag/neurocaas:analysis": B } },
      allow,
    ],
    [
      "terminates no other instances",
      {
        action: "ec2:TerminateInstances",
        resource: INSTANCE,
        context: { "ec2:ResourceTag/neurocaas:analysis": OTHER },
      },
      deny,
    ],
    [
      "sends AWS-RunShellScript",
      { action: "ssm:SendCommand", resource: `arn:aws:ssm:${R}:${ACCOUNT}:document/AWS-RunShellScript` },
      allow,
    ],
    [
      "sends no other document",
      { action: "ssm:SendCommand", resource: `arn:aws:ssm:${R}:${ACCOUNT}:document/AWS-RunPowerShellScript` },
      deny,
    ],
    [
      "sends commands to its IAEs",
      { action: "ssm:SendCommand", resource: INSTANCE, context: { "aws:ResourceTag/neurocaas:analysis": B } },
      allow,
    ],
    [
      "sends no commands to other instances",
      { action: "ssm:SendCommand", resource: INSTANCE, context: { "aws:ResourceTag/neurocaas:analysis": OTHER } },
      deny,
    ],
    ["reads command results", { action: "ssm:GetCommandInvocation", resource: "*" }, allow],
    [
      "reads its budgets",
      { action: "ssm:GetParameter", resource: `arn:aws:ssm:${R}:${ACCOUNT}:parameter/neurocaas/budgets/brunolab/${B}` },
      allow,
    ],
    [
      "reads no other analysis' budgets",
      {
        action: "ssm:GetParameter",
        resource: `arn:aws:ssm:${R}:${ACCOUNT}:parameter/neurocaas/budgets/brunolab/${OTHER}`,
      },
      deny,
    ],
    [
      "reads no private key",
      {
        action: "ssm:GetParameter",
        resource: `arn:aws:ssm:${R}:${ACCOUNT}:parameter/neurocaas/keys/neurocaas-dev-key`,
      },
      deny,
    ],
    ["reads prices", { action: "pricing:GetProducts", resource: "*" }, allow],
    ["describes instances", { action: "ec2:DescribeInstances", resource: "*" }, allow],
    ["reads the submit file", { action: "s3:GetObject", resource: obj("brunolab/submissions/submit.json") }, allow],
    [
      "writes the certificate",
      { action: "s3:PutObject", resource: obj("brunolab/results/job__x_1/logs/certificate.txt") },
      allow,
    ],
    ["writes cost logs", { action: "s3:PutObject", resource: obj("logs/active/i-0123.json") }, allow],
    ["removes active cost logs", { action: "s3:DeleteObject", resource: obj("logs/active/i-0123.json") }, allow],
    ["claims a job once", { action: "s3:PutObject", resource: obj("logs/_jobs/brunolab/job__x_1.json") }, allow],
    [
      "releases a failed claim",
      { action: "s3:DeleteObject", resource: obj("logs/_jobs/brunolab/job__x_1.json") },
      allow,
    ],
    ["keeps the spend ledger", { action: "s3:PutObject", resource: obj("logs/_ledger/brunolab.json") }, allow],
    [
      "never deletes the spend ledger",
      { action: "s3:DeleteObject", resource: obj("logs/_ledger/brunolab.json") },
      deny,
    ],
    [
      "writes ensemble config copies",
      { action: "s3:PutObject", resource: obj(`brunolab/configs/job__${B}_1inst1config.json`) },
      allow,
    ],
    ["never deletes user data", { action: "s3:DeleteObject", resource: obj("brunolab/inputs/movie.tif") }, denied],
    ["never overwrites user inputs", { action: "s3:PutObject", resource: obj("brunolab/inputs/movie.tif") }, denied],
    [
      "never deletes finished cost logs",
      { action: "s3:DeleteObject", resource: obj("logs/brunolab/i-0123.json") },
      deny,
    ],
    [
      "touches no other analysis' bucket",
      { action: "s3:GetObject", resource: obj("brunolab/inputs/movie.tif", OTHER) },
      deny,
    ],
    ["has no S3 bucket administration", { action: "s3:PutBucketPolicy", resource: `arn:aws:s3:::${B}` }, deny],
    [
      "may create the spot service-linked role",
      {
        action: "iam:CreateServiceLinkedRole",
        resource: `arn:aws:iam::${ACCOUNT}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot`,
        context: { "iam:AWSServiceName": "spot.amazonaws.com" },
      },
      allow,
    ],
    [
      "creates no other service-linked role",
      {
        action: "iam:CreateServiceLinkedRole",
        resource: `arn:aws:iam::${ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`,
        context: { "iam:AWSServiceName": "ecs.amazonaws.com" },
      },
      deny,
    ],
    ["has no IAM administration", { action: "iam:CreateUser", resource: `arn:aws:iam::${ACCOUNT}:user/x` }, deny],
    ["writes its dead letters", { action: "sqs:SendMessage", resource: DLQ }, allow],
  ]);
});

describe("monitor role", () => {
  run(
    monitorPolicy({
      region: R,
      bucket: B,
      bypassBuckets: ["lab-archive"],
      logGroupArn: LOG_GROUP,
      deadLetterQueueArn: DLQ,
      iaeRoleArn: IAE_ROLE,
      amiIds: ["ami-0849b3d20fe3258e3"],
      keyName: "k",
      securityGroupIds: ["sg-0aaaaaaaaaaaaaaaa"],
    }),
    [
      // The queue's drain (SPEC §11) launches waiting jobs exactly as the job manager does, and no more.
      [
        "launches queued jobs' tagged IAEs",
        {
          action: "ec2:RunInstances",
          resource: INSTANCE,
          context: { "aws:RequestTag/neurocaas:analysis": B, "aws:RequestTag/PriceTracking": "On" },
        },
        allow,
      ],
      [
        "launches no IAE tagged for another analysis",
        {
          action: "ec2:RunInstances",
          resource: INSTANCE,
          context: { "aws:RequestTag/neurocaas:analysis": OTHER, "aws:RequestTag/PriceTracking": "On" },
        },
        deny,
      ],
      [
        "launches only from the analysis image",
        { action: "ec2:RunInstances", resource: "arn:aws:ec2:us-east-1::image/ami-0fffffffffffffff0" },
        deny,
      ],
      [
        "passes only the IAE role to EC2",
        { action: "iam:PassRole", resource: IAE_ROLE, context: { "iam:PassedToService": "ec2.amazonaws.com" } },
        allow,
      ],
      [
        "passes no other role",
        {
          action: "iam:PassRole",
          resource: `arn:aws:iam::${ACCOUNT}:role/admin`,
          context: { "iam:PassedToService": "ec2.amazonaws.com" },
        },
        deny,
      ],
      ["writes the queue", { action: "s3:PutObject", resource: obj("logs/_queue/queue.json") }, allow],
      ["reads job records", { action: "s3:GetObject", resource: obj("logs/_jobs/brunolab/job__x_1.json") }, allow],
      ["adds spend to the ledger", { action: "s3:PutObject", resource: obj("logs/_ledger/brunolab.json") }, allow],
      [
        "writes end markers of bypass jobs",
        { action: "s3:PutObject", resource: obj(`out/job__${B}_1/process_results/end.txt`, "lab-archive") },
        allow,
      ],
      ["moves cost logs", { action: "s3:PutObject", resource: obj("logs/brunolab/i-0123.json") }, allow],
      ["deletes active cost logs", { action: "s3:DeleteObject", resource: obj("logs/active/i-0123.json") }, allow],
      [
        "writes end markers",
        { action: "s3:PutObject", resource: obj("brunolab/results/job__x_1/process_results/end.txt") },
        allow,
      ],
      [
        "sends commands to its IAEs",
        { action: "ssm:SendCommand", resource: INSTANCE, context: { "aws:ResourceTag/neurocaas:analysis": B } },
        allow,
      ],
      [
        "terminates its IAEs",
        { action: "ec2:TerminateInstances", resource: INSTANCE, context: { "ec2:ResourceTag/neurocaas:analysis": B } },
        allow,
      ],
      [
        "terminates no other instances",
        {
          action: "ec2:TerminateInstances",
          resource: INSTANCE,
          context: { "ec2:ResourceTag/neurocaas:analysis": OTHER },
        },
        deny,
      ],
      ["reads no user inputs", { action: "s3:GetObject", resource: obj("brunolab/inputs/movie.tif") }, deny],
      ["touches no other bucket", { action: "s3:PutObject", resource: obj("logs/brunolab/i-0123.json", OTHER) }, deny],
    ],
  );
});

describe("post-processing role", () => {
  run(
    postprocessPolicy({
      region: R,
      bucket: B,
      targetBucket: "next-step",
      stepName: "prediction",
      logGroupArn: LOG_GROUP,
      deadLetterQueueArn: DLQ,
    }),
    [
      [
        "submits the next step",
        { action: "s3:PutObject", resource: obj("brunolab/submissions/prediction_submit.json", "next-step") },
        allow,
      ],
      [
        "copies job logs",
        { action: "s3:PutObject", resource: obj("brunolab/results/job__x_1/logs_pre_prediction/certificate.txt") },
        allow,
      ],
      [
        "reads job logs to copy",
        { action: "s3:GetObject", resource: obj("brunolab/results/job__x_1/logs/certificate.txt") },
        allow,
      ],
      [
        "writes its once-per-job marker",
        { action: "s3:PutObject", resource: obj("logs/_post/brunolab/results/job__x_1/prediction.json") },
        allow,
      ],
      ["reads the job record", { action: "s3:GetObject", resource: obj("logs/_jobs/brunolab/job__x_1.json") }, allow],
      ["writes no cost logs", { action: "s3:PutObject", resource: obj("logs/brunolab/i-0123.json") }, deny],
      [
        "writes no inputs of the next step",
        { action: "s3:PutObject", resource: obj("brunolab/inputs/x.tif", "next-step") },
        denied,
      ],
      [
        "deletes nothing",
        { action: "s3:DeleteObject", resource: obj("brunolab/results/job__x_1/logs/certificate.txt") },
        deny,
      ],
    ],
  );
});

describe("account guard role", () => {
  run(
    guardPolicy({
      region: R,
      exemptInstancesParameter: "exempt_instances",
      logGroupArn: LOG_GROUP,
      deadLetterQueueArn: DLQ,
    }),
    [
      [
        "stops price-tracked instances",
        { action: "ec2:StopInstances", resource: INSTANCE, context: { "ec2:ResourceTag/PriceTracking": "On" } },
        allow,
      ],
      [
        "terminates price-tracked instances",
        { action: "ec2:TerminateInstances", resource: INSTANCE, context: { "ec2:ResourceTag/PriceTracking": "On" } },
        allow,
      ],
      [
        "leaves untracked instances alone",
        { action: "ec2:TerminateInstances", resource: INSTANCE, context: { "ec2:ResourceTag/PriceTracking": "Off" } },
        deny,
      ],
      [
        "reads the exemptions",
        { action: "ssm:GetParameter", resource: `arn:aws:ssm:${R}:${ACCOUNT}:parameter/exempt_instances` },
        allow,
      ],
      [
        "reads no other parameter",
        {
          action: "ssm:GetParameter",
          resource: `arn:aws:ssm:${R}:${ACCOUNT}:parameter/neurocaas/keys/neurocaas-dev-key`,
        },
        deny,
      ],
      ["lists command invocations", { action: "ssm:ListCommandInvocations", resource: "*" }, allow],
      ["launches nothing", { action: "ec2:RunInstances", resource: INSTANCE }, deny],
      ["reads no S3", { action: "s3:GetObject", resource: obj("brunolab/inputs/movie.tif") }, deny],
    ],
  );
});

describe("analysis bucket policy", () => {
  const devRole = `arn:aws:iam::${ACCOUNT}:role/neurocaas-dev-iae`;
  const policy = analysisBucketPolicy({ region: R, bucket: B, devRoleArn: devRole });
  const asDev = (action: string, resource: string): SimRequest => ({
    action,
    resource,
    principal: devRole,
    context: { "aws:SecureTransport": "true" },
  });
  it.each<[string, SimRequest, Decision]>([
    [
      "lets development instances run debug jobs",
      asDev("s3:PutObject", obj("debuggers/results/debugjob1/out.txt")),
      "Allowed",
    ],
    ["lets development instances read inputs", asDev("s3:GetObject", obj("debuggers/inputs/data.csv")), "Allowed"],
    [
      "keeps cost logs from development instances",
      asDev("s3:GetObject", obj("logs/active/i-0123.json")),
      "ImplicitlyDenied",
    ],
  ])("%s", async (_label, req, expected) => {
    expect(await decide([], req, policy)).toBe(expected);
  });
});
