import { formatHuman, formatInvalid, keyProperties, type PlanReport } from "../../cli/plan/report";

const report: PlanReport = {
  stack: "bad",
  file: "stacks/bad.yaml",
  resources: [
    {
      type: "aws:s3/bucket:Bucket",
      name: "demo-bucket",
      urn: "urn:pulumi:bad::neurocaas::aws:s3/bucket:Bucket::demo-bucket",
      properties: { bucket: "demo", forceDestroy: false },
    },
  ],
  iamPolicies: [],
  policies: [
    { policy: "neurocaas-instance-types", enforcementLevel: "mandatory", kind: "resource", violations: 1 },
    { policy: "neurocaas-cost-tags", enforcementLevel: "advisory", kind: "resource", violations: 0 },
    { policy: "neurocaas-lambda-runtime", enforcementLevel: "disabled", kind: "resource", violations: 0 },
  ],
  violations: [
    {
      policy: "neurocaas-instance-types",
      enforcementLevel: "mandatory",
      urn: "urn:x",
      name: "demo-job-manager",
      message: "instance type 'p4d.24xlarge' is outside the allow-list",
    },
  ],
};

describe("plan report", () => {
  it("prints the resource table, each policy's result and the violations", () => {
    const text = formatHuman(report);
    expect(text).toMatch(/^Stack bad \(stacks\/bad\.yaml\): 1 resources would be created$/m);
    expect(text).toMatch(/^TYPE\s+NAME\s+PROPERTIES$/m);
    expect(text).toMatch(/^aws:s3\/bucket:Bucket\s+demo-bucket\s+bucket=demo forceDestroy=false$/m);
    expect(text).toMatch(/^FAIL \(1\)\s+neurocaas-instance-types\s+mandatory$/m);
    expect(text).toMatch(/^pass\s+neurocaas-cost-tags\s+advisory$/m);
    expect(text).toMatch(/^skipped\s+neurocaas-lambda-runtime\s+disabled$/m);
    expect(text).toMatch(
      /\[mandatory\] neurocaas-instance-types: instance type 'p4d.24xlarge' .* \(resource demo-job-manager\)/,
    );
    expect(text).toMatch(/1 mandatory and 0 advisory violation\(s\)\.\n$/);
  });

  it("lists every schema issue of an invalid blueprint", () => {
    const text = formatInvalid({
      stack: "x",
      file: "x.yaml",
      error: "invalid-blueprint",
      issues: [
        { path: "neurocaas:blueprint.PipelineName", value: "Bad_Name", expected: "lowercase letters, digits and -" },
        { path: "neurocaas:blueprint.Lambda.LambdaConfig.AMI", value: undefined, expected: "an AMI id" },
      ],
    });
    expect(text).toContain("invalid configuration, 2 problem(s)");
    expect(text).toContain(
      'neurocaas:blueprint.PipelineName: got "Bad_Name", expected lowercase letters, digits and -',
    );
    expect(text).toContain("neurocaas:blueprint.Lambda.LambdaConfig.AMI: got nothing, expected an AMI id");
  });

  it("summarizes the properties that matter per type", () => {
    expect(
      keyProperties("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {
        bucket: "b",
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: false,
        other: 1,
      }),
    ).toEqual({
      bucket: "b",
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: false,
    });
    expect(keyProperties("aws:iam/policy:Policy", { name: "p", policy: '{ "Statement": [] }' })).toEqual({
      name: "p",
      size: '{"Statement":[]}'.length,
    });
    expect(
      keyProperties("aws:lambda/function:Function", {
        name: "f",
        runtime: "nodejs22.x",
        timeout: 900,
        code: "<asset>",
        environment: {
          variables: {
            NEUROCAAS_CONFIG: JSON.stringify({
              bucketName: "b",
              instanceType: "t3.micro",
              deployLimit: 4,
              command: "x",
            }),
          },
        },
      }),
    ).toEqual({
      name: "f",
      runtime: "nodejs22.x",
      timeout: 900,
      config: { bucketName: "b", instanceType: "t3.micro", deployLimit: 4 },
    });
  });
});
