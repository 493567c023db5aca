import * as path from "node:path";
import type { Command } from "commander";
import { initializeJob } from "../workflow/state";
import { WorkflowJob, type SourceArgs } from "../workflow/registry";
import { LocalLogSink, S3LogSink } from "../workflow/log-sinks";
import { logCommand } from "../workflow/log-command";
import { runMain } from "../workflow/run-main";
import { groupOfUri, joinUri } from "../workflow/s3-uri";
import { isS3Uri, parseS3Uri } from "../../protocols/s3-uri";
import { ensembleMemberOfRegistration } from "../workflow/ensemble-member";
import { datasetLineName } from "../../model/layout";

/**
 * `neurocaas workflow ...` — the IAE-side commands of SPEC §5 (names and flags of the original
 * neurocaas-contrib). Getters print exactly one line on stdout; notes go to stderr.
 */

function println(value: string): void {
  process.stdout.write(`${value}\n`);
}

interface SourceOpts {
  bucket?: string;
  key?: string;
  localpath?: string;
}

function source(o: SourceOpts): SourceArgs {
  return { bucket: o.bucket, key: o.key, localpath: o.localpath };
}

function withSourceOptions(cmd: Command, what: string): Command {
  return cmd
    .option("-b, --bucket <bucket>", `bucket holding the ${what}`)
    .option("-k, --key <key>", `key of the ${what} in the bucket (or a full s3:// URI)`)
    .option("-l, --localpath <path>", `local path of the ${what} (instead of -b/-k)`);
}

function withFetchOptions(cmd: Command): Command {
  return cmd
    .option("-o, --outputpath <dir>", "directory to fetch into")
    .option("-f, --force", "fetch again even if the target exists", false)
    .option("-d, --display", "say on stderr what was fetched from where", false);
}

async function runLogged(
  job: WorkflowJob,
  sink: S3LogSink | LocalLogSink,
  command: string,
  verifyDelayMs: number,
): Promise<void> {
  const dataname = datasetLineName(job.datasetKey(), ensembleMemberOfRegistration(job.registration().config));
  process.stderr.write(`neurocaas: logging to ${sink.statusLocation}\n`);
  const result = await logCommand({
    command,
    sink,
    dataname,
    input: job.datasetKey(),
    verifyDelayMs,
    localLogFile: path.join(job.jobDir, "logs", "log.txt"),
  });
  process.exitCode = result.exitCode;
}

