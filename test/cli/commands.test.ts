import { execFile } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createLocalS3Client, startLocalS3Server, type LocalS3Server } from "../../local/s3-server";

const CLI = path.resolve(__dirname, "../../bin/neurocaas");
const BUCKET = "analysis";
const JOB = "lab/results/job__analysis_t1";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The endpoint's key, as a user exports it (set once the server runs). */
let signing: NodeJS.ProcessEnv = {};

function run(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  // No AWS settings from the host: only the key the test gives.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));
  return new Promise((resolve) => {
    execFile(CLI, [...args], { env: { ...clean, ...signing, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("user CLI against a local endpoint (child processes)", () => {
  let s3: LocalS3Server;
  let client: S3Client;
  let dir: string;
  let common: string[];

  const put = (key: string, body: string) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from(body) }));
  const get = async (key: string) => (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();

  beforeAll(async () => {
    s3 = await startLocalS3Server({ buckets: [BUCKET] });
    client = createLocalS3Client(s3);
    signing = { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey };
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "cli-"));
    common = ["--bucket", BUCKET, "--group", "lab", "--endpoint-url", s3.endpoint];
  });
  afterAll(async () => {
    client.destroy();
    await s3.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("submit uploads data and config, writes the submit file last and prints the job id", async () => {
    await fsp.writeFile(path.join(dir, "d 1.csv"), "1,2\n3,4\n");
    await fsp.writeFile(path.join(dir, "cfg.yaml"), "n_components: 1\n");
    const r = await run(["submit", ...common, "--data", path.join(dir, "d 1.csv"), "lab/inputs/existing.csv", "--config", path.join(dir, "cfg.yaml"), "--timestamp", "t1"]);
    expect(r.stderr).toContain("submitted s3://analysis/lab/submissions/t1_submit.json");
    expect(r).toMatchObject({ code: 0, stdout: "t1\n" });
    expect(await get("lab/inputs/d 1.csv")).toBe("1,2\n3,4\n");
    expect(await get("lab/configs/cfg.yaml")).toBe("n_components: 1\n");
    expect(JSON.parse(await get("lab/submissions/t1_submit.json"))).toEqual({ dataname: ["lab/inputs/d 1.csv", "lab/inputs/existing.csv"], configname: "lab/configs/cfg.yaml", timestamp: "t1" });
  });

  it("without any credentials against a local endpoint, says where the keys are instead of signing with a fixed key", async () => {
    const home = await fsp.mkdtemp(path.join(os.tmpdir(), "no-aws-home-"));
    const r = await run(["status", ...common, "--job", "t1"], { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", HOME: home });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("no AWS credentials to sign requests to");
    expect(r.stderr).toContain("user-keys FILE");
    await fsp.rm(home, { recursive: true, force: true });
  });

  it("submit fails clearly on a bad argument and uploads nothing", async () => {
    const r = await run(["submit", ...common, "--data", path.join(dir, "missing.csv"), "--config", "lab/configs/c.json", "--timestamp", "t9"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("missing.csv\" is neither a local file or folder");
    await expect(get("lab/submissions/t9_submit.json")).rejects.toThrow();
  });

  it("status reports a missing job as an error and a running job as JSON", async () => {
    const missing = await run(["status", ...common, "--job", "nope"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('no job "nope"');

    await put(`${JOB}/logs/certificate.txt`, "PER ENVIRONMENT MONITORING:\n");
    await put(`${JOB}/logs/DATASET_NAME:d 1.csv_STATUS.txt`, JSON.stringify({ status: "IN PROGRESS", input: "lab/inputs/d 1.csv", reason: "" }));
    const r = await run(["status", ...common, "--job", "t1", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      bucket: BUCKET,
      group: "lab",
      job: "t1",
      jobFolder: JOB,
      finished: false,
      certificate: "PER ENVIRONMENT MONITORING:\n",
      datasets: [{ file: "DATASET_NAME:d 1.csv_STATUS.txt", status: "IN PROGRESS", input: "lab/inputs/d 1.csv", reason: "" }],
    });
  });

  it("results refuses an unfinished job, then downloads results and logs once end.txt exists", async () => {
    const out = path.join(dir, "out");
    const early = await run(["results", ...common, "--job", "t1", "-o", out]);
    expect(early.code).not.toBe(0);
    expect(early.stderr).toContain("has not finished");

    await put(`${JOB}/process_results/pca.json`, '{"a":1}');
    await put(`${JOB}/internal_ec2_logs/c/i-1/awsrunShellScript/0.awsrunShellScript/stdout`, "hello\n");
    await put(`${JOB}/process_results/end.txt`, "end of analysis marker");
    const r = await run(["results", ...common, "--job", "t1", "-o", out]);
    expect(r.code).toBe(0);
    expect(await fsp.readFile(path.join(out, "process_results", "pca.json"), "utf8")).toBe('{"a":1}');
    expect(await fsp.readFile(path.join(out, "logs", "certificate.txt"), "utf8")).toBe("PER ENVIRONMENT MONITORING:\n");
    expect(await fsp.readFile(path.join(out, "internal_ec2_logs", "c/i-1/awsrunShellScript/0.awsrunShellScript/stdout"), "utf8")).toBe("hello\n");
    expect(r.stderr).toContain("5 file(s) downloaded");

    const watched = await run(["status", ...common, "--job", "t1", "--watch"]);
    expect(watched.code).toBe(0);
    expect(watched.stdout).toContain("finished (end.txt present)");
    expect(watched.stdout).toContain("dataset lab/inputs/d 1.csv: IN PROGRESS");
  });
});
