import { execFile } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createLocalS3Client, startLocalS3Server, type LocalS3Server } from "../../local/s3-server";
import { sha256 } from "../../protocols/job-record";
import { runCliInProcess, withoutHostAws } from "../support/cli-in-process";

const CLI = path.resolve(__dirname, "../../bin/neurocaas");
const BUCKET = "analysis";
const JOB = "lab/results/job__analysis_t1";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A certificate as the job manager leaves it when it rejects a job (no IAE started, no end.txt). */
const REJECTED_CERTIFICATE = [
  "PER ENVIRONMENT MONITORING:",
  "================",
  "================",
  "",
  "JOB MANAGER SETUP LOG:",
  "[Job Manager] Job job__analysis_r1 received from lab/submissions/r1_submit.json.\t [+0:00:00.01]",
  "[Job Manager] STEP 1/4 (Initialization): DONE\t [+0:00:00.02]",
  "[Job Manager] STEP 2/4 (Validation): INTERNAL ERROR. [JOB TERMINATE REASON] Job is not covered by budget. Contact NeuroCAAS administrator.\t [+0:00:00.30]",
  "[Job Manager] Shutting down job.\t [+0:00:00.31]",
  "",
].join("\n");

/** The endpoint's key, as a user exports it (set once the server runs). */
let signing: Record<string, string> = {};

/** `neurocaas ARGS` in the jest process, with no AWS settings from the host: only the key the test gives. */
function run(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return runCliInProcess(args, { env: withoutHostAws({ ...signing, ...env }) });
}

