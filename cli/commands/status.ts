import type { Command } from "commander";
import { addConnectionOptions, clientFromConnection, type ConnectionArgs } from "../user/connection";
import { formatJobState, readJobState, waitForJob, type JobRef, type JobState } from "../user/job-state";
import { validateJobId } from "../user/job-id";
import { watchPrinter } from "../user/watch-printer";

interface StatusOptions extends ConnectionArgs {
  readonly bucket: string;
  readonly group: string;
  readonly job: string;
  readonly watch?: boolean;
  readonly json?: boolean;
}

export function jobStateJson(ref: JobRef, state: JobState): Record<string, unknown> {
  return {
    ...ref,
    jobFolder: state.jobFolder,
    finished: state.finished,
    certificate: state.certificate ?? null,
    datasets: state.datasets.map((d) => ({ file: d.file, ...d.body })),
  };
}

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command("status")
      .description("show a job's certificate and dataset states")
      .requiredOption("--bucket <bucket>", "analysis bucket")
      .requiredOption("--group <group>", "your group folder")
      .requiredOption("--job <id>", "job id (the submit file's timestamp)")
      .option("--watch", "follow until end.txt appears")
      .option("--json", "machine-readable output"),
  ).action(async (opts: StatusOptions) => {
    const client = clientFromConnection(opts);
    const ref = { bucket: opts.bucket, group: opts.group, job: validateJobId(opts.job) };
    const state = opts.watch ? await waitForJob(client, ref, { onPoll: opts.json ? undefined : watchPrinter() }) : await readJobState(client, ref);
    if (!opts.json && state.certificate === undefined && state.datasets.length === 0 && !state.finished) {
      throw new Error(`no job "${opts.job}" in s3://${opts.bucket}/${state.jobFolder}/ (yet): no certificate, status files or end.txt`);
    }
    process.stdout.write(opts.json ? `${JSON.stringify(jobStateJson(ref, state), null, 2)}\n` : `${formatJobState(ref, state)}\n`);
  });
}
