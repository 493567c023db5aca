/** Lambda: monitor, triggered by the stack's one EventBridge rule on EC2 state changes. */
import { runMonitor, type Ec2StateChangeEvent, type MonitorOutcome } from "../run";
import { invocationDeps, type LambdaContext } from "./aws-deps";

export async function handler(event: Ec2StateChangeEvent, context?: LambdaContext): Promise<MonitorOutcome> {
  const outcome = await runMonitor(event, invocationDeps(context));
  if (outcome.action !== "ignored") console.log(JSON.stringify(outcome));
  return outcome;
}
