/**
 * A small IAM policy evaluator for the identity policies NeuroCAAS generates
 * (components/iam/policies.ts), so that local mode enforces the very documents the cloud deploys.
 *
 * Semantics (as IAM): a request is allowed when some statement allows it and none denies it;
 * an explicit Deny always wins; nothing matching is an implicit deny. Action/NotAction match
 * case-insensitively with `*` and `?` wildcards; Resource/NotResource match case-sensitively and
 * `*` matches any characters, `/` included. Conditions: every operator of a statement, every key
 * of an operator must match (AND); any of a key's values may match (OR); negated operators match
 * when none of the values match; a key missing from the request fails the condition except for
 * negated operators, `...IfExists`, `ForAllValues:` and `Null`. Condition keys are
 * case-insensitive.
 *
 * Anything else IAM can express (policy variables, ARN/date/IP operators, Principal in an
 * identity policy...) is refused by `assertEvaluable` when the policies are loaded, so an
 * unsupported construct fails loudly at start instead of being evaluated wrongly.
 */

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export type ContextValue = string | readonly string[];

/** One IAM authorization question. */
export interface AuthzRequest {
  /** e.g. `s3:GetObject` */
  readonly action: string;
  /** e.g. `arn:aws:s3:::bucket/key` */
  readonly resource: string;
  /** Condition keys present in the request (e.g. `s3:prefix`). */
  readonly context: Readonly<Record<string, ContextValue>>;
}

type OneOrMany = string | readonly string[];

/** The statement shape evaluated here (components/iam/document.ts `Statement` is one). */
interface EvaluableStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action?: OneOrMany;
  readonly NotAction?: OneOrMany;
  readonly Resource?: OneOrMany;
  readonly NotResource?: OneOrMany;
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, OneOrMany | boolean | number>>>>;
}

export interface EvaluablePolicy {
  readonly Version?: string;
  readonly Statement: readonly EvaluableStatement[] | EvaluableStatement;
}

const STRING_OPERATORS: Readonly<Record<string, (value: string, pattern: string) => boolean>> = {
  stringequals: (v, p) => v === p,
  stringequalsignorecase: (v, p) => v.toLowerCase() === p.toLowerCase(),
  stringlike: (v, p) => wildcard(p, false).test(v),
};

const NUMERIC_OPERATORS: Readonly<Record<string, (value: number, bound: number) => boolean>> = {
  numericequals: (v, b) => v === b,
  numericlessthan: (v, b) => v < b,
  numericlessthanequals: (v, b) => v <= b,
  numericgreaterthan: (v, b) => v > b,
  numericgreaterthanequals: (v, b) => v >= b,
};

/** Negated operators and the positive operator they negate. */
const NEGATED: Readonly<Record<string, string>> = {
  stringnotequals: "stringequals",
  stringnotequalsignorecase: "stringequalsignorecase",
  stringnotlike: "stringlike",
  numericnotequals: "numericequals",
};

const KNOWN_KEYS = new Set(["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"]);

const patterns = new Map<string, RegExp>();

/** IAM wildcard pattern (`*` any run of characters including `/`, `?` one character) as a RegExp. */
function wildcard(pattern: string, ignoreCase: boolean): RegExp {
  const cacheKey = `${ignoreCase ? "i" : "c"}${pattern}`;
  let re = patterns.get(cacheKey);
  if (re === undefined) {
    const body = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) =>
      c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : `\\${c}`,
    );
    re = new RegExp(`^${body}$`, ignoreCase ? "i" : "");
    if (patterns.size > 10_000) patterns.clear();
    patterns.set(cacheKey, re);
  }
  return re;
}

function list(value: OneOrMany | boolean | number | undefined): string[] {
  if (value === undefined) return [];
  if (typeof value === "string") return [value];
  if (typeof value === "boolean" || typeof value === "number") return [String(value)];
  return [...value];
}

function statements(policy: EvaluablePolicy): readonly EvaluableStatement[] {
  return Array.isArray(policy.Statement)
    ? (policy.Statement as readonly EvaluableStatement[])
    : [policy.Statement as EvaluableStatement];
}

interface ParsedOperator {
  readonly set?: "forallvalues" | "foranyvalue";
  /** Lower-case operator without set prefix and IfExists suffix. */
  readonly base: string;
  readonly ifExists: boolean;
}

function parseOperator(operator: string): ParsedOperator {
  let rest = operator.toLowerCase();
  let set: ParsedOperator["set"];
  const colon = rest.indexOf(":");
  if (colon !== -1) {
    const prefix = rest.slice(0, colon);
    if (prefix !== "forallvalues" && prefix !== "foranyvalue")
      throw new Error(`unsupported condition set operator "${operator}"`);
    set = prefix;
    rest = rest.slice(colon + 1);
  }
  const ifExists = rest.endsWith("ifexists");
  if (ifExists) rest = rest.slice(0, -"ifexists".length);
  return { set, base: rest, ifExists };
}

function isKnownOperator(base: string): boolean {
  return base in STRING_OPERATORS || base in NUMERIC_OPERATORS || base in NEGATED || base === "bool" || base === "null";
}

