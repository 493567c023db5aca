/** Minimal IAM policy document types and helpers (pure). */

type Condition = Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;

export interface Statement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: string | Readonly<Record<string, string | readonly string[]>>;
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Condition;
}

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly Statement[];
}

export function policy(...statements: Statement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

/** ARN partition of a region (`aws`, `aws-us-gov`, `aws-cn`). */
export function partitionOf(region: string): string {
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("cn-")) return "aws-cn";
  return "aws";
}

export function bucketArn(region: string, bucket: string): string {
  return `arn:${partitionOf(region)}:s3:::${bucket}`;
}

export function objectArn(region: string, bucket: string, keyPattern: string): string {
  return `arn:${partitionOf(region)}:s3:::${bucket}/${keyPattern}`;
}

/** Trust policy letting one AWS service assume a role, as JSON. */
export function trustPolicyJson(service: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
  });
}

/** Size of a policy as IAM counts it against its quotas: characters without whitespace. */
export function policySize(doc: PolicyDocument): number {
  return JSON.stringify(doc).replace(/\s/g, "").length;
}
