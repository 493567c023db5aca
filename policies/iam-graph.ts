import type { PolicyResource } from "@pulumi/policy";
import { parsePolicyDocument, PolicyDocumentError, type NormalizedStatement } from "./iam-document";
import { isKind, knownOrUndefined, list, nameFromArn, record, runtimeConfigOf, str, type Kind } from "./resources";
import { P } from "./props";

/**
 * Who gets which IAM policy documents in a stack: inline policies, managed policies declared in
 * the stack and attached by ARN, and AWS-managed policies attached by ARN (document unknown).
 */

export type PrincipalKind = "role" | "group" | "user";

interface AttachedDocument {
  /** Human-readable origin, e.g. `inline policy 'x'` or `managed policy 'y'`. */
  readonly label: string;
  readonly urn: string;
  readonly statements: readonly NormalizedStatement[];
}

export interface PrincipalPolicies {
  readonly documents: AttachedDocument[];
  /** Attached policy ARNs the stack does not declare (AWS-managed or external). */
  readonly externalPolicyArns: string[];
  /** URN of a resource that created each attachment, for reporting. */
  readonly attachmentUrns: string[];
}

type Props = Record<string, unknown>;

interface PolicyRef {
  readonly arn?: string;
  readonly managed?: PolicyResource;
}

/** Inline policy documents a resource carries (raw, unparsed). */
export function rawDocumentsOf(type: string, props: Props): { label: string; doc: unknown }[] {
  const out: { label: string; doc: unknown }[] = [];
  if (
    isKind(type, "managedPolicy") ||
    isKind(type, "rolePolicy") ||
    isKind(type, "groupPolicy") ||
    isKind(type, "userPolicy") ||
    isKind(type, "bucketPolicy")
  ) {
    if (props[P.policyDocument] !== undefined) out.push({ label: "policy", doc: props[P.policyDocument] });
  }
  if (isKind(type, "bucket") && props.policy !== undefined) out.push({ label: "bucket policy", doc: props.policy });
  if (isKind(type, "role")) {
    for (const [i, p] of list(props[P.roleInlinePolicies]).entries()) {
      const r = record(p);
      if (r?.policy !== undefined) out.push({ label: `inline policy '${str(r, "name") ?? i}'`, doc: r.policy });
    }
  }
  return out;
}

function parse(
  doc: unknown,
  label: string,
  urn: string,
  errors: { urn: string; message: string }[],
): NormalizedStatement[] {
  try {
    return parsePolicyDocument(doc);
  } catch (err) {
    if (err instanceof PolicyDocumentError) {
      errors.push({ urn, message: `${label}: ${err.message}` });
      return [];
    }
    throw err;
  }
}

export class IamGraph {
  readonly errors: { urn: string; message: string }[] = [];
  private readonly managedByArn = new Map<string, PolicyResource>();
  private readonly principals = new Map<string, PrincipalPolicies>();

  constructor(readonly resources: readonly PolicyResource[]) {
    for (const r of resources) {
      if (isKind(r.type, "managedPolicy")) {
        const arn = knownOrUndefined(() => str(r.props, "arn"));
        if (arn) this.managedByArn.set(arn, r);
      }
    }
    for (const r of resources) this.index(r);
  }

  private entry(kind: PrincipalKind, name: string): PrincipalPolicies {
    const key = `${kind}:${name}`;
    let e = this.principals.get(key);
    if (!e) {
      e = { documents: [], externalPolicyArns: [], attachmentUrns: [] };
      this.principals.set(key, e);
    }
    return e;
  }

  /** The managed policy an attachment points at: by ARN, or (ARN unknown during a preview) by dependency. */
  private policyRef(r: PolicyResource): PolicyRef | undefined {
    const arn = knownOrUndefined(() => str(r.props, P.policyArn));
    if (arn !== undefined) return { arn, managed: this.managedByArn.get(arn) };
    const managed = (r.propertyDependencies[P.policyArn] ?? []).find((d) => isKind(d.type, "managedPolicy"));
    return managed ? { managed } : undefined;
  }

  /** A principal an attachment names: by value, or (unknown during a preview) the resource it depends on. */
  private principalName(r: PolicyResource, key: string): string | undefined {
    const value = knownOrUndefined(() => str(r.props, key));
    if (value !== undefined) return value;
    const dep = (r.propertyDependencies[key] ?? [])[0];
    return dep ? knownOrUndefined(() => str(dep.props, "name")) : undefined;
  }

