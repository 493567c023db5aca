/**
 * The dashboard across stacks: a stack without an analysis of its own deploys a dashboard for the
 * analyses of other stack files, and those analysis stacks allow its origin in their CORS.
 */
import * as path from "node:path";
import { installMocks, settle, byType, outputOf } from "./mocks";
import { loadStackFile } from "../../model/blueprint/parse";
import { defineStack } from "../../components/program";
import { stackSettingsFromConfig, StackConfigError } from "../../components/settings";
import type { DashboardConfig } from "../../model/dashboard-config";
import { REPO } from "./fixtures";

const recorded = installMocks();
const CAIMAN = path.join(REPO, "stacks/caiman-ncap-web.yaml");
const ENSEMBLE = path.join(REPO, "stacks/ensemble-dgp.yaml");
const stackName = { organization: "myorg", project: "neurocaas", stack: "dashboard" };

describe("a dashboard-only stack serving analyses deployed by other stacks", () => {
  it("serves every listed analysis, with one role per group of each", async () => {
    const config: Record<string, unknown> = {
      "aws:region": "us-east-1",
      "neurocaas:dashboard": { loginDomain: "neurocaas-labs", analysisStacks: [CAIMAN, ENSEMBLE] },
    };
    const outputs = defineStack(stackSettingsFromConfig((k) => config[k], stackName));
    await settle(recorded);
    const served = JSON.parse(
      byType(recorded, "aws:s3/bucketObjectv2:BucketObjectv2").find((o) => o.inputs.key === "config.json")!.inputs
        .content as string,
    ) as DashboardConfig;
    const caiman = loadStackFile(CAIMAN).blueprint!;
    const ensemble = loadStackFile(ENSEMBLE).blueprint!;
    expect(served.analyses.map((a) => a.bucket)).toEqual([caiman.PipelineName, ensemble.PipelineName]);
    const groups = [...caiman.UXData.Affiliates, ...ensemble.UXData.Affiliates].length;
    expect(served.signIn.cognito!.roles).toHaveLength(groups);
    expect(byType(recorded, "aws:cognito/userGroup:UserGroup")).toHaveLength(groups);
    // No analysis of its own: no bucket but the site's, no Lambda.
    expect(byType(recorded, "aws:s3/bucket:Bucket").map((b) => b.name)).toEqual(["dashboard-site"]);
    expect(byType(recorded, "aws:lambda/function:Function")).toHaveLength(0);
    expect(await outputOf(outputs.dashboardUrl!)).toMatch(/^https:\/\/d[0-9a-f]+\.cloudfront\.net\/$/);
  }, 120_000);

  it("lets an analysis stack allow that dashboard's origin in its CORS", async () => {
    const start = recorded.length;
    const file = loadStackFile(CAIMAN);
    const config: Record<string, unknown> = {
      ...file.config,
      "neurocaas:dashboardOrigin": "https://d1234abcd.cloudfront.net",
    };
    defineStack(stackSettingsFromConfig((k) => config[k], { ...stackName, stack: "caiman-ncap-web" }));
    await settle(recorded);
    const cors = byType(recorded.slice(start), "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")[0].inputs
      .corsRules as { id?: string; allowedOrigins: string[] }[];
    expect(cors.find((r) => r.id === "neurocaas-dashboard")?.allowedOrigins).toEqual([
      "https://d1234abcd.cloudfront.net",
    ]);
  }, 120_000);

  it("names what is wrong with the dashboard settings", () => {
    const bad = (dashboard: unknown) => () =>
      stackSettingsFromConfig((k) => ({ "aws:region": "us-east-1", "neurocaas:dashboard": dashboard })[k], stackName);
    expect(bad({ loginDomain: "My_Login" })).toThrow(StackConfigError);
    expect(bad({ loginDomain: "my-aws-login" })).toThrow(/neurocaas:dashboard.loginDomain/);
    expect(bad({ loginDomain: "ok", analysisStacks: "stacks/x.yaml" })).toThrow(/neurocaas:dashboard.analysisStacks/);
    expect(bad({ loginDomain: "ok", extra: 1 })).toThrow(/neurocaas:dashboard/);
    expect(() =>
      defineStack(
        stackSettingsFromConfig(
          (k) => ({ "aws:region": "us-east-1", "neurocaas:dashboard": { loginDomain: "ok" } })[k],
          stackName,
        ),
      ),
    ).toThrow(/serves no analysis/);
  });
});
