import { installMocks, settle, byType, one, FAKE_UTILS, type Recorded } from "./mocks";
import { parseBlueprint } from "../../model/blueprint/parse";
import { AnalysisPipeline, bucketKeepOptions, notificationFilters } from "../../components/analysis-pipeline";
import { LAMBDA_RUNTIME } from "../../components/lambda-bundle";
import { decide } from "./iam-sim";
import { rawBlueprint, withPaths } from "./fixtures";
import type { PolicyDocument } from "../../components/iam/document";
import type { AnalysisRuntimeConfig } from "../../model/runtime-config";

const recorded = installMocks();

const COMMON = {
  forceDestroy: false,
  logRetentionDays: 30,
  budgetParameterPrefix: "/neurocaas/budgets",
  bypassBuckets: [],
};

const webdev = parseBlueprint(
  withPaths({
    PipelineName: "webdev-analysis",
    "Lambda.LambdaConfig.EXECUTION_TIMEOUT": 300,
    "Lambda.PostProcessing": { StepName: "prediction" },
  }),
);
const websub = parseBlueprint(rawBlueprint({ PipelineName: "websub-analysis", STAGE: "websubstack" }));

let webdevResources: Recorded[] = [];
let websubResources: Recorded[] = [];

beforeAll(async () => {
  new AnalysisPipeline("webdev", { blueprint: webdev, utils: FAKE_UTILS, ...COMMON });
  await settle(recorded);
  webdevResources = [...recorded];
  recorded.length = 0;
  new AnalysisPipeline("websub", {
    blueprint: websub,
    utils: FAKE_UTILS,
    ...COMMON,
    corsOrigins: ["https://neurocaas.org"],
  });
  await settle(recorded);
  websubResources = [...recorded];
}, 120_000);

const T = {
  bucket: "aws:s3/bucket:Bucket",
  pab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  cors: "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
  notification: "aws:s3/bucketNotification:BucketNotification",
  object: "aws:s3/bucketObjectv2:BucketObjectv2",
  group: "aws:iam/group:Group",
  policy: "aws:iam/policy:Policy",
  membership: "aws:iam/userGroupMembership:UserGroupMembership",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  fn: "aws:lambda/function:Function",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  rule: "aws:cloudwatch/eventRule:EventRule",
  target: "aws:cloudwatch/eventTarget:EventTarget",
  permission: "aws:lambda/permission:Permission",
  queue: "aws:sqs/queue:Queue",
};

function rolePolicyDoc(resources: Recorded[], name: string): PolicyDocument {
  return JSON.parse(one(resources, T.rolePolicy, name).inputs.policy as string) as PolicyDocument;
}

