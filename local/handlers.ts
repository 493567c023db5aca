import type { ProtocolDeps } from "../protocols/deps";
import type { Ec2StateChangeEvent, LambdaS3Event } from "./events";

/**
 * The handler entry points local mode invokes: the same functions the Lambdas run, with local
 * dependencies. `submit` returns the job manager's result (0 = job started, 99 = rejected).
 */
export interface LocalHandlers {
  submit(event: LambdaS3Event, deps: ProtocolDeps): Promise<number>;
  monitor(event: Ec2StateChangeEvent, deps: ProtocolDeps): Promise<unknown>;
  postProcess(event: LambdaS3Event, deps: ProtocolDeps): Promise<unknown>;
}
