import { parseBlueprint } from "../../model/blueprint/parse";
import { dashboardAnalysis } from "../../model/dashboard-config";
import { ensembleConfigCopyName, iaePolicy, jobManagerPolicy, monitorPolicy } from "../../components/iam/policies";
import { packageRuntimeConfig, runtimeConfigFromBlueprint } from "../../model/runtime-config-build";
import { stackBucketName, stackSettingsFromConfig, StackConfigError } from "../../components/settings";
import { jobFolderKey, jobFolderName } from "../../model/layout";
import { loadRuntimeConfig } from "../../model/runtime-config";
import { rawBlueprint } from "./fixtures";

/**
 * Bucket names are global across AWS accounts (the original account still owns e.g.
 * `caiman-ncap-web`): a stack may name its bucket apart from the blueprint's PipelineName, which
 * stays the analysis' name (job folders, IAE tags, IAM, budgets).
 */

const UTILS = {
  iaeInstanceProfileArn: "arn:aws:iam::1:instance-profile/p",
  iaeRoleArn: "arn:aws:iam::1:role/r",
  keyName: "k",
  securityGroupIds: ["sg-0aaaaaaaaaaaaaaaa"],
};
const BP = rawBlueprint({ PipelineName: "caiman-ncap-web" });

function issuesOf(config: Record<string, unknown>): { path: string; expected: string }[] {
  try {
    stackSettingsFromConfig((k) => config[k]);
  } catch (e) {
    expect(e).toBeInstanceOf(StackConfigError);
    return (e as StackConfigError).issues.map((i) => ({ path: i.path, expected: i.expected }));
  }
  throw new Error("expected a StackConfigError");
}

describe("neurocaas:bucketName (stack settings)", () => {
  it("is absent by default: the bucket is the PipelineName", () => {
    const s = stackSettingsFromConfig((k) => (({ "neurocaas:blueprint": BP }) as Record<string, unknown>)[k]);
    expect(s.bucketName).toBeUndefined();
    expect(stackBucketName({ "neurocaas:blueprint": BP }, parseBlueprint(BP))).toBe("caiman-ncap-web");
  });

  it("names the bucket of an analysis stack", () => {
    const config = { "neurocaas:blueprint": BP, "neurocaas:bucketName": "caiman-ncap-web-lab2" };
    expect(stackSettingsFromConfig((k) => (config as Record<string, unknown>)[k]).bucketName).toBe(
      "caiman-ncap-web-lab2",
    );
    expect(stackBucketName(config, parseBlueprint(BP))).toBe("caiman-ncap-web-lab2");
  });

  it.each(["Caiman", "my_bucket", "ab", "a.b.c", "-lead", "xn--punycode", "x".repeat(64), 42])(
    "rejects %p naming the key and the rule",
    (bad) => {
      const issues = issuesOf({ "neurocaas:blueprint": BP, "neurocaas:bucketName": bad });
      expect(issues).toHaveLength(1);
      expect(issues[0].path).toBe("neurocaas:bucketName");
      expect(issues[0].expected).toMatch(/S3 bucket name .*3-63 lowercase letters, digits or "-"/);
      expect(() => stackBucketName({ "neurocaas:bucketName": bad }, parseBlueprint(BP))).toThrow(
        /neurocaas:bucketName/,
      );
    },
  );

  it("belongs to analysis stacks only", () => {
    expect(issuesOf({ "neurocaas:bucketName": "some-bucket" }).map((i) => i.path)).toEqual(["neurocaas:bucketName"]);
  });
});

describe("runtime config: bucket and analysis name", () => {
  it("carries both; the analysis name is the PipelineName", () => {
    const c = runtimeConfigFromBlueprint(parseBlueprint(BP), UTILS, { bucketName: "caiman-ncap-web-lab2" });
    expect(c.bucketName).toBe("caiman-ncap-web-lab2");
    expect(c.analysisName).toBe("caiman-ncap-web");
    const d = runtimeConfigFromBlueprint(parseBlueprint(BP), UTILS);
    expect([d.bucketName, d.analysisName]).toEqual(["caiman-ncap-web", "caiman-ncap-web"]);
  });

  it("reads an older config without analysisName as the bucket's, and a new one as written", () => {
    const { analysisName: _, ...old } = runtimeConfigFromBlueprint(parseBlueprint(BP), UTILS);
    expect(loadRuntimeConfig({ NEUROCAAS_CONFIG: JSON.stringify(old) }).analysisName).toBe("caiman-ncap-web");
    const distinct = runtimeConfigFromBlueprint(parseBlueprint(BP), UTILS, { bucketName: "caiman-ncap-web-lab2" });
    expect(loadRuntimeConfig({ NEUROCAAS_CONFIG: JSON.stringify(distinct) })).toEqual(distinct);
    expect(() => loadRuntimeConfig({ NEUROCAAS_CONFIG: JSON.stringify({ ...old, analysisName: 7 }) })).toThrow(
      /"analysisName" must be a non-empty string/,
    );
  });

  it("ships analysisName to the functions only when it differs: other stacks keep their Lambda environment", () => {
    const same = runtimeConfigFromBlueprint(parseBlueprint(BP), UTILS);
    const sameEnv = packageRuntimeConfig(same).variables.NEUROCAAS_CONFIG;
    expect(sameEnv).not.toContain("analysisName");
    expect(loadRuntimeConfig({ NEUROCAAS_CONFIG: sameEnv })).toEqual(same);
    const apart = runtimeConfigFromBlueprint(parseBlueprint(BP), UTILS, { bucketName: "caiman-ncap-web-lab2" });
    const apartEnv = packageRuntimeConfig(apart).variables.NEUROCAAS_CONFIG;
    expect(JSON.parse(apartEnv)).toMatchObject({ bucketName: "caiman-ncap-web-lab2", analysisName: "caiman-ncap-web" });
    expect(loadRuntimeConfig({ NEUROCAAS_CONFIG: apartEnv })).toEqual(apart);
  });

  it("gives the dashboard the analysis name of each bucket", () => {
    const c = runtimeConfigFromBlueprint(parseBlueprint(BP), UTILS, { bucketName: "caiman-ncap-web-lab2" });
    expect(dashboardAnalysis(c, () => 1)).toMatchObject({
      bucket: "caiman-ncap-web-lab2",
      analysis: "caiman-ncap-web",
    });
  });
});

