import { installMocks, settle, byType, one } from "./mocks";
import { defineStack } from "../../components/program";
import { stackSettingsFromConfig } from "../../components/settings";
import { rawBlueprint } from "./fixtures";

const recorded = installMocks();

/**
 * An analysis stack whose bucket cannot be its PipelineName (the original account still owns
 * `caiman-ncap-web`): `neurocaas:bucketName` names the bucket; everything else keeps the analysis'
 * name — Pulumi resource names (URNs), Lambdas, roles, IAM groups, job folders.
 */
const ANALYSIS = "caiman-ncap-web";
const BUCKET = "caiman-ncap-web-lab2";

describe("a stack with neurocaas:bucketName", () => {
  beforeAll(async () => {
    const config: Record<string, unknown> = {
      "aws:region": "us-east-1",
      "neurocaas:blueprint": rawBlueprint({ PipelineName: ANALYSIS }),
      "neurocaas:bucketName": BUCKET,
      "neurocaas:dashboard": { loginDomain: "caiman-lab2" },
    };
    defineStack(stackSettingsFromConfig((k) => config[k]));
    await settle(recorded);
  }, 120_000);

  it("names the bucket by the key; the bucket resource keeps its URN name", () => {
    const bucket = one(recorded, "aws:s3/bucket:Bucket", `${ANALYSIS}-bucket`);
    expect(bucket.inputs.bucket).toBe(BUCKET);
    expect(bucket.options.retainOnDelete).toBe(true);
  });

  it("keeps every other name derived from the analysis", () => {
    const pipeline = recorded.filter((r) => r.name.startsWith(`${ANALYSIS}-`) || r.name === ANALYSIS);
    expect(pipeline.length).toBeGreaterThan(20);
    expect(recorded.filter((r) => r.name.includes("lab2") && !r.name.startsWith("dashboard"))).toEqual([]);
    expect(one(recorded, "aws:lambda/function:Function", `${ANALYSIS}-job-manager`).inputs.name).toBe(
      `${ANALYSIS}-job-manager`,
    );
    expect(
      byType(recorded, "aws:iam/group:Group")
        .map((g) => g.inputs.name)
        .sort(),
    ).toEqual([`${ANALYSIS}.labone`, `${ANALYSIS}.labtwo`]);
  });

  it("gives every function the bucket and the analysis name", () => {
    for (const fn of byType(recorded, "aws:lambda/function:Function").filter((f) => f.name.startsWith(ANALYSIS))) {
      const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
      expect(JSON.parse(env.NEUROCAAS_CONFIG)).toMatchObject({ bucketName: BUCKET, analysisName: ANALYSIS });
    }
  });

  it("grants on the bucket's ARNs; the job manager's job-folder patterns name the analysis", () => {
    const policyOf = (type: string, name: string) =>
      JSON.parse(String(one(recorded, type, name).inputs.policy)) as {
        Statement: { Sid?: string; Resource?: unknown }[];
      };
    const bucketPolicy = policyOf("aws:s3/bucketPolicy:BucketPolicy", `${ANALYSIS}-bucket-policy`);
    expect(JSON.stringify(bucketPolicy)).toContain(`arn:aws:s3:::${BUCKET}/*`);
    const group = policyOf("aws:iam/policy:Policy", `${ANALYSIS}-labone-policy`);
    expect(group.Statement.find((s) => s.Sid === "Submit")!.Resource).toBe(
      `arn:aws:s3:::${BUCKET}/labone/submissions/*`,
    );
    const jm = policyOf("aws:iam/rolePolicy:RolePolicy", `${ANALYSIS}-job-manager-policy`);
    expect(jm.Statement.find((s) => s.Sid === "WriteJobFilesAndCostLogs")!.Resource).toContain(
      `arn:aws:s3:::${BUCKET}/*/configs/job__${ANALYSIS}_*inst*config.json`,
    );
    expect(JSON.stringify(jm)).not.toContain(`arn:aws:s3:::${ANALYSIS}/`);
  });

  it("tells the dashboard which analysis each bucket holds", () => {
    const config = JSON.parse(
      String(one(recorded, "aws:s3/bucketObjectv2:BucketObjectv2", "dashboard-file-config.json").inputs.content),
    ) as { analyses: { bucket: string; analysis: string }[] };
    expect(config.analyses.map((a) => [a.bucket, a.analysis])).toEqual([[BUCKET, ANALYSIS]]);
  });
});
