/**
 * End to end: local NeuroCAAS in process (real job manager, monitor, IAE processes running the
 * workflow CLI and the example analyses) on a free port in a temp dir.
 */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { certificateKey, endMarkerKey, jobFolderKey } from "../../model/layout";
import { fallbackHourlyPrice, protocolHandlers } from "../../local/protocol-handlers";
import { startLocal, type LocalNeurocaas } from "../../local/server";
import { readJobState, waitForJob, type JobState } from "../../cli/user/job-state";
import { submitJob } from "../../cli/user/submit-job";
import { downloadResults } from "../../cli/user/results";
import { writeStackFile } from "./support/stack";

jest.setTimeout(240_000);

const REPO = path.resolve(__dirname, "../..");
const RUN_MAIN = (script: string) => `neurocaas workflow run-main "{}" "{}" "{}" "{}" ${script}`;

/** Points a·(0.6, 0.8) + b·(−0.8, 0.6) + (10, 20): components ±(0.6, 0.8), ±(−0.8, 0.6); variances 8/3, 2/3. */
const KNOWN_MATRIX = "x,y\n11.2,21.6\n8.8,18.4\n9.2,20.6\n10.8,19.4\n";

describe("local NeuroCAAS end to end", () => {
  let dir: string;
  let local: LocalNeurocaas;
  let client: S3Client;
  let stacks: string[];

  const put = (bucket: string, key: string, body: string) =>
    client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(body) }));
  const get = async (bucket: string, key: string) =>
    (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
  const start = (dataDir: string) =>
    startLocal({
      port: 0,
      dataDir,
      stackFiles: stacks,
      repoRoot: REPO,
      handlers: protocolHandlers,
      fallbackPrice: fallbackHourlyPrice,
      secondsPerMinute: 1,
    });

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "neurocaas-e2e-"));
    stacks = [
      await writeStackFile(dir, { name: "e2e-pca", command: RUN_MAIN("examples/pca/run_pca.sh") }),
      await writeStackFile(dir, { name: "e2e-mock", command: RUN_MAIN("examples/mock/run_mock.sh") }),
      await writeStackFile(dir, { name: "e2e-trivial", command: 'echo "bucket={}" "data={}" "result={}" "config={}"' }),
      // A command that fails without the workflow CLI: nothing reports a status but the platform.
      await writeStackFile(dir, { name: "e2e-raw", command: 'echo "broken thing on {}" >&2; exit 4' }),
      await writeStackFile(dir, {
        name: "e2e-post-a",
        command: "echo first step {}",
        postProcessing: { StepName: "second", TargetBucket: "e2e-post-b" },
      }),
      // The second step reads the first step's results in place: its bucket is a bypass bucket here.
      await writeStackFile(dir, {
        name: "e2e-post-b",
        command: 'echo "second step on {} {} -> {}"',
        bypassBuckets: ["e2e-post-a"],
      }),
    ];
    local = await start(path.join(dir, "data"));
    client = local.client;
  });
  afterAll(async () => {
    await local?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  async function submitMock(job: string, config: string): Promise<JobState> {
    const data = path.join(dir, `mock-${job}.txt`);
    const cfg = path.join(dir, `mock-${job}.yaml`);
    await fsp.writeFile(data, "mock data\n");
    await fsp.writeFile(cfg, config);
    await submitJob({ client, bucket: "e2e-mock", group: "lab", data: [data], config: cfg, timestamp: job });
    return waitForJob(client, { bucket: "e2e-mock", group: "lab", job }, { intervalMs: 300, timeoutMs: 120_000 });
  }

  it("runs a PCA job: steps DONE, dataset SUCCESS, numerically right results", async () => {
    await fsp.writeFile(path.join(dir, "known matrix.csv"), KNOWN_MATRIX);
    await fsp.writeFile(path.join(dir, "pca.yaml"), "n_components: 2\n__duration__: 60\n");
    const ref = { bucket: "e2e-pca", group: "lab", job: "pca1" };
    await submitJob({
      client,
      ...ref,
      data: [path.join(dir, "known matrix.csv")],
      config: path.join(dir, "pca.yaml"),
      timestamp: ref.job,
    });
    const state = await waitForJob(client, ref, { intervalMs: 300, timeoutMs: 120_000 });
    for (const n of [1, 2, 3, 4])
      expect(state.certificate).toMatch(new RegExp(`\\[Job Manager\\] STEP ${n}/4 \\([A-Za-z ]+\\): DONE`));
    expect(state.datasets).toHaveLength(1);
    expect(state.datasets[0]).toMatchObject({ status: "SUCCESS", input: "lab/inputs/known matrix.csv" });

    const out = path.join(dir, "pca-results");
    await downloadResults(client, ref, out);
    const result = JSON.parse(
      await fsp.readFile(path.join(out, "process_results", "known matrix_pca_components.json"), "utf8"),
    );
    expect(result.mean[0]).toBeCloseTo(10, 9);
    expect(result.mean[1]).toBeCloseTo(20, 9);
    expect(result.explained_variance[0]).toBeCloseTo(8 / 3, 9);
    expect(result.explained_variance[1]).toBeCloseTo(2 / 3, 9);
    expect(result.explained_variance_ratio[0]).toBeCloseTo(0.8, 9);
    const [c1, c2] = result.components as number[][];
    expect(Math.abs(c1[0] * 0.6 + c1[1] * 0.8)).toBeCloseTo(1, 9);
    expect(Math.abs(c2[0] * -0.8 + c2[1] * 0.6)).toBeCloseTo(1, 9);
    expect(
      await fsp.readFile(path.join(out, "process_results", "known matrix_explained_variance.svg"), "utf8"),
    ).toContain("<svg");
    expect(await fsp.readFile(path.join(out, "process_results", "pca.yaml"), "utf8")).toContain("n_components: 2");
    expect(await fsp.readFile(path.join(out, "process_results", "end.txt"), "utf8")).toBe("end of analysis marker");
  });

  it("reports a failing analysis as FAILED with its stderr, and writes end.txt", async () => {
    const state = await submitMock("fail1", "wait: 0\nfail: true\n__duration__: 60\n");
    expect(state.datasets).toHaveLength(1);
    expect(state.datasets[0].status).toBe("FAILED");
    expect(JSON.stringify(state.datasets[0].body.std)).toContain("mock: failing as requested by the config");
    expect(state.finished).toBe(true);
  });

  it("records a command that failed without reporting a status: FAILED with its exit code and stderr, then end.txt", async () => {
    await put("e2e-raw", "lab/inputs/d.txt", "d");
    await put("e2e-raw", "lab/configs/c.json", "{}");
    await put(
      "e2e-raw",
      "lab/submissions/submit.json",
      JSON.stringify({ dataname: "lab/inputs/d.txt", configname: "lab/configs/c.json", timestamp: "raw1" }),
    );
    const state = await waitForJob(
      client,
      { bucket: "e2e-raw", group: "lab", job: "raw1" },
      { intervalMs: 300, timeoutMs: 60_000 },
    );
    expect(state.finished).toBe(true);
    expect(state.datasets[0]).toMatchObject({ status: "FAILED", body: { std: { "0": "broken thing on e2e-raw\n" } } });
    expect(JSON.stringify(state.datasets[0].reason)).toMatch(
      /The command on IAE i-\w+ ended Failed \(exit code 4\) before the analysis reported a final status/,
    );
    expect(state.certificate).toMatch(
      /DATANAME: lab\/inputs\/d.txt \| STATUS: FAILED \| .* \| LAST COMMAND: command Failed/,
    );
  });

  it("kills a job over its __duration__ and says so", async () => {
    const state = await submitMock("slow1", "wait: 60\n__duration__: 3\n");
    expect(state.datasets[0].status).toBe("FAILED");
    expect(state.certificate).toMatch(/was killed: it exceeded its __duration__ of 3 minute\(s\)/);
    expect(JSON.stringify(state.datasets[0].body.reason)).toContain("__duration__");
  });

  // COMMAND placeholders per SPEC 4.5: bucket, dataset key, result folder `results/job__...` (the
  // workflow CLI prefixes the group), config key.
  it("finishes 20 jobs submitted concurrently by a plain S3 client (URL-encoded keys included)", async () => {
    await put("e2e-trivial", "lab/inputs/data 1.txt", "x");
    await put("e2e-trivial", "lab/configs/config.json", JSON.stringify({ __duration__: 30 }));
    const jobs = Array.from({ length: 20 }, (_, i) => `many${i}`);
    await Promise.all(
      jobs.map((job) =>
        put(
          "e2e-trivial",
          `lab/submissions/${job} run_submit.json`,
          JSON.stringify({ dataname: "lab/inputs/data 1.txt", configname: "lab/configs/config.json", timestamp: job }),
        ),
      ),
    );
    const states = await Promise.all(
      jobs.map((job) =>
        waitForJob(client, { bucket: "e2e-trivial", group: "lab", job }, { intervalMs: 500, timeoutMs: 180_000 }),
      ),
    );
    for (const s of states) {
      expect(s.finished).toBe(true);
      expect(s.certificate).toContain("STEP 4/4");
      expect(s.certificate).not.toContain("[JOB TERMINATE REASON]");
    }
    const folder = jobFolderKey("lab", "e2e-trivial", "many7");
    const logs = await readJobState(client, { bucket: "e2e-trivial", group: "lab", job: "many7" });
    expect(logs.jobFolder).toBe(folder);
    const outputs = await client.send(
      new ListObjectsV2Command({ Bucket: "e2e-trivial", Prefix: `${folder}/internal_ec2_logs/` }),
    );
    const stdoutKey = outputs.Contents!.map((o) => o.Key!).find((k) => k.endsWith("/stdout"))!;
    expect(await get("e2e-trivial", stdoutKey)).toBe(
      "bucket=e2e-trivial data=lab/inputs/data 1.txt result=results/job__e2e-trivial_many7 config=lab/configs/config.json\n",
    );
  });

  it("chains a post-processing step: end.txt of one analysis starts the next one's job", async () => {
    await put("e2e-post-a", "lab/inputs/d.txt", "d");
    await put("e2e-post-a", "lab/configs/c.json", "{}");
    await put(
      "e2e-post-a",
      "lab/submissions/submit.json",
      JSON.stringify({ dataname: "lab/inputs/d.txt", configname: "lab/configs/c.json", timestamp: "chain1" }),
    );
    const first = await waitForJob(
      client,
      { bucket: "e2e-post-a", group: "lab", job: "chain1" },
      { intervalMs: 300, timeoutMs: 60_000 },
    );
    expect(first.certificate).toContain("STEP 4/4");
    // The next step runs in the target analysis, reading the first step's results in place.
    const next = { bucket: "e2e-post-b", group: "lab", job: "chain1_second" };
    const second = await waitForJob(client, next, { intervalMs: 300, timeoutMs: 60_000 });
    expect(second.certificate).toContain("STEP 4/4");
    expect(second.certificate).not.toContain("[JOB TERMINATE REASON]");
    expect(JSON.parse(await get("e2e-post-b", "lab/submissions/second_submit.json"))).toMatchObject({
      dataname: ["s3://e2e-post-a/lab/results/job__e2e-post-a_chain1/process_results/"],
    });
  });

  it("reports a job interrupted by a restart, with its end.txt", async () => {
    const dataDir = path.join(dir, "restart-data");
    let first: LocalNeurocaas | undefined = await start(dataDir);
    try {
      const c = first.client;
      await c.send(new PutObjectCommand({ Bucket: "e2e-mock", Key: "lab/inputs/d.txt", Body: Buffer.from("d") }));
      await c.send(
        new PutObjectCommand({
          Bucket: "e2e-mock",
          Key: "lab/configs/long.yaml",
          Body: Buffer.from("wait: 120\n__duration__: 600\n"),
        }),
      );
      await c.send(
        new PutObjectCommand({
          Bucket: "e2e-mock",
          Key: "lab/submissions/submit.json",
          Body: Buffer.from(
            JSON.stringify({ dataname: ["lab/inputs/d.txt"], configname: "lab/configs/long.yaml", timestamp: "r1" }),
          ),
        }),
      );
      const ref = { bucket: "e2e-mock", group: "lab", job: "r1" };
      for (let i = 0; i < 200; i++) {
        const s = await readJobState(c, ref);
        if (s.datasets[0]?.status === "IN PROGRESS") break;
        await new Promise((r) => setTimeout(r, 300));
      }
      expect((await readJobState(c, ref)).datasets[0]?.status).toBe("IN PROGRESS");
      await first.close();
      first = undefined;

      const second = await start(dataDir);
      try {
        expect(second.recovered).toHaveLength(1);
        const state = await waitForJob(second.client, ref, { intervalMs: 300, timeoutMs: 30_000 });
        expect(state.certificate).toContain(`IAE ${second.recovered[0]} (lab/inputs/d.txt) was interrupted`);
        expect(state.datasets[0].status).toBe("FAILED");
        expect(
          await second.client.send(
            new GetObjectCommand({ Bucket: "e2e-mock", Key: endMarkerKey(jobFolderKey("lab", "e2e-mock", "r1")) }),
          ),
        ).toBeDefined();
        expect(
          await second.client.send(
            new GetObjectCommand({ Bucket: "e2e-mock", Key: certificateKey(jobFolderKey("lab", "e2e-mock", "r1")) }),
          ),
        ).toBeDefined();
      } finally {
        await second.close();
      }
    } finally {
      await first?.close();
    }
  });
});
