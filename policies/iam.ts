import type { PolicyResource, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { configSchemaFor, resolveConfig } from "./config";
import {
  actionMatches,
  hasConditions,
  mayAllow,
  parsePolicyDocument,
  policyDocumentSize,
  PolicyDocumentError,
  statementCoversAction,
  wildcardMatch,
  type NormalizedStatement,
} from "./iam-document";
import {
  IamGraph,
  affiliateNames,
  analysisBucketNames,
  iaeRoleNames,
  platformRoles,
  rawDocumentsOf,
  type PlatformRole,
  type PrincipalKind,
} from "./iam-graph";
import { globPattern, segmentPattern, writableObject, type KeyPattern } from "./key-space";
import { bucketOfArn, isKind, knownOrUndefined, list, nameFromArn, str } from "./resources";
import { P } from "./props";

const ADMIN_POLICY = /:policy\/AdministratorAccess$/;

function isStarOnStar(st: NormalizedStatement): boolean {
  if (st.effect !== "Allow") return false;
  const allActions = st.actions.some((a) => a === "*" || a === "*:*");
  const allResources = st.resources.includes("*");
  return allActions && allResources;
}

export const noAdmin: ResourceValidationPolicy = {
  name: "neurocaas-no-admin",
  description: "No AdministratorAccess and no Allow of `*` actions on `*` resources anywhere.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const p = args.props;
    const arns = [str(p, P.policyArn), ...list(p[P.roleManagedPolicies])].filter(
      (a): a is string => typeof a === "string",
    );
    for (const arn of arns) {
      if (ADMIN_POLICY.test(arn)) report(`'${args.name}' attaches AdministratorAccess (${arn}).`);
    }
    for (const { label, doc } of rawDocumentsOf(args.type, p)) {
      let statements: NormalizedStatement[];
      try {
        statements = parsePolicyDocument(doc);
      } catch (err) {
        if (err instanceof PolicyDocumentError) {
          report(`'${args.name}' ${label}: ${err.message}`);
          continue;
        }
        throw err;
      }
      for (const st of statements) {
        if (isStarOnStar(st))
          report(`'${args.name}' ${label} allows every action on every resource${st.sid ? ` (Sid ${st.sid})` : ""}.`);
      }
    }
  },
};

function isS3Action(action: string): boolean {
  return actionMatches(action, "s3:GetObject") || action.toLowerCase().startsWith("s3:") || action === "*";
}

/** Whether a resource pattern that is not a literal S3 ARN (e.g. `*`, `arn:aws:*`) can match S3 buckets or objects. */
function mayMatchS3(pattern: string): boolean {
  return wildcardMatch(pattern, "arn:aws:s3:::any-bucket") || wildcardMatch(pattern, "arn:aws:s3:::any-bucket/any-key");
}

function reportGraphErrors(graph: IamGraph, report: ReportViolation): void {
  for (const e of graph.errors) report(e.message, e.urn);
}

export const iaeS3Scope: StackValidationPolicy = {
  name: "neurocaas-iae-s3-scope",
  description: "IAE roles reach S3 only in analysis buckets (no S3 full access, no `*` buckets).",
  enforcementLevel: "mandatory",
  configSchema: configSchemaFor("extraAnalysisBuckets"),
  validateStack: (args, report) => {
    const graph = new IamGraph(args.resources);
    reportGraphErrors(graph, report);
    const buckets = new Set([...analysisBucketNames(args.resources), ...resolveConfig(args).extraAnalysisBuckets]);
    for (const role of iaeRoleNames(args.resources)) {
      const { documents, externalPolicyArns, attachmentUrns } = graph.policiesOf("role", role);
      for (const arn of externalPolicyArns) {
        if (/AmazonS3|AdministratorAccess|PowerUserAccess/.test(arn)) {
          report(
            `IAE role '${role}' has managed policy ${arn}, which reaches S3 beyond the analysis buckets.`,
            attachmentUrns[0],
          );
        }
      }
      for (const d of documents) {
        for (const st of d.statements) {
          if (st.effect !== "Allow") continue;
          const s3Actions = st.actions.filter(isS3Action);
          if (s3Actions.length === 0 && st.notActions.length === 0) continue;
          if (st.resources.length === 0) {
            report(
              `IAE role '${role}': ${d.label} uses NotResource with S3 actions; name the analysis buckets instead.`,
              d.urn,
            );
          }
          for (const resource of st.resources) {
            const bucket = bucketOfArn(resource);
            const outside = bucket === undefined ? mayMatchS3(resource) : /[*?]/.test(bucket) || !buckets.has(bucket);
            if (outside) {
              report(
                `IAE role '${role}': ${d.label} grants ${s3Actions.join(", ") || "NotAction"} on '${resource}', outside the analysis buckets (${[...buckets].join(", ") || "none"}).`,
                d.urn,
              );
            }
          }
        }
      }
    }
  },
};

