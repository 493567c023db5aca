import type { Command } from "commander";
import {
  addConnectionOptions,
  clientFromConnection,
  endpointFromConnection,
  type ConnectionArgs,
} from "../user/connection";
import { withS3Errors } from "../user/errors";
import { jobIsOver, jobIsUnknown, readJobState, waitForJob } from "../user/job-state";
import { validateJobId } from "../../model/job-id";
import { addTimeoutOption, EXIT_JOB_STOPPED, stoppedMessage, timeoutMs } from "../user/outcome";
import { downloadResults } from "../user/results";

interface ResultsOptions extends ConnectionArgs {
  readonly bucket: string;
  readonly group: string;
  readonly job: string;
  readonly output: string;
  readonly wait?: boolean;
  readonly timeout?: string;
}

export function register(program: Command): void {
  addConnectionOptions(
    addTimeoutOption(
      program
        .command("results")
        .description(
          `download a finished job's process_results/ and logs (exit status ${EXIT_JOB_STOPPED} when the job manager stopped the job: its logs are downloaded)`,
        )
        .requiredOption("--bucket <bucket>", "analysis bucket")
        .requiredOption("--group <group>", "your group folder")
        .requiredOption("--job <id>", "job id (the submit file's timestamp)")
        .requiredOption("-o, --output <dir>", "local directory to download into")
        .option("--wait", "wait until the job is over instead of failing when it is still running"),
      "--wait",
    ),
  ).action(async (opts: ResultsOptions) => {
    const timeout = timeoutMs(opts, opts.wait === true, "--wait");
    const endpoint = endpointFromConnection(opts);
    const client = clientFromConnection(opts);
    const ref = { bucket: opts.bucket, group: opts.group, job: validateJobId(opts.job) };
    await withS3Errors({ client, bucket: opts.bucket, endpoint }, async () => {
      const state = opts.wait ? await waitForJob(client, ref, { timeoutMs: timeout }) : await readJobState(client, ref);
      if (jobIsUnknown(state)) {
        throw new Error(
          `no job "${opts.job}" in s3://${opts.bucket}/${state.jobFolder}/: no certificate, status files or end.txt (check --job, --group and --bucket)`,
        );
      }
      if (!jobIsOver(state)) {
        throw new Error(
          `job ${opts.job} has not finished (no ${state.jobFolder}/process_results/end.txt); rerun with --wait to wait for it`,
        );
      }
      const res = await downloadResults(client, ref, opts.output, state.jobFolder);
      for (const f of res.files) process.stdout.write(`${f}\n`);
      process.stderr.write(`${res.files.length} file(s) downloaded to ${res.dir}\n`);
      if (state.rejected) {
        process.stderr.write(`${stoppedMessage(ref, state)}\n`);
        process.exitCode = EXIT_JOB_STOPPED;
      }
    });
  });
}