/** Throws naming the statement and construct when a policy uses IAM features this evaluator lacks. */
export function assertEvaluable(policy: EvaluablePolicy, name: string): void {
  if (policy.Version !== undefined && policy.Version !== "2012-10-17")
    throw new Error(`${name}: policy Version "${policy.Version}" is not supported (use "2012-10-17")`);
  statements(policy).forEach((s, i) => {
    const where = `${name}, statement ${s.Sid ?? i}`;
    for (const key of Object.keys(s))
      if (!KNOWN_KEYS.has(key)) throw new Error(`${where}: "${key}" is not supported by the local IAM evaluator`);
    if (s.Effect !== "Allow" && s.Effect !== "Deny") throw new Error(`${where}: Effect must be "Allow" or "Deny"`);
    if ((s.Action === undefined) === (s.NotAction === undefined))
      throw new Error(`${where}: exactly one of Action and NotAction is required`);
    if ((s.Resource === undefined) === (s.NotResource === undefined))
      throw new Error(`${where}: exactly one of Resource and NotResource is required`);
    for (const r of [...list(s.Resource), ...list(s.NotResource)])
      if (r.includes("${")) throw new Error(`${where}: policy variables (${r}) are not supported`);
    for (const [operator, keys] of Object.entries(s.Condition ?? {})) {
      const op = parseOperator(operator);
      if (!isKnownOperator(op.base)) throw new Error(`${where}: condition operator "${operator}" is not supported`);
      if (op.base === "null" && (op.set || op.ifExists))
        throw new Error(`${where}: "${operator}" is not a valid operator`);
      for (const [key, values] of Object.entries(keys)) {
        for (const v of list(values)) {
          if (v.includes("${")) throw new Error(`${where}: policy variables (${key}: ${v}) are not supported`);
          if (op.base in NUMERIC_OPERATORS || NEGATED[op.base] in NUMERIC_OPERATORS) {
            if (!Number.isFinite(Number(v))) throw new Error(`${where}: ${operator} ${key} needs numbers, got "${v}"`);
          }
        }
      }
    }
  });
}

/** Does one positive (non-negated) operator match a single request value against any policy value? */
function anyMatches(base: string, value: string, policyValues: readonly string[]): boolean {
  const str = STRING_OPERATORS[base];
  if (str) return policyValues.some((p) => str(value, p));
  const num = NUMERIC_OPERATORS[base];
  if (num) {
    const n = Number(value);
    return value.trim() !== "" && Number.isFinite(n) && policyValues.some((p) => num(n, Number(p)));
  }
  if (base === "bool") return policyValues.some((p) => p.toLowerCase() === value.toLowerCase());
  throw new Error(`unsupported condition operator ${base}`);
}

/** One value of the request against one operator (negation applied). */
function valueMatches(base: string, value: string, policyValues: readonly string[]): boolean {
  const positive = NEGATED[base];
  return positive !== undefined ? !anyMatches(positive, value, policyValues) : anyMatches(base, value, policyValues);
}

function conditionMatches(
  operator: string,
  key: string,
  policyValues: readonly string[],
  context: ReadonlyMap<string, ContextValue>,
): boolean {
  const op = parseOperator(operator);
  const present = context.get(key.toLowerCase());
  if (op.base === "null") {
    const wantsMissing = policyValues.some((v) => v.toLowerCase() === "true");
    const wantsPresent = policyValues.some((v) => v.toLowerCase() === "false");
    return present === undefined ? wantsMissing : wantsPresent;
  }
  if (op.set !== undefined) {
    const values = present === undefined ? undefined : typeof present === "string" ? [present] : present;
    if (op.set === "forallvalues")
      return values === undefined || values.every((v) => valueMatches(op.base, v, policyValues));
    return values !== undefined && values.some((v) => valueMatches(op.base, v, policyValues));
  }
  if (present === undefined) return op.ifExists || op.base in NEGATED;
  // A multi-valued key needs a set operator.
  if (typeof present !== "string") return false;
  return valueMatches(op.base, present, policyValues);
}

function statementMatches(
  s: EvaluableStatement,
  req: AuthzRequest,
  context: ReadonlyMap<string, ContextValue>,
): boolean {
  const actionHit = (patternsOf: OneOrMany | undefined) =>
    list(patternsOf).some((p) => wildcard(p, true).test(req.action));
  if (s.Action !== undefined ? !actionHit(s.Action) : actionHit(s.NotAction)) return false;
  const resourceHit = (patternsOf: OneOrMany | undefined) =>
    list(patternsOf).some((p) => wildcard(p, false).test(req.resource));
  if (s.Resource !== undefined ? !resourceHit(s.Resource) : resourceHit(s.NotResource)) return false;
  for (const [operator, keys] of Object.entries(s.Condition ?? {})) {
    for (const [key, values] of Object.entries(keys)) {
      if (!conditionMatches(operator, key, list(values), context)) return false;
    }
  }
  return true;
}

/** The decision of identity policies on one request (explicit deny wins over any allow). */
export function evaluatePolicies(policies: readonly EvaluablePolicy[], req: AuthzRequest): Decision {
  const context = new Map(Object.entries(req.context).map(([k, v]) => [k.toLowerCase(), v] as const));
  let allowed = false;
  for (const p of policies) {
    for (const s of statements(p)) {
      if (!statementMatches(s, req, context)) continue;
      if (s.Effect === "Deny") return "ExplicitlyDenied";
      allowed = true;
    }
  }
  return allowed ? "Allowed" : "ImplicitlyDenied";
}