export const passRoleScope: StackValidationPolicy = {
  name: "neurocaas-passrole-scope",
  description: "iam:PassRole is granted only on the IAE role(s).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const iae = iaeRoleNames(args.resources);
    for (const r of args.resources) {
      for (const { label, doc } of rawDocumentsOf(r.type, r.props)) {
        if (isKind(r.type, "bucketPolicy") || isKind(r.type, "bucket")) continue;
        let statements: NormalizedStatement[];
        try {
          statements = parsePolicyDocument(doc);
        } catch (err) {
          if (err instanceof PolicyDocumentError) continue; // reported by neurocaas-no-admin
          throw err;
        }
        for (const st of statements) {
          if (st.effect !== "Allow" || !statementCoversAction(st, "iam:PassRole")) continue;
          const bad =
            st.resources.length === 0
              ? ["NotResource"]
              : st.resources.filter(
                  (res) =>
                    res.includes("*") || !/^arn:aws[a-z-]*:iam::\d{12}:role\//.test(res) || !iae.has(nameFromArn(res)),
                );
          if (bad.length > 0) {
            report(
              `'${r.name}' ${label} allows iam:PassRole on ${bad.map((b) => `'${b}'`).join(", ")}; only the IAE role(s) ${[...iae].join(", ") || "(none declared)"} may be passed.`,
              r.urn,
            );
          }
        }
      }
    }
  },
};

const LIST_ACTIONS = ["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"];
const ACCOUNT_LEVEL_S3 = ["s3:ListAllMyBuckets", "s3:GetBucketLocation"];

/**
 * The affiliate whose folder an IAM group owns. Groups are named `{analysis}.{affiliate}`
 * (components/names.ts; analysis names never contain "."), or just `{affiliate}`.
 */
function affiliateOfGroup(group: string, known: readonly string[]): string {
  const match = known.filter((a) => a === group || group.endsWith(`.${a}`)).sort((a, b) => b.length - a.length)[0];
  if (match !== undefined) return match;
  const dot = group.indexOf(".");
  return dot >= 0 ? group.slice(dot + 1) : group;
}

/**
 * The group's spend summary key (model/spend-summary.ts `spendSummaryKey`; the pack is
 * installed on its own, so it cannot import the program's code: a test keeps the two equal).
 */
export function spendSummaryKeyOf(group: string): string {
  return `logs/_spend/${group}.json`;
}

export function checkAffiliateStatement(st: NormalizedStatement, affiliate: string, report: (m: string) => void): void {
  if (st.effect !== "Allow") return;
  const s3 = st.actions.filter(isS3Action);
  if (st.notActions.length > 0) report(`uses NotAction, which reaches beyond '${affiliate}/'`);
  if (s3.length === 0) return;
  if (st.resources.length === 0) report("uses NotResource with S3 actions");
  for (const resource of st.resources) {
    const bucket = bucketOfArn(resource);
    if (bucket === undefined && !mayMatchS3(resource)) continue;
    if (bucket === undefined || bucket.includes("*") || bucket.includes("?")) {
      const onlyAccountLevel = s3.every((a) => ACCOUNT_LEVEL_S3.some((x) => actionMatches(a, x) && !a.includes("*")));
      if (!onlyAccountLevel) report(`grants ${s3.join(", ")} on '${resource}', not a single analysis bucket`);
      continue;
    }
    const slash = resource.indexOf("/", resource.indexOf(":::"));
    if (slash >= 0) {
      const key = resource.slice(slash + 1);
      // The one object outside the folder a group may read: its spend summary, written by the platform.
      if (key === spendSummaryKeyOf(affiliate) && !/[*?]/.test(affiliate) && s3.every((a) => a === "s3:GetObject"))
        continue;
      if (!key.startsWith(`${affiliate}/`) || /[*?]/.test(affiliate)) {
        report(`grants ${s3.join(", ")} on '${resource}', outside the group folder '${affiliate}/'`);
      }
      continue;
    }
    const lists = s3.filter((a) => LIST_ACTIONS.some((l) => actionMatches(a, l)));
    if (lists.length === 0) continue;
    const prefixes = Object.values(st.conditions).flatMap((block) => block["s3:prefix"] ?? []);
    if (prefixes.length === 0) {
      report(
        `grants ${lists.join(", ")} on bucket '${bucket}' without an s3:prefix condition (lists every group's files)`,
      );
    }
    for (const prefix of prefixes) {
      if (prefix !== "" && !(prefix.startsWith(`${affiliate}/`) || prefix === affiliate)) {
        report(`lets the group list prefix '${prefix}' in '${bucket}', outside '${affiliate}/'`);
      }
    }
  }
}

