/**
 * Pulumi takes a stack trace for each of its internal promises (kept only for its leak reports)
 * and each resource registration (`new Error().stack`), and jest source-maps every frame of every
 * trace: for a program with hundreds of resources that costs seconds. A promise's trace is left
 * empty, a registration's is formatted plainly; every other trace (test failures, product errors)
 * keeps jest's mapping.
 */
type Prepare = (error: Error, frames: NodeJS.CallSite[]) => unknown;

const mapped = Error.prepareStackTrace as Prepare | undefined;
const PULUMI_RUNTIME = "/node_modules/@pulumi/pulumi/";
const PROMISE_TRACE = "/node_modules/@pulumi/pulumi/runtime/debuggable.js";

Error.prepareStackTrace = (error: Error, frames: NodeJS.CallSite[]): unknown => {
  const first = frames[0]?.getFileName() ?? "";
  if (first.endsWith(PROMISE_TRACE)) return String(error);
  if (first.includes(PULUMI_RUNTIME) || !mapped) {
    return [String(error), ...frames.map((f) => `    at ${f.toString()}`)].join("\n");
  }
  return mapped(error, frames);
};
