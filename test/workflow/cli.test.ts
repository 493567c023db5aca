import { EventEmitter } from "node:events";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { startLocalS3Server, createLocalS3Client, type LocalS3Server } from "../../local/s3-server";
import { findDatasetLine } from "../../protocols/certificate";
import { initializeJob } from "../../cli/workflow/state";
import { WorkflowJob } from "../../cli/workflow/registry";
import { buildZip } from "./helpers/zip-builder";
import { spawn } from "node:child_process";
import { NEUROCAAS, REPO_ROOT, iaeEnv, runCli, runCliHere, runProgram } from "./helpers/cli";

const BUCKET = "clibucket";
/** File in a test's tmp folder naming a background process the test started (stopped afterwards). */
const SLEEPER_PID = "sleeper.pid";
const GROUP = "lab";

const JM_CERTIFICATE = (datasets: string[]) =>
  [
    "PER ENVIRONMENT MONITORING:",
    "================",
    ...datasets.map((d) => `DATANAME: ${d} | STATUS: INITIALIZING | TIME: 2026-01-01 00:00:00 | LAST COMMAND: N/A`),
    "================",
    "Once jobs start, these logs will be updated regularly. Allow some time [~1 minute] after all jobs finish for results to appear.",
    "For more information, see DATASET_NAME: files for stdout and stderr output.",
    "",
    "++++++++++++++++++",
    "",
    "JOB MANAGER SETUP LOG:",
    "[Job Manager] STEP 4/4 (Initialize Processing): DONE\t [+0:00:01.00]",
  ].join("\n");

// Commands run in the jest process (runCliHere) unless the process is what a test is about
// (exit status and output streaming of bin/neurocaas, two IAEs at once, SIGTERM, scripts calling
// `neurocaas` from PATH): those start real processes (tsx); give slow, loaded machines room.
jest.setTimeout(240_000);

