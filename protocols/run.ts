/**
 * Injectable entry points, all in one place for local mode and tests: the Lambda handlers
 * (handlers/*.ts) import each from its own module so that a bundle holds only its protocol.
 */
export { runSubmit, type SubmitReport } from "./job-manager";
export { runMonitor, type Ec2StateChangeEvent, type MonitorOutcome } from "./monitor";
export { runPostProcess, type PostProcessOutcome } from "./postprocess";
export { runGuard, type GuardDecision } from "./guard";
export type { S3NotificationEvent } from "./s3-event";
export type { JobOutcome } from "./submission";
