/**
 * End to end in local mode: an analysis stack whose bucket is named apart from its PipelineName
 * (`neurocaas:bucketName`; bucket names are global across AWS accounts). A user who knows only the
 * bucket submits with the user CLI (child processes, her own key); the job runs in
 * `job__{PipelineName}_{ts}` inside the bucket, reaches SUCCESS, and `status` / `results` find it.
 */
import { execFile } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { fallbackHourlyPrice, protocolHandlers } from "../../local/protocol-handlers";
import { startLocal, type LocalNeurocaas } from "../../local/server";
import { writeStackFile } from "./support/stack";

jest.setTimeout(240_000);

const REPO = path.resolve(__dirname, "../..");
const CLI = path.join(REPO, "bin/neurocaas");
const ANALYSIS = "e2e-named";
const BUCKET = "e2e-named-lab2-bucket";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe("local NeuroCAAS with neurocaas:bucketName", () => {
  let dir: string;
  let local: LocalNeurocaas;
  let env: NodeJS.ProcessEnv;

  const cli = (args: readonly string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(CLI, [...args, "--endpoint-url", local.endpoint], { env, timeout: 180_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "neurocaas-bucketname-"));
    const stack = await writeStackFile(dir, {
      name: ANALYSIS,
      bucketName: BUCKET,
      command: 'echo "bucket={}" "data={}" "result={}" "config={}"',
    });
    local = await startLocal({
      port: 0,
      dataDir: path.join(dir, "data"),
      stackFiles: [stack],
      repoRoot: REPO,
      handlers: protocolHandlers,
      fallbackPrice: fallbackHourlyPrice,
      secondsPerMinute: 1,
    });
    const alice = local.keys.user("alice")!;
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));
    env = {
      ...clean,
      AWS_ACCESS_KEY_ID: alice.accessKeyId,
      AWS_SECRET_ACCESS_KEY: alice.secretAccessKey,
      AWS_REGION: "us-east-1",
    };
  });
  afterAll(async () => {
    await local?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("serves the bucket by its own name, not the analysis name", () => {
    expect(local.buckets).toEqual([BUCKET]);
  });

  it("submit, status and results work for a user who knows only the bucket", async () => {
    const data = path.join(dir, "data.csv");
    const config = path.join(dir, "config.yaml");
    await fsp.writeFile(data, "x,y\n1,2\n");
    await fsp.writeFile(config, "__duration__: 5\n");
    const common = ["--bucket", BUCKET, "--group", "lab"];

    const submitted = await cli([
      "submit",
      ...common,
      "--data",
      data,
      "--config",
      config,
      "--timestamp",
      "n1",
      "--watch",
      "--timeout",
      "150",
    ]);
    expect(submitted.stderr).not.toMatch(/AccessDenied/);
    expect(submitted.code).toBe(0);
    const jobFolder = `lab/results/job__${ANALYSIS}_n1`;

    // The job folder is named after the analysis, inside the bucket named apart from it.
    const listed = await local.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "lab/results/" }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    expect(keys).toContain(`${jobFolder}/process_results/end.txt`);
    expect(keys.filter((k) => k.includes(`job__${BUCKET}`))).toEqual([]);

    const status = await cli(["status", ...common, "--job", "n1", "--json"]);
    expect(status.code).toBe(0);
    const state = JSON.parse(status.stdout) as {
      analysis: string;
      jobFolder: string;
      finished: boolean;
      certificate: string;
      datasets: { status: string }[];
    };
    expect(state).toMatchObject({ analysis: ANALYSIS, jobFolder, finished: true });
    expect(state.datasets.map((d) => d.status)).toEqual(["SUCCESS"]);
    expect(state.certificate).toContain(
      `[Job Manager] Job job__${ANALYSIS}_n1 received from lab/submissions/n1_submit.json.`,
    );

    const out = path.join(dir, "results");
    const results = await cli(["results", ...common, "--job", "n1", "-o", out]);
    expect(results.code).toBe(0);
    const certificate = await fsp.readFile(path.join(out, "logs", "certificate.txt"), "utf8");
    expect(certificate).toContain("STATUS: SUCCESS");
    // The command's placeholders: the bucket, the dataset, the job folder named after the analysis.
    const logs = path.join(out, "internal_ec2_logs");
    const files = (await fsp.readdir(logs, { recursive: true })).map(String);
    const output = (
      await Promise.all(
        files.map(async (f) =>
          (await fsp.stat(path.join(logs, f))).isFile() ? fsp.readFile(path.join(logs, f), "utf8") : "",
        ),
      )
    ).join("\n");
    expect(output).toContain(
      `bucket=${BUCKET} data=lab/inputs/data.csv result=results/job__${ANALYSIS}_n1 config=lab/configs/config.yaml`,
    );
  });
});
