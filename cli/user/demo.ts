import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createLocalS3Client } from "../../local/s3-server";
import { startLocal, type StartLocalArgs } from "../../local/server";
import { loadLocalAnalyses } from "../../local/stack";
import { reasonText } from "../../protocols/dataset-status";
import { waitForJob, type JobState } from "./job-state";
import { downloadResults } from "./results";
import { submitJob } from "./submit-job";

export interface DemoArgs extends Pick<StartLocalArgs, "repoRoot" | "handlers" | "fallbackPrice" | "stackFiles"> {
  readonly data: string;
  readonly config: string;
  /** Where everything goes (data dir and downloaded results); default: a new temp directory. */
  readonly workDir?: string;
  readonly timeoutMs?: number;
  readonly out: (line: string) => void;
}

export interface DemoResult {
  readonly ok: boolean;
  /** Why the demo failed (undefined when ok). */
  readonly reason?: string;
  readonly jobId: string;
  readonly resultsDir: string;
  readonly files: readonly string[];
  readonly state: JobState;
}

/**
 * `npm run demo`: local NeuroCAAS in a temp directory, the example data and config uploaded and
 * submitted like a user would, results downloaded once end.txt appears.
 */
export async function runDemo(args: DemoArgs): Promise<DemoResult> {
  for (const f of [args.data, args.config]) {
    if (!(await fsp.stat(f).catch(() => undefined))?.isFile()) throw new Error(`demo input ${f} is missing`);
  }
  const configs = loadLocalAnalyses(args.stackFiles);
  const [config] = configs.values();
  const group = config?.affiliates.find((a) => a.UserInput)?.AffiliateName;
  if (!config || !group)
    throw new Error(
      `the demo stack (${args.stackFiles.join(", ")}) needs an analysis with an affiliate that has UserInput: true`,
    );
  const workDir = args.workDir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), "neurocaas-demo-")));
  const local = await startLocal({ ...args, port: 0, dataDir: path.join(workDir, "data"), log: undefined });
  let client = local.client;
  try {
    args.out(`local NeuroCAAS at ${local.endpoint} (data in ${local.dataDir})`);
    // Act as a user of the group would: with their own key and their group's permissions.
    const user = local.keys.userIn(config.bucketName, group);
    const credentials = user !== undefined ? local.keys.user(user) : undefined;
    if (credentials !== undefined)
      client = createLocalS3Client({ endpoint: local.endpoint, credentials }, config.region);
    args.out(
      user !== undefined
        ? `acting as user ${user} of group ${group} (key from ${local.credentialsFile})`
        : `group ${group} lists no users: acting with full access`,
    );
    const job = await submitJob({ client, bucket: config.bucketName, group, data: [args.data], config: args.config });
    args.out(`submitted job ${job.jobId}: s3://${config.bucketName}/${job.submitKey}`);
    const ref = { bucket: config.bucketName, analysis: config.analysisName, group, job: job.jobId };
    const seen = new Map<string, string>();
    const state = await waitForJob(client, ref, {
      intervalMs: 500,
      timeoutMs: args.timeoutMs ?? 300_000,
      onPoll: (s) => {
        for (const d of s.datasets) {
          if (d.status && seen.get(d.file) !== d.status) {
            seen.set(d.file, d.status);
            args.out(`  ${d.input ?? d.file}: ${d.status}`);
          }
        }
      },
    });
    const resultsDir = path.join(workDir, "results");
    const { files } = await downloadResults(client, ref, resultsDir, state.jobFolder);
    const failed = state.datasets.filter((d) => d.status !== "SUCCESS");
    const reason =
      state.datasets.length === 0
        ? "the job started no dataset (see the certificate)"
        : failed.length > 0
          ? failed
              .map(
                (d) =>
                  `${d.input ?? d.file} ended ${d.status ?? "without a status"}${reasonText(d.reason) ? `: ${reasonText(d.reason)}` : ""}`,
              )
              .join("; ")
          : undefined;
    return { ok: reason === undefined, reason, jobId: job.jobId, resultsDir, files, state };
  } finally {
    if (client !== local.client) client.destroy();
    await local.close();
  }
}
