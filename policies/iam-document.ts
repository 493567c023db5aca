/**
 * A small reader for IAM policy documents: normalizes statements and answers "does this document
 * allow action A on resource R" with IAM's wildcard rules. Conditions are reported, not evaluated:
 * callers decide whether a conditional Allow counts (it usually does — it may match) and whether a
 * conditional Deny counts (it usually does not — it may not match).
 */

export interface NormalizedStatement {
  readonly sid?: string;
  readonly effect: "Allow" | "Deny";
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly resources: readonly string[];
  readonly notResources: readonly string[];
  /** Operator → condition key → values, e.g. `{StringLike: {"s3:prefix": ["g/*"]}}`. */
  readonly conditions: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  readonly hasPrincipal: boolean;
}

export class PolicyDocumentError extends Error {}

function toStringArray(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  throw new PolicyDocumentError(`${where} must be a string or a list of strings, got ${JSON.stringify(value)}`);
}

/** Parses a policy document given as JSON text or as an object (Pulumi accepts both). */
export function parsePolicyDocument(doc: unknown): NormalizedStatement[] {
  let value = doc;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch (err) {
      throw new PolicyDocumentError(`policy document is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PolicyDocumentError("policy document must be a JSON object with a Statement");
  }
  const raw = (value as { Statement?: unknown }).Statement;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return list.map((s, i) => normalizeStatement(s, `Statement[${i}]`));
}

function normalizeStatement(s: unknown, where: string): NormalizedStatement {
  if (typeof s !== "object" || s === null || Array.isArray(s)) {
    throw new PolicyDocumentError(`${where} must be an object`);
  }
  const st = s as Record<string, unknown>;
  if (st.Effect !== "Allow" && st.Effect !== "Deny") {
    throw new PolicyDocumentError(`${where}.Effect must be "Allow" or "Deny", got ${JSON.stringify(st.Effect)}`);
  }
  const conditions: Record<string, Record<string, string[]>> = {};
  if (st.Condition !== undefined) {
    if (typeof st.Condition !== "object" || st.Condition === null) {
      throw new PolicyDocumentError(`${where}.Condition must be an object`);
    }
    for (const [op, block] of Object.entries(st.Condition as Record<string, unknown>)) {
      conditions[op] = {};
      for (const [key, values] of Object.entries((block ?? {}) as Record<string, unknown>)) {
        conditions[op][key] = toStringArray(
          Array.isArray(values) ? values.map(String) : values === undefined ? undefined : String(values),
          `${where}.Condition.${op}.${key}`,
        );
      }
    }
  }
  return {
    sid: typeof st.Sid === "string" ? st.Sid : undefined,
    effect: st.Effect,
    actions: toStringArray(st.Action, `${where}.Action`),
    notActions: toStringArray(st.NotAction, `${where}.NotAction`),
    resources: toStringArray(st.Resource, `${where}.Resource`),
    notResources: toStringArray(st.NotResource, `${where}.NotResource`),
    conditions,
    hasPrincipal: st.Principal !== undefined || st.NotPrincipal !== undefined,
  };
}

/** IAM wildcard match: `*` any run of characters, `?` one character. */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, caseInsensitive ? "is" : "s").test(value);
}

/** Action names are case-insensitive in IAM. */
export function actionMatches(pattern: string, action: string): boolean {
  return wildcardMatch(pattern, action, true);
}

/** Whether the statement's action clause covers `action`. */
export function statementCoversAction(st: NormalizedStatement, action: string): boolean {
  if (st.actions.length > 0) return st.actions.some((p) => actionMatches(p, action));
  if (st.notActions.length > 0) return !st.notActions.some((p) => actionMatches(p, action));
  return false;
}

/** Whether the statement's resource clause covers `resource` (an ARN). */
function statementCoversResource(st: NormalizedStatement, resource: string): boolean {
  if (st.resources.length > 0) return st.resources.some((p) => wildcardMatch(p, resource));
  if (st.notResources.length > 0) return !st.notResources.some((p) => wildcardMatch(p, resource));
  // Resource-based policies (bucket policies) may omit Resource only when they are invalid; treat as none.
  return false;
}

export function hasConditions(st: NormalizedStatement): boolean {
  return Object.keys(st.conditions).length > 0;
}

/**
 * Whether the statements may allow `action` on `resource`: some Allow covers it (conditions
 * ignored: it may match) and no unconditional Deny covers it.
 */
export function mayAllow(statements: readonly NormalizedStatement[], action: string, resource: string): boolean {
  const covers = (st: NormalizedStatement) =>
    statementCoversAction(st, action) && statementCoversResource(st, resource);
  const denied = statements.some((st) => st.effect === "Deny" && !hasConditions(st) && covers(st));
  return !denied && statements.some((st) => st.effect === "Allow" && covers(st));
}

/**
 * Size of a policy document as IAM counts it against its quotas: characters of the document
 * without insignificant whitespace.
 */
export function policyDocumentSize(doc: unknown): number {
  const value = typeof doc === "string" ? JSON.parse(doc) : doc;
  return JSON.stringify(value).length;
}
