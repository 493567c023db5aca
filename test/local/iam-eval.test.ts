/**
 * The local IAM evaluator on the IAM features it supports (each case also checked against the IAM
 * simulator), and its refusal of features it does not support.
 */
import type { PolicyDocument } from "../../components/iam/document";
import {
  assertEvaluable,
  evaluatePolicies,
  type AuthzRequest,
  type Decision,
  type EvaluablePolicy,
} from "../../local/iam-eval";
import { decide } from "../components/iam-sim";

const BUCKET = "arn:aws:s3:::b";
const obj = (key: string) => `${BUCKET}/${key}`;
const doc = (...Statement: EvaluablePolicy["Statement"][]) =>
  ({ Version: "2012-10-17", Statement: Statement.flat() }) as EvaluablePolicy;

const allowResults = {
  Effect: "Allow" as const,
  Action: ["s3:GetObject", "s3:PutObject"],
  Resource: obj("*/results/*"),
};
const denyUserFolders = {
  Effect: "Deny" as const,
  Action: "s3:Put*",
  Resource: ["submissions", "inputs", "configs"].map((f) => obj(`*/${f}/*`)),
};

type Row = [string, EvaluablePolicy, AuthzRequest, Decision];
const req = (action: string, resource: string, context: Record<string, string | string[]> = {}): AuthzRequest => ({
  action,
  resource,
  context,
});