describe("layout: job folders are named after the analysis", () => {
  it("job__{analysis}_{timestamp}", () => {
    expect(jobFolderName("caiman-ncap-web", "2026-01-05")).toBe("job__caiman-ncap-web_2026-01-05");
    expect(jobFolderKey("lab", "caiman-ncap-web", "t1")).toBe("lab/results/job__caiman-ncap-web_t1");
  });
});

describe("IAM documents of a bucket named apart from its analysis", () => {
  const region = "us-east-1";
  const bucket = "caiman-ncap-web-lab2";
  const analysis = "caiman-ncap-web";
  const jm = jobManagerPolicy({
    region,
    bucket,
    analysis,
    iaeRoleArn: "arn:aws:iam::1:role/r",
    amiIds: ["ami-0123456789abcdef0"],
    keyName: "k",
    securityGroupIds: ["sg-0aaaaaaaaaaaaaaaa"],
    budgetParameterPrefix: "/neurocaas/budgets",
    logGroupArn: "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/x",
    deadLetterQueueArn: "arn:aws:sqs:us-east-1:1:q",
    bypassBuckets: ["lab-archive"],
  });
  const text = JSON.stringify(jm);
  const sid = (doc: typeof jm, id: string) => doc.Statement.find((s) => s.Sid === id)!;

  it("ARNs name the bucket; job-folder patterns, tags and budgets the analysis", () => {
    expect(sid(jm, "ListAnalysisBucket").Resource).toBe(`arn:aws:s3:::${bucket}`);
    expect(sid(jm, "WriteJobFilesAndCostLogs").Resource).toContain(
      `arn:aws:s3:::${bucket}/*/configs/${ensembleConfigCopyName(analysis)}`,
    );
    expect(ensembleConfigCopyName(analysis)).toBe("job__caiman-ncap-web_*inst*config.json");
    expect(sid(jm, "BypassWriteJobFiles").Resource).toEqual(["arn:aws:s3:::lab-archive/*job__caiman-ncap-web_*"]);
    expect(sid(jm, "ReadBudgets").Resource).toBe(
      "arn:aws:ssm:us-east-1:*:parameter/neurocaas/budgets/*/caiman-ncap-web",
    );
    expect(sid(jm, "LaunchOnlyTaggedIaes").Condition).toEqual({
      StringEquals: { "aws:RequestTag/neurocaas:analysis": analysis, "aws:RequestTag/PriceTracking": "On" },
    });
    expect(sid(jm, "TerminateOwnIaes").Condition).toEqual({
      StringEquals: { "ec2:ResourceTag/neurocaas:analysis": analysis },
    });
    expect(text).not.toContain(`job__${bucket}`);
    expect(text).not.toContain(`arn:aws:s3:::${analysis}/`);
  });

  it("the IAE and monitor policies follow the same split", () => {
    const iae = iaePolicy({ region, bucket, analysis, bypassBuckets: ["lab-archive"] });
    expect(sid(iae, "WriteResults").Resource).toBe(`arn:aws:s3:::${bucket}/*/results/*`);
    expect(sid(iae, "BypassWriteJobFiles").Resource).toEqual(["arn:aws:s3:::lab-archive/*job__caiman-ncap-web_*"]);
    const mon = monitorPolicy({
      region,
      bucket,
      analysis,
      bypassBuckets: [],
      logGroupArn: "arn:aws:logs:us-east-1:1:log-group:x",
      deadLetterQueueArn: "arn:aws:sqs:us-east-1:1:q",
      iaeRoleArn: "arn:aws:iam::1:role/x-iae",
      amiIds: ["ami-0849b3d20fe3258e3"],
      keyName: "k",
      securityGroupIds: ["sg-1"],
    });
    expect(sid(mon, "LaunchOnlyTaggedIaes").Condition).toEqual({
      StringEquals: { "aws:RequestTag/neurocaas:analysis": analysis, "aws:RequestTag/PriceTracking": "On" },
    });
    expect(sid(mon, "CostLogsAndJobFolders").Resource).toEqual([
      `arn:aws:s3:::${bucket}/logs/*`,
      `arn:aws:s3:::${bucket}/*/results/*`,
    ]);
    expect(sid(mon, "SendCommandToOwnIaes").Condition).toEqual({
      StringEquals: { "aws:ResourceTag/neurocaas:analysis": analysis },
    });
  });
});
