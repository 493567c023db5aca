import { runSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import type { PolicyDocument } from "../../components/iam/document";

export const ACCOUNT = "123456789012";

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export interface SimRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
  readonly principal?: string;
}

/**
 * Evaluate one request against identity policies (and optionally a resource policy) with the
 * IAM simulator. Validation errors (unknown action, wrong resource type, bad condition key)
 * fail loudly instead of reading as a denial.
 */
export async function decide(
  identity: readonly PolicyDocument[],
  req: SimRequest,
  resourcePolicy?: PolicyDocument,
): Promise<Decision> {
  const simulation: Simulation = {
    request: {
      principal: req.principal ?? `arn:aws:iam::${ACCOUNT}:user/tester`,
      action: req.action,
      resource: { resource: req.resource, accountId: ACCOUNT },
      contextVariables: req.context ?? {},
    },
    identityPolicies: identity.map((p, i) => ({ name: `policy${i}`, policy: p as unknown as Record<string, unknown> })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy !== undefined ? { resourcePolicy: resourcePolicy as unknown as Record<string, unknown> } : {}),
  } as Simulation;
  const result = await runSimulation(simulation, {});
  if (result.resultType === "error") {
    throw new Error(`IAM simulation of ${req.action} on ${req.resource} is invalid: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult as Decision;
}

/** One request of an isolation matrix: who asks, what, and whether SPEC §1/§10 lets it through. */
export interface MatrixRow {
  readonly role: string;
  readonly label: string;
  readonly request: SimRequest;
  readonly expected: "Allowed" | "Denied";
  readonly identity: readonly PolicyDocument[];
  readonly resourcePolicy?: PolicyDocument;
}

export interface MatrixResult {
  readonly row: MatrixRow;
  readonly decision: Decision;
}

/** Runs every row; an "unexpected allow" is a request the matrix expects denied that IAM allows. */
export async function runMatrix(
  rows: readonly MatrixRow[],
): Promise<{ results: MatrixResult[]; unexpectedAllows: MatrixResult[]; unexpectedDenials: MatrixResult[] }> {
  const results: MatrixResult[] = [];
  for (const row of rows) results.push({ row, decision: await decide(row.identity, row.request, row.resourcePolicy) });
  return {
    results,
    unexpectedAllows: results.filter((r) => r.row.expected === "Denied" && r.decision === "Allowed"),
    unexpectedDenials: results.filter((r) => r.row.expected === "Allowed" && r.decision !== "Allowed"),
  };
}
