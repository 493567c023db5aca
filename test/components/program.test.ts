import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { installMocks, settle, byType, one, outputOf } from "./mocks";
import { loadStackFile } from "../../model/blueprint/parse";
import { defineStack } from "../../components/program";
import { stackSettingsFromConfig } from "../../components/settings";
import { REPO } from "./fixtures";
import { COST_TAGS } from "../../components/cost-tags";
import { decide } from "./iam-sim";
import type { PolicyDocument } from "../../components/iam/document";

const recorded = installMocks();

describe("defineStack on the dev stack (Pulumi.dev.yaml)", () => {
  const file = loadStackFile(path.join(REPO, "Pulumi.dev.yaml"));
  const settings = stackSettingsFromConfig((k) => file.config[k], {
    organization: "organization",
    project: "neurocaas",
    stack: "dev",
  });
  let outputs: ReturnType<typeof defineStack>;

  beforeAll(async () => {
    outputs = defineStack(settings);
    await settle(recorded);
  }, 120_000);

  it("deploys the utils resources in-program and exports global params", async () => {
    const utils = await outputOf(outputs.utils!);
    expect(utils.keyName).toBe("neurocaas-dev-key");
    expect(utils.iaeRoleArn).toMatch(/:role\/neurocaas-dev-dev-iae$/);
    expect(utils.globalParams).toMatchObject({ keyname: "neurocaas-dev-key", iamrole: "neurocaas-dev-dev-iae" });
    expect(utils.privateKeyParameterName).toBe("/neurocaas/keys/neurocaas-dev-key");
  });

  it("keeps the private key only in a SecureString parameter", () => {
    const param = one(recorded, "aws:ssm/parameter:Parameter", "utils-private-key");
    expect(param.inputs.type).toBe("SecureString");
    // A secret input reaches the engine wrapped with Pulumi's secret signature.
    const wrapped = JSON.stringify(param.inputs.value);
    expect(wrapped).toContain("PRIVATE KEY");
    expect(wrapped).toContain("1b47061264138c4ac30d75fd1eb44270");
    const keyPair = one(recorded, "aws:ec2/keyPair:KeyPair", "utils-key-pair");
    expect(String(keyPair.inputs.publicKey)).toMatch(/^ssh-ed25519 /);
    expect(JSON.stringify(outputs.utils)).not.toContain("PRIVATE KEY");
  });

  it("has an IAE security group without ingress and SSH only from the configured CIDR", () => {
    const iae = one(recorded, "aws:ec2/securityGroup:SecurityGroup", "utils-iae-sg").inputs;
    expect(iae.ingress ?? []).toEqual([]);
    const dev = one(recorded, "aws:ec2/securityGroup:SecurityGroup", "utils-dev-sg").inputs;
    expect(dev.ingress).toEqual([
      expect.objectContaining({ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["203.0.113.0/24"] }),
    ]);
  });

  it("replaces fixed-name resources delete-first, so a replacement cannot collide with itself", () => {
    for (const [type, name] of [
      ["aws:ec2/securityGroup:SecurityGroup", "utils-iae-sg"],
      ["aws:ec2/securityGroup:SecurityGroup", "utils-dev-sg"],
      ["aws:ec2/keyPair:KeyPair", "utils-key-pair"],
      ["aws:ssm/parameter:Parameter", "utils-private-key"],
    ])
      expect([name, one(recorded, type, name).options.deleteBeforeReplace]).toEqual([name, true]);
  });

  it("gives the utils role only the SSM core policy (analysis buckets grant it access)", () => {
    const attachments = byType(recorded, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map(
      (a) => a.inputs.policyArn,
    );
    expect(new Set(attachments)).toEqual(new Set(["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]));
    const utilsRolePolicies = byType(recorded, "aws:iam/rolePolicy:RolePolicy").filter(
      (p) => String(p.inputs.role) === "neurocaas-dev-dev-iae",
    );
    expect(utilsRolePolicies).toHaveLength(0);
  });

  it("deploys the demo analysis with the PCA command", () => {
    const jm = one(recorded, "aws:lambda/function:Function", "neurocaas-demo-job-manager");
    const config = JSON.parse(
      (jm.inputs.environment as { variables: Record<string, string> }).variables.NEUROCAAS_CONFIG,
    );
    expect(config.command).toBe('neurocaas workflow run-main "{}" "{}" "{}" "{}" examples/pca/run_pca.sh');
    expect(config.workingDirectory).toBe("~/neurocaas");
    expect(config.stage).toBe("webdev");
    expect(one(recorded, "aws:s3/bucket:Bucket", "neurocaas-demo-bucket").inputs.bucket).toBe("neurocaas-demo");
  });

  it("deploys the account guard on a schedule with its exemptions parameter", async () => {
    const rule = one(recorded, "aws:cloudwatch/eventRule:EventRule", "account-guard-schedule");
    expect(rule.inputs.scheduleExpression).toBe("rate(15 minutes)");
    const fn = one(recorded, "aws:lambda/function:Function", "account-guard-fn");
    expect(fn.inputs.runtime).toBe("nodejs22.x");
    expect((fn.inputs.environment as { variables: Record<string, string> }).variables).toEqual({
      NEUROCAAS_EXEMPT_PARAMETER: "exempt_instances",
    });
    const policy = JSON.parse(
      one(recorded, "aws:iam/rolePolicy:RolePolicy", "account-guard-fn-policy").inputs.policy as string,
    ) as PolicyDocument;
    const instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0";
    expect(
      await decide([policy], {
        action: "ec2:StopInstances",
        resource: instance,
        context: { "ec2:ResourceTag/PriceTracking": "On" },
      }),
    ).toBe("Allowed");
    expect(await decide([policy], { action: "ec2:StopInstances", resource: instance })).toBe("ImplicitlyDenied");
    expect(await outputOf(outputs.accountGuardFunction!)).toBe("neurocaas-dev-account-guard");
  });

  it("creates the user profile with secret login and access key outputs", async () => {
    const user = one(recorded, "aws:iam/user:User", "user-demouser-user");
    expect(user.inputs.name).toBe("demouserus-east-1");
    expect(byType(recorded, "aws:iam/userLoginProfile:UserLoginProfile")).toHaveLength(1);
    expect(byType(recorded, "aws:iam/accessKey:AccessKey")).toHaveLength(1);
    const u = outputs.users!.demouser;
    expect(u.iamUserName).toBe("demouserus-east-1");
    expect(await pulumi.isSecret(u.secretAccessKey!)).toBe(true);
    expect(await pulumi.isSecret(u.password!)).toBe(true);
    expect(
      one(recorded, "aws:iam/userGroupMembership:UserGroupMembership", "neurocaas-demo-debuggers-member-demouser")
        .inputs,
    ).toMatchObject({ user: "demouserus-east-1", groups: ["neurocaas-demo.debuggers"] });
    expect(byType(recorded, "aws:iam/groupMembership:GroupMembership")).toHaveLength(0);
  });

  it("tags every taggable resource with the cost tags", () => {
    const taggable = new Set([
      "aws:s3/bucket:Bucket",
      "aws:lambda/function:Function",
      "aws:cloudwatch/logGroup:LogGroup",
      "aws:iam/role:Role",
      "aws:iam/policy:Policy",
      "aws:iam/instanceProfile:InstanceProfile",
      "aws:iam/user:User",
      "aws:sqs/queue:Queue",
      "aws:cloudwatch/eventRule:EventRule",
      "aws:ec2/securityGroup:SecurityGroup",
      "aws:ec2/keyPair:KeyPair",
      "aws:ssm/parameter:Parameter",
    ]);
    const resources = recorded.filter((r) => taggable.has(r.type));
    expect(resources.length).toBeGreaterThan(20);
    for (const r of resources) {
      const tags = (r.inputs.tags ?? {}) as Record<string, string>;
      // The job manager and the IAE role also carry the blueprint's cost limits (components/cost-tags.ts).
      const keys = Object.keys(tags).filter(
        (k) => !Object.values(COST_TAGS).some((c) => k === c || k.startsWith(`${c}-`)),
      );
      expect([r.name, keys.sort()]).toEqual([r.name, ["neurocaas:analysis", "neurocaas:component", "neurocaas:stage"]]);
    }
  });
});

describe("defineStack on an analysis stack (stacks/caiman-ncap-web.yaml)", () => {
  let start = 0;
  let mine: typeof recorded = [];
  let outputs: ReturnType<typeof defineStack>;

  beforeAll(async () => {
    await settle(recorded);
    start = recorded.length;
    const file = loadStackFile(path.join(REPO, "stacks/caiman-ncap-web.yaml"));
    outputs = defineStack(
      stackSettingsFromConfig((k) => file.config[k], {
        organization: "myorg",
        project: "neurocaas",
        stack: "caiman-ncap-web",
      }),
    );
    await settle(recorded);
    mine = recorded.slice(start);
  }, 120_000);

  it("reads the utils outputs through a StackReference and deploys no utils or guard", () => {
    const refs = byType(mine, "pulumi:pulumi:StackReference");
    // `neurocaas:utilsStack: utils`, qualified with the stack's own organization and project.
    expect(refs.map((r) => r.inputs.name)).toEqual(["myorg/neurocaas/utils"]);
    expect(byType(mine, "aws:ec2/securityGroup:SecurityGroup")).toHaveLength(0);
    expect(byType(mine, "aws:ec2/keyPair:KeyPair")).toHaveLength(0);
    expect(mine.filter((r) => r.name.startsWith("account-guard"))).toHaveLength(0);
    expect(outputs.utils).toBeUndefined();
  });

  it("launches IAEs with the utils security group and key, and its own instance profile", () => {
    const jm = one(mine, "aws:lambda/function:Function", "caiman-ncap-web-job-manager");
    const config = JSON.parse(
      (jm.inputs.environment as { variables: Record<string, string> }).variables.NEUROCAAS_CONFIG,
    );
    expect(config.securityGroupIds).toEqual(["sg-0aaaaaaaaaaaaaaaa"]);
    expect(config.keyName).toBe("neurocaas-dev-key");
    expect(config.iaeInstanceProfileArn).toMatch(/:instance-profile\/caiman-ncap-web-iae$/);
    expect(config.stage).toBe("websubstack");
    expect(config.affiliates).toHaveLength(9);
  });

  it("serves the web client: CORS, suffix-only trigger, nine groups with their users", async () => {
    expect(byType(mine, "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")).toHaveLength(1);
    const notification = one(mine, "aws:s3/bucketNotification:BucketNotification", "caiman-ncap-web-notification");
    expect(notification.inputs.lambdaFunctions).toEqual([
      expect.objectContaining({ filterSuffix: "submit.json", events: ["s3:ObjectCreated:*"] }),
    ]);
    expect(byType(mine, "aws:iam/group:Group")).toHaveLength(9);
    const marlab = byType(mine, "aws:iam/userGroupMembership:UserGroupMembership").filter(
      (m) => (m.inputs.groups as string[])[0] === "caiman-ncap-web.marlab",
    );
    expect(marlab.map((m) => m.inputs.user)).toContain("adam.mar@nyulangone.orgus-east-1");
    expect(await outputOf(outputs.analysis!.bucketName)).toBe("caiman-ncap-web");
    const logGroups = byType(mine, "aws:cloudwatch/logGroup:LogGroup");
    for (const g of logGroups) expect(g.inputs.retentionInDays).toBe(90);
  });
});