/** The same in a bin/neurocaas process (exit statuses of the real command). */
function runProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));
  return new Promise((resolve) => {
    execFile(CLI, [...args], { env: { ...clean, ...signing, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("user CLI against a local endpoint", () => {
  let s3: LocalS3Server;
  let client: S3Client;
  let dir: string;
  let common: string[];

  const put = (key: string, body: string) =>
    client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from(body) }));
  const get = async (key: string) =>
    (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();

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
    const r = await run([
      "submit",
      ...common,
      "--data",
      path.join(dir, "d 1.csv"),
      "lab/inputs/existing.csv",
      "--config",
      path.join(dir, "cfg.yaml"),
      "--timestamp",
      "t1",
    ]);
    expect(r.stderr).toContain("submitted s3://analysis/lab/submissions/t1_submit.json");
    expect(r).toMatchObject({ code: 0, stdout: "t1\n" });
    expect(await get("lab/inputs/d 1.csv")).toBe("1,2\n3,4\n");
    expect(await get("lab/configs/cfg.yaml")).toBe("n_components: 1\n");
    expect(JSON.parse(await get("lab/submissions/t1_submit.json"))).toEqual({
      dataname: ["lab/inputs/d 1.csv", "lab/inputs/existing.csv"],
      configname: "lab/configs/cfg.yaml",
      timestamp: "t1",
    });
  });

  it("without any credentials against a local endpoint, says where the keys are instead of signing with a fixed key", async () => {
    const home = await fsp.mkdtemp(path.join(os.tmpdir(), "no-aws-home-"));
    const r = await run(["status", ...common, "--job", "t1"], {
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
      HOME: home,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("no AWS credentials to sign requests to");
    expect(r.stderr).toContain("user-keys FILE");
    await fsp.rm(home, { recursive: true, force: true });
  });

  it("submit fails clearly on a bad argument and uploads nothing", async () => {
    const r = await run([
      "submit",
      ...common,
      "--data",
      path.join(dir, "missing.csv"),
      "--config",
      "lab/configs/c.json",
      "--timestamp",
      "t9",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('missing.csv" is neither a local file or folder');
    await expect(get("lab/submissions/t9_submit.json")).rejects.toThrow();
  });

  it("status reports a missing job as an error and a running job as JSON", async () => {
    const missing = await run(["status", ...common, "--job", "nope"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('no job "nope"');

    await put(`${JOB}/logs/certificate.txt`, "PER ENVIRONMENT MONITORING:\n");
    await put(
      `${JOB}/logs/DATASET_NAME:d 1.csv_STATUS.txt`,
      JSON.stringify({ status: "IN PROGRESS", input: "lab/inputs/d 1.csv", reason: "" }),
    );
    const r = await run(["status", ...common, "--job", "t1", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      bucket: BUCKET,
      group: "lab",
      job: "t1",
      analysis: BUCKET,
      jobFolder: JOB,
      finished: false,
      rejected: false,
      terminateReasons: [],
      certificate: "PER ENVIRONMENT MONITORING:\n",
      datasets: [
        { file: "DATASET_NAME:d 1.csv_STATUS.txt", status: "IN PROGRESS", input: "lab/inputs/d 1.csv", reason: "" },
      ],
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
    expect(
      await fsp.readFile(
        path.join(out, "internal_ec2_logs", "c/i-1/awsrunShellScript/0.awsrunShellScript/stdout"),
        "utf8",
      ),
    ).toBe("hello\n");
    expect(r.stderr).toContain("5 file(s) downloaded");

    const watched = await run(["status", ...common, "--job", "t1", "--watch"]);
    expect(watched.code).toBe(2); // over, but its dataset never reported SUCCESS
    expect(watched.stdout).toContain("finished (end.txt present)");
    expect(watched.stdout).toContain("dataset lab/inputs/d 1.csv: IN PROGRESS");
  });

  describe("a job the job manager stopped (no end.txt ever) ends every wait at once", () => {
    const REASON = "[JOB TERMINATE REASON] Job is not covered by budget. Contact NeuroCAAS administrator.";
    beforeAll(async () => {
      await put("lab/results/job__analysis_r1/logs/certificate.txt", REJECTED_CERTIFICATE);
      await put("lab/inputs/existing.csv", "1,2\n");
    });

    it("status --watch prints the terminate reason and exits 3", async () => {
      const r = await runProcess(["status", ...common, "--job", "r1", "--watch"]);
      expect(r.code).toBe(3);
      expect(r.stdout).toContain("stopped by the job manager");
      expect(r.stderr).toContain(
        `job r1 was stopped by the job manager (s3://analysis/lab/results/job__analysis_r1/logs/certificate.txt):\n${REASON}\n`,
      );
      const json = await run(["status", ...common, "--job", "r1", "--json"]);
      expect(JSON.parse(json.stdout)).toMatchObject({ finished: false, rejected: true, terminateReasons: [REASON] });
    });

    it("results --wait downloads the certificate, prints the reason and exits 3", async () => {
      const out = path.join(dir, "rejected-out");
      const r = await run(["results", ...common, "--job", "r1", "-o", out, "--wait"]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(REASON);
      expect(await fsp.readFile(path.join(out, "logs", "certificate.txt"), "utf8")).toBe(REJECTED_CERTIFICATE);
    });

    it("submit --watch on a timestamp the job manager rejects follows the rejection, even in its sibling folder", async () => {
      // A reused timestamp is reported in job__..._rejected-{sha256 of the submit file}-{upload id}.
      const body = JSON.stringify(
        { dataname: "lab/inputs/existing.csv", configname: "lab/configs/c.json", timestamp: "t1" },
        null,
        2,
      );
      const sibling = `lab/results/job__analysis_t1_rejected-${sha256(body).slice(0, 8)}-5e1f00d2`;
      await put(
        `${sibling}/logs/certificate.txt`,
        REJECTED_CERTIFICATE.replace(
          "Job is not covered by budget. Contact NeuroCAAS administrator.",
          "The timestamp of this submission is already used by job job__analysis_t1.",
        ),
      );
      const r = await run([
        "submit",
        ...common,
        "--data",
        "lab/inputs/existing.csv",
        "--config",
        "lab/configs/c.json",
        "--timestamp",
        "t1",
        "--watch",
        "--timeout",
        "20s",
      ]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(
        `${sibling}/logs/certificate.txt):\n[JOB TERMINATE REASON] The timestamp of this submission is already used by job job__analysis_t1.`,
      );
    });
  });

  it("--timeout bounds every wait; a job that does not exist is named as such", async () => {
    await put("lab/results/job__analysis_slow/logs/certificate.txt", "PER ENVIRONMENT MONITORING:\n");
    const watch = await run(["status", ...common, "--job", "slow", "--watch", "--timeout", "1"]);
    expect(watch.code).toBe(1);
    expect(watch.stderr).toMatch(
      /gave up waiting for job slow after \d+ s: it is still running \(no lab\/results\/job__analysis_slow\/process_results\/end\.txt yet\)/,
    );
    const wait = await run([
      "results",
      ...common,
      "--job",
      "slow",
      "-o",
      path.join(dir, "x"),
      "--wait",
      "--timeout",
      "1s",
    ]);
    expect(wait.code).toBe(1);
    expect(wait.stderr).toContain("gave up waiting for job slow");
    const never = await run(["results", ...common, "--job", "never", "-o", path.join(dir, "x")]);
    expect(never.code).toBe(1);
    expect(never.stderr).toContain(
      'no job "never" in s3://analysis/lab/results/job__analysis_never/: no certificate, status files or end.txt (check --job, --group and --bucket)',
    );
    const bad = await run(["status", ...common, "--job", "slow", "--watch", "--timeout", "soon"]);
    expect(bad.stderr).toContain("--timeout: expected a positive duration such as 90, 90s, 15m or 2h");
    const alone = await run(["status", ...common, "--job", "slow", "--timeout", "5"]);
    expect(alone.stderr).toContain("--timeout bounds a wait: use it together with --watch");
  });
});
