import type { Command } from "commander";
import { addConnectionOptions, clientFromConnection, type ConnectionArgs } from "../user/connection";
import { submitJob } from "../user/submit-job";
import { formatJobState, waitForJob } from "../user/job-state";
import { watchPrinter } from "../user/watch-printer";

interface SubmitOptions extends ConnectionArgs {
  readonly bucket: string;
  readonly group: string;
  readonly data: string[];
  readonly config: string;
  readonly timestamp?: string;
  readonly watch?: boolean;
}

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command("submit")
      .description("upload data and config (or use existing keys) and start a job; prints the job id")
      .requiredOption("--bucket <bucket>", "analysis bucket")
      .requiredOption("--group <group>", "your group folder")
      .requiredOption("--data <paths...>", "local files/folders, keys under {group}/ or s3:// URIs (one IAE each)")
      .requiredOption("--config <path>", "local config file (.json/.yaml/.yml), or its key")
      .option("--timestamp <id>", "job id (default: generated)")
      .option("--watch", "follow the job until end.txt appears"),
  ).action(async (opts: SubmitOptions) => {
    const client = clientFromConnection(opts);
    const job = await submitJob({ client, bucket: opts.bucket, group: opts.group, data: opts.data, config: opts.config, timestamp: opts.timestamp, progressStream: process.stderr });
    process.stderr.write(`submitted s3://${opts.bucket}/${job.submitKey}\n`);
    process.stdout.write(`${job.jobId}\n`);
    if (opts.watch) {
      const ref = { bucket: opts.bucket, group: opts.group, job: job.jobId };
      const state = await waitForJob(client, ref, { onPoll: watchPrinter() });
      process.stderr.write(`${formatJobState(ref, state)}\n`);
      if (state.datasets.some((d) => d.status !== "SUCCESS")) process.exitCode = 2;
    }
  });
}
