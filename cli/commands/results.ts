import type { Command } from "commander";
import { addConnectionOptions, clientFromConnection, type ConnectionArgs } from "../user/connection";
import { readJobState, waitForJob } from "../user/job-state";
import { validateJobId } from "../user/job-id";
import { downloadResults } from "../user/results";

interface ResultsOptions extends ConnectionArgs {
  readonly bucket: string;
  readonly group: string;
  readonly job: string;
  readonly output: string;
  readonly wait?: boolean;
}

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command("results")
      .description("download a finished job's process_results/ and logs")
      .requiredOption("--bucket <bucket>", "analysis bucket")
      .requiredOption("--group <group>", "your group folder")
      .requiredOption("--job <id>", "job id (the submit file's timestamp)")
      .requiredOption("-o, --output <dir>", "local directory to download into")
      .option("--wait", "wait for end.txt instead of failing when the job is still running"),
  ).action(async (opts: ResultsOptions) => {
    const client = clientFromConnection(opts);
    const ref = { bucket: opts.bucket, group: opts.group, job: validateJobId(opts.job) };
    const state = opts.wait ? await waitForJob(client, ref) : await readJobState(client, ref);
    if (!state.finished) {
      throw new Error(`job ${opts.job} has not finished (no ${state.jobFolder}/process_results/end.txt); rerun with --wait to wait for it`);
    }
    const res = await downloadResults(client, ref, opts.output);
    for (const f of res.files) process.stdout.write(`${f}\n`);
    process.stderr.write(`${res.files.length} file(s) downloaded to ${res.dir}\n`);
  });
}