describe("AnalysisPipeline bucket", () => {
  it("is named after the pipeline, private, hardened and encrypted", () => {
    const bucket = one(webdevResources, T.bucket, "webdev-bucket");
    expect(bucket.inputs.bucket).toBe("webdev-analysis");
    expect(bucket.inputs.forceDestroy).toBe(false);
    expect(bucket.inputs.tags).toEqual({
      "neurocaas:analysis": "webdev-analysis",
      "neurocaas:stage": "webdev",
      "neurocaas:component": "bucket",
    });
    const pab = one(webdevResources, T.pab, "webdev-public-access").inputs;
    expect([pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets]).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(one(webdevResources, T.ownership, "webdev-ownership").inputs.rule).toEqual({
      objectOwnership: "BucketOwnerEnforced",
    });
    const sse = one(webdevResources, T.sse, "webdev-encryption").inputs.rules as {
      applyServerSideEncryptionByDefault: { sseAlgorithm: string };
    }[];
    expect(sse[0].applyServerSideEncryptionByDefault.sseAlgorithm).toBe("AES256");
  });

  it("has CORS only for websubstack by default, with the configured origins", () => {
    expect(byType(webdevResources, T.cors)).toHaveLength(0);
    const cors = one(websubResources, T.cors, "websub-cors").inputs.corsRules as { allowedOrigins: string[] }[];
    expect(cors[0].allowedOrigins).toEqual(["https://neurocaas.org"]);
  });

  it("creates the four folder markers per group, retained on delete", () => {
    const keys = byType(webdevResources, T.object)
      .map((r) => r.inputs.key)
      .sort();
    expect(keys).toEqual([
      "labone/configs/",
      "labone/inputs/",
      "labone/results/",
      "labone/submissions/",
      "labtwo/configs/",
      "labtwo/inputs/",
      "labtwo/results/",
      "labtwo/submissions/",
    ]);
    for (const r of byType(webdevResources, T.object)) {
      expect(r.inputs.content).toBe("");
      expect(r.options.retainOnDelete).toBe(true);
      expect(r.options.ignoreChanges).toEqual(expect.arrayContaining(["content"]));
    }
  });

  it("keeps the bucket, its data and its protections when the stack is destroyed or the pipeline renamed", () => {
    for (const name of ["webdev-bucket", "webdev-public-access", "webdev-ownership", "webdev-encryption"]) {
      expect([name, webdevResources.find((r) => r.name === name)?.options.retainOnDelete]).toEqual([name, true]);
    }
    expect(one(webdevResources, T.bucket, "webdev-bucket").inputs.forceDestroy).toBe(false);
    // What a rename deletes: the notification and the policy go, the bucket and its data stay.
    expect(one(webdevResources, T.notification, "webdev-notification").options.retainOnDelete).toBe(false);
    expect(bucketKeepOptions(false)).toEqual({ retainOnDelete: true });
    expect(bucketKeepOptions(true)).toEqual({ retainOnDelete: false });
  });

  it("replaces fixed-name groups and policies delete-first (IAM names are unique)", () => {
    for (const r of [...byType(webdevResources, T.group), ...byType(webdevResources, T.policy)])
      expect([r.name, r.options.deleteBeforeReplace]).toEqual([r.name, true]);
  });
});

describe("AnalysisPipeline triggers", () => {
  type LambdaNotification = {
    lambdaFunctionArn: string;
    events: string[];
    filterPrefix?: string;
    filterSuffix?: string;
  };
  const entries = (resources: Recorded[]) =>
    one(resources, T.notification, resources === webdevResources ? "webdev-notification" : "websub-notification").inputs
      .lambdaFunctions as LambdaNotification[];

  it("webdev: one submit trigger per affiliate (results/ when UserInput is false) and the post trigger", () => {
    const list = entries(webdevResources);
    const jm = list.filter((e) => e.lambdaFunctionArn.endsWith(":function:webdev-analysis-job-manager"));
    expect(jm.map((e) => [e.filterPrefix, e.filterSuffix])).toEqual([
      ["labone/submissions/", "submit.json"],
      ["labtwo/results/", "submit.json"],
    ]);
    const pp = list.filter((e) => e.lambdaFunctionArn.endsWith(":function:webdev-analysis-postprocess"));
    expect(pp.map((e) => [e.filterPrefix, e.filterSuffix])).toEqual([[undefined, "process_results/end.txt"]]);
    for (const e of list) expect(e.events).toEqual(["s3:ObjectCreated:*"]);
  });

  it("websubstack: a single suffix-only submit trigger", () => {
    const list = entries(websubResources);
    expect(list).toHaveLength(1);
    expect(list[0].filterPrefix).toBeUndefined();
    expect(list[0].filterSuffix).toBe("submit.json");
    expect(notificationFilters(websub)).toEqual([{ target: "job-manager", filterSuffix: "submit.json" }]);
  });

  it("lets S3 invoke the functions and EventBridge invoke the monitor", () => {
    const perms = byType(webdevResources, T.permission)
      .map((p) => [p.inputs.function, p.inputs.principal])
      .sort();
    expect(perms).toEqual([
      ["webdev-analysis-job-manager", "s3.amazonaws.com"],
      ["webdev-analysis-monitor", "events.amazonaws.com"],
      ["webdev-analysis-monitor", "events.amazonaws.com"],
      ["webdev-analysis-postprocess", "s3.amazonaws.com"],
    ]);
  });

  it("has one static EC2 state-change rule targeting the monitor, and the queue's scheduled sweep", () => {
    const rules = byType(webdevResources, T.rule);
    expect(rules).toHaveLength(2);
    const sweep = one(webdevResources, T.rule, "webdev-queue-sweep");
    expect(sweep.inputs).toMatchObject({
      name: "neurocaas-webdev-analysis-queue-sweep",
      scheduleExpression: "rate(5 minutes)",
    });
    expect(one(webdevResources, T.target, "webdev-queue-sweep-target").inputs.arn).toMatch(
      /:function:webdev-analysis-monitor$/,
    );
    expect(one(webdevResources, T.rule, "webdev-monitor-rule").inputs.name).toBe("neurocaas-webdev-analysis-ec2-state");
    expect(JSON.parse(one(webdevResources, T.rule, "webdev-monitor-rule").inputs.eventPattern as string)).toEqual({
      source: ["aws.ec2"],
      $or: [
        {
          "detail-type": ["EC2 Instance State-change Notification"],
          detail: { state: ["running", "shutting-down", "terminated"] },
        },
        { "detail-type": ["EC2 Spot Instance Interruption Warning"] },
      ],
    });
    expect(one(webdevResources, T.target, "webdev-monitor-target").inputs.arn).toMatch(
      /:function:webdev-analysis-monitor$/,
    );
  });
});

