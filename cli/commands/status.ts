import type { Command } from "commander";
import {
  addConnectionOptions,
  clientFromConnection,
  endpointFromConnection,
  type ConnectionArgs,
} from "../user/connection";
import { withS3Errors } from "../user/errors";
import { formatJobState, jobIsUnknown, readJobState, waitForJob, type JobRef, type JobState } from "../user/job-state";
import { validateJobId } from "../../model/job-id";
import { addTimeoutOption, OUTCOME_HELP, outcomeExitCode, stoppedMessage, timeoutMs } from "../user/outcome";
import { watchPrinter } from "../user/watch-printer";

interface StatusOptions extends ConnectionArgs {
  readonly bucket: string;
  readonly group: string;
  readonly job: string;
  readonly watch?: boolean;
  readonly json?: boolean;
  readonly timeout?: string;
}

export function jobStateJson(ref: JobRef, state: JobState): Record<string, unknown> {
  return {
    bucket: ref.bucket,
    group: ref.group,
    job: ref.job,
    analysis: state.analysis,
    jobFolder: state.jobFolder,
    finished: state.finished,
    rejected: state.rejected,
    terminateReasons: state.terminateReasons,
    certificate: state.certificate ?? null,
    datasets: state.datasets.map((d) => ({ file: d.file, ...d.body })),
  };
}

export function register(program: Command): void {
  addConnectionOptions(
    addTimeoutOption(
      program
        .command("status")
        .description(`show a job's certificate and dataset states. With --watch, ${OUTCOME_HELP}`)
        .requiredOption("--bucket <bucket>", "analysis bucket")
        .requiredOption("--group <group>", "your group folder")
        .requiredOption("--job <id>", "job id (the submit file's timestamp)")
        .option("--watch", "follow until the job is over (end.txt, or stopped by the job manager)")
        .option("--json", "machine-readable output"),
      "--watch",
    ),
  ).action(async (opts: StatusOptions) => {
    const timeout = timeoutMs(opts, opts.watch === true, "--watch");
    const endpoint = endpointFromConnection(opts);
    const client = clientFromConnection(opts);
    const ref = { bucket: opts.bucket, group: opts.group, job: validateJobId(opts.job) };
    await withS3Errors({ client, bucket: opts.bucket, endpoint }, async () => {
      const state = opts.watch
        ? await waitForJob(client, ref, { onPoll: opts.json ? undefined : watchPrinter(), timeoutMs: timeout })
        : await readJobState(client, ref);
      if (!opts.json && jobIsUnknown(state)) {
        throw new Error(
          `no job "${opts.job}" in s3://${opts.bucket}/${state.jobFolder}/ (yet): no certificate, status files or end.txt`,
        );
      }
      process.stdout.write(
        opts.json ? `${JSON.stringify(jobStateJson(ref, state), null, 2)}\n` : `${formatJobState(ref, state)}\n`,
      );
      if (state.rejected && !opts.json) process.stderr.write(`${stoppedMessage(ref, state)}\n`);
      if (opts.watch) process.exitCode = outcomeExitCode(state);
    });
  });
}
