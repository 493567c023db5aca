/** Lambda: post-processing chain, triggered by the trigger file in a job's process_results/. */
import { runPostProcess, type PostProcessOutcome, type S3NotificationEvent } from "../run";
import { awsProtocolDeps } from "./aws-deps";

export async function handler(event: S3NotificationEvent): Promise<readonly PostProcessOutcome[]> {
  const outcomes = await runPostProcess(event, awsProtocolDeps());
  console.log(JSON.stringify(outcomes));
  return outcomes;
}