  private attach(kind: PrincipalKind, name: string | undefined, ref: PolicyRef | undefined, urn: string): void {
    if (!name || !ref) return;
    const e = this.entry(kind, nameFromArn(name));
    e.attachmentUrns.push(urn);
    const managed = ref.managed;
    if (managed) {
      e.documents.push({
        label: `managed policy '${str(managed.props, "name") ?? managed.name}'`,
        urn: managed.urn,
        statements: parse(managed.props.policy, `managed policy '${managed.name}'`, managed.urn, this.errors),
      });
    } else if (ref.arn !== undefined) {
      e.externalPolicyArns.push(ref.arn);
    }
  }

  private inline(kind: PrincipalKind, name: string | undefined, r: PolicyResource, doc: unknown, label: string): void {
    if (!name) return;
    this.entry(kind, nameFromArn(name)).documents.push({
      label,
      urn: r.urn,
      statements: parse(doc, label, r.urn, this.errors),
    });
  }

  private index(r: PolicyResource): void {
    const p = r.props;
    const isAttachment = [
      "rolePolicyAttachment",
      "groupPolicyAttachment",
      "userPolicyAttachment",
      "policyAttachment",
    ].some((k) => isKind(r.type, k as Kind));
    const arn = isAttachment ? this.policyRef(r) : undefined;
    if (isKind(r.type, "rolePolicyAttachment")) this.attach("role", this.principalName(r, "role"), arn, r.urn);
    else if (isKind(r.type, "groupPolicyAttachment")) this.attach("group", this.principalName(r, "group"), arn, r.urn);
    else if (isKind(r.type, "userPolicyAttachment")) this.attach("user", this.principalName(r, "user"), arn, r.urn);
    else if (isKind(r.type, "policyAttachment")) {
      for (const role of list(p.roles)) this.attach("role", typeof role === "string" ? role : undefined, arn, r.urn);
      for (const group of list(p.groups))
        this.attach("group", typeof group === "string" ? group : undefined, arn, r.urn);
      for (const user of list(p.users)) this.attach("user", typeof user === "string" ? user : undefined, arn, r.urn);
    } else if (isKind(r.type, "rolePolicy"))
      this.inline("role", this.principalName(r, "role"), r, p.policy, `inline policy '${str(p, "name") ?? r.name}'`);
    else if (isKind(r.type, "groupPolicy"))
      this.inline("group", this.principalName(r, "group"), r, p.policy, `inline policy '${str(p, "name") ?? r.name}'`);
    else if (isKind(r.type, "userPolicy"))
      this.inline("user", this.principalName(r, "user"), r, p.policy, `inline policy '${str(p, "name") ?? r.name}'`);
    else if (isKind(r.type, "role")) {
      const name = str(p, "name");
      for (const { label, doc } of rawDocumentsOf(r.type, p)) this.inline("role", name, r, doc, label);
      for (const managedArn of list(p[P.roleManagedPolicies])) {
        if (typeof managedArn === "string")
          this.attach("role", name, { arn: managedArn, managed: this.managedByArn.get(managedArn) }, r.urn);
      }
    }
  }

  policiesOf(kind: PrincipalKind, name: string): PrincipalPolicies {
    return this.principals.get(`${kind}:${name}`) ?? { documents: [], externalPolicyArns: [], attachmentUrns: [] };
  }

  /** Resource URN of the principal itself, when the stack declares it. */
  urnOf(kind: PrincipalKind, name: string): string | undefined {
    const kindKey = kind === "role" ? "role" : kind === "group" ? "group" : "user";
    return this.resources.find((r) => isKind(r.type, kindKey) && str(r.props, "name") === name)?.urn;
  }
}

/**
 * The IAE role names of a stack: roles of declared instance profiles and the `iaeRoleArn` of every
 * analysis runtime config.
 */
export function iaeRoleNames(resources: readonly PolicyResource[]): Set<string> {
  const names = new Set<string>();
  for (const r of resources) {
    if (isKind(r.type, "instanceProfile")) {
      const role = knownOrUndefined(() => str(r.props, P.instanceProfileRole));
      if (role) names.add(nameFromArn(role));
    }
    if (isKind(r.type, "lambda")) {
      const rc = knownOrUndefined(() => runtimeConfigOf(r.props));
      if (rc && !(rc instanceof Error) && typeof rc.iaeRoleArn === "string") names.add(nameFromArn(rc.iaeRoleArn));
    }
  }
  return names;
}

/** Bucket names the stack declares or its analyses name in their runtime config. */
export function analysisBucketNames(resources: readonly PolicyResource[]): Set<string> {
  const names = new Set<string>();
  for (const r of resources) {
    if (isKind(r.type, "bucket")) {
      const b = str(r.props, "bucket");
      if (b) names.add(b);
    }
    if (isKind(r.type, "lambda")) {
      const rc = knownOrUndefined(() => runtimeConfigOf(r.props));
      if (rc && !(rc instanceof Error) && typeof rc.bucketName === "string") names.add(rc.bucketName);
    }
  }
  return names;
}

