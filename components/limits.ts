import { policySize, type PolicyDocument } from "./iam/document";

/** AWS quotas checked at deploy time (SPEC §8). */
export const AWS_LIMITS = {
  managedPolicyChars: 6144,
  groupInlinePolicyChars: 5120,
  roleInlinePolicyChars: 10240,
  userInlinePolicyChars: 2048,
  trustPolicyChars: 2048,
  bucketPolicyBytes: 20480,
  eventRuleNameChars: 64,
  lambdaNameChars: 64,
  groupsPerUser: 10,
} as const;

export type PolicyKind =
  "managed policy" | "group inline policy" | "role inline policy" | "bucket policy" | "trust policy";

const POLICY_LIMITS: Readonly<Record<PolicyKind, number>> = {
  "managed policy": AWS_LIMITS.managedPolicyChars,
  "group inline policy": AWS_LIMITS.groupInlinePolicyChars,
  "role inline policy": AWS_LIMITS.roleInlinePolicyChars,
  "bucket policy": AWS_LIMITS.bucketPolicyBytes,
  "trust policy": AWS_LIMITS.trustPolicyChars,
};

/** A deploy-time limit violation; the message names the resource, the size and the limit. */
export class LimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LimitError";
  }
}

/** Throws when a policy exceeds its AWS size quota; returns the document otherwise. */
export function checkPolicySize(kind: PolicyKind, name: string, doc: PolicyDocument): PolicyDocument {
  const size = policySize(doc);
  const limit = POLICY_LIMITS[kind];
  if (size > limit) {
    throw new LimitError(
      `The ${kind} "${name}" is ${size} characters (without whitespace); AWS allows at most ${limit}. Split the analysis or shorten its names.`,
    );
  }
  return doc;
}

/** Throws when a name exceeds its AWS length limit. */
export function checkNameLength(kind: string, name: string, limit: number): string {
  if (name.length > limit) {
    throw new LimitError(`The ${kind} name "${name}" is ${name.length} characters; AWS allows at most ${limit}.`);
  }
  return name;
}

/** Throws when a user would be in more groups than IAM allows. */
export function checkGroupsPerUser(user: string, groups: readonly string[]): void {
  const distinct = new Set(groups.map((g) => g.toLowerCase()));
  if (distinct.size > AWS_LIMITS.groupsPerUser) {
    throw new LimitError(
      `IAM user "${user}" would be in ${distinct.size} groups (${[...distinct].join(", ")}); AWS allows at most ${AWS_LIMITS.groupsPerUser}. ` +
        "Remove the user from some analyses or use a second user name.",
    );
  }
}
