import type { Command } from "commander";
import {
  addConnectionOptions,
  clientFromConnection,
  endpointFromConnection,
  type ConnectionArgs,
} from "../user/connection";
import { withS3Errors } from "../user/errors";
import { submitJob } from "../user/submit-job";
import { formatJobState, waitForJob } from "../user/job-state";
import { addTimeoutOption, OUTCOME_HELP, outcomeExitCode, stoppedMessage, timeoutMs } from "../user/outcome";
import { watchPrinter } from "../user/watch-printer";

interface SubmitOptions extends ConnectionArgs {
  readonly bucket: string;
  readonly group: string;
  readonly data: string[];
  readonly config: string;
  readonly timestamp?: string;
  readonly watch?: boolean;
  readonly timeout?: string;
}

export function register(program: Command): void {
  addConnectionOptions(
    addTimeoutOption(
      program
        .command("submit")
        .description(
          `upload data and config (or use existing keys) and start a job; prints the job id. With --watch, ${OUTCOME_HELP}`,
        )
        .requiredOption("--bucket <bucket>", "analysis bucket")
        .requiredOption("--group <group>", "your group folder")
        .requiredOption("--data <paths...>", "local files/folders, keys under {group}/ or s3:// URIs (one IAE each)")
        .requiredOption("--config <path>", "local config file (.json/.yaml/.yml), or its key")
        .option("--timestamp <id>", "job id (default: generated)")
        .option("--watch", "follow the job until it is over (end.txt, or stopped by the job manager)"),
      "--watch",
    ),
  ).action(async (opts: SubmitOptions) => {
    const timeout = timeoutMs(opts, opts.watch === true, "--watch");
    const endpoint = endpointFromConnection(opts);
    const client = clientFromConnection(opts);
    await withS3Errors({ client, bucket: opts.bucket, endpoint }, async () => {
      const job = await submitJob({
        client,
        bucket: opts.bucket,
        group: opts.group,
        data: opts.data,
        config: opts.config,
        timestamp: opts.timestamp,
        progressStream: process.stderr,
      });
      process.stderr.write(`submitted s3://${opts.bucket}/${job.submitKey}\n`);
      process.stdout.write(`${job.jobId}\n`);
      if (!opts.watch) return;
      const ref = { bucket: opts.bucket, group: opts.group, job: job.jobId, submitDigest: job.submitDigest };
      const state = await waitForJob(client, ref, { onPoll: watchPrinter(), timeoutMs: timeout });
      process.stderr.write(`${formatJobState(ref, state)}\n`);
      if (state.rejected) process.stderr.write(`${stoppedMessage(ref, state)}\n`);
      process.exitCode = outcomeExitCode(state);
    });
  });
}
