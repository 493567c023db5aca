/**
 * A reason to stop a job. `kind` selects the certificate wording: `AWS ERROR` for failures of
 * cloud services, `INTERNAL ERROR` for everything else (bad input, budget, limits).
 * `details` are extra certificate lines written before the step line (e.g. every problem found).
 */
export class JobError extends Error {
  constructor(
    message: string,
    readonly kind: "AWS" | "INTERNAL" = "INTERNAL",
    readonly details: readonly string[] = [],
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
    this.name = "JobError";
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether an error came from an AWS SDK call (it carries `$metadata`). */
export function isAwsError(err: unknown): boolean {
  return typeof err === "object" && err !== null && "$metadata" in err;
}

/** One JobError for a list of problems: the first is the reason; all are listed when there are several. */
export function problemsError(problems: readonly string[]): JobError {
  return new JobError(problems[0] ?? "invalid input", "INTERNAL", problems.length > 1 ? problems : []);
}
