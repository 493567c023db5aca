/** Lambda: post-processing chain, triggered by the trigger file in a job's process_results/. */
import { runPostProcess, type PostProcessOutcome, type S3NotificationEvent } from "../run";
import { invocationDeps, type LambdaContext } from "./aws-deps";

export async function handler(event: S3NotificationEvent, context?: LambdaContext): Promise<readonly PostProcessOutcome[]> {
  const outcomes = await runPostProcess(event, invocationDeps(context));
  console.log(JSON.stringify(outcomes));
  return outcomes;
}
