import { installMocks, settle, byType, one, outputOf, FAKE_UTILS, type Recorded } from "./mocks";
import { AnalysisPipeline, DASHBOARD_CORS_RULE_ID } from "../../components/analysis-pipeline";
import { parseBlueprint } from "../../model/blueprint/parse";
import { affiliateGroupPolicy } from "../../components/iam/policies";
import { runtimeConfigFromBlueprint } from "../../model/runtime-config-build";
import { CACHE_POLICY, WebDashboard } from "../../components/web-dashboard";
import type { DashboardConfig } from "../../model/dashboard-config";
import { rawBlueprint } from "./fixtures";
import { decide } from "./iam-sim";

const recorded = installMocks();

const bp = parseBlueprint(rawBlueprint({ PipelineName: "dash-analysis", STAGE: "webdev" }));
const groups = bp.UXData.Affiliates.map((a) => a.AffiliateName);
let dashboard: WebDashboard;
let config: DashboardConfig;
let resources: Recorded[] = [];
let origin: string;

const T = {
  distribution: "aws:cloudfront/distribution:Distribution",
  oac: "aws:cloudfront/originAccessControl:OriginAccessControl",
  headers: "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
  bucket: "aws:s3/bucket:Bucket",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  pab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  object: "aws:s3/bucketObjectv2:BucketObjectv2",
  cors: "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
  userPool: "aws:cognito/userPool:UserPool",
  client: "aws:cognito/userPoolClient:UserPoolClient",
  identityPool: "aws:cognito/identityPool:IdentityPool",
  attachment: "aws:cognito/identityPoolRoleAttachment:IdentityPoolRoleAttachment",
  userGroup: "aws:cognito/userGroup:UserGroup",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
};

beforeAll(async () => {
  dashboard = new WebDashboard("dashboard", {
    region: "us-east-1",
    namePrefix: "neurocaas",
    analyses: [
      runtimeConfigFromBlueprint(bp, { iaeInstanceProfileArn: "", iaeRoleArn: "", keyName: "", securityGroupIds: [] }),
    ],
    cognitoDomainPrefix: "neurocaas-test-login",
  });
  new AnalysisPipeline("dash-analysis", {
    blueprint: bp,
    utils: FAKE_UTILS,
    forceDestroy: false,
    logRetentionDays: 30,
    budgetParameterPrefix: "/neurocaas/budgets",
    bypassBuckets: [],
    dashboardOrigin: dashboard.origin,
  });
  config = await outputOf(dashboard.config);
  origin = await outputOf(dashboard.origin);
  await settle(recorded);
  resources = [...recorded];
}, 120_000);

