/** Lambda: account guard sweeper (scheduled). Needs no NEUROCAAS_CONFIG; optional NEUROCAAS_EXEMPT_PARAMETER. */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { SSMClient } from "@aws-sdk/client-ssm";
import { ParameterStoreExemptions } from "../aws/ssm-parameters";
import { systemClock, type GuardDeps } from "../deps";
import { runGuard, type GuardDecision } from "../guard";
import { ec2Compute } from "./aws-compute";
import { log, MAX_ATTEMPTS, perContainer } from "./aws-deps";

/** The guard runs per account/region and needs no analysis config. */
const deps = perContainer((): GuardDeps => {
  const env = process.env;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const ssm = new SSMClient({ region, maxAttempts: MAX_ATTEMPTS });
  return {
    compute: ec2Compute(region, ssm, new CloudWatchClient({ region, maxAttempts: MAX_ATTEMPTS })),
    exemptions: new ParameterStoreExemptions(ssm, env.NEUROCAAS_EXEMPT_PARAMETER || undefined),
    clock: systemClock,
    log,
  };
});

export async function handler(event: unknown): Promise<readonly GuardDecision[]> {
  const decisions = await runGuard(event, deps());
  console.log(JSON.stringify(decisions.filter((d) => d.action !== "kept")));
  return decisions;
}
