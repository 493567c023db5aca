/** Lambda: account guard sweeper (scheduled). Needs no NEUROCAAS_CONFIG; optional NEUROCAAS_EXEMPT_PARAMETER. */
import { runGuard, type GuardDecision } from "../run";
import { awsGuardDeps } from "./aws-deps";

export async function handler(event: unknown): Promise<readonly GuardDecision[]> {
  const decisions = await runGuard(event, awsGuardDeps());
  console.log(JSON.stringify(decisions.filter((d) => d.action !== "kept")));
  return decisions;
}
