/** Lambda: monitor, triggered by the stack's one EventBridge rule on EC2 state changes. */
import { runMonitor, type Ec2StateChangeEvent, type MonitorOutcome } from "../run";
import { awsProtocolDeps } from "./aws-deps";

export async function handler(event: Ec2StateChangeEvent): Promise<MonitorOutcome> {
  const outcome = await runMonitor(event, awsProtocolDeps());
  if (outcome.action !== "ignored") console.log(JSON.stringify(outcome));
  return outcome;
}
