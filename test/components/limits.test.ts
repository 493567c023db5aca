import { installMocks, settle, byType, FAKE_UTILS } from "./mocks";
import { parseBlueprint } from "../../model/blueprint/parse";
import { AnalysisPipeline } from "../../components/analysis-pipeline";
import { UserProfile } from "../../components/user-profile";
import { AWS_LIMITS, LimitError, checkGroupsPerUser, checkNameLength, checkPolicySize } from "../../components/limits";
import { affiliateGroupPolicy, jobManagerPolicy, iaePolicy } from "../../components/iam/policies";
import { policySize, type PolicyDocument } from "../../components/iam/document";
import { analysisNames, fitName } from "../../components/names";
import { rawBlueprint } from "./fixtures";

const recorded = installMocks();

function affiliates(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    AffiliateName: `${"g".repeat(40)}${String(i).padStart(4, "0")}`,
    UserNames: [`user${i}a`, `user${i}b`],
    UserInput: i % 2 === 0,
  }));
}

describe("AWS size limits", () => {
  it("a 300-affiliate webdev blueprint deploys with every policy within its quota", async () => {
    const name = "a".repeat(63);
    const bp = parseBlueprint(rawBlueprint({ PipelineName: name, UXData: { Affiliates: affiliates(300) } }));
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0; // see settle(): Pulumi's per-promise stack traces are slow under jest
    new AnalysisPipeline("big", {
      blueprint: bp,
      utils: FAKE_UTILS,
      corsOrigins: [],
      forceDestroy: false,
      logRetentionDays: 30,
      budgetParameterPrefix: "/neurocaas/budgets",
      bypassBuckets: ["bypass-one", "bypass-two"],
    });
    Error.stackTraceLimit = limit;
    await settle(recorded);
    const managed = byType(recorded, "aws:iam/policy:Policy");
    expect(managed).toHaveLength(300);
    for (const p of managed)
      expect(policySize(JSON.parse(p.inputs.policy as string) as PolicyDocument)).toBeLessThanOrEqual(
        AWS_LIMITS.managedPolicyChars,
      );
    const rolePolicies = byType(recorded, "aws:iam/rolePolicy:RolePolicy");
    expect(rolePolicies.length).toBeGreaterThanOrEqual(3);
    for (const p of rolePolicies)
      expect(policySize(JSON.parse(p.inputs.policy as string) as PolicyDocument)).toBeLessThanOrEqual(
        AWS_LIMITS.roleInlinePolicyChars,
      );
    const bucketPolicy = byType(recorded, "aws:s3/bucketPolicy:BucketPolicy")[0];
    expect(Buffer.byteLength(bucketPolicy.inputs.policy as string)).toBeLessThanOrEqual(AWS_LIMITS.bucketPolicyBytes);
    expect(byType(recorded, "aws:iam/group:Group").every((g) => (g.inputs.name as string).length <= 128)).toBe(true);
    const notification = byType(recorded, "aws:s3/bucketNotification:BucketNotification")[0];
    expect((notification.inputs.lambdaFunctions as unknown[]).length).toBe(300);
    for (const r of byType(recorded, "aws:lambda/function:Function")) {
      expect((r.inputs.name as string).length).toBeLessThanOrEqual(AWS_LIMITS.lambdaNameChars);
      const vars = (r.inputs.environment as { variables: Record<string, string> }).variables;
      expect(Object.entries(vars).reduce((n, [k, v]) => n + k.length + v.length, 0)).toBeLessThanOrEqual(4096);
    }
    for (const r of byType(recorded, "aws:cloudwatch/eventRule:EventRule"))
      expect((r.inputs.name as string).length).toBeLessThanOrEqual(AWS_LIMITS.eventRuleNameChars);
  }, 240_000);

  it("checkPolicySize names the policy, its size and the limit", () => {
    const huge: PolicyDocument = {
      Version: "2012-10-17",
      Statement: Array.from({ length: 80 }, (_, i) => ({
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: `arn:aws:s3:::bucket-number-${i}/*`,
      })),
    };
    expect(() => checkPolicySize("managed policy", "lab.policy", huge)).toThrow(LimitError);
    expect(() => checkPolicySize("managed policy", "lab.policy", huge)).toThrow(
      /managed policy "lab\.policy" is \d+ characters .* at most 6144/,
    );
    expect(checkPolicySize("role inline policy", "ok", huge)).toBe(huge);
  });

  it("real policies stay far below their quotas", () => {
    expect(policySize(affiliateGroupPolicy("us-east-1", "a".repeat(63), "g".repeat(48)))).toBeLessThan(
      AWS_LIMITS.managedPolicyChars / 2,
    );
    const jm = jobManagerPolicy({
      region: "us-east-1",
      bucket: "a".repeat(63),
      iaeRoleArn: `arn:aws:iam::123456789012:role/${"a".repeat(64)}`,
      amiIds: ["ami-0123456789abcdef0"],
      keyName: "k".repeat(255),
      securityGroupIds: ["sg-0aaaaaaaaaaaaaaaa"],
      budgetParameterPrefix: "/neurocaas/budgets",
      logGroupArn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x",
      deadLetterQueueArn: "arn:aws:sqs:us-east-1:123456789012:x",
      bypassBuckets: Array.from({ length: 20 }, (_, i) => `bypass-${i}`),
    });
    expect(policySize(jm)).toBeLessThan(AWS_LIMITS.roleInlinePolicyChars);
    expect(policySize(iaePolicy({ region: "us-east-1", bucket: "b", bypassBuckets: [] }))).toBeLessThan(1000);
  });

  it("fits long analysis names into name limits, and the checks catch names that do not fit", () => {
    const names = analysisNames("a".repeat(63));
    expect(names.monitorRule.length).toBeLessThanOrEqual(64);
    expect(names.jobManagerFunction.length).toBeLessThanOrEqual(64);
    expect(names.jobManagerFunction).toMatch(/-job-manager$/);
    expect(fitName("short", "monitor", 64)).toBe("short-monitor");
    expect(fitName("a".repeat(63), "x", 64)).not.toBe(fitName(`${"a".repeat(62)}b`, "x", 64));
    expect(() => checkNameLength("EventBridge rule", "r".repeat(65), 64)).toThrow(
      /EventBridge rule name "r+" is 65 characters; AWS allows at most 64/,
    );
  });

  it("rejects a user in more than 10 groups at deploy time", () => {
    const groups = Array.from({ length: 11 }, (_, i) => `analysis-${i}.lab`);
    expect(() => checkGroupsPerUser("aliceus-east-1", groups)).toThrow(
      /aliceus-east-1" would be in 11 groups .* at most 10/,
    );
    expect(() => checkGroupsPerUser("aliceus-east-1", groups.slice(0, 10))).not.toThrow();
    expect(
      () =>
        new UserProfile("too-many", {
          userName: "alice",
          region: "us-east-1",
          groups,
          console: false,
          accessKey: false,
        }),
    ).toThrow(LimitError);
  });
});
