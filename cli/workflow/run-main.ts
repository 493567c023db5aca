import * as fs from "node:fs";
import * as path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { homeDirectory } from "../home";
import { initializeJob } from "./state";
import { WorkflowJob } from "./registry";
import { S3LogSink } from "./log-sinks";
import { logCommand } from "./log-command";
import { markFailed } from "./mark-failed";
import { joinUri } from "./s3-uri";
import { isS3Uri, parseS3Uri } from "../../protocols/s3-uri";
import { ensembleMemberOfConfig } from "./ensemble-member";
import { datasetLineName } from "../../model/layout";

/**
 * `run-main BUCKET DATAKEY RESULTFOLDER CONFIGKEY SCRIPT` — the 5-argument COMMAND convention
 * (SPEC 4.5/§5): initialize the job, register dataset/config/result path, fetch the inputs, run
 * `bash SCRIPT DATA CONFIG OUTDIR` under log-command, upload everything the script wrote to
 * OUTDIR into `process_results/`, then clean up. Resolves with the analysis' exit code.
 *
 * The script receives the local paths both as positional arguments and in the environment:
 *   NEUROCAAS_DATA         fetched dataset (file, or folder for a prefix dataset)
 *   NEUROCAAS_CONFIG_FILE  fetched config file
 *   NEUROCAAS_OUTDIR       empty folder whose contents become process_results/
 *   NEUROCAAS_BUCKET, NEUROCAAS_GROUP, NEUROCAAS_RESULTPATH (s3:// job folder), NEUROCAAS_JOB_DIR
 * and, for scripts written for the original run_main.sh, the legacy variables bucketname,
 * groupdir, resultdir, processdir, dataname, inputpath, configname, configpath (S3 keys/names).
 */
export interface RunMainArgs {
  readonly bucket: string;
  readonly dataKey: string;
  readonly resultFolder: string;
  readonly configKey: string;
  readonly script: string;
  /** Job directory (default: $NEUROCAAS_JOB_DIR, else ~/contribdata as in the original). */
  readonly jobDir?: string;
  readonly home?: string;
  readonly s3?: () => S3Client;
  readonly intervalMs?: number;
  readonly verifyDelayMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly note?: (message: string) => void;
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function runMain(a: RunMainArgs): Promise<number> {
  const home = a.home ?? homeDirectory();
  const env = a.env ?? process.env;
  const note = a.note ?? ((m: string) => process.stderr.write(`neurocaas run-main: ${m}\n`));
  const jobDir = initializeJob(a.jobDir ?? env.NEUROCAAS_JOB_DIR ?? path.join(home, "contribdata"), home);
  const job = new WorkflowJob({ home, s3: a.s3, note });

  job.registerDataset({ bucket: a.bucket, key: a.dataKey });
  job.registerConfig({ bucket: a.bucket, key: a.configKey });
  job.registerResultpath({ bucket: a.bucket, key: a.resultFolder });

  const reg = job.registration();
  const dataUri = reg.data.s3!;
  const datasetKey = parseS3Uri(dataUri).key;
  const resultUri = reg.resultpath.s3!;
  const result = parseS3Uri(resultUri);
  // An ensemble member reports in its own status file and certificate line (its config's jobnb).
  const configKey = isS3Uri(a.configKey) ? parseS3Uri(a.configKey).key : a.configKey;
  let member = ensembleMemberOfConfig(configKey);
  let sink = new S3LogSink({ client: job.s3, bucket: result.bucket, jobFolder: result.key, datasetKey, member });
  const failed = async (reason: string, exitCode = 1): Promise<number> => {
    note(reason);
    try {
      await markFailed({ sink, dataname: datasetLineName(datasetKey, member), input: datasetKey, reason, exitCode });
    } catch (e) {
      note(`could not record the failure in ${sink.statusLocation}: ${(e as Error).message}`);
    }
    return exitCode;
  };

  let data: string;
  let config: string;
  try {
    data = await job.fetch("data", { force: true });
    config = await job.fetch("config", { force: true });
  } catch (e) {
    return failed(`could not fetch the inputs: ${(e as Error).message}`);
  }
  note(`dataset at ${data}, config at ${config}`);
  if (ensembleMemberOfConfig(configKey, config) !== member) {
    member = ensembleMemberOfConfig(configKey, config);
    sink = new S3LogSink({ client: job.s3, bucket: result.bucket, jobFolder: result.key, datasetKey, member });
  }
  if (member !== undefined) note(`ensemble member ${member}`);

  const outDir = job.resultpathTmp();
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });

  const group = job.group();
  const resultFolderKey = isS3Uri(a.resultFolder) ? result.key : a.resultFolder.replace(/\/+$/, "");
  const scriptEnv: NodeJS.ProcessEnv = {
    ...env,
    NEUROCAAS_DATA: data,
    NEUROCAAS_CONFIG_FILE: config,
    NEUROCAAS_OUTDIR: outDir,
    NEUROCAAS_BUCKET: a.bucket,
    NEUROCAAS_GROUP: group,
    NEUROCAAS_RESULTPATH: resultUri,
    NEUROCAAS_JOB_DIR: jobDir,
    bucketname: a.bucket,
    groupdir: group,
    resultdir: resultFolderKey,
    processdir: joinUri(resultFolderKey, "process_results"),
    dataname: path.basename(data),
    inputpath: datasetKey,
    configname: path.basename(config),
    configpath: configKey,
  };
  const command = ["bash", a.script, data, config, outDir].map(shellQuote).join(" ");
  const run = await logCommand({
    command,
    sink,
    dataname: datasetLineName(datasetKey, member),
    input: datasetKey,
    env: scriptEnv,
    intervalMs: a.intervalMs,
    verifyDelayMs: a.verifyDelayMs ?? 1000,
    localLogFile: path.join(jobDir, "logs", "log.txt"),
  });

  if (run.interrupted) {
    note(`stopped (${run.reason}); results and cleanup skipped`);
    return run.exitCode;
  }
  try {
    for (const entry of fs.readdirSync(outDir).sort()) {
      const uploaded = await job.putResult(path.join(outDir, entry));
      note(`uploaded ${uploaded.length} file(s) for ${entry}`);
    }
  } catch (e) {
    return failed(
      `the analysis ${run.status === "SUCCESS" ? "succeeded" : "failed"} but uploading its results failed: ${(e as Error).message}`,
      run.exitCode || 1,
    );
  }
  try {
    await job.cleanup();
  } catch (e) {
    return failed(`cleanup failed: ${(e as Error).message}`, run.exitCode || 1);
  }
  return run.exitCode;
}
