import { rawDocumentsOf } from "../../policies/iam-graph";
import { isKind } from "../../policies/resources";
import type { RecordedResource } from "./record";

/**
 * Every IAM policy document a stack grants, with the resource that carries it and whom it applies
 * to, as `neurocaas plan --json` reports it: reviewers of a stack change and outside tools (IAM
 * simulators, access analyzers) evaluate exactly what would be deployed.
 */

type IamDocumentKind =
  | "role inline policy"
  | "group inline policy"
  | "user inline policy"
  | "managed policy"
  | "bucket policy"
  | "trust policy"
  | "aws managed policy";

export interface IamDocument {
  readonly kind: IamDocumentKind;
  /** The resource carrying the document (type, logical name, URN). */
  readonly resource: { readonly type: string; readonly name: string; readonly urn: string };
  /** Principals (`role:x`, `group:x`, `user:x`) or the bucket (`bucket:x`) the document applies to. */
  readonly appliesTo: readonly string[];
  /** The document as parsed JSON; undefined for AWS managed policies (only their ARN is in the stack). */
  readonly document?: unknown;
  readonly policyArn?: string;
}

type Props = Record<string, unknown>;
const str = (p: Props, k: string) => (typeof p[k] === "string" ? (p[k] as string) : undefined);

function parsed(doc: unknown): unknown {
  if (typeof doc !== "string") return doc;
  try {
    return JSON.parse(doc);
  } catch {
    return doc; // invalid JSON is reported as is (the policy pack flags it)
  }
}

const carrier = (r: RecordedResource) => ({ type: r.type, name: r.name, urn: r.urn });

const ATTACHMENTS: readonly [Parameters<typeof isKind>[1], string][] = [
  ["rolePolicyAttachment", "role"],
  ["groupPolicyAttachment", "group"],
  ["userPolicyAttachment", "user"],
];

export function iamDocuments(recorded: readonly RecordedResource[]): IamDocument[] {
  const resources = recorded.filter((r) => r.custom);
  // Managed policies declared in the stack, by ARN: who attaches them.
  const managedArns = new Set(
    resources
      .filter((r) => isKind(r.type, "managedPolicy"))
      .map((r) => str(r.outputs, "arn"))
      .filter((a): a is string => !!a),
  );
  const attachedTo = new Map<string, string[]>();
  const attach = (arn: string, principal: string) => attachedTo.set(arn, [...(attachedTo.get(arn) ?? []), principal]);
  for (const r of resources) {
    const kind = ATTACHMENTS.find(([k]) => isKind(r.type, k));
    const arn = str(r.outputs, "policyArn");
    const name = kind ? str(r.outputs, kind[1]) : undefined;
    if (kind && arn && name && managedArns.has(arn)) attach(arn, `${kind[1]}:${name}`);
    if (isKind(r.type, "role")) {
      for (const m of Array.isArray(r.outputs.managedPolicyArns) ? r.outputs.managedPolicyArns : [])
        if (typeof m === "string" && managedArns.has(m)) attach(m, `role:${str(r.outputs, "name")}`);
    }
  }
  const out: IamDocument[] = [];
  for (const r of resources) {
    const p = r.outputs;
    const inline = (kind: IamDocumentKind, who: string) => {
      const name = str(p, who);
      for (const { doc } of rawDocumentsOf(r.type, p))
        out.push({ kind, resource: carrier(r), appliesTo: name ? [`${who}:${name}`] : [], document: parsed(doc) });
    };
    if (isKind(r.type, "rolePolicy")) inline("role inline policy", "role");
    else if (isKind(r.type, "groupPolicy")) inline("group inline policy", "group");
    else if (isKind(r.type, "userPolicy")) inline("user inline policy", "user");
    else if (isKind(r.type, "managedPolicy")) {
      const arn = str(p, "arn");
      out.push({
        kind: "managed policy",
        resource: carrier(r),
        appliesTo: arn ? (attachedTo.get(arn) ?? []) : [],
        document: parsed(p.policy),
        ...(arn ? { policyArn: arn } : {}),
      });
    } else if (isKind(r.type, "bucketPolicy") || isKind(r.type, "bucket")) {
      for (const { doc } of rawDocumentsOf(r.type, p))
        out.push({
          kind: "bucket policy",
          resource: carrier(r),
          appliesTo: [`bucket:${str(p, "bucket") ?? r.name}`],
          document: parsed(doc),
        });
    } else if (isKind(r.type, "role")) {
      const name = str(p, "name");
      const who = name ? [`role:${name}`] : [];
      if (p.assumeRolePolicy !== undefined)
        out.push({ kind: "trust policy", resource: carrier(r), appliesTo: who, document: parsed(p.assumeRolePolicy) });
      for (const { doc } of rawDocumentsOf(r.type, p))
        out.push({ kind: "role inline policy", resource: carrier(r), appliesTo: who, document: parsed(doc) });
      for (const m of Array.isArray(p.managedPolicyArns) ? p.managedPolicyArns : []) {
        if (typeof m === "string" && !managedArns.has(m))
          out.push({ kind: "aws managed policy", resource: carrier(r), appliesTo: who, policyArn: m });
      }
    }
  }
  // AWS managed policies: the stack holds only their ARN and the attachment that grants them.
  for (const r of resources.filter((x) => ATTACHMENTS.some(([k]) => isKind(x.type, k)))) {
    const arn = str(r.outputs, "policyArn");
    if (arn && !managedArns.has(arn)) {
      const who = ATTACHMENTS.find(([k]) => isKind(r.type, k))![1];
      const name = str(r.outputs, who);
      out.push({
        kind: "aws managed policy",
        resource: carrier(r),
        appliesTo: name ? [`${who}:${name}`] : [],
        policyArn: arn,
      });
    }
  }
  return out;
}