export const affiliateScope: StackValidationPolicy = {
  name: "neurocaas-affiliate-scope",
  description:
    "Affiliate (IAM group) policies stay inside their own `{group}/` folders and never grant get on `inputs/`.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const graph = new IamGraph(args.resources);
    const known = affiliateNames(args.resources);
    const groupNames = new Set<string>();
    for (const r of args.resources) {
      if (isKind(r.type, "group")) {
        const n = knownOrUndefined(() => str(r.props, "name"));
        if (n) groupNames.add(n);
      }
      if (isKind(r.type, "groupPolicy") || isKind(r.type, "groupPolicyAttachment")) {
        const g = knownOrUndefined(() => str(r.props, "group"));
        if (g) groupNames.add(nameFromArn(g));
      }
    }
    for (const group of groupNames) {
      const affiliate = affiliateOfGroup(group, known);
      const { documents, externalPolicyArns, attachmentUrns } = graph.policiesOf("group", group);
      for (const arn of externalPolicyArns) {
        report(
          `Group '${group}' has policy ${arn}, which is not one of the stack's folder-scoped policies.`,
          attachmentUrns[0] ?? graph.urnOf("group", group),
        );
      }
      for (const d of documents) {
        for (const st of d.statements) {
          checkAffiliateStatement(st, affiliate, (m) => report(`Group '${group}': ${d.label} ${m}.`, d.urn));
        }
        const buckets = new Set(
          d.statements
            .flatMap((st) => st.resources.map(bucketOfArn))
            .filter((b): b is string => !!b && !/[*?]/.test(b)),
        );
        for (const bucket of buckets) {
          for (const action of ["s3:GetObject", "s3:GetObjectVersion"]) {
            if (mayAllow(d.statements, action, `arn:aws:s3:::${bucket}/${affiliate}/inputs/any-dataset`)) {
              report(
                `Group '${group}': ${d.label} allows ${action} on '${bucket}/${affiliate}/inputs/' (users may upload inputs but never read them back).`,
                d.urn,
              );
            }
          }
        }
      }
    }
  },
};

/** AWS quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html). */
const IAM_LIMITS = {
  managedPolicy: 6144,
  roleInlineTotal: 10240,
  groupInlineTotal: 5120,
  userInlineTotal: 2048,
  trustPolicy: 2048,
  bucketPolicy: 20480,
  managedPoliciesPerPrincipal: 10,
} as const;

function sizeLimitFor(type: string): number | undefined {
  if (isKind(type, "managedPolicy")) return IAM_LIMITS.managedPolicy;
  if (isKind(type, "rolePolicy")) return IAM_LIMITS.roleInlineTotal;
  if (isKind(type, "groupPolicy")) return IAM_LIMITS.groupInlineTotal;
  if (isKind(type, "userPolicy")) return IAM_LIMITS.userInlineTotal;
  if (isKind(type, "bucketPolicy") || isKind(type, "bucket")) return IAM_LIMITS.bucketPolicy;
  return undefined;
}

function safeSize(doc: unknown): number | undefined {
  try {
    return policyDocumentSize(doc);
  } catch {
    return undefined;
  }
}

