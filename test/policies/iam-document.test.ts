import {
  mayAllow,
  parsePolicyDocument,
  policyDocumentSize,
  PolicyDocumentError,
  statementCoversAction,
  wildcardMatch,
} from "../../policies/iam-document";

describe("parsePolicyDocument", () => {
  it("normalizes single statements and string fields to lists", () => {
    const [st] = parsePolicyDocument(
      JSON.stringify({
        Version: "2012-10-17",
        Statement: { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" },
      }),
    );
    expect(st).toMatchObject({
      effect: "Allow",
      actions: ["s3:GetObject"],
      resources: ["arn:aws:s3:::b/*"],
      notActions: [],
    });
  });

  it("keeps conditions as operator → key → values", () => {
    const [st] = parsePolicyDocument({
      Statement: [
        {
          Effect: "Allow",
          Action: ["s3:ListBucket"],
          Resource: "arn:aws:s3:::b",
          Condition: { StringLike: { "s3:prefix": ["g/*", ""] } },
        },
      ],
    });
    expect(st.conditions).toEqual({ StringLike: { "s3:prefix": ["g/*", ""] } });
  });

  it.each([
    ["not JSON", "{", /not valid JSON/],
    ["an array", [], /JSON object/],
    ["a bad effect", { Statement: [{ Effect: "Maybe", Action: "*", Resource: "*" }] }, /Statement\[0\]\.Effect/],
    ["a numeric action", { Statement: [{ Effect: "Allow", Action: 3, Resource: "*" }] }, /Statement\[0\]\.Action/],
  ])("rejects %s with a message naming the problem", (_label, doc, message) => {
    expect(() => parsePolicyDocument(doc)).toThrow(PolicyDocumentError);
    expect(() => parsePolicyDocument(doc)).toThrow(message);
  });
});

describe("wildcards", () => {
  it("matches IAM wildcards and escapes regex characters", () => {
    expect(wildcardMatch("arn:aws:s3:::b/g/*", "arn:aws:s3:::b/g/inputs/x")).toBe(true);
    expect(wildcardMatch("arn:aws:s3:::b/g/*", "arn:aws:s3:::b/h/x")).toBe(false);
    expect(wildcardMatch("p3.*", "p3.2xlarge")).toBe(true);
    expect(wildcardMatch("p3.*", "p3x2xlarge")).toBe(false);
    expect(wildcardMatch("t?.micro", "t3.micro")).toBe(true);
  });

  it("treats actions case-insensitively and honours NotAction", () => {
    const [st] = parsePolicyDocument({ Statement: [{ Effect: "Allow", NotAction: "iam:*", Resource: "*" }] });
    expect(statementCoversAction(st, "s3:GetObject")).toBe(true);
    expect(statementCoversAction(st, "IAM:PassRole")).toBe(false);
    const [lower] = parsePolicyDocument({ Statement: [{ Effect: "Allow", Action: "S3:get*", Resource: "*" }] });
    expect(statementCoversAction(lower, "s3:GetObject")).toBe(true);
  });
});

describe("mayAllow", () => {
  const doc = parsePolicyDocument({
    Statement: [
      { Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::b/g/*" },
      { Effect: "Deny", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/g/inputs/*" },
      {
        Effect: "Deny",
        Action: "s3:GetObject",
        Resource: "arn:aws:s3:::b/g/configs/*",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  });

  it("applies unconditional denies", () => {
    expect(mayAllow(doc, "s3:GetObject", "arn:aws:s3:::b/g/inputs/x")).toBe(false);
    expect(mayAllow(doc, "s3:PutObject", "arn:aws:s3:::b/g/inputs/x")).toBe(true);
  });

  it("does not count a conditional deny as a guarantee", () => {
    expect(mayAllow(doc, "s3:GetObject", "arn:aws:s3:::b/g/configs/x")).toBe(true);
  });

  it("denies what no statement allows", () => {
    expect(mayAllow(doc, "s3:GetObject", "arn:aws:s3:::b/other/x")).toBe(false);
  });
});

describe("policyDocumentSize", () => {
  it("ignores insignificant whitespace like IAM does", () => {
    const doc = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }] };
    expect(policyDocumentSize(JSON.stringify(doc, null, 4))).toBe(JSON.stringify(doc).length);
  });
});