describe("neurocaas workflow / scripting CLI", () => {
  let server: LocalS3Server;
  let client: S3Client;
  let tmp: string;

  const put = (key: string, body: string | Buffer) =>
    client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  const getText = async (key: string): Promise<string> => {
    const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return res.Body!.transformToString();
  };
  const listKeys = async (prefix: string): Promise<string[]> =>
    ((await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? [])
      .map((o) => o.Key!)
      .sort();
  /** Set up a job in-process (as the CLI's initialize-job and register-* would). */
  const setupJob = (
    home: string,
    dir: string,
    data?: string,
    result?: { s3?: string; local?: string },
    config?: string,
  ): void => {
    initializeJob(dir, home);
    const job = new WorkflowJob({ home, s3: () => client });
    if (data) job.registerDataset(data.startsWith("/") ? { localpath: data } : { bucket: BUCKET, key: data });
    if (config) job.registerConfig({ bucket: BUCKET, key: config });
    if (result?.s3) job.registerResultpath({ bucket: BUCKET, key: result.s3 });
    if (result?.local) job.registerResultpath({ localpath: result.local });
  };
  const newHome = (name: string): string => {
    const h = path.join(tmp, name);
    fs.mkdirSync(h, { recursive: true });
    return h;
  };

  /** Object-created notifications of the endpoint, by key. */
  const writes = new EventEmitter();
  /** Resolves with the text of `key` once a write of it satisfies `ok` (awaits the write, no polling). */
  const whenWritten = (key: string, ok: (text: string) => boolean): Promise<string> =>
    new Promise((resolve) => {
      const check = (): void =>
        void getText(key).then(
          (text) => {
            if (!ok(text)) return;
            writes.off(key, check);
            resolve(text);
          },
          () => undefined,
        );
      writes.on(key, check);
    });

  beforeAll(async () => {
    server = await startLocalS3Server({
      buckets: [BUCKET],
      onEvent: (e) => e.Records.forEach((r) => writes.emit(r.s3.object.key)),
    });
    client = createLocalS3Client(server);
    await put(`${GROUP}/inputs/data.csv`, fs.readFileSync(path.join(REPO_ROOT, "examples/pca/data.csv")));
    await put(`${GROUP}/configs/config.yaml`, fs.readFileSync(path.join(REPO_ROOT, "examples/pca/config.yaml")));
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nc-cli-"))));
  afterEach(() => {
    const sleeper = path.join(tmp, SLEEPER_PID);
    if (fs.existsSync(sleeper)) process.kill(Number(fs.readFileSync(sleeper, "utf8")), "SIGKILL");
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("getters print exactly one line; errors go to stderr with a non-zero exit", async () => {
    const env = iaeEnv(newHome("h"), server);
    const before = await runCliHere(["workflow", "get-dataname"], env);
    expect(before.code).toBe(1);
    expect(before.stdout).toBe("");
    expect(before.stderr).toMatch(/no job initialized .*initialize-job -p DIR/);

    expect(await runCliHere(["workflow", "initialize-job", "-p", path.join(tmp, "job")], env)).toMatchObject({
      code: 0,
      stdout: "",
    });
    const [reg, bad] = await Promise.all([
      runCliHere(["workflow", "register-dataset", "-b", BUCKET, "-k", `${GROUP}/inputs/data.csv`], env),
      runCliHere(["workflow", "register-config", "-b", BUCKET], env),
    ]);
    expect(reg).toMatchObject({ code: 0, stdout: "" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("pass either -b BUCKET -k KEY");
    const job = new WorkflowJob({ home: env.HOME, s3: () => client });
    job.registerConfig({ bucket: BUCKET, key: `${GROUP}/configs/config.yaml` });
    job.registerResultpath({ bucket: BUCKET, key: "results/job__clibucket_7" });

    const got = await runCliHere(["workflow", "get-data"], env);
    expect(got).toMatchObject({ code: 0, stdout: `${path.join(tmp, "job", "inputs", "data.csv")}\n` });
    const again = await runCliHere(["workflow", "get-data"], env);
    expect(again.stdout).toBe(got.stdout);
    expect(again.stderr).toMatch(/already exists/);

    const expected: Record<string, string> = {
      "get-dataname": "data.csv",
      "get-configname": "config.yaml",
      "get-datapath": path.join(tmp, "job", "inputs", "data.csv"),
      "get-group": GROUP,
      "get-bucket": BUCKET,
      "get-resultpath-tmp": path.join(tmp, "job", "results"),
    };
    const [rp, cfgPath, noName, ...results] = await Promise.all([
      runCliHere(["workflow", "get-resultpath", "-l", "/some/where/plot.svg"], env),
      runCliHere(["workflow", "get-configpath"], env),
      runCliHere(["workflow", "get-filepath", "-n", "extra"], env),
      ...Object.keys(expected).map((c) => runCliHere(["workflow", c], env)),
    ]);
    Object.keys(expected).forEach((c, i) =>
      expect({ c, out: results[i].stdout, code: results[i].code }).toEqual({ c, out: `${expected[c]}\n`, code: 0 }),
    );
    expect(rp.stdout).toBe(`s3://${BUCKET}/${GROUP}/results/job__clibucket_7/process_results/plot.svg\n`);
    expect(cfgPath.code).toBe(1);
    expect(cfgPath.stderr).toContain("run `neurocaas workflow get-config` first");
    expect(noName.stderr).toContain('no file registered under the name "extra"');
  });

  it("log-command streams output, exits with the command's code and keeps status and certificate current", async () => {
    const jobFolder = `${GROUP}/results/job__${BUCKET}_lc`;
    await put(
      `${jobFolder}/logs/certificate.txt`,
      JM_CERTIFICATE([`${GROUP}/inputs/other.csv`, `${GROUP}/inputs/data.csv`]),
    );
    await put(
      `${jobFolder}/logs/DATASET_NAME:data.csv_STATUS.txt`,
      JSON.stringify({
        status: "INITIALIZING",
        reason: [],
        input: `${GROUP}/inputs/data.csv`,
        instance: "i-0123",
        command: "cmd-9",
      }),
    );
    const home = newHome("h");
    const env = iaeEnv(home, server);
    setupJob(home, path.join(tmp, "job"), `${GROUP}/inputs/data.csv`);

    // 150 MB held for ~2 s by a grandchild process: the status file must see it.
    const command = `echo first; node -e "const b=Buffer.alloc(150e6,1); setTimeout(() => console.log('held', b.length), 2500)"; echo "bad thing happened" >&2; exit 4`;
    // While it runs, the status says IN PROGRESS (a real process: its exit status is the command's).
    const inProgress = whenWritten(
      `${jobFolder}/logs/DATASET_NAME:data.csv_STATUS.txt`,
      (t) => JSON.parse(t).status === "IN PROGRESS",
    );
    const r = await runCli(
      ["workflow", "log-command", "-b", BUCKET, "-r", `results/job__${BUCKET}_lc`, "-c", command],
      env,
    );
    await inProgress;
    expect(r.code).toBe(4);
    expect(r.stdout).toBe("first\nheld 150000000\n");
    expect(r.stderr).toContain("bad thing happened");

    const status = JSON.parse(await getText(`${jobFolder}/logs/DATASET_NAME:data.csv_STATUS.txt`));
    expect(status).toMatchObject({
      instance: "i-0123",
      command: "cmd-9",
      input: `${GROUP}/inputs/data.csv`,
      status: "FAILED",
      exit_code: 4,
      reason: ["exit code 4: bad thing happened"],
    });
    // Each entry keeps its newline (the original's readlines()): its describe-datastatus joins them with "".
    expect(Object.values(status.std)).toEqual(["first\n", "held 150000000\n", "bad thing happened\n"]);
    expect(Object.values(status.std).join("")).toBe("first\nheld 150000000\nbad thing happened\n");
    const peak = Number(String(status.max_memory_usage).replace(" MB", ""));
    expect(peak).toBeGreaterThan(140);
    expect(peak).toBeLessThan(os.totalmem() / 1e6 / 2);
    // The grandchild spins for ~2.5 s: measurable CPU (how much depends on the machine's load).
    expect(Number(String(status.average_cpu_usage).replace(" %", ""))).toBeGreaterThan(1);
    expect(status.job_finish).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const cert = await getText(`${jobFolder}/logs/certificate.txt`);
    const line = findDatasetLine(cert, `${GROUP}/inputs/data.csv`, "loose")!;
    expect(line).toMatch(
      /^DATANAME: lab\/inputs\/data.csv \| STATUS: FAILED \| TIME: .* \(finished\) \| LAST COMMAND: bad thing happened \| CPU_USAGE: [\d.]+ %$/,
    );
    expect(findDatasetLine(cert, `${GROUP}/inputs/other.csv`, "loose")).toContain("INITIALIZING");
    expect(cert).toContain("JOB MANAGER SETUP LOG:\n[Job Manager] STEP 4/4");

    const ok = await runCliHere(
      ["workflow", "log-command", "-b", BUCKET, "-r", `results/job__${BUCKET}_lc`, "-c", "true"],
      env,
    );
    expect(ok.code).toBe(0);
    expect(JSON.parse(await getText(`${jobFolder}/logs/DATASET_NAME:data.csv_STATUS.txt`))).toMatchObject({
      status: "SUCCESS",
      exit_code: 0,
    });
  });

  it("two IAEs running at once keep separate state and both finish their certificate lines", async () => {
    const jobFolder = `${GROUP}/results/job__${BUCKET}_pair`;
    await put(`${GROUP}/inputs/a.csv`, "1,2\n");
    await put(`${GROUP}/inputs/b.csv`, "3,4\n");
    await put(`${jobFolder}/logs/certificate.txt`, JM_CERTIFICATE([`${GROUP}/inputs/a.csv`, `${GROUP}/inputs/b.csv`]));
    const iaes = ["a", "b"]
      .map((name) => ({ name, home: newHome(`home-${name}`), dir: path.join(tmp, `job-${name}`) }))
      .map((x) => ({ ...x, env: iaeEnv(x.home, server) }));
    for (const { name, home, dir } of iaes)
      setupJob(home, dir, `${GROUP}/inputs/${name}.csv`, { s3: `results/job__${BUCKET}_pair` });
    const runs = await Promise.all(
      iaes.map(({ name, env }) =>
        runCli(
          [
            "workflow",
            "log-command",
            "-c",
            `for i in 1 2 3; do echo ${name}-$i; sleep 0.7; done; exit ${name === "a" ? 0 : 5}`,
          ],
          env,
        ),
      ),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 5]);
    const names = await Promise.all(iaes.map(({ env }) => runCliHere(["workflow", "get-dataname"], env)));
    expect(names.map((r) => r.stdout)).toEqual(["a.csv\n", "b.csv\n"]);
    for (const { name, dir } of iaes) {
      expect(JSON.parse(fs.readFileSync(path.join(dir, "registration.json"), "utf8")).data.s3).toBe(
        `s3://${BUCKET}/${GROUP}/inputs/${name}.csv`,
      );
    }
    const cert = await getText(`${jobFolder}/logs/certificate.txt`);
    expect(findDatasetLine(cert, `${GROUP}/inputs/a.csv`, "loose")).toMatch(
      /STATUS: SUCCESS \| TIME: .*\(finished\) \| LAST COMMAND: a-3/,
    );
    expect(findDatasetLine(cert, `${GROUP}/inputs/b.csv`, "loose")).toMatch(
      /STATUS: FAILED \| TIME: .*\(finished\) \| LAST COMMAND: b-3/,
    );
    const a = JSON.parse(await getText(`${jobFolder}/logs/DATASET_NAME:a.csv_STATUS.txt`));
    const b = JSON.parse(await getText(`${jobFolder}/logs/DATASET_NAME:b.csv_STATUS.txt`));
    expect(Object.values(a.std)).toEqual(["a-1\n", "a-2\n", "a-3\n"]);
    expect(Object.values(b.std)).toEqual(["b-1\n", "b-2\n", "b-3\n"]);
  });

  it("log-command-local writes the status file and certificate into the local result folder", async () => {
    const home = newHome("h");
    const env = iaeEnv(home);
    const data = path.join(tmp, "local.csv");
    fs.writeFileSync(data, "1\n");
    setupJob(home, path.join(tmp, "job"), data, { local: path.join(tmp, "out") });
    // A background process keeping the output pipe open must not keep log-command waiting (if it
    // did, this test would time out: the sleeper outlives it and is stopped afterwards).
    const r = await runCliHere(
      [
        "workflow",
        "log-command-local",
        "-c",
        `echo local run; sleep 3600 & echo $! > ${path.join(tmp, SLEEPER_PID)}; exit 2`,
      ],
      env,
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("local run\n");
    const status = JSON.parse(fs.readFileSync(path.join(tmp, "out/logs/DATASET_NAME:local.csv_STATUS.txt"), "utf8"));
    expect(status).toMatchObject({ status: "FAILED", exit_code: 2, std: { "0": "local run\n" } });
    expect(fs.readFileSync(path.join(tmp, "out/logs/certificate.txt"), "utf8")).toContain(
      `DATANAME: ${data} | STATUS: FAILED`,
    );
    const s3Only = await runCliHere(["workflow", "log-command", "-c", "true"], env);
    expect(s3Only.code).toBe(1);
    expect(s3Only.stderr).toContain("use log-command-local for local runs");
  });

  it("the README's local test flow runs the PCA script standalone through the workflow CLI", async () => {
    const home = newHome("h");
    const env = iaeEnv(home);
    const out = path.join(tmp, "results");
    const extra = path.join(tmp, "notes.txt");
    fs.writeFileSync(extra, "extra file");
    await runCliHere(["workflow", "initialize-job", "-p", path.join(tmp, "job")], env);
    for (const [cmd, p] of [
      ["register-dataset", path.join(REPO_ROOT, "examples/pca/data.csv")],
      ["register-config", path.join(REPO_ROOT, "examples/pca/config.yaml")],
      ["register-resultpath", out],
    ]) {
      expect(await runCliHere(["workflow", cmd, "-l", p], env)).toMatchObject({ code: 0, stdout: "" });
    }
    expect(await runCliHere(["workflow", "register-file", "-n", "notes", "-l", extra], env)).toMatchObject({ code: 0 });
    const run = await runCliHere(["workflow", "log-command-local", "-c", "bash examples/pca/run_pca.sh"], env);
    expect(run.stderr).not.toMatch(/neurocaas: (?!logging)/);
    expect(run.code).toBe(0);
    const pcaOut = JSON.parse(fs.readFileSync(path.join(out, "process_results/data_pca_components.json"), "utf8"));
    expect(pcaOut.explained_variance[0]).toBeCloseTo(3.2, 10);
    expect(fs.readFileSync(path.join(out, "process_results/data_explained_variance.svg"), "utf8")).toContain("<svg");
    expect(JSON.parse(fs.readFileSync(path.join(out, "logs/DATASET_NAME:data.csv_STATUS.txt"), "utf8")).status).toBe(
      "SUCCESS",
    );

    const fetched = await runCliHere(["workflow", "get-file", "-n", "notes"], env);
    expect(fetched.stdout).toBe(`${path.join(tmp, "job", "inputs", "notes.txt")}\n`);
    const [shown, fname, fpath, put, clean] = await Promise.all([
      runCliHere(["workflow", "get-config", "-f", "-d"], env),
      runCliHere(["workflow", "get-filename", "-n", "notes"], env),
      runCliHere(["workflow", "get-filepath", "-n", "notes"], env),
      runCliHere(["workflow", "put-result", "-r", extra], env),
      runCliHere(["workflow", "cleanup"], env),
    ]);
    expect([fname.stdout, fpath.stdout]).toEqual(["notes.txt\n", fetched.stdout]);
    expect(shown.stdout).toBe(`${path.join(tmp, "job", "configs", "config.yaml")}\n`);
    expect(shown.stderr).toContain(`fetched ${path.join(REPO_ROOT, "examples/pca/config.yaml")} to `);
    expect([put.code, put.stdout, clean.code, clean.stdout]).toEqual([0, "", 0, ""]);
    expect(fs.readdirSync(path.join(out, "process_results")).sort()).toEqual([
      "config.yaml",
      "data_explained_variance.svg",
      "data_pca_components.json",
      "notes.txt",
      "update.txt",
    ]);
    const missing = await runCliHere(["workflow", "put-result", "-r", path.join(tmp, "absent.txt")], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`put-result: ${path.join(tmp, "absent.txt")} does not exist`);
  });

  it("run-main runs the PCA example end to end and uploads results, config copy and update.txt", async () => {
    const env = iaeEnv(newHome("h"), server);
    const result = `results/job__${BUCKET}_pca`;
    const jobFolder = `${GROUP}/${result}`;
    await put(`${jobFolder}/logs/certificate.txt`, JM_CERTIFICATE([`${GROUP}/inputs/data.csv`]));
    const r = await runCliHere(
      [
        "workflow",
        "run-main",
        BUCKET,
        `${GROUP}/inputs/data.csv`,
        result,
        `${GROUP}/configs/config.yaml`,
        "examples/pca/run_pca.sh",
      ],
      env,
    );
    expect(r.stderr).not.toMatch(/could not/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("PC1: explained variance 3.20000 (72.73%)");
    expect(await listKeys(`${jobFolder}/process_results/`)).toEqual(
      ["config.yaml", "data_explained_variance.svg", "data_pca_components.json", "update.txt"].map(
        (f) => `${jobFolder}/process_results/${f}`,
      ),
    );
    const pcaOut = JSON.parse(await getText(`${jobFolder}/process_results/data_pca_components.json`));
    expect(pcaOut.explained_variance[0]).toBeCloseTo(3.2, 10);
    expect(pcaOut.explained_variance_ratio[1]).toBeCloseTo(0.8 / 4.4, 10);
    const status = JSON.parse(await getText(`${jobFolder}/logs/DATASET_NAME:data.csv_STATUS.txt`));
    expect(status).toMatchObject({ status: "SUCCESS", exit_code: 0, input: `${GROUP}/inputs/data.csv` });
    expect(
      findDatasetLine(await getText(`${jobFolder}/logs/certificate.txt`), `${GROUP}/inputs/data.csv`, "loose"),
    ).toMatch(/STATUS: SUCCESS .*\(finished\) \| LAST COMMAND: ----PCA DONE----/);
    expect(fs.existsSync(path.join(tmp, "h", "contribdata", "registration.json"))).toBe(true);
  });

  it("run-main reports a failing analysis as FAILED with its stderr and exit code", async () => {
    await put(`${GROUP}/inputs/ragged.csv`, "1,2,3\n4,5\n");
    const env = iaeEnv(newHome("h"), server);
    const result = `results/job__${BUCKET}_bad`;
    const r = await runCliHere(
      [
        "workflow",
        "run-main",
        BUCKET,
        `${GROUP}/inputs/ragged.csv`,
        result,
        `${GROUP}/configs/config.yaml`,
        "examples/pca/run_pca.sh",
      ],
      env,
    );
    expect(r.code).toBe(2);
    const status = JSON.parse(await getText(`${GROUP}/${result}/logs/DATASET_NAME:ragged.csv_STATUS.txt`));
    expect(status.status).toBe("FAILED");
    expect(status.reason).toEqual(["exit code 2: pca: ragged.csv line 2: expected 3 columns (as on line 1), found 2"]);
    expect(Object.values(status.std)).toContain("pca: ragged.csv line 2: expected 3 columns (as on line 1), found 2\n");
    // Cleanup still ran: the config copy and update.txt are there, end.txt is the platform's.
    expect(await listKeys(`${GROUP}/${result}/process_results/`)).toEqual([
      `${GROUP}/${result}/process_results/config.yaml`,
      `${GROUP}/${result}/process_results/update.txt`,
    ]);
  });

  it("run-main (here through examples/run_main.sh) records inputs that cannot be fetched as a FAILED status", async () => {
    const env = iaeEnv(newHome("h"), server);
    const result = `results/job__${BUCKET}_missing`;
    const r = await runProgram(
      "bash",
      [
        "examples/run_main.sh",
        BUCKET,
        `${GROUP}/inputs/nothing.csv`,
        result,
        `${GROUP}/configs/config.yaml`,
        "examples/pca/run_pca.sh",
      ],
      env,
    );
    expect(r.code).toBe(1);
    const status = JSON.parse(await getText(`${GROUP}/${result}/logs/DATASET_NAME:nothing.csv_STATUS.txt`));
    expect(status).toMatchObject({ status: "FAILED" });
    expect(status.reason).toEqual([
      `could not fetch the inputs: s3://${BUCKET}/${GROUP}/inputs/nothing.csv does not exist`,
    ]);
    const cert = await getText(`${GROUP}/${result}/logs/certificate.txt`);
    expect(findDatasetLine(cert, `${GROUP}/inputs/nothing.csv`, "loose")).toContain("STATUS: FAILED");
  });

  it("an IAE stopped mid-analysis (SIGTERM to its process group) records the interruption", async () => {
    await put(`${GROUP}/inputs/slow.txt`, "x");
    await put(`${GROUP}/configs/slow.yaml`, "wait: 60\n");
    const env = iaeEnv(newHome("h"), server);
    const result = `results/job__${BUCKET}_stop`;
    const statusKey = `${GROUP}/${result}/logs/DATASET_NAME:slow.txt_STATUS.txt`;
    const running = whenWritten(statusKey, (t) => JSON.parse(t).status === "IN PROGRESS");
    const args = [
      "workflow",
      "run-main",
      BUCKET,
      `${GROUP}/inputs/slow.txt`,
      result,
      `${GROUP}/configs/slow.yaml`,
      "examples/mock/run_mock.sh",
    ];
    const child = spawn(NEUROCAAS, args, { env, cwd: REPO_ROOT, detached: true, stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    // Once the analysis is running, stop the whole IAE as local mode does.
    await running;
    process.kill(-child.pid!, "SIGTERM");
    const killer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 20_000);
    const code = await exited;
    clearTimeout(killer);
    expect(code).toBe(143);
    const status = JSON.parse(await getText(statusKey));
    expect(status.status).toBe("FAILED");
    expect(status.reason[0]).toMatch(/^interrupted: log-command received SIGTERM/);
    expect(status.job_finish).not.toBe("N/A");
    expect(
      findDatasetLine(await getText(`${GROUP}/${result}/logs/certificate.txt`), `${GROUP}/inputs/slow.txt`, "loose"),
    ).toContain("STATUS: FAILED");
  });

  it("run-main needs exactly five arguments", async () => {
    const r = await runCliHere(["workflow", "run-main", BUCKET, "a", "b", "c"], iaeEnv(newHome("h"), server));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing required argument 'script'/);
    const wrapper = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn("bash", [path.join(REPO_ROOT, "examples/run_main.sh"), BUCKET, "a", "b"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.on("close", (code) => resolve({ code, stderr }));
    });
    expect(wrapper.code).toBe(2);
    expect(wrapper.stderr).toContain("usage: ");
    expect(wrapper.stderr).toContain("(got 3 arguments)");
  });

  it("scripting read-yaml and parse-zip print one line", async () => {
    const env = iaeEnv(newHome("h"));
    const cfg = path.join(tmp, "c.yaml");
    fs.writeFileSync(cfg, "mode: train\ntesting: False\nlayers: [32, 64]\nopts: {lr: 0.1}\n");
    const read = (field: string, ...extra: string[]) =>
      runCliHere(["scripting", "read-yaml", "-p", cfg, "-f", field, ...extra], env);
    const [testing, opts, missing, dflt] = await Promise.all([
      read("testing"),
      read("opts"),
      read("nope"),
      read("nope", "-d", "predict"),
    ]);
    expect([testing.stdout, opts.stdout, dflt.stdout]).toEqual(["False\n", '{"lr": 0.1}\n', "predict\n"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`No field "nope" exists in ${cfg} (-d DEFAULT prints a default instead)`);

    const zip = path.join(tmp, "task.zip");
    fs.writeFileSync(zip, buildZip({ "mytask/": "", "mytask/frames.txt": "f", "__MACOSX/x": "" }));
    const z = await runCliHere(["scripting", "parse-zip", "-z", zip], env);
    expect(z).toMatchObject({ code: 0, stdout: "mytask\n" });
    expect(fs.readFileSync(path.join(tmp, "mytask/frames.txt"), "utf8")).toBe("f");
    fs.writeFileSync(zip, buildZip({ "a/x": "1", "b/y": "2" }));
    const two = await runCliHere(["scripting", "parse-zip", "-z", zip], env);
    expect(two.code).toBe(1);
    expect(two.stderr).toMatch(/exactly one top-level folder/);
  });
});
