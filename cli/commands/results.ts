import * as path from "node:path";
import type { Command } from "commander";
import type { S3Client } from "@aws-sdk/client-s3";
import { addConnectionOptions, clientFromConnection, type ConnectionArgs } from "../user/connection";
import { readJobState, waitForJob, type JobRef } from "../user/job-state";
import { validateJobId } from "../user/job-id";
import { downloadPrefix } from "../user/transfer";
import { jobFolderKey, processResultsPrefix } from "../../protocols/layout";

interface ResultsOptions extends ConnectionArgs {
  readonly bucket: string;
  readonly group: string;
  readonly job: string;
  readonly output: string;
  readonly wait?: boolean;
}

export interface DownloadedResults {
  readonly dir: string;
  readonly files: readonly string[];
}

/** Download `process_results/`, `logs/` and `internal_ec2_logs/` of a finished job into `dir`. */
export async function downloadResults(client: S3Client, ref: JobRef, dir: string): Promise<DownloadedResults> {
  const jobFolder = jobFolderKey(ref.group, ref.bucket, ref.job);
  const files: string[] = [];
  for (const sub of ["process_results", "logs", "internal_ec2_logs"]) {
    const prefix = sub === "process_results" ? processResultsPrefix(jobFolder) : `${jobFolder}/${sub}/`;
    files.push(...(await downloadPrefix(client, ref.bucket, prefix, path.join(dir, sub))));
  }
  return { dir: path.resolve(dir), files };
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