describe("AnalysisPipeline Lambdas", () => {
  const fns = () => byType(webdevResources, T.fn);

  it("runs job manager, monitor and post-processing on nodejs22.x with a DLQ and the runtime config", () => {
    expect(
      fns()
        .map((f) => f.inputs.name)
        .sort(),
    ).toEqual(["webdev-analysis-job-manager", "webdev-analysis-monitor", "webdev-analysis-postprocess"]);
    const queue = one(webdevResources, T.queue, "webdev-dlq");
    for (const f of fns()) {
      expect(f.inputs.runtime).toBe(LAMBDA_RUNTIME);
      expect(f.inputs.handler).toBe("index.handler");
      expect((f.inputs.deadLetterConfig as { targetArn: string }).targetArn).toMatch(
        new RegExp(`:${queue.inputs.name as string}$`),
      );
      const env = (f.inputs.environment as { variables: Record<string, string> }).variables;
      const config = JSON.parse(env.NEUROCAAS_CONFIG) as AnalysisRuntimeConfig;
      expect(config.bucketName).toBe("webdev-analysis");
      expect(config.iaeRoleArn).toMatch(/:role\/webdev-analysis-iae$/);
      expect(config.iaeInstanceProfileArn).toMatch(/:instance-profile\/webdev-analysis-iae$/);
      expect(config.securityGroupIds).toEqual([FAKE_UTILS.iaeSecurityGroupId]);
      expect(config.keyName).toBe(FAKE_UTILS.keyName);
      expect(config.postProcessing).toEqual({ StepName: "prediction", PostTrigger: "end.txt" });
      expect(config.affiliates).toEqual([
        { AffiliateName: "labone", UserInput: true },
        { AffiliateName: "labtwo", UserInput: false },
      ]);
    }
    const jm = fns().find((f) => f.inputs.name === "webdev-analysis-job-manager")!;
    expect(jm.inputs.timeout).toBe(300);
  });

  it("gives every function a log group with retention", () => {
    const groups = byType(webdevResources, T.logGroup);
    expect(groups.map((g) => g.inputs.name).sort()).toEqual(
      fns()
        .map((f) => `/aws/lambda/${f.inputs.name as string}`)
        .sort(),
    );
    for (const g of groups) expect(g.inputs.retentionInDays).toBe(30);
  });

  it("omits the post-processing Lambda when the blueprint has none", () => {
    expect(
      byType(websubResources, T.fn)
        .map((f) => f.inputs.name)
        .sort(),
    ).toEqual(["websub-analysis-job-manager", "websub-analysis-monitor"]);
  });
});

