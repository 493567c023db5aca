/** Lambda: job manager, triggered by `s3:ObjectCreated:*` on `{group}/submissions/*submit.json`. */
import { runSubmit, type S3NotificationEvent } from "../run";
import { invocationDeps, type LambdaContext } from "./aws-deps";

/** Returns 0 when the job started, 99 when it was rejected (reason in the certificate). */
export async function handler(event: S3NotificationEvent, context?: LambdaContext): Promise<number> {
  const report = await runSubmit(event, invocationDeps(context));
  console.log(JSON.stringify(report));
  return report.exitCode;
}