export const policySize: ResourceValidationPolicy = {
  name: "neurocaas-policy-size",
  description:
    "Each policy document fits its AWS size quota (managed 6,144; inline group 5,120, role 10,240, user 2,048; bucket 20 KB; trust 2,048).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const limit = sizeLimitFor(args.type);
    if (limit !== undefined) {
      for (const { label, doc } of rawDocumentsOf(args.type, args.props)) {
        const size = safeSize(doc);
        if (size !== undefined && size > limit)
          report(`'${args.name}' ${label} is ${size} characters, over the AWS limit of ${limit}.`);
      }
    }
    if (isKind(args.type, "role")) {
      const trust = safeSize(args.props[P.roleTrustPolicy]);
      if (trust !== undefined && trust > IAM_LIMITS.trustPolicy)
        report(`Role '${args.name}' trust policy is ${trust} characters, over ${IAM_LIMITS.trustPolicy}.`);
      const inline = rawDocumentsOf(args.type, args.props).reduce((sum, d) => sum + (safeSize(d.doc) ?? 0), 0);
      if (inline > IAM_LIMITS.roleInlineTotal)
        report(`Role '${args.name}' inline policies total ${inline} characters, over ${IAM_LIMITS.roleInlineTotal}.`);
    }
  },
};

export const aggregateIamLimits: StackValidationPolicy = {
  name: "neurocaas-iam-aggregate-limits",
  description:
    "Per role/group/user: inline policies within their aggregate size quota and at most 10 managed policies.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const totals = new Map<string, { size: number; urn: string }>();
    const attached = new Map<string, { count: number; urn: string }>();
    const add = (map: Map<string, { size: number; urn: string }>, key: string, size: number, urn: string) => {
      const e = map.get(key) ?? { size: 0, urn };
      e.size += size;
      map.set(key, e);
    };
    for (const r of args.resources) {
      const principal: [PrincipalKind, string | undefined] | undefined = isKind(r.type, "rolePolicy")
        ? ["role", str(r.props, "role")]
        : isKind(r.type, "groupPolicy")
          ? ["group", str(r.props, "group")]
          : isKind(r.type, "userPolicy")
            ? ["user", str(r.props, "user")]
            : isKind(r.type, "role")
              ? ["role", str(r.props, "name")]
              : undefined;
      if (principal?.[1]) {
        const size = rawDocumentsOf(r.type, r.props).reduce((s, d) => s + (safeSize(d.doc) ?? 0), 0);
        add(totals, `${principal[0]}:${nameFromArn(principal[1])}`, size, r.urn);
      }
      const target: [PrincipalKind, unknown] | undefined = isKind(r.type, "rolePolicyAttachment")
        ? ["role", r.props.role]
        : isKind(r.type, "groupPolicyAttachment")
          ? ["group", r.props.group]
          : isKind(r.type, "userPolicyAttachment")
            ? ["user", r.props.user]
            : undefined;
      if (target && typeof target[1] === "string") {
        const key = `${target[0]}:${nameFromArn(target[1])}`;
        const e = attached.get(key) ?? { count: 0, urn: r.urn };
        e.count += 1;
        attached.set(key, e);
      }
    }
    const limits: Record<PrincipalKind, number> = {
      role: IAM_LIMITS.roleInlineTotal,
      group: IAM_LIMITS.groupInlineTotal,
      user: IAM_LIMITS.userInlineTotal,
    };
    for (const [key, { size, urn }] of totals) {
      const kind = key.split(":")[0] as PrincipalKind;
      if (size > limits[kind])
        report(
          `Inline policies of ${kind} '${key.slice(kind.length + 1)}' total ${size} characters, over the AWS limit of ${limits[kind]}.`,
          urn,
        );
    }
    for (const [key, { count, urn }] of attached) {
      if (count > IAM_LIMITS.managedPoliciesPerPrincipal) {
        report(
          `${key.replace(":", " '")}' has ${count} managed policies attached, over the AWS limit of ${IAM_LIMITS.managedPoliciesPerPrincipal}.`,
          urn,
        );
      }
    }
  },
};

const MAX_GROUPS_PER_USER = 10;

export const userGroupLimit: StackValidationPolicy = {
  name: "neurocaas-user-group-limit",
  description: "No IAM user is in more than 10 groups (AWS hard limit).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const groupsOf = new Map<string, { groups: Set<string>; urns: string[] }>();
    const add = (user: string, group: string, r: PolicyResource) => {
      const e = groupsOf.get(user) ?? { groups: new Set<string>(), urns: [] };
      e.groups.add(group);
      e.urns.push(r.urn);
      groupsOf.set(user, e);
    };
    for (const r of args.resources) {
      if (isKind(r.type, "userGroupMembership")) {
        const user = str(r.props, "user");
        for (const g of list(r.props[P.membershipGroups])) if (user && typeof g === "string") add(user, g, r);
      } else if (isKind(r.type, "groupMembership")) {
        const group = str(r.props, "group");
        for (const u of list(r.props[P.membershipUsers])) if (group && typeof u === "string") add(u, group, r);
      }
    }
    for (const [user, { groups, urns }] of groupsOf) {
      if (groups.size > MAX_GROUPS_PER_USER) {
        report(
          `User '${user}' would be in ${groups.size} groups (${[...groups].sort().join(", ")}); AWS allows ${MAX_GROUPS_PER_USER}.`,
          urns[urns.length - 1],
        );
      }
    }
  },
};

