import * as path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { jobFolderKey, processResultsPrefix } from "../../model/layout";
import type { JobRef } from "./job-state";
import { downloadPrefix } from "../transfer";

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