const rows: Row[] = [
  [
    "* matches across /",
    doc(allowResults),
    req("s3:PutObject", obj("g/submissions/results/evil_submit.json")),
    "Allowed",
  ],
  [
    "explicit Deny beats the Allow that matches across /",
    doc(allowResults, denyUserFolders),
    req("s3:PutObject", obj("g/submissions/results/evil_submit.json")),
    "ExplicitlyDenied",
  ],
  [
    "Deny on Put* leaves GetObject allowed",
    doc(allowResults, denyUserFolders),
    req("s3:GetObject", obj("g/submissions/results/x")),
    "Allowed",
  ],
  [
    "action names are case-insensitive",
    doc({ Effect: "Allow", Action: "S3:getobject", Resource: obj("*") }),
    req("s3:GetObject", obj("k")),
    "Allowed",
  ],
  [
    "resources are case-sensitive",
    doc({ Effect: "Allow", Action: "s3:GetObject", Resource: obj("G/*") }),
    req("s3:GetObject", obj("g/k")),
    "ImplicitlyDenied",
  ],
  [
    "? matches one character",
    doc({ Effect: "Allow", Action: "s3:Get?bject", Resource: obj("g?/*") }),
    req("s3:GetObject", obj("g1/k")),
    "Allowed",
  ],
  [
    "NotAction allows everything else",
    doc({ Effect: "Allow", NotAction: "s3:DeleteObject", Resource: obj("*") }),
    req("s3:PutObject", obj("k")),
    "Allowed",
  ],
  [
    "NotAction excludes its action",
    doc({ Effect: "Allow", NotAction: "s3:Delete*", Resource: obj("*") }),
    req("s3:DeleteObject", obj("k")),
    "ImplicitlyDenied",
  ],
  [
    "NotResource denies outside a folder",
    doc(
      { Effect: "Allow", Action: "s3:*", Resource: "*" },
      { Effect: "Deny", Action: "s3:PutObject", NotResource: obj("g/results/*") },
    ),
    req("s3:PutObject", obj("g/inputs/x")),
    "ExplicitlyDenied",
  ],
  [
    "NotResource leaves the folder",
    doc(
      { Effect: "Allow", Action: "s3:*", Resource: "*" },
      { Effect: "Deny", Action: "s3:PutObject", NotResource: obj("g/results/*") },
    ),
    req("s3:PutObject", obj("g/results/x")),
    "Allowed",
  ],
  [
    "StringLike prefix condition",
    doc({
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: BUCKET,
      Condition: { StringLike: { "s3:prefix": ["g/*"] } },
    }),
    req("s3:ListBucket", BUCKET, { "s3:prefix": "g/results/" }),
    "Allowed",
  ],
  [
    "a missing key fails a positive condition",
    doc({
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: BUCKET,
      Condition: { StringLike: { "s3:prefix": ["g/*"] } },
    }),
    req("s3:ListBucket", BUCKET),
    "ImplicitlyDenied",
  ],
  [
    "StringEquals on two keys needs both",
    doc({
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: BUCKET,
      Condition: { StringEquals: { "s3:prefix": [""], "s3:delimiter": ["/"] } },
    }),
    req("s3:ListBucket", BUCKET, { "s3:prefix": "" }),
    "ImplicitlyDenied",
  ],
  [
    "condition keys are case-insensitive",
    doc({
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: BUCKET,
      Condition: { StringEquals: { "S3:Prefix": [""], "s3:delimiter": ["/"] } },
    }),
    req("s3:ListBucket", BUCKET, { "s3:prefix": "", "s3:delimiter": "/" }),
    "Allowed",
  ],
  [
    "negated operator matches a missing key",
    doc(
      { Effect: "Deny", Action: "s3:*", Resource: "*", Condition: { StringNotEquals: { "s3:delimiter": "/" } } },
      { Effect: "Allow", Action: "s3:*", Resource: "*" },
    ),
    req("s3:ListBucket", BUCKET),
    "ExplicitlyDenied",
  ],
  [
    "negated operator on a present, listed value",
    doc(
      { Effect: "Deny", Action: "s3:*", Resource: "*", Condition: { StringNotLike: { "s3:prefix": ["g/*", ""] } } },
      { Effect: "Allow", Action: "s3:*", Resource: "*" },
    ),
    req("s3:ListBucket", BUCKET, { "s3:prefix": "g/x" }),
    "Allowed",
  ],
  [
    "IfExists passes a missing key",
    doc({
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: BUCKET,
      Condition: { StringEqualsIfExists: { "s3:delimiter": "/" } },
    }),
    req("s3:ListBucket", BUCKET),
    "Allowed",
  ],
  [
    "NumericLessThanEquals on max-keys",
    doc({
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: BUCKET,
      Condition: { NumericLessThanEquals: { "s3:max-keys": "10" } },
    }),
    req("s3:ListBucket", BUCKET, { "s3:max-keys": "100" }),
    "ImplicitlyDenied",
  ],
  [
    "Null: the key must be missing",
    doc({ Effect: "Allow", Action: "s3:ListBucket", Resource: BUCKET, Condition: { Null: { "s3:prefix": "true" } } }),
    req("s3:ListBucket", BUCKET),
    "Allowed",
  ],
  [
    "ForAllValues with a missing key matches",
    doc({
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: "*",
      Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": ["a"] } },
    }),
    req("s3:PutObject", obj("k")),
    "Allowed",
  ],
  [
    "ForAllValues with one foreign value fails",
    doc({
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: "*",
      Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": ["a"] } },
    }),
    req("s3:PutObject", obj("k"), { "aws:TagKeys": ["a", "b"] }),
    "ImplicitlyDenied",
  ],
  [
    "ForAnyValue with a missing key fails",
    doc({
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: "*",
      Condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["a"] } },
    }),
    req("s3:PutObject", obj("k")),
    "ImplicitlyDenied",
  ],
  [
    "Bool compares case-insensitively",
    doc(
      { Effect: "Deny", Action: "s3:*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } },
      { Effect: "Allow", Action: "s3:*", Resource: "*" },
    ),
    req("s3:GetObject", obj("k"), { "aws:SecureTransport": "FALSE" }),
    "ExplicitlyDenied",
  ],
];

describe("local IAM evaluator", () => {
  it.each(rows)("%s", async (_name, policy, request, expected) => {
    expect(evaluatePolicies([policy], request)).toBe(expected);
    expect(
      await decide(
        [policy as unknown as PolicyDocument],
        request as { action: string; resource: string; context: Record<string, string | string[]> },
      ),
    ).toBe(expected);
  });

  it("refuses policies with constructs it does not evaluate, naming them", () => {
    const base = { Effect: "Allow" as const, Action: "s3:GetObject", Resource: obj("*") };
    expect(() => assertEvaluable(doc({ ...base, Resource: obj("${aws:username}/*") }), "p")).toThrow(
      /policy variables/,
    );
    expect(() =>
      assertEvaluable(doc({ ...base, Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } }), "p"),
    ).toThrow(/condition operator "IpAddress" is not supported/);
    expect(() => assertEvaluable(doc({ ...base, Principal: "*" } as never), "p")).toThrow(
      /"Principal" is not supported/,
    );
    expect(() => assertEvaluable(doc({ Effect: "Allow", Resource: "*" } as never), "p")).toThrow(
      /Action and NotAction/,
    );
    expect(() => assertEvaluable(doc(base), "p")).not.toThrow();
  });
});
