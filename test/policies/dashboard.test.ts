import type { RecordedResource } from "../../cli/plan/record";
import { allPolicies } from "../../policies/all";
import { dashboardCloudFront, dashboardSignIn } from "../../policies/dashboard";
import { affiliateScope } from "../../policies/iam";
import { webdevNoCors } from "../../policies/s3";
import { devStackConfig, editDocument, find, mutate, named, ofType, recordStack, violationsOf } from "./support";

jest.mock("../../components/lambda-bundle", () => jest.requireActual("./support").bundleMock());

const CORS = "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration";
const DISTRIBUTION = "aws:cloudfront/distribution:Distribution";
const IDENTITY_POOL = "aws:cognito/identityPool:IdentityPool";
const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";

let stack: RecordedResource[];
beforeAll(async () => {
  stack = await recordStack(
    { ...devStackConfig(), "neurocaas:dashboard": { loginDomain: "neurocaas-policy-test" } },
    "dashboard",
  );
}, 180_000);

type Rule = { id?: string; allowedOrigins: string[] };
const corsRules = (p: Record<string, unknown>) => p.corsRules as Rule[];

describe("the dashboard stack under the whole pack", () => {
  it("passes every policy", async () => {
    expect(find(stack, ofType(DISTRIBUTION))).toBeDefined();
    expect(await violationsOf(allPolicies, stack)).toEqual([]);
  });
});

describe("neurocaas-s3-webdev-no-cors with a dashboard", () => {
  it("allows the dashboard's own origin on a webdev bucket", async () => {
    const cors = find(stack, ofType(CORS));
    expect(corsRules(cors.inputs)).toEqual([
      expect.objectContaining({
        id: "neurocaas-dashboard",
        allowedOrigins: [expect.stringMatching(/^https:\/\/d[0-9a-f]+\.cloudfront\.net$/)],
      }),
    ]);
    expect(await violationsOf([webdevNoCors], stack)).toEqual([]);
  });

  it.each([
    ["a second origin in the dashboard rule", (rules: Rule[]) => rules[0].allowedOrigins.push("https://evil.example")],
    [
      "another origin under the dashboard's rule id",
      (rules: Rule[]) => (rules[0].allowedOrigins = ["https://evil.example"]),
    ],
    ["a wildcard origin", (rules: Rule[]) => (rules[0].allowedOrigins = ["*"])],
    ["a second rule", (rules: Rule[]) => rules.push({ allowedOrigins: ["https://neurocaas.org"] })],
  ])("fails %s", async (_what, change) => {
    const bad = mutate(stack, ofType(CORS), (p) => change(corsRules(p)));
    expect((await violationsOf([webdevNoCors], bad))[0]?.message).toMatch(
      /Webdev bucket 'neurocaas-demo' has CORS rules/,
    );
  });

  it("allows a dashboard of another stack only when the operator lists its origin", async () => {
    const other = mutate(
      stack,
      ofType(CORS),
      (p) => (corsRules(p)[0].allowedOrigins = ["https://dashboard.example.org"]),
    );
    expect(await violationsOf([webdevNoCors], other)).toHaveLength(1);
    expect(
      await violationsOf([webdevNoCors], other, {
        "neurocaas-s3-webdev-no-cors": { dashboardOrigins: ["https://dashboard.example.org"] },
      }),
    ).toEqual([]);
  });
});

describe("neurocaas-dashboard-cloudfront", () => {
  it("fails plain HTTP, a legacy origin access identity, or an S3 origin without origin access control", async () => {
    const http = mutate(
      stack,
      ofType(DISTRIBUTION),
      (p) => ((p.defaultCacheBehavior as Record<string, unknown>).viewerProtocolPolicy = "allow-all"),
    );
    expect((await violationsOf([dashboardCloudFront], http))[0].message).toMatch(/plain HTTP/);
    const oai = mutate(stack, ofType(DISTRIBUTION), (p) => {
      const o = (p.origins as Record<string, unknown>[])[0];
      delete o.originAccessControlId;
      o.s3OriginConfig = { originAccessIdentity: "origin-access-identity/cloudfront/E123" };
    });
    expect((await violationsOf([dashboardCloudFront], oai))[0].message).toMatch(/legacy origin access identity/);
    const open = mutate(
      stack,
      ofType(DISTRIBUTION),
      (p) => delete (p.origins as Record<string, unknown>[])[0].originAccessControlId,
    );
    expect((await violationsOf([dashboardCloudFront], open))[0].message).toMatch(/without origin access control/);
  });
});

describe("neurocaas-dashboard-sign-in", () => {
  it("fails unauthenticated or classic-flow identities", async () => {
    const bad = mutate(stack, ofType(IDENTITY_POOL), (p) => {
      p.allowUnauthenticatedIdentities = true;
      p.allowClassicFlow = true;
    });
    expect((await violationsOf([dashboardSignIn], bad)).map((v) => v.message)).toEqual([
      expect.stringMatching(/unauthenticated visitors/),
      expect.stringMatching(/classic/),
    ]);
  });

  it("fails a group role trusted by any identity pool or by unauthenticated identities", async () => {
    const anyPool = mutate(
      stack,
      (r) => r.type === ROLE && r.name.endsWith("-debuggers-role"),
      (p) => {
        const doc = JSON.parse(p.assumeRolePolicy as string);
        delete doc.Statement[0].Condition.StringEquals;
        doc.Statement[0].Condition["ForAnyValue:StringLike"]["cognito-identity.amazonaws.com:amr"] = "unauthenticated";
        p.assumeRolePolicy = JSON.stringify(doc);
      },
    );
    expect((await violationsOf([dashboardSignIn], anyPool)).map((v) => v.message)).toEqual([
      expect.stringMatching(/any identity pool/),
      expect.stringMatching(/unauthenticated Cognito identities/),
    ]);
  });

  it("fails a group role that reaches beyond its group's folder", async () => {
    const bad = mutate(
      stack,
      (r) => r.type === ROLE_POLICY && r.name.endsWith("-debuggers-policy"),
      (p) =>
        editDocument(p, (d) => {
          d.Statement.push({
            Effect: "Allow",
            Action: "s3:GetObject",
            Resource: "arn:aws:s3:::neurocaas-demo/otherlab/results/*",
          });
        }),
    );
    expect((await violationsOf([dashboardSignIn], bad)).map((v) => v.message)).toEqual([
      expect.stringMatching(/Dashboard role .* \(group debuggers\).*outside the group folder 'debuggers\/'/),
    ]);
    const inputs = mutate(
      stack,
      (r) => r.type === ROLE_POLICY && r.name.endsWith("-debuggers-policy"),
      (p) =>
        editDocument(p, (d) => {
          for (const st of d.Statement) if (st.Sid === "UploadInputs") (st.Action as string[]).push("s3:GetObject");
        }),
    );
    expect((await violationsOf([dashboardSignIn], inputs)).map((v) => v.message)).toEqual([
      expect.stringMatching(/allows s3:GetObject on 'neurocaas-demo\/debuggers\/inputs\/'/),
    ]);
    // The IAM groups' own check is unaffected by the dashboard roles.
    expect(await violationsOf([affiliateScope], stack)).toEqual([]);
    expect(find(stack, named("-debuggers-policy"))).toBeDefined();
  });
});
