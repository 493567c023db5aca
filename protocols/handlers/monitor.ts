/** Lambda: monitor, triggered by the stack's one EventBridge rule on EC2 state changes. */
import { S3ObjectStore } from "../aws/s3-store";
import { systemClock, type MonitorDeps } from "../deps";
import { runMonitor, type Ec2StateChangeEvent, type MonitorOutcome } from "../monitor";
import { createS3Client } from "../s3-client";
import { ec2Compute } from "./aws-compute";
import { log, MAX_ATTEMPTS, perContainer, readRuntimeConfig, withInvocation, type LambdaContext } from "./aws-deps";

const deps = perContainer((): MonitorDeps => {
  const config = readRuntimeConfig();
  return {
    config,
    store: new S3ObjectStore(createS3Client({ region: config.region, maxAttempts: MAX_ATTEMPTS })),
    compute: ec2Compute(config.region),
    clock: systemClock,
    log,
  };
});

export async function handler(event: Ec2StateChangeEvent, context?: LambdaContext): Promise<MonitorOutcome> {
  const outcome = await runMonitor(event, withInvocation(deps(), context));
  if (outcome.action !== "ignored") console.log(JSON.stringify(outcome));
  return outcome;
}
