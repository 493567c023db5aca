import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy, type StackValidationPolicy } from "@pulumi/policy";
import { evaluatePolicies } from "../../cli/plan/evaluate";
import type { RecordedResource } from "../../cli/plan/record";

/** The offline CrossGuard harness itself (policies come from the pack's own tests). */

function record(
  type: string,
  name: string,
  props: Record<string, unknown>,
  extra: Partial<RecordedResource> = {},
): RecordedResource {
  return {
    urn: `urn:pulumi:t::neurocaas::${type}::${name}`,
    type,
    name,
    custom: true,
    dependencies: [],
    propertyDependencies: {},
    protect: false,
    ignoreChanges: [],
    additionalSecretOutputs: [],
    inputs: props,
    outputs: { ...props, id: name },
    ...extra,
  };
}

const component = record("neurocaas:components:AnalysisPipeline", "demo", {}, { custom: false });
const bucket = record("aws:s3/bucket:Bucket", "demo-bucket", { bucket: "demo" }, { parent: component.urn });
const queue = record(
  "aws:sqs/queue:Queue",
  "demo-dlq",
  { name: "q" },
  { parent: component.urn, dependencies: [`urn:pulumi:t::neurocaas::aws:s3/bucket:Bucket::demo-bucket`] },
);
const resources = [component, bucket, queue];

const noBuckets: ResourceValidationPolicy = {
  name: "no-buckets",
  description: "test",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.s3.Bucket, (b, _args, report) => report(`bucket ${b.bucket}`)),
};

const countQueues: StackValidationPolicy = {
  name: "queue-parents",
  description: "test",
  configSchema: { properties: { max: { type: "integer", default: 0 } } },
  validateStack: (args, report) => {
    const { max } = args.getConfig<{ max: number }>();
    const queues = args.resources.filter((r) => r.type === "aws:sqs/queue:Queue");
    for (const q of queues) {
      report(
        `parent ${q.parent?.name}, depends on ${q.dependencies.map((d) => d.name).join(",")}, provider ${q.provider?.props.region}`,
        q.urn,
      );
    }
    if (queues.length > max) report(`too many queues (${queues.length} > ${max})`);
  },
};

const notApplicable: ResourceValidationPolicy = {
  name: "not-applicable",
  description: "test",
  validateResource: (args) => args.notApplicable("never applies"),
};

describe("evaluatePolicies", () => {
  it("runs typed resource validations only on their type, with inputs", async () => {
    const { violations, results } = await evaluatePolicies({
      resources,
      policies: [noBuckets, notApplicable],
      packEnforcementLevel: "advisory",
    });
    expect(violations).toEqual([
      {
        policy: "no-buckets",
        enforcementLevel: "mandatory",
        urn: bucket.urn,
        name: "demo-bucket",
        message: "bucket demo",
      },
    ]);
    expect(results).toEqual([
      { policy: "no-buckets", enforcementLevel: "mandatory", kind: "resource", violations: 1 },
      { policy: "not-applicable", enforcementLevel: "advisory", kind: "resource", violations: 0 },
    ]);
  });

  it("gives stack policies parents, dependencies, the default provider and config defaults", async () => {
    const { violations } = await evaluatePolicies({
      resources,
      policies: [countQueues],
      packEnforcementLevel: "mandatory",
      region: "eu-west-1",
    });
    expect(violations.map((v) => v.message)).toEqual([
      "parent demo, depends on demo-bucket, provider eu-west-1",
      "too many queues (1 > 0)",
    ]);
    expect(violations[0]).toMatchObject({ urn: queue.urn, name: "demo-dlq" });
    expect(violations[1].urn).toBeUndefined();
  });

  it("takes enforcement levels and values from the policy config", async () => {
    const { violations } = await evaluatePolicies({
      resources,
      policies: [noBuckets, countQueues],
      packEnforcementLevel: "mandatory",
      policyConfig: { "no-buckets": "advisory", "queue-parents": { max: 5 } },
    });
    expect(violations.map((v) => [v.policy, v.enforcementLevel])).toEqual([
      ["no-buckets", "advisory"],
      ["queue-parents", "mandatory"],
    ]);
  });

  it("skips disabled policies, also through `all`", async () => {
    const { violations, results } = await evaluatePolicies({
      resources,
      policies: [noBuckets, countQueues],
      packEnforcementLevel: "mandatory",
      policyConfig: { all: "disabled" },
    });
    expect(violations).toEqual([]);
    expect(results.map((r) => r.enforcementLevel)).toEqual(["disabled", "disabled"]);
  });

  it("reports a policy that reads an unknown value as advisory, like the engine in a preview", async () => {
    // Internal helpers of @pulumi/policy (untyped): the engine-side proxy and its unknown sentinel.
    const { unknownCheckingProxy, unknownStringValue } = jest.requireActual<{
      unknownCheckingProxy<T>(o: T): T;
      unknownStringValue: string;
    }>("@pulumi/policy/proxy");
    const previewBucket = { ...bucket, inputs: unknownCheckingProxy({ bucket: unknownStringValue }) };
    const { violations } = await evaluatePolicies({
      resources: [previewBucket],
      policies: [noBuckets],
      packEnforcementLevel: "mandatory",
    });
    expect(violations).toEqual([
      expect.objectContaining({
        policy: "no-buckets",
        enforcementLevel: "advisory",
        name: "demo-bucket",
        message: expect.stringMatching(/can't run policy no-buckets during preview/),
      }),
    ]);
  });

  it("names the policy and resource when a policy throws", async () => {
    const broken: ResourceValidationPolicy = {
      name: "broken",
      description: "test",
      validateResource: () => {
        throw new Error("boom");
      },
    };
    await expect(
      evaluatePolicies({ resources, policies: [broken], packEnforcementLevel: "mandatory" }),
    ).rejects.toThrow(/policy broken failed on urn:pulumi:.*demo: boom/);
  });
});
