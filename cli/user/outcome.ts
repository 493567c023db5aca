import type { Command } from "commander";
import { parseDuration } from "./duration";
import type { JobRef, JobState } from "./job-state";

/**
 * Exit status of the user commands that follow a job (`submit --watch`, `status --watch`,
 * `results`): scripts can tell a finished job from a failed or rejected one.
 */
const EXIT_DATASET_FAILED = 2;
export const EXIT_JOB_STOPPED = 3;

export const OUTCOME_HELP = `exit status: 0 every dataset SUCCESS, ${EXIT_DATASET_FAILED} a dataset did not succeed, ${EXIT_JOB_STOPPED} the job manager stopped the job, 1 any other error`;

export function outcomeExitCode(state: JobState): number {
  if (state.rejected) return EXIT_JOB_STOPPED;
  if (state.datasets.length === 0 || state.datasets.some((d) => d.status !== "SUCCESS")) return EXIT_DATASET_FAILED;
  return 0;
}

/** `job X was stopped by the job manager:` followed by its terminate reasons. */
export function stoppedMessage(ref: JobRef, state: JobState): string {
  const reasons =
    state.terminateReasons.length > 0
      ? state.terminateReasons
      : ["(no [JOB TERMINATE REASON] line: see the certificate)"];
  return [
    `job ${ref.job} was stopped by the job manager (s3://${ref.bucket}/${state.jobFolder}/logs/certificate.txt):`,
    ...reasons,
  ].join("\n");
}

/** `--timeout` for commands that wait. */
export function addTimeoutOption(cmd: Command, appliesTo: string): Command {
  return cmd.option(
    "--timeout <duration>",
    `with ${appliesTo}: give up after this long, e.g. 90 (seconds), 15m, 2h (default: until the job is over)`,
  );
}

/** The `--timeout` value in ms; an error when given without the option it bounds. */
export function timeoutMs(
  opts: { readonly timeout?: string },
  waiting: boolean,
  appliesTo: string,
): number | undefined {
  if (opts.timeout === undefined) return undefined;
  if (!waiting) throw new Error(`--timeout bounds a wait: use it together with ${appliesTo}`);
  return parseDuration(opts.timeout);
}
