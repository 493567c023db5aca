import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { mayAllow, parsePolicyDocument, PolicyDocumentError, type NormalizedStatement } from "./iam-document";
import { affiliateNames, IamGraph } from "./iam-graph";
import { affiliateOfGroup, checkAffiliateStatement } from "./iam";
import {
  bucketOfArn,
  isKind,
  knownOrUndefined,
  list,
  nameFromArn,
  record,
  str,
  tagsOf,
  COMPONENT_TAG,
} from "./resources";

/**
 * The web dashboard (components/web-dashboard.ts): CloudFront in front of a private bucket, and
 * Cognito identities that take one (analysis, group) role each.
 */

/** Tag value of the dashboard's resources (components/web-dashboard.ts `DASHBOARD_COMPONENT_TAG`). */
const DASHBOARD_COMPONENT = "web-dashboard";
/** Id of the dashboard's CORS rule on analysis buckets (components/analysis-pipeline.ts). */
const DASHBOARD_CORS_RULE_ID = "neurocaas-dashboard";

/** The stack's dashboard distributions: their URNs and (when known) their origins `https://{domain}`. */
function dashboardDistributions(resources: readonly PolicyResource[]): { urns: Set<string>; origins: Set<string> } {
  const urns = new Set<string>();
  const origins = new Set<string>();
  for (const r of resources) {
    if (!isKind(r.type, "distribution") || tagsOf(r.props)[COMPONENT_TAG] !== DASHBOARD_COMPONENT) continue;
    urns.add(r.urn);
    const domain = knownOrUndefined(() => str(r.props, "domainName"));
    if (domain) origins.add(`https://${domain}`);
  }
  return { urns, origins };
}

/**
 * Whether a CORS configuration holds only dashboard rules: id `neurocaas-dashboard`, exactly one
 * origin, and that origin is a dashboard's (this stack's distribution, or one the operator listed;
 * during a first preview the distribution's domain is unknown, so a rule wired to it counts).
 */
export function onlyDashboardCors(
  cors: PolicyResource,
  resources: readonly PolicyResource[],
  listed: readonly string[],
): boolean {
  const rules = knownOrUndefined(() => list(cors.props.corsRules));
  const { urns, origins } = dashboardDistributions(resources);
  const wired = (cors.propertyDependencies.corsRules ?? []).some((d) => urns.has(d.urn));
  if (rules === undefined) return wired;
  if (rules.length === 0) return false;
  return rules.every((rule) => {
    const r = record(rule);
    const allowed = knownOrUndefined(() => list(r?.allowedOrigins));
    if (r?.id !== DASHBOARD_CORS_RULE_ID) return false;
    if (allowed === undefined) return wired;
    if (allowed.length !== 1 || typeof allowed[0] !== "string") return false;
    return origins.has(allowed[0]) || listed.includes(allowed[0]);
  });
}

export const dashboardCloudFront: StackValidationPolicy = {
  name: "neurocaas-dashboard-cloudfront",
  description:
    "CloudFront distributions serve over HTTPS only and read S3 origins through origin access control (never a public bucket or a legacy origin access identity).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const d of args.resources) {
      if (!isKind(d.type, "distribution")) continue;
      const behaviors = [
        record(d.props.defaultCacheBehavior),
        ...list(d.props.orderedCacheBehaviors).map(record),
      ].filter((b) => b !== undefined);
      for (const b of behaviors) {
        const policy = knownOrUndefined(() => str(b!, "viewerProtocolPolicy"));
        if (policy !== undefined && policy !== "https-only" && policy !== "redirect-to-https") {
          report(
            `Distribution '${d.name}' lets viewers use plain HTTP (${str(b!, "pathPattern") ?? "default"} behavior: viewerProtocolPolicy ${policy}).`,
            d.urn,
          );
        }
      }
      for (const o of list(d.props.origins).map(record)) {
        const domain = knownOrUndefined(() => str(o ?? {}, "domainName"));
        const isS3 = domain === undefined || /\.s3[.-]([a-z0-9-]+\.)?amazonaws\.com$/.test(domain);
        const oai = str(record(o?.s3OriginConfig) ?? {}, "originAccessIdentity");
        if (oai)
          report(
            `Distribution '${d.name}' uses a legacy origin access identity (${oai}); use origin access control.`,
            d.urn,
          );
        else if (isS3 && domain !== undefined && !o?.originAccessControlId)
          report(
            `Distribution '${d.name}' reads S3 origin ${domain} without origin access control (the bucket would have to be public).`,
            d.urn,
          );
      }
      const tls = knownOrUndefined(() => str(record(d.props.viewerCertificate) ?? {}, "minimumProtocolVersion"));
      if (tls !== undefined && !/^TLSv1\.[23]/.test(tls))
        report(`Distribution '${d.name}' accepts ${tls}; require TLSv1.2 or newer.`, d.urn);
    }
  },
};