/** Affiliate (group folder) names of every analysis in the stack. */
export function affiliateNames(resources: readonly PolicyResource[]): string[] {
  const names = new Set<string>();
  for (const r of resources) {
    if (!isKind(r.type, "lambda")) continue;
    const rc = knownOrUndefined(() => runtimeConfigOf(r.props));
    if (rc && !(rc instanceof Error)) {
      for (const a of list(rc.affiliates)) {
        const n = str(record(a) ?? {}, "AffiliateName");
        if (n) names.add(n);
      }
    }
  }
  return [...names];
}

/** A role AWS services or instances act as: what it may do, and which NeuroCAAS component it is. */
export interface PlatformRole {
  readonly name: string;
  /** `neurocaas:component` tag of the role, when the stack declares it. */
  readonly component?: string;
  readonly urn?: string;
  readonly documents: AttachedDocument[];
  readonly externalPolicyArns: readonly string[];
}

function trustsAService(trustPolicy: unknown): boolean {
  try {
    const doc = (typeof trustPolicy === "string" ? JSON.parse(trustPolicy) : trustPolicy) as { Statement?: unknown };
    const statements = Array.isArray(doc?.Statement) ? doc.Statement : [doc?.Statement];
    return statements.some((s) => {
      const principal = record(record(s)?.Principal);
      return record(s)?.Effect === "Allow" && principal?.Service !== undefined;
    });
  } catch {
    return false;
  }
}

/** Statements of a bucket policy per role principal (`arn:…:role/…`), normalized. */
function bucketPolicyGrants(r: PolicyResource, errors: IamGraph["errors"]): Map<string, AttachedDocument> {
  const out = new Map<string, AttachedDocument>();
  for (const { doc } of rawDocumentsOf(r.type, r.props)) {
    let value: unknown;
    try {
      value = typeof doc === "string" ? JSON.parse(doc) : doc;
    } catch {
      continue; // reported by neurocaas-no-admin
    }
    const raw = record(value)?.Statement;
    for (const st of Array.isArray(raw) ? raw : [raw]) {
      const aws = record(record(st)?.Principal)?.AWS;
      for (const arn of (Array.isArray(aws) ? aws : [aws]).filter(
        (a): a is string => typeof a === "string" && /:role\//.test(a),
      )) {
        const role = nameFromArn(arn);
        const label = `bucket policy '${str(r.props, "bucket") ?? r.name}'`;
        const doc = out.get(role) ?? { label, urn: r.urn, statements: [] };
        (doc.statements as NormalizedStatement[]).push(...parse({ Statement: [st] }, label, r.urn, errors));
        out.set(role, doc);
      }
    }
  }
  return out;
}

/**
 * The platform roles of a stack (SPEC §10.2): roles a service assumes (Lambda, EC2), the IAE roles
 * its analyses launch with, and every role a bucket policy grants to (development instances).
 */
export function platformRoles(resources: readonly PolicyResource[], graph: IamGraph): PlatformRole[] {
  const roles = new Map<string, { component?: string; urn?: string; extra: AttachedDocument[] }>();
  const add = (name: string, fields: { component?: string; urn?: string } = {}, extra: AttachedDocument[] = []) => {
    const e = roles.get(name) ?? { extra: [] };
    roles.set(name, { ...e, ...fields, extra: [...e.extra, ...extra] });
  };
  for (const r of resources) {
    if (isKind(r.type, "role")) {
      const name = knownOrUndefined(() => str(r.props, "name"));
      if (name && trustsAService(r.props[P.roleTrustPolicy])) {
        const component = str(record(r.props.tags) ?? {}, "neurocaas:component");
        add(name, { urn: r.urn, ...(component ? { component } : {}) });
      }
    }
    if (isKind(r.type, "bucketPolicy") || isKind(r.type, "bucket")) {
      for (const [role, doc] of bucketPolicyGrants(r, graph.errors)) add(role, {}, [doc]);
    }
  }
  for (const name of iaeRoleNames(resources)) add(name);
  return [...roles].map(([name, e]) => {
    const { documents, externalPolicyArns } = graph.policiesOf("role", name);
    return {
      name,
      ...(e.component ? { component: e.component } : {}),
      ...(e.urn ? { urn: e.urn } : {}),
      documents: [...documents, ...e.extra],
      externalPolicyArns,
    };
  });
}