describe("AnalysisPipeline IAM", () => {
  it("creates one group and managed policy per affiliate and adds the users with the region suffix", () => {
    expect(
      byType(webdevResources, T.group)
        .map((g) => g.inputs.name)
        .sort(),
    ).toEqual(["webdev-analysis.labone", "webdev-analysis.labtwo"]);
    expect(
      byType(webdevResources, T.policy)
        .map((g) => g.inputs.name)
        .sort(),
    ).toEqual(["webdev-analysis.labone", "webdev-analysis.labtwo"]);
    // One non-exclusive membership per user: removing a user here never touches memberships other stacks own.
    const members = byType(webdevResources, T.membership).map((m) => [m.inputs.user, m.inputs.groups]);
    expect(members).toEqual([
      ["aliceus-east-1", ["webdev-analysis.labone"]],
      ["bobus-east-1", ["webdev-analysis.labone"]],
      ["carolus-east-1", ["webdev-analysis.labtwo"]],
    ]);
    expect(byType(webdevResources, "aws:iam/groupMembership:GroupMembership")).toHaveLength(0);
  });

  it("deploys group policies that grant exactly their own folder", async () => {
    const doc = JSON.parse(
      one(webdevResources, T.policy, "webdev-labone-policy").inputs.policy as string,
    ) as PolicyDocument;
    expect(
      await decide([doc], { action: "s3:PutObject", resource: "arn:aws:s3:::webdev-analysis/labone/inputs/a.tif" }),
    ).toBe("Allowed");
    expect(
      await decide([doc], { action: "s3:PutObject", resource: "arn:aws:s3:::webdev-analysis/labtwo/inputs/a.tif" }),
    ).toBe("ImplicitlyDenied");
  });

  it("scopes the deployed role policies: no admin, PassRole only on its IAE role, IAE only its bucket", async () => {
    const jm = rolePolicyDoc(webdevResources, "webdev-job-manager-policy");
    const iaeRole = "arn:aws:iam::123456789012:role/webdev-analysis-iae";
    expect(
      await decide([jm], {
        action: "iam:PassRole",
        resource: iaeRole,
        context: { "iam:PassedToService": "ec2.amazonaws.com" },
      }),
    ).toBe("Allowed");
    expect(
      await decide([jm], {
        action: "iam:PassRole",
        resource: "arn:aws:iam::123456789012:role/websub-analysis-iae",
        context: { "iam:PassedToService": "ec2.amazonaws.com" },
      }),
    ).toBe("ImplicitlyDenied");
    const iae = rolePolicyDoc(webdevResources, "webdev-iae-s3");
    expect(
      await decide([iae], {
        action: "s3:PutObject",
        resource: "arn:aws:s3:::webdev-analysis/labone/results/job__webdev-analysis_1/out",
      }),
    ).toBe("Allowed");
    expect(
      await decide([iae], {
        action: "s3:PutObject",
        resource: "arn:aws:s3:::websub-analysis/labone/results/job__websub-analysis_1/out",
      }),
    ).toBe("ImplicitlyDenied");
    for (const r of byType(webdevResources, T.rolePolicy)) {
      const text = r.inputs.policy as string;
      expect(text).not.toMatch(/"Action":"\*"|"s3:\*"|AdministratorAccess/);
    }
    const attachments = byType(webdevResources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map(
      (a) => a.inputs.policyArn,
    );
    expect(attachments).toEqual(["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
  });

  it("tags every taggable resource with analysis, stage and component", () => {
    const taggable = [
      T.bucket,
      T.policy,
      T.role,
      T.fn,
      T.logGroup,
      T.rule,
      T.queue,
      "aws:iam/instanceProfile:InstanceProfile",
    ];
    const resources = webdevResources.filter((r) => taggable.includes(r.type));
    expect(resources.length).toBeGreaterThan(15);
    for (const r of resources) {
      const tags = r.inputs.tags as Record<string, string>;
      expect(tags["neurocaas:analysis"]).toBe("webdev-analysis");
      expect(tags["neurocaas:stage"]).toBe("webdev");
      expect(tags["neurocaas:component"]).toEqual(expect.any(String));
    }
  });
});
