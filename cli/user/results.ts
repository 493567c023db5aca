import * as path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { processResultsPrefix } from "../../model/layout";
import { ownJobFolder, type JobRef } from "./job-state";
import { downloadPrefix } from "../transfer";

export interface DownloadedResults {
  readonly dir: string;
  readonly files: readonly string[];
}

/**
 * Download `process_results/`, `logs/` and `internal_ec2_logs/` of a finished job into `dir`:
 * from `jobFolder` when given (as `readJobState` found it: the job folder, or the rejection folder
 * of a submission stopped at step 1), else from the job's own folder.
 */
export async function downloadResults(
  client: S3Client,
  ref: JobRef,
  dir: string,
  jobFolder?: string,
): Promise<DownloadedResults> {
  const folder = jobFolder ?? (await ownJobFolder(client, ref)).folder;
  const files: string[] = [];
  for (const sub of ["process_results", "logs", "internal_ec2_logs"]) {
    const prefix = sub === "process_results" ? processResultsPrefix(folder) : `${folder}/${sub}/`;
    files.push(...(await downloadPrefix(client, ref.bucket, prefix, path.join(dir, sub))));
  }
  return { dir: path.resolve(dir), files };
}
