/**
 * Injectable entry points, all in one place for local mode and tests: the Lambda handlers
 * (handlers/*.ts) import each from its own module so that a bundle holds only its protocol.
 */
export { runSubmit } from "./job-manager";
export { runMonitor } from "./monitor";
export { runPostProcess } from "./postprocess";
export { runGuard } from "./guard";
export type { JobOutcome } from "./submission";
