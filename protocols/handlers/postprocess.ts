/** Lambda: post-processing chain, triggered by the trigger file in a job's process_results/. Storage only. */
import { S3ObjectStore } from "../aws/s3-store";
import { systemClock, type PostProcessDeps } from "../deps";
import { runPostProcess, type PostProcessOutcome } from "../postprocess";
import type { S3NotificationEvent } from "../s3-event";
import { createS3Client } from "../s3-client";
import { log, MAX_ATTEMPTS, perContainer, readRuntimeConfig } from "./aws-deps";

const deps = perContainer((): PostProcessDeps => {
  const config = readRuntimeConfig();
  return {
    config,
    store: new S3ObjectStore(createS3Client({ region: config.region, maxAttempts: MAX_ATTEMPTS })),
    clock: systemClock,
    log,
  };
});

export async function handler(event: S3NotificationEvent): Promise<readonly PostProcessOutcome[]> {
  const outcomes = await runPostProcess(event, deps());
  console.log(JSON.stringify(outcomes));
  return outcomes;
}