describe("WebDashboard (mocks)", () => {
  it("keeps the site bucket private: public access blocked, read only by this distribution through origin access control", () => {
    const [site] = byType(resources, T.bucket).filter((b) => b.name === "dashboard-site");
    expect(site).toBeDefined();
    const pab = one(resources, T.pab, "dashboard-site-public-access");
    expect(pab.inputs).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const policy = JSON.parse(one(resources, T.bucketPolicy, "dashboard-site-policy").inputs.policy as string);
    const read = policy.Statement.find((s: { Sid: string }) => s.Sid === "CloudFrontReadsTheSite");
    expect(read).toMatchObject({ Principal: { Service: "cloudfront.amazonaws.com" }, Action: "s3:GetObject" });
    expect(read.Condition.StringEquals["AWS:SourceArn"]).toMatch(/^arn:aws:cloudfront::\d+:distribution\/E/);
    expect(one(resources, T.oac, "dashboard-oac").inputs).toMatchObject({
      originAccessControlOriginType: "s3",
      signingBehavior: "always",
      signingProtocol: "sigv4",
    });
  });

  it("serves over HTTPS only, with security headers, and never caches config.json", () => {
    const d = one(resources, T.distribution, "dashboard-cdn").inputs as {
      origins: { originAccessControlId?: string }[];
      defaultCacheBehavior: { viewerProtocolPolicy: string; allowedMethods: string[] };
      orderedCacheBehaviors: { pathPattern: string; cachePolicyId: string }[];
      defaultRootObject: string;
    };
    expect(d.origins[0].originAccessControlId).toBeTruthy();
    expect(d.defaultCacheBehavior).toMatchObject({
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: ["GET", "HEAD"],
    });
    expect(d.orderedCacheBehaviors.find((b) => b.pathPattern === "config.json")?.cachePolicyId).toBe(
      CACHE_POLICY.disabled,
    );
    expect(d.defaultRootObject).toBe("index.html");
    const csp = (
      one(resources, T.headers, "dashboard-headers").inputs as {
        securityHeadersConfig: { contentSecurityPolicy: { contentSecurityPolicy: string } };
      }
    ).securityHeadersConfig.contentSecurityPolicy.contentSecurityPolicy;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("https://dash-analysis.s3.us-east-1.amazonaws.com");
    expect(csp).toContain("https://neurocaas-test-login.auth.us-east-1.amazoncognito.com");
    expect(csp).not.toContain("unsafe");
  });

  it("uploads the built app and a config.json from the stack's outputs, without secrets", () => {
    const objects = byType(resources, T.object).filter((o) => o.name.startsWith("dashboard-"));
    const keys = objects.map((o) => String(o.inputs.key)).sort();
    expect(keys.filter((k) => !k.endsWith(".js"))).toEqual(["config.json", "favicon.svg", "index.html", "style.css"]);
    const entry = keys.find((k) => /^app-[A-Z0-9]+\.js$/.test(k))!;
    expect(objects.find((o) => o.inputs.key === "index.html")!.inputs.content).toContain(`src="${entry}"`);
    expect(keys.filter((k) => k.startsWith("chunk-")).length).toBeGreaterThan(0);
    expect(objects.find((o) => o.inputs.key === entry)!.inputs.cacheControl).toMatch(/immutable/);
    expect(objects.find((o) => o.inputs.key === "index.html")!.inputs.cacheControl).toBe("no-cache");
    const file = JSON.parse(
      byType(resources, T.object).find((o) => o.inputs.key === "config.json")!.inputs.content as string,
    ) as DashboardConfig;
    expect(file).toEqual(config);
    expect(config.mode).toBe("aws");
    expect(config.analyses[0]).toMatchObject({
      bucket: "dash-analysis",
      stage: "webdev",
      groups,
      instanceTypes: { default: bp.Lambda.LambdaConfig.INSTANCE_TYPE },
    });
    const c = config.signIn.cognito!;
    expect(c.userPoolId).toMatch(/^us-east-1_/);
    expect(c.identityPoolId).toMatch(/^us-east-1:/);
    expect(c.domain).toBe("https://neurocaas-test-login.auth.us-east-1.amazoncognito.com");
    expect(c.redirectUri).toBe(`${origin}/`);
    expect(c.roles.map((r) => `${r.bucket}/${r.group}`)).toEqual(groups.map((g) => `dash-analysis/${g}`));
    expect(JSON.stringify(config)).not.toMatch(/secret|password/i);
    expect(config.signIn.keys?.hint).toMatch(/IAM users/);
  });

  it("signs users in with a public client (no secret), hosted login with the authorization code flow, admin-created users", () => {
    expect(one(resources, T.client, "dashboard-client").inputs).toMatchObject({
      generateSecret: false,
      allowedOauthFlows: ["code"],
      allowedOauthFlowsUserPoolClient: true,
      callbackUrls: [`${origin}/`],
    });
    expect(one(resources, T.userPool, "dashboard-users").inputs).toMatchObject({
      adminCreateUserConfig: { allowAdminCreateUserOnly: true },
      mfaConfiguration: "OPTIONAL",
    });
    expect(one(resources, T.identityPool, "dashboard-identities").inputs).toMatchObject({
      allowUnauthenticatedIdentities: false,
      allowClassicFlow: false,
    });
    const mapping = one(resources, T.attachment, "dashboard-role-mapping").inputs as {
      roleMappings: { type: string; ambiguousRoleResolution: string }[];
    };
    expect(mapping.roleMappings).toEqual([expect.objectContaining({ type: "Token", ambiguousRoleResolution: "Deny" })]);
  });

  it("gives each (analysis, group) a role with exactly the affiliate group policy, mapped from a Cognito group, trusted only by the identity pool", async () => {
    for (const g of groups) {
      const policy = one(resources, T.rolePolicy, `dashboard-dash-analysis-${g}-policy`);
      expect(JSON.parse(policy.inputs.policy as string)).toEqual(affiliateGroupPolicy("us-east-1", "dash-analysis", g));
      const ug = one(resources, T.userGroup, `dashboard-dash-analysis-${g}-group`);
      expect(ug.inputs.name).toBe(`dash-analysis.${g}`);
      expect(ug.inputs.roleArn).toBe(config.signIn.cognito!.roles.find((r) => r.group === g)!.roleArn);
      const trust = JSON.parse(
        one(resources, T.role, `dashboard-dash-analysis-${g}-role`).inputs.assumeRolePolicy as string,
      );
      expect(trust.Statement[0].Condition.StringEquals["cognito-identity.amazonaws.com:aud"]).toBe(
        config.signIn.cognito!.identityPoolId,
      );
      expect(trust.Statement[0].Condition["ForAnyValue:StringLike"]["cognito-identity.amazonaws.com:amr"]).toBe(
        "authenticated",
      );
    }
    // The role of one group cannot touch another group's folder.
    const [a, b] = groups.length > 1 ? groups : [groups[0], "othergroup"];
    const doc = affiliateGroupPolicy("us-east-1", "dash-analysis", a);
    expect(
      await decide([doc], {
        action: "s3:GetObject",
        resource: `arn:aws:s3:::dash-analysis/${b}/results/job__x_1/logs/certificate.txt`,
      }),
    ).toBe("ImplicitlyDenied");
    expect(
      await decide([doc], { action: "s3:GetObject", resource: `arn:aws:s3:::dash-analysis/logs/_spend/${a}.json` }),
    ).toBe("Allowed");
    // The default role of the identity pool can do nothing.
    expect(byType(resources, T.rolePolicy).filter((p) => String(p.name).startsWith("dashboard-no-access"))).toEqual([]);
  });

  it("adds the dashboard's origin (only it) to the analysis bucket's CORS, exposing ETag and Content-Range", () => {
    const cors = one(resources, T.cors, "dash-analysis-cors").inputs as {
      corsRules: { id?: string; allowedOrigins: string[]; exposeHeaders: string[] }[];
    };
    expect(cors.corsRules).toHaveLength(1);
    expect(cors.corsRules[0]).toMatchObject({ id: DASHBOARD_CORS_RULE_ID, allowedOrigins: [origin] });
    expect(cors.corsRules[0].exposeHeaders).toEqual(expect.arrayContaining(["ETag", "Content-Range"]));
    expect(origin).toMatch(/^https:\/\/d[0-9a-f]+\.cloudfront\.net$/);
  });
});
