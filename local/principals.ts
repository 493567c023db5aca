/**
 * Who may call the local endpoint, and with which IAM policies — the same documents the Pulumi
 * program deploys (components/iam/policies.ts):
 * - a blueprint user (`UserNames` of an affiliate): `affiliateGroupPolicy` of every (analysis,
 *   group) that lists them, as IAM group memberships do in the cloud;
 * - an IAE: `iaePolicy` of its analysis (the cloud IAE role);
 * - the admin (the operator's key) and the platform (job manager, monitor, local compute inside
 *   the server): unrestricted, like the account owner.
 */
import * as path from "node:path";
import { loadStackFile } from "../model/blueprint/parse";
import { bucketArn, objectArn } from "../components/iam/document";
import { affiliateGroupPolicy, iaePolicy } from "../components/iam/policies";
import { assertEvaluable, evaluatePolicies, type AuthzRequest, type Decision, type EvaluablePolicy } from "./iam-eval";
import type { PermissionCheck } from "./s3-operations";
import { bucketNameOf } from "./stack";

/** The account id in local principal ARNs. */
export const LOCAL_ACCOUNT = "000000000000";

export interface Principal {
  readonly kind: "admin" | "platform" | "user" | "iae";
  /** User name, or "admin" / "platform" / the IAE's instance id. */
  readonly name: string;
  /** As AWS names the caller in AccessDenied messages. */
  readonly arn: string;
  /** Identity policies; undefined: unrestricted (admin, platform). */
  readonly policies?: readonly EvaluablePolicy[];
}

/** What local mode needs of one analysis to build its principals. */
export interface AnalysisIdentities {
  readonly bucket: string;
  /** The analysis name (PipelineName) in its job folder names; the bucket's name by default. */
  readonly analysis: string;
  readonly region: string;
  readonly affiliates: readonly { readonly group: string; readonly users: readonly string[] }[];
  /** `neurocaas:bypassBuckets` of the stack (the IAE role may reach them). */
  readonly bypassBuckets: readonly string[];
}

/** Users, groups and bypass buckets of every analysis in the stack files. */
export function loadAnalysisIdentities(stackFiles: readonly string[]): AnalysisIdentities[] {
  return stackFiles.flatMap((file) => {
    const { blueprint, config } = loadStackFile(file);
    if (!blueprint) return [];
    const bypass = config["neurocaas:bypassBuckets"];
    if (bypass !== undefined && !(Array.isArray(bypass) && bypass.every((b) => typeof b === "string"))) {
      throw new Error(`stack file ${path.resolve(file)}: neurocaas:bypassBuckets must be a list of bucket names`);
    }
    return [
      {
        bucket: bucketNameOf(config, blueprint, file),
        analysis: blueprint.PipelineName,
        region: blueprint.REGION,
        affiliates: blueprint.UXData.Affiliates.map((a) => ({ group: a.AffiliateName, users: a.UserNames })),
        bypassBuckets: (bypass as string[] | undefined) ?? [],
      },
    ];
  });
}

export const ADMIN_PRINCIPAL: Principal = {
  kind: "admin",
  name: "admin",
  arn: `arn:aws:iam::${LOCAL_ACCOUNT}:user/neurocaas-local-admin`,
};
export const PLATFORM_PRINCIPAL: Principal = {
  kind: "platform",
  name: "platform",
  arn: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/neurocaas-local-platform/server`,
};

/** Every blueprint user → the (analysis, group) pairs that list them. */
export function userMemberships(
  analyses: readonly AnalysisIdentities[],
): Map<string, { bucket: string; region: string; group: string }[]> {
  const users = new Map<string, { bucket: string; region: string; group: string }[]>();
  for (const a of analyses) {
    for (const aff of a.affiliates) {
      for (const user of aff.users) {
        const list = users.get(user) ?? [];
        if (!list.some((m) => m.bucket === a.bucket && m.group === aff.group))
          list.push({ bucket: a.bucket, region: a.region, group: aff.group });
        users.set(user, list);
      }
    }
  }
  return users;
}

export function userPrincipal(
  name: string,
  memberships: readonly { bucket: string; region: string; group: string }[],
): Principal {
  const policies = memberships.map((m) => affiliateGroupPolicy(m.region, m.bucket, m.group));
  policies.forEach((p, i) => assertEvaluable(p, `group policy ${memberships[i].bucket}/${memberships[i].group}`));
  return { kind: "user", name, arn: `arn:aws:iam::${LOCAL_ACCOUNT}:user/${name}`, policies };
}

export function iaePrincipal(analysis: AnalysisIdentities, instanceId: string): Principal {
  const doc = iaePolicy({
    region: analysis.region,
    bucket: analysis.bucket,
    analysis: analysis.analysis,
    bypassBuckets: analysis.bypassBuckets,
  });
  assertEvaluable(doc, `IAE policy of ${analysis.bucket}`);
  return {
    kind: "iae",
    name: instanceId,
    arn: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/neurocaas-local-iae-${analysis.bucket}/${instanceId}`,
    policies: [doc],
  };
}

/**
 * The IAM request of a permission check; ARNs use the partition of the bucket's region. Actions
 * on no particular bucket (ListAllMyBuckets) are evaluated against the resource "*", as IAM does.
 */
export function authzRequest(check: PermissionCheck, regionOf: (bucket: string) => string | undefined): AuthzRequest {
  const region = regionOf(check.bucket) ?? "us-east-1";
  const resource =
    check.bucket === ""
      ? "*"
      : check.key === undefined
        ? bucketArn(region, check.bucket)
        : objectArn(region, check.bucket, check.key);
  return { action: check.action, resource, context: check.context };
}

export interface Verdict {
  readonly decision: Decision;
  readonly request: AuthzRequest;
}

/** The first check the principal may not perform (with why), or undefined when all are allowed. */
export function firstDenied(
  principal: Principal,
  checks: readonly PermissionCheck[],
  regionOf: (bucket: string) => string | undefined,
): Verdict | undefined {
  if (principal.policies === undefined) return undefined;
  for (const check of checks) {
    const request = authzRequest(check, regionOf);
    const decision = evaluatePolicies(principal.policies, request);
    if (decision !== "Allowed") return { decision, request };
  }
  return undefined;
}

/** AWS's AccessDenied wording, naming the caller, the action and the resource. */
export function accessDeniedMessage(principal: Principal, verdict: Verdict): string {
  const why =
    verdict.decision === "ExplicitlyDenied"
      ? "with an explicit deny in an identity-based policy"
      : `because no identity-based policy allows the ${verdict.request.action} action`;
  return `User: ${principal.arn} is not authorized to perform: ${verdict.request.action} on resource: "${verdict.request.resource}" ${why}`;
}