/**
 * Role name → the affiliate whose folder it is for: the Cognito groups (named `{analysis}.{group}`
 * like the IAM groups) that map users to roles.
 */
function cognitoGroupRoles(resources: readonly PolicyResource[]): Map<string, string> {
  const known = affiliateNames(resources);
  const out = new Map<string, string>();
  for (const r of resources) {
    if (!isKind(r.type, "cognitoUserGroup")) continue;
    const name = knownOrUndefined(() => str(r.props, "name"));
    const roleArn = knownOrUndefined(() => str(r.props, "roleArn"));
    if (name && roleArn) out.set(nameFromArn(roleArn), affiliateOfGroup(name, known));
  }
  return out;
}

function trustStatements(role: PolicyResource): NormalizedStatement[] | undefined {
  const doc = knownOrUndefined(() => role.props.assumeRolePolicy);
  if (doc === undefined) return undefined;
  try {
    return parsePolicyDocument(doc);
  } catch (err) {
    if (err instanceof PolicyDocumentError) return [];
    throw err;
  }
}

/** Whether a role is assumable by Cognito identities (its raw trust names cognito-identity). */
function cognitoTrusted(role: PolicyResource): boolean {
  const doc = knownOrUndefined(() => role.props.assumeRolePolicy);
  return typeof doc === "string"
    ? doc.includes("cognito-identity.amazonaws.com")
    : JSON.stringify(doc ?? "").includes("cognito-identity.amazonaws.com");
}

export const dashboardSignIn: StackValidationPolicy = {
  name: "neurocaas-dashboard-sign-in",
  description:
    "Identity pools admit no unauthenticated or classic-flow identities; roles Cognito identities take are trusted only by their identity pool's authenticated users and, for a (analysis, group), carry nothing beyond that group's folder.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const p of args.resources) {
      if (!isKind(p.type, "identityPool")) continue;
      if (p.props.allowUnauthenticatedIdentities === true)
        report(`Identity pool '${p.name}' gives credentials to unauthenticated visitors.`, p.urn);
      if (p.props.allowClassicFlow === true)
        report(
          `Identity pool '${p.name}' allows the classic (basic) authflow, which bypasses its role mappings.`,
          p.urn,
        );
    }
    const graph = new IamGraph(args.resources);
    const groups = cognitoGroupRoles(args.resources);
    for (const role of args.resources) {
      if (!isKind(role.type, "role") || !cognitoTrusted(role)) continue;
      const trust = trustStatements(role);
      if (trust !== undefined) {
        for (const st of trust.filter((s) => s.effect === "Allow")) {
          const aud = st.conditions.StringEquals?.["cognito-identity.amazonaws.com:aud"] ?? [];
          const amr = [
            ...(st.conditions["ForAnyValue:StringLike"]?.["cognito-identity.amazonaws.com:amr"] ?? []),
            ...(st.conditions["ForAnyValue:StringEquals"]?.["cognito-identity.amazonaws.com:amr"] ?? []),
          ];
          if (aud.length === 0)
            report(
              `Role '${role.name}' trusts Cognito identities of any identity pool (no cognito-identity.amazonaws.com:aud condition).`,
              role.urn,
            );
          if (!amr.includes("authenticated"))
            report(
              `Role '${role.name}' trusts unauthenticated Cognito identities (no amr "authenticated" condition).`,
              role.urn,
            );
        }
      }
      const name = knownOrUndefined(() => str(role.props, "name"));
      const group = name !== undefined ? groups.get(name) : undefined;
      if (group === undefined || name === undefined) continue;
      for (const d of graph.policiesOf("role", name).documents) {
        for (const st of d.statements)
          checkAffiliateStatement(st, group, (m) =>
            report(`Dashboard role '${role.name}' (group ${group}): ${d.label} ${m}.`, d.urn),
          );
        const buckets = new Set(
          d.statements
            .flatMap((st) => st.resources.map(bucketOfArn))
            .filter((b): b is string => !!b && !/[*?]/.test(b)),
        );
        for (const bucket of buckets) {
          if (mayAllow(d.statements, "s3:GetObject", `arn:aws:s3:::${bucket}/${group}/inputs/any-dataset`)) {
            report(
              `Dashboard role '${role.name}' (group ${group}): ${d.label} allows s3:GetObject on '${bucket}/${group}/inputs/' (users may upload inputs but never read them back).`,
              d.urn,
            );
          }
        }
      }
    }
  },
};

export const dashboardPolicies = [dashboardCloudFront, dashboardSignIn];
