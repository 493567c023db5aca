import { computedOutputs, mockCall, physicalName, renderPolicyDocument } from "../../cli/plan/mocks";

const acct = { accountId: "123456789012", region: "us-east-1" };

describe("plan mocks", () => {
  it("names resources like AWS and Pulumi auto-naming would", () => {
    expect(physicalName("aws:s3/bucket:Bucket", "b", { bucket: "neurocaas-demo" })).toBe("neurocaas-demo");
    expect(physicalName("aws:iam/role:Role", "my-role", {})).toMatch(/^my-role-[0-9a-f]{7}$/);
    expect(physicalName("aws:iam/role:Role", "my-role", {})).toBe(physicalName("aws:iam/role:Role", "my-role", {}));
  });

  it("computes ids and ARNs the program feeds into other resources", () => {
    expect(computedOutputs("aws:s3/bucket:Bucket", "b", { bucket: "x" }, acct)).toMatchObject({
      id: "x",
      state: { arn: "arn:aws:s3:::x" },
    });
    expect(computedOutputs("aws:iam/policy:Policy", "p", { name: "g", path: "/neurocaas/" }, acct).state.arn).toBe(
      "arn:aws:iam::123456789012:policy/neurocaas/g",
    );
    expect(computedOutputs("aws:lambda/function:Function", "f", { name: "fn" }, acct).state.arn).toBe(
      "arn:aws:lambda:us-east-1:123456789012:function:fn",
    );
    expect(computedOutputs("aws:sqs/queue:Queue", "q", { name: "dlq" }, acct)).toMatchObject({
      id: "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
      state: { arn: "arn:aws:sqs:us-east-1:123456789012:dlq" },
    });
  });

  it("renders getPolicyDocument like the provider", () => {
    const doc = JSON.parse(
      renderPolicyDocument({
        statements: [
          {
            sid: "A",
            actions: ["s3:GetObject"],
            resources: ["arn:aws:s3:::b/*", "arn:aws:s3:::c/*"],
            principals: [{ type: "AWS", identifiers: ["arn:aws:iam::1:role/r"] }],
            conditions: [{ test: "StringLike", variable: "s3:prefix", values: ["g/*"] }],
          },
        ],
      }),
    ) as { Version: string; Statement: Record<string, unknown>[] };
    expect(doc).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "A",
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::1:role/r" },
          Action: "s3:GetObject",
          Resource: ["arn:aws:s3:::b/*", "arn:aws:s3:::c/*"],
          Condition: { StringLike: { "s3:prefix": "g/*" } },
        },
      ],
    });
  });

  it("answers the account and region, and refuses data sources it does not know", () => {
    expect(mockCall("aws:index/getCallerIdentity:getCallerIdentity", {}, acct)).toMatchObject({
      accountId: "123456789012",
    });
    expect(mockCall("aws:index/getRegion:getRegion", {}, acct)).toMatchObject({ name: "us-east-1" });
    expect(() => mockCall("aws:ec2/getAmi:getAmi", {}, acct)).toThrow(
      /calls data source aws:ec2\/getAmi:getAmi, which the offline plan does not answer/,
    );
  });
});
