/** Lambda: job manager, triggered by `s3:ObjectCreated:*` on `{group}/submissions/*submit.json`. */
import { PricingClient } from "@aws-sdk/client-pricing";
import { SSMClient } from "@aws-sdk/client-ssm";
import { PricingApiPriceSource } from "../aws/pricing";
import { S3ObjectStore } from "../aws/s3-store";
import { ParameterStoreBudgets } from "../aws/ssm-parameters";
import { systemClock, type ProtocolDeps } from "../deps";
import { runSubmit } from "../job-manager";
import type { S3NotificationEvent } from "../s3-event";
import { createS3Client } from "../s3-client";
import { ec2Compute } from "./aws-compute";
import { log, MAX_ATTEMPTS, perContainer, readRuntimeConfig, withInvocation, type LambdaContext } from "./aws-deps";

const deps = perContainer((): ProtocolDeps => {
  const config = readRuntimeConfig();
  const ssm = new SSMClient({ region: config.region, maxAttempts: MAX_ATTEMPTS });
  return {
    config,
    store: new S3ObjectStore(createS3Client({ region: config.region, maxAttempts: MAX_ATTEMPTS })),
    compute: ec2Compute(config.region, ssm),
    budgets: new ParameterStoreBudgets(ssm, config.budgetParameterPrefix),
    // The Pricing API is served from us-east-1.
    prices: new PricingApiPriceSource(
      new PricingClient({ region: "us-east-1", maxAttempts: MAX_ATTEMPTS }),
      undefined,
      log,
    ),
    clock: systemClock,
    log,
  };
});

/** Returns 0 when the job started, 99 when it was rejected (reason in the certificate). */
export async function handler(event: S3NotificationEvent, context?: LambdaContext): Promise<number> {
  const report = await runSubmit(event, withInvocation(deps(), context));
  console.log(JSON.stringify(report));
  return report.exitCode;
}
