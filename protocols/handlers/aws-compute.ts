import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import { Ec2ComputeBackend } from "../aws/ec2-compute";
import { DEFAULT_LIMITS, systemClock } from "../deps";
import { log, MAX_ATTEMPTS } from "./aws-deps";

/** The EC2 (instances) + SSM (commands) compute backend of the submit, monitor and guard Lambdas. */
export function ec2Compute(
  region: string,
  ssm: SSMClient = new SSMClient({ region, maxAttempts: MAX_ATTEMPTS }),
  cloudwatch?: CloudWatchClient,
): Ec2ComputeBackend {
  const ec2 = new EC2Client({ region, maxAttempts: MAX_ATTEMPTS });
  return new Ec2ComputeBackend({
    ec2,
    ssm,
    ...(cloudwatch ? { cloudwatch } : {}),
    sleep: systemClock.sleep,
    launchRetryMs: DEFAULT_LIMITS.launchRetryMs,
    log,
  });
}