/** The folders of a group that hold what its users upload (SPEC §1, §10.2). */
const USER_FOLDERS = ["submissions", "inputs", "configs"] as const;

/**
 * The one-level files `{bucket}/{group}/{folder}/{file}` a component writes by design: the job manager's
 * ensemble config copies (SPEC 4.8) and the post-processor's next-step trigger. Anything wider —
 * another file name, a nested key, a folder deeper than the group's — is still a violation.
 */
const BY_DESIGN: Readonly<Record<string, Partial<Record<(typeof USER_FOLDERS)[number], KeyPattern>>>> = {
  "job-manager": { configs: segmentPattern("{seg}/{seg}/configs/{seg}inst{seg}config.json") },
  postprocess: { submissions: segmentPattern("{seg}/{seg}/submissions/{seg}_submit.json") },
};

const S3_WRITE = "s3:PutObject";
const AWS_MANAGED_S3_WRITERS = /AmazonS3FullAccess|AmazonS3Outposts|AdministratorAccess|PowerUserAccess/;

/** A key under `folder` the role may write, with the statement that lets it, or undefined. */
function userFolderWrite(
  role: PlatformRole,
  folder: (typeof USER_FOLDERS)[number],
): { arn: string; via: string } | undefined {
  const statements = role.documents.flatMap((d) => d.statements.map((st) => ({ st, label: d.label })));
  const writes = (effect: "Allow" | "Deny") =>
    statements.filter(({ st }) => st.effect === effect && statementCoversAction(st, S3_WRITE));
  // Conditional Denies may not apply; NotResource grants everything it does not name (analysed as `*`).
  const denies = writes("Deny")
    .filter(({ st }) => !hasConditions(st))
    .flatMap(({ st }) => st.resources);
  const grants = writes("Allow").flatMap(({ st, label }) =>
    (st.resources.length > 0 ? st.resources : ["*"]).map((resource) => ({ resource, st, label })),
  );
  const exempt = BY_DESIGN[role.component ?? ""]?.[folder];
  const hit = writableObject(
    grants.map((g) => g.resource),
    denies,
    globPattern(`*/${folder}/*`),
    exempt ? [exempt] : [],
  );
  if (!hit) return undefined;
  const g = grants.find((x) => x.resource === hit.resource)!;
  return { arn: hit.arn, via: `${g.label}${g.st.sid ? ` (Sid ${g.st.sid})` : ""} on '${g.resource}'` };
}

export const platformUserFolders: StackValidationPolicy = {
  name: "neurocaas-platform-user-folders",
  description:
    "No platform role (IAE, job manager, monitor, post-processing, development instance) can write a key under */submissions/*, */inputs/* or */configs/* (SPEC §10.2).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const graph = new IamGraph(args.resources);
    reportGraphErrors(graph, report);
    for (const role of platformRoles(args.resources, graph)) {
      const where = role.urn ?? role.documents[0]?.urn;
      for (const arn of role.externalPolicyArns.filter((a) => AWS_MANAGED_S3_WRITERS.test(a))) {
        report(
          `Platform role '${role.name}' has managed policy ${arn}, which writes anywhere in S3, users' submissions/ inputs/ configs/ included.`,
          where,
        );
      }
      for (const folder of USER_FOLDERS) {
        const hit = userFolderWrite(role, folder);
        if (hit) {
          report(
            `Platform role '${role.name}' can write '${hit.arn}', a key under */${folder}/* (through ${hit.via}); IAM's * matches '/', so deny user folders explicitly.`,
            where,
          );
        }
      }
    }
  },
};

export const iamPolicies = [
  noAdmin,
  iaeS3Scope,
  passRoleScope,
  affiliateScope,
  platformUserFolders,
  policySize,
  aggregateIamLimits,
  userGroupLimit,
];

export { affiliateOfGroup };
