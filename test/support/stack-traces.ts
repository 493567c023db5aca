/**
 * Runs `work` with stack traces off. Pulumi captures a stack trace for each of its internal
 * promises, and jest's source-mapped traces make that slow for programs with hundreds of resources
 * (a plan, a settled mock program).
 */
export async function withoutStackTraces<T>(work: () => Promise<T>): Promise<T> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return await work();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
