import type { RecordedResource } from "../../cli/plan/record";
import { deployLimit, instanceTypes, maxCost } from "../../policies/cost";
import { COST_LIMIT_TAGS } from "../../policies/resources";
import { DEMO_BLUEPRINT, devStackConfig, mutate, recordStack, violationsOf } from "./support";

jest.mock("../../components/lambda-bundle", () => jest.requireActual("./support").bundleMock());

/**
 * Issue 14: the cost rules on the first preview of a brand-new stack. There the job manager's
 * runtime config (it embeds ARNs of resources not created yet) and every ARN are unknown — the
 * engine hands the policies its unknown values — while the blueprint's cost tags are plain strings.
 */

// Internal helpers of @pulumi/policy (untyped): the engine-side proxy and its unknown sentinel.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unknownCheckingProxy, unknownStringValue } = require("@pulumi/policy/proxy") as {
  unknownCheckingProxy<T>(o: T): T;
  unknownStringValue: string;
};

const LAMBDA = "aws:lambda/function:Function";

/** A GPU hog hidden behind a small default: the expensive type only in ALLOWED_INSTANCE_TYPES. */
const GPU_HOG = {
  ...DEMO_BLUEPRINT,
  PipelineName: "innocent-analysis",
  Lambda: {
    ...DEMO_BLUEPRINT.Lambda,
    LambdaConfig: {
      ...DEMO_BLUEPRINT.Lambda.LambdaConfig,
      INSTANCE_TYPE: "t3.micro",
      ALLOWED_INSTANCE_TYPES: ["t3.large", "p4d.24xlarge"],
      DEPLOY_LIMIT: 5000,
      MAXCOST: 25000,
    },
  },
  UXData: { Affiliates: [{ AffiliateName: "debuggers", UserNames: ["debuguser"], UserInput: true }] },
};

/** What a first `pulumi preview` shows the pack: every value computed from another resource is unknown. */
function firstPreview(resources: readonly RecordedResource[]): RecordedResource[] {
  return resources.map((r) => {
    if (r.type !== LAMBDA) return r;
    const unknownInputs = {
      ...r.inputs,
      role: unknownStringValue,
      code: unknownStringValue,
      environment: unknownCheckingProxy({ variables: unknownStringValue }),
      deadLetterConfig: unknownCheckingProxy({ targetArn: unknownStringValue }),
      tagsAll: unknownStringValue,
    };
    return {
      ...r,
      inputs: unknownCheckingProxy(unknownInputs),
      outputs: unknownCheckingProxy({ ...r.outputs, arn: unknownStringValue, environment: unknownStringValue }),
    };
  });
}

const COST_POLICIES = [instanceTypes, deployLimit, maxCost];
const summary = (vs: { policy: string; enforcementLevel: string; message: string }[]) =>
  vs.map((v) => `${v.enforcementLevel} ${v.policy}: ${v.message}`).sort();

let planned: RecordedResource[];
beforeAll(async () => {
  planned = await recordStack(
    {
      ...devStackConfig(GPU_HOG),
      "neurocaas:userProfiles": [
        { UserName: "debuguser", Groups: [{ Analysis: "innocent-analysis", Affiliate: "debuggers" }] },
      ],
    },
    "gpu-hog",
  );
}, 120_000);

describe("cost policies on the first preview of a new stack", () => {
  it("stop the hidden GPU hog although its runtime config and ARNs are unknown", async () => {
    const preview = firstPreview(planned);
    const jm = preview.find((r) => r.type === LAMBDA && r.name.endsWith("-job-manager"))!;
    expect(() => (jm.inputs.environment as { variables: unknown }).variables).toThrow();
    const v = await violationsOf(COST_POLICIES, preview);
    expect(summary(v)).toEqual([
      "mandatory neurocaas-deploy-limit: Analysis 'innocent-analysis' sets DEPLOY_LIMIT 5000, over the maximum 300.",
      expect.stringMatching(
        /^mandatory neurocaas-instance-types: Analysis 'innocent-analysis' may launch instance type 'p4d\.24xlarge', which is outside the allow-list/,
      ),
      "mandatory neurocaas-max-cost: Analysis 'innocent-analysis' sets MAXCOST 25000 USD, over the maximum 1000 USD.",
    ]);
    expect(v.every((x) => x.enforcementLevel === "mandatory" && !/can't run/.test(x.message))).toBe(true);
  });

  it("report what nothing known can vouch for as a violation, never a silent pass", async () => {
    const untagged = firstPreview(
      mutate(
        planned,
        (r) => r.type === LAMBDA && r.name.endsWith("-job-manager"),
        (p) => {
          for (const k of Object.keys(p.tags as Record<string, string>))
            if (
              k.startsWith("neurocaas:") &&
              !["neurocaas:analysis", "neurocaas:stage", "neurocaas:component"].includes(k)
            )
              delete (p.tags as Record<string, string>)[k];
        },
      ),
    );
    const v = await violationsOf(COST_POLICIES, untagged);
    expect(v.map((x) => [x.policy, x.enforcementLevel])).toEqual([
      ["neurocaas-instance-types", "mandatory"],
      ["neurocaas-deploy-limit", "mandatory"],
      ["neurocaas-max-cost", "mandatory"],
    ]);
    for (const x of v)
      expect(x.message).toMatch(
        /^Analysis 'innocent-analysis': cannot verify (INSTANCE_TYPE and ALLOWED_INSTANCE_TYPES|DEPLOY_LIMIT|MAXCOST): neither the job manager's cost tags nor its runtime config give it/,
      );
  });

  it("find the same violations as the offline plan, which knows every value", async () => {
    const offline = await violationsOf(COST_POLICIES, planned);
    const preview = await violationsOf(COST_POLICIES, firstPreview(planned));
    expect(summary(preview)).toEqual(summary(offline));
    expect(offline).toHaveLength(3);
  });

  it("read the tags the components write on the job manager and the IAE role", () => {
    for (const suffix of ["-job-manager", "-iae-role"]) {
      const r = planned.find(
        (x) => x.name === `innocent-analysis${suffix}` && (x.type === LAMBDA || x.type === "aws:iam/role:Role"),
      )!;
      expect(r.inputs.tags).toMatchObject({
        [COST_LIMIT_TAGS.instanceType]: "t3.micro",
        [COST_LIMIT_TAGS.allowedInstanceTypes]: "t3.large p4d.24xlarge",
        [COST_LIMIT_TAGS.deployLimit]: "5000",
        [COST_LIMIT_TAGS.maxCost]: "25000",
        [COST_LIMIT_TAGS.allowSpot]: "true",
      });
    }
  });
});
