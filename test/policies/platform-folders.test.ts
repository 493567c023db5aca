import type { RecordedResource } from "../../cli/plan/record";
import { platformUserFolders } from "../../policies/iam";
import { globPattern, segmentPattern, witness, writableObject } from "../../policies/key-space";
import {
  DEMO_BLUEPRINT,
  devStackConfig,
  editDocument,
  mutate,
  named,
  ofType,
  recordStack,
  violationsOf,
} from "./support";

jest.mock("../../components/lambda-bundle", () => jest.requireActual("./support").bundleMock());

type Statement = Record<string, unknown>;
const DENY_SID = "DenyWritesWhereUsersDataAndTriggersLive";
const withoutDeny = (d: { Statement: Statement[] }) => {
  d.Statement = d.Statement.filter((st) => st.Sid !== DENY_SID && st.Sid !== "DevInstancesNoUserFolderWrites");
};

describe("key-space witness search", () => {
  const g = globPattern;
  const submissions = g("*/submissions/*");
  it("finds a key an Allow reaches inside a folder it never names", () => {
    const hit = writableObject(["arn:aws:s3:::b/*/results/*"], [], submissions);
    expect(hit?.arn).toMatch(/^arn:aws:s3:::b\/.*\/submissions\//);
    expect(hit?.arn).toMatch(/\/results\//);
    expect(writableObject(["*"], [], submissions)?.arn).toMatch(/\/submissions\//);
  });

  it("proves no key exists once a Deny covers the folder, in that bucket only", () => {
    expect(
      writableObject(["arn:aws:s3:::b/*/results/*"], ["arn:aws:s3:::*/*/submissions/*"], submissions),
    ).toBeUndefined();
    const other = writableObject(["arn:aws:s3:::b*/*"], ["arn:aws:s3:::b/*/submissions/*"], submissions);
    expect(other?.arn).toMatch(/^arn:aws:s3:::b[^/]+\//);
    expect(writableObject(["arn:aws:logs:us-east-1:*:log-group:x"], [], submissions)).toBeUndefined();
  });

  it("tells one key segment from any run of characters", () => {
    const oneLevel = segmentPattern("{seg}/configs/{seg}inst{seg}config.json");
    const allow = g("*/configs/job__b_*inst*config.json");
    const target = g("*/configs/*");
    // Without the nested-key Denies the Allow's `*` reaches other files under configs/.
    expect(witness([allow, target], [oneLevel])).toBeDefined();
    expect(witness([allow, target], [oneLevel, g("*/configs/*/*"), g("*/*/configs/*")])).toBeUndefined();
  });
});

let stack: RecordedResource[];
beforeAll(async () => {
  // Every platform role: IAE, ensemble job manager, monitor, post-processing, guard, development role.
  stack = await recordStack({
    ...devStackConfig({
      ...DEMO_BLUEPRINT,
      Lambda: { ...DEMO_BLUEPRINT.Lambda, Protocol: "ensemble", PostProcessing: { StepName: "prediction" } },
    }),
    "neurocaas:bypassBuckets": ["lab-archive"],
  });
}, 120_000);

const messages = async (resources: RecordedResource[]) =>
  (await violationsOf([platformUserFolders], resources)).map((v) => v.message);

describe("neurocaas-platform-user-folders", () => {
  it("passes: every platform role the components build keeps out of users' folders", async () => {
    expect(
      stack
        .filter(ofType("aws:iam/rolePolicy:RolePolicy"))
        .map((r) => r.name)
        .sort(),
    ).toEqual([
      "account-guard-fn-policy",
      "neurocaas-demo-iae-s3",
      "neurocaas-demo-job-manager-policy",
      "neurocaas-demo-monitor-policy",
      "neurocaas-demo-postprocess-policy",
    ]);
    expect(await messages(stack)).toEqual([]);
  });

  it("fails the IAE role whose results/ grant reaches another group's submissions (no Deny)", async () => {
    const bad = mutate(stack, named("-iae-s3"), (p) => editDocument(p, withoutDeny));
    expect(await messages(bad)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^Platform role 'neurocaas-demo-iae' can write 'arn:aws:s3:::neurocaas-demo\/.*\/submissions\/.*', a key under \*\/submissions\/\* \(through inline policy 'analysis-bucket' \(Sid WriteResults\)/,
        ),
        expect.stringMatching(/'neurocaas-demo-iae' .* under \*\/inputs\/\*/),
        expect.stringMatching(/'neurocaas-demo-iae' .* under \*\/configs\/\*/),
      ]),
    );
  });

  it("fails the job manager's old `*/configs/*` grant but not its ensemble copies", async () => {
    const old = mutate(stack, named("-job-manager-policy"), (p) =>
      editDocument(p, (d) => {
        for (const st of d.Statement)
          if (st.Sid === "WriteJobFilesAndCostLogs")
            (st.Resource as string[])[1] = "arn:aws:s3:::neurocaas-demo/*/configs/*";
      }),
    );
    expect(await messages(old)).toEqual([
      expect.stringMatching(
        /'neurocaas-demo-job-manager' can write 'arn:aws:s3:::neurocaas-demo\/[^/]*\/configs\/[^/]*', a key under \*\/configs\/\*/,
      ),
    ]);
  });

  it("fails a post-processor that may write any file in submissions/, not just the next step's trigger", async () => {
    const wide = mutate(stack, named("-postprocess-policy"), (p) =>
      editDocument(p, (d) => {
        for (const st of d.Statement)
          if (st.Sid === "SubmitNextStep") st.Resource = "arn:aws:s3:::neurocaas-demo/*/submissions/*";
      }),
    );
    expect(await messages(wide)).toEqual([
      expect.stringMatching(/'neurocaas-demo-postprocess' can write .* under \*\/submissions\/\*/),
    ]);
  });

  it("grants the next-step exception to post-processing roles only", async () => {
    // The post-processor's own statements, given to the monitor, make the monitor a violation.
    const post = JSON.parse(stack.find(named("-postprocess-policy"))!.inputs.policy as string) as {
      Statement: Statement[];
    };
    const monitorWithStepGrant = mutate(stack, named("-monitor-policy"), (p) =>
      editDocument(p, (d) => {
        withoutDeny(d);
        d.Statement.push(...post.Statement.filter((st) => st.Sid === "SubmitNextStep" || st.Sid === DENY_SID));
      }),
    );
    expect(await messages(monitorWithStepGrant)).toEqual([
      expect.stringMatching(/^Platform role 'neurocaas-demo-monitor' can write .* under \*\/submissions\/\*/),
    ]);
  });

  it("fails a bucket policy that lets development instances write users' folders", async () => {
    const bad = mutate(stack, ofType("aws:s3/bucketPolicy:BucketPolicy"), (p) => editDocument(p, withoutDeny));
    expect(await messages(bad)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^Platform role 'neurocaas-policy-test-dev-iae' can write .* under \*\/submissions\/\* \(through bucket policy 'neurocaas-demo' \(Sid DevInstancesDebugResults\)/,
        ),
      ]),
    );
  });

  it("fails S3 full access on a Lambda role", async () => {
    const template = stack.find(named("neurocaas-demo-iae-ssm"))!;
    const bad = [
      ...stack,
      {
        ...template,
        name: "monitor-s3",
        urn: `${template.urn}-monitor-s3`,
        inputs: { role: "neurocaas-demo-monitor", policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" },
        outputs: { role: "neurocaas-demo-monitor", policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" },
      },
    ];
    expect(await messages(bad)).toEqual([
      expect.stringMatching(/'neurocaas-demo-monitor' has managed policy arn:aws:iam::aws:policy\/AmazonS3FullAccess/),
    ]);
  });
});