export function register(program: Command): void {
  const wf = program
    .command("workflow")
    .description(
      "IAE workflow: register and fetch inputs, log the analysis, upload results (run inside an analysis environment)",
    );

  wf.command("initialize-job")
    .description("create (or reset) a job directory and make it the current job")
    .requiredOption("-p, --path <dir>", "directory where inputs, configs, results and logs are kept")
    .action((o: { path: string }) => {
      initializeJob(o.path);
    });

  withSourceOptions(
    wf.command("register-dataset").description("register the dataset (S3 with -b/-k, or local with -l)"),
    "dataset",
  ).action((o: SourceOpts) => new WorkflowJob().registerDataset(source(o)));
  withSourceOptions(
    wf.command("register-config").description("register the config file (S3 with -b/-k, or local with -l)"),
    "config",
  ).action((o: SourceOpts) => new WorkflowJob().registerConfig(source(o)));
  withSourceOptions(
    wf
      .command("register-file")
      .description("register an additional file under a name")
      .requiredOption("-n, --name <name>", "name to refer to the file by"),
    "file",
  ).action((o: SourceOpts & { name: string }) => new WorkflowJob().registerFile(o.name, source(o)));
  withSourceOptions(
    wf
      .command("register-resultpath")
      .description(
        "register where results go: s3://BUCKET/{group}/KEY (group of the registered dataset), or a local folder",
      ),
    "result folder",
  ).action((o: SourceOpts) => new WorkflowJob().registerResultpath(source(o)));

  type FetchOpts = { outputpath?: string; force: boolean; display: boolean };
  const fetched = (o: FetchOpts, source: string | undefined, local: string): void => {
    if (o.display) process.stderr.write(`fetched ${source} to ${local}\n`);
    println(local);
  };
  withFetchOptions(
    wf
      .command("get-data")
      .description("fetch the registered dataset (default into JOBDIR/inputs/); prints its local path"),
  ).action(async (o: FetchOpts) => {
    const job = new WorkflowJob();
    const local = await job.fetch("data", { outDir: o.outputpath, force: o.force });
    fetched(o, job.registration().data.s3 ?? job.registration().data.localsource, local);
  });
  withFetchOptions(
    wf
      .command("get-config")
      .description("fetch the registered config (default into JOBDIR/configs/); prints its local path"),
  ).action(async (o: FetchOpts) => {
    const job = new WorkflowJob();
    const local = await job.fetch("config", { outDir: o.outputpath, force: o.force });
    fetched(o, job.registration().config.s3 ?? job.registration().config.localsource, local);
  });
  withFetchOptions(
    wf
      .command("get-file")
      .description("fetch a registered file (default into JOBDIR/inputs/); prints its local path")
      .requiredOption("-n, --name <name>", "name the file was registered under"),
  ).action(async (o: FetchOpts & { name: string }) => {
    const job = new WorkflowJob();
    const local = await job.fetchFile(o.name, { outDir: o.outputpath, force: o.force });
    const loc = job.registration().additional_files[o.name];
    fetched(o, loc?.s3 ?? loc?.localsource, local);
  });

  wf.command("put-result")
    .description("upload a file or folder to {resultpath}/process_results/{basename}")
    .requiredOption("-r, --resultpath <path>", "local file or folder to upload")
    .option("-d, --display", "print each uploaded location on stderr", false)
    .action(async (o: { resultpath: string; display: boolean }) => {
      const done = await new WorkflowJob().putResult(o.resultpath);
      if (o.display) for (const d of done) process.stderr.write(`uploaded ${d}\n`);
    });

  wf.command("get-dataname")
    .description("print the dataset's file name")
    .action(() => println(new WorkflowJob().name("data")));
  wf.command("get-configname")
    .description("print the config's file name")
    .action(() => println(new WorkflowJob().name("config")));
  wf.command("get-datapath")
    .description("print the local path of the fetched dataset")
    .action(() => println(new WorkflowJob().localPath("data")));
  wf.command("get-configpath")
    .description("print the local path of the fetched config")
    .action(() => println(new WorkflowJob().localPath("config")));
  wf.command("get-filename")
    .description("print the file name of a registered file")
    .requiredOption("-n, --name <name>", "name the file was registered under")
    .action((o: { name: string }) => println(new WorkflowJob().fileName(o.name)));
  wf.command("get-filepath")
    .description("print the local path of a fetched file")
    .requiredOption("-n, --name <name>", "name the file was registered under")
    .action((o: { name: string }) => println(new WorkflowJob().filePath(o.name)));
  wf.command("get-group")
    .description("print the group of the registered dataset")
    .action(() => println(new WorkflowJob().group()));
  wf.command("get-bucket")
    .description("print the bucket of the registered dataset")
    .action(() => println(new WorkflowJob().bucket()));
  wf.command("get-resultpath-tmp")
    .description("print a local scratch folder for results (JOBDIR/results, created when missing)")
    .action(() => println(new WorkflowJob().resultpathTmp()));
  wf.command("get-resultpath")
    .description("print where put-result would upload a local file or folder")
    .requiredOption("-l, --locpath <path>", "local file or folder")
    .action((o: { locpath: string }) => println(new WorkflowJob().resultpathFor(o.locpath)));

  wf.command("log-command")
    .description(
      "run a command, stream its output, and keep the dataset status file and certificate line up to date; exits with the command's exit code",
    )
    .requiredOption("-c, --command <command>", 'shell command to run (e.g. "bash run.sh")')
    .option("-b, --bucket <bucket>", "bucket of the job folder (default: from the registered result path)")
    .option(
      "-r, --resultfolder <folder>",
      "result folder inside the group, e.g. results/job__ANALYSIS_TS, or an s3:// URI",
    )
    .action(async (o: { command: string; bucket?: string; resultfolder?: string }) => {
      const job = new WorkflowJob();
      const dataUri = job.registration().data.s3;
      if (!dataUri)
        throw new Error(
          "log-command needs a dataset registered from S3 (register-dataset -b BUCKET -k KEY); use log-command-local for local runs",
        );
      let jobFolderUri: string;
      if (o.resultfolder && isS3Uri(o.resultfolder)) jobFolderUri = o.resultfolder;
      else if (o.resultfolder && o.bucket)
        jobFolderUri = joinUri(`s3://${o.bucket}`, groupOfUri(dataUri), o.resultfolder);
      else if (!o.resultfolder && !o.bucket && job.registration().resultpath.s3)
        jobFolderUri = job.registration().resultpath.s3!;
      else throw new Error("log-command: pass -b BUCKET -r RESULTFOLDER (or register an S3 result path first)");
      const { bucket, key } = parseS3Uri(jobFolderUri);
      const sink = new S3LogSink({
        client: job.s3,
        bucket,
        jobFolder: key.replace(/\/+$/, ""),
        datasetKey: parseS3Uri(dataUri).key,
        member: ensembleMemberOfRegistration(job.registration().config),
      });
      await runLogged(job, sink, o.command, 1000);
    });

  wf.command("log-command-local")
    .description(
      "like log-command, writing the status file and certificate to {local resultpath}/logs/ (or JOBDIR/logs/)",
    )
    .requiredOption("-c, --command <command>", "shell command to run")
    .action(async (o: { command: string }) => {
      const job = new WorkflowJob();
      const local = job.registration().resultpath.localsource;
      const logsDir = local ? path.join(local, "logs") : path.join(job.jobDir, "logs");
      if (!local) process.stderr.write(`neurocaas: no local result path registered; writing logs to ${logsDir}\n`);
      const sink = new LocalLogSink({
        logsDir,
        datasetName: job.datasetKey(),
        member: ensembleMemberOfRegistration(job.registration().config),
      });
      await runLogged(job, sink, o.command, 0);
    });

  wf.command("cleanup")
    .description(
      "upload the config copy and an empty update.txt to process_results/ (safe to run twice; never writes end.txt)",
    )
    .action(async () => {
      await new WorkflowJob().cleanup();
    });

  wf.command("run-main")
    .description(
      "the 5-argument COMMAND convention: fetch inputs, run `bash SCRIPT DATA CONFIG OUTDIR` under log-command, upload OUTDIR to process_results/, clean up",
    )
    .argument("<bucket>", "input bucket")
    .argument("<datakey>", "dataset key")
    .argument("<resultfolder>", "result folder (results/job__ANALYSIS_TS, or an s3:// URI)")
    .argument("<configkey>", "config key")
    .argument("<script>", "analysis script run with bash")
    .option("-j, --job-dir <dir>", "job directory (default: $NEUROCAAS_JOB_DIR or ~/contribdata)")
    .action(
      async (
        bucket: string,
        dataKey: string,
        resultFolder: string,
        configKey: string,
        script: string,
        o: { jobDir?: string },
      ) => {
        process.exitCode = await runMain({ bucket, dataKey, resultFolder, configKey, script, jobDir: o.jobDir });
      },
    );
}
