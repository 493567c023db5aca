import { activeCostLogKey, encodeEventKey } from "../../model/layout";
import { jobRecordKey } from "../../protocols/job-record";
import { postMarkerKey } from "../../protocols/postprocess";
import { runMonitor, runPostProcess, runSubmit } from "../../protocols/run";
import type { AnalysisRuntimeConfig } from "../../model/runtime-config";
import { AwsWorld } from "../support/aws-world";
import { useMemoryS3 } from "../support/memory-store";
import { FakeClock, GROUP as G, protocolDeps, putEvent, stateEvent } from "../support/protocol-env";

/**
 * The handlers of an analysis whose bucket is named apart from it (`neurocaas:bucketName`): job
 * folders `job__{analysis}_{ts}` inside the bucket `{bucketName}`; IAEs tagged and budgets looked up
 * with the analysis name. And two guards: reserved names never act as groups, and post-processing
 * acts only on job folders the job manager made.
 */
const ANALYSIS = "caiman-ncap-web";
const BUCKET = "caiman-ncap-web-lab2";
const s3 = useMemoryS3([BUCKET]);
const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

const DATA = `${G}/inputs/video.avi`;
const CONFIG = `${G}/configs/config.json`;
const APART: Partial<AnalysisRuntimeConfig> = { bucketName: BUCKET, analysisName: ANALYSIS };

beforeAll(async () => {
  await s3.store.put(BUCKET, DATA, "frames");
  await s3.store.put(BUCKET, CONFIG, JSON.stringify({ wait: 1 }));
});
beforeEach(() => {
  world.reset();
  world.prices.set("t2.micro", 0.0116);
});

function deps(config: Partial<AnalysisRuntimeConfig> = {}) {
  return protocolDeps({ world, store: s3.store, clock, config: { ...APART, ...config } });
}

async function submit(key: string, body: object, config: Partial<AnalysisRuntimeConfig> = {}) {
  await s3.store.put(BUCKET, key, JSON.stringify(body));
  return runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps(config));
}

describe("a bucket named apart from its analysis", () => {
  it("puts job__{analysis}_{ts} in the bucket, tags IAEs with the analysis, and the monitor follows them", async () => {
    const report = await submit(`${G}/submissions/a1submit.json`, {
      dataname: DATA,
      configname: CONFIG,
      timestamp: "a1",
    });
    expect(report.exitCode).toBe(0);
    const job = report.jobs[0];
    expect(job.outputBucket).toBe(BUCKET);
    expect(job.jobFolder).toBe(`${G}/results/job__${ANALYSIS}_a1`);
    expect(await s3.store.exists(BUCKET, `${G}/results/job__${ANALYSIS}_a1/logs/certificate.txt`)).toBe(true);
    const [id] = job.instanceIds;
    expect(world.instances.get(id)!.tags["neurocaas:analysis"]).toBe(ANALYSIS);
    const log = JSON.parse((await s3.store.get(BUCKET, activeCostLogKey(id)))!.body) as {
      command: string;
      analysis: string;
    };
    expect(log.analysis).toBe(ANALYSIS);
    // Placeholder 1 is the bucket, placeholder 3 the job folder named after the analysis.
    expect(log.command).toContain(`run_main.sh "${BUCKET}" "${DATA}" "results/job__${ANALYSIS}_a1" "${CONFIG}"`);

    world.instances.get(id)!.state = "running";
    expect((await runMonitor(stateEvent(id, "running"), deps())).action).toBe("command-delivered");
    world.instances.get(id)!.state = "terminated";
    const ended = await runMonitor(stateEvent(id, "terminated"), deps());
    expect(ended.action).toBe("finished");
    expect(await s3.store.exists(BUCKET, `${G}/results/job__${ANALYSIS}_a1/process_results/end.txt`)).toBe(true);
  });

  it("looks the group's budget up under the analysis name", async () => {
    world.parameters.set(`/neurocaas/budgets/${G}/${ANALYSIS}`, "0");
    const report = await submit(`${G}/submissions/a2submit.json`, {
      dataname: DATA,
      configname: CONFIG,
      timestamp: "a2",
    });
    expect(report.exitCode).toBe(99);
    const cert = (await s3.store.get(BUCKET, `${G}/results/job__${ANALYSIS}_a2/logs/certificate.txt`))!.body;
    expect(cert).toContain("Job is not covered by budget");
  });

  it("chains post-processing with the job's own timestamp", async () => {
    const post = { postProcessing: { PostTrigger: "end.txt", StepName: "stage2" } };
    expect(
      (await submit(`${G}/submissions/a3submit.json`, { dataname: DATA, configname: CONFIG, timestamp: "a3" }, post))
        .exitCode,
    ).toBe(0);
    const endKey = `${G}/results/job__${ANALYSIS}_a3/process_results/end.txt`;
    await s3.store.put(BUCKET, endKey, "end of analysis marker");
    const [outcome] = await runPostProcess(putEvent(BUCKET, encodeEventKey(endKey)), deps(post));
    expect(outcome.action).toBe("submitted");
    const next = JSON.parse((await s3.store.get(BUCKET, `${G}/submissions/stage2_submit.json`))!.body);
    expect(next.timestamp).toBe("a3_stage2");
  });
});

describe("reserved names never act as groups (websubstack: groups are not enumerated)", () => {
  it.each(["logs", "inputs", "configs", "submissions", "results", "job__x", `job__${ANALYSIS}_t`])(
    "rejects a submit file in %s/submissions/ and writes nothing",
    async (folder) => {
      const key = `${folder}/submissions/r_submit.json`;
      const before = await s3.store.list(BUCKET, "");
      const report = await submit(key, { dataname: DATA, configname: CONFIG, timestamp: `r-${folder}` });
      expect(report.exitCode).toBe(99);
      expect(report.jobs[0].reason).toMatch(
        new RegExp(`in the folder "${folder}", a name NeuroCAAS reserves .* never a group's`),
      );
      expect(world.runInstancesCalls).toHaveLength(0);
      const after = await s3.store.list(BUCKET, "");
      expect(after.filter((k) => !before.includes(k))).toEqual([key]);
      await s3.store.delete(BUCKET, key);
    },
  );
});

describe("post-processing acts only on job folders the job manager made", () => {
  const post = { postProcessing: { PostTrigger: "end.txt", StepName: "stage2" } };

  it("skips a job folder without a job record: no marker, no copies, no next step", async () => {
    const folder = `${G}/results/job__${ANALYSIS}_ghost`;
    await s3.store.put(BUCKET, `${folder}/logs/certificate.txt`, "forged");
    const endKey = `${folder}/process_results/end.txt`;
    await s3.store.put(BUCKET, endKey, "end of analysis marker");
    const logs: string[] = [];
    const [outcome] = await runPostProcess(putEvent(BUCKET, encodeEventKey(endKey)), {
      ...deps(post),
      log: (m) => logs.push(m),
    });
    expect(outcome.action).toBe("ignored");
    expect(outcome.detail).toContain("no job record");
    expect(logs.join("\n")).toContain(endKey);
    expect(await s3.store.exists(BUCKET, jobRecordKey(G, `job__${ANALYSIS}_ghost`))).toBe(false);
    expect(await s3.store.exists(BUCKET, postMarkerKey(folder, "stage2"))).toBe(false);
    expect(await s3.store.list(BUCKET, `${folder}/logs_pre_stage2/`)).toEqual([]);
    const next = await s3.store.get(BUCKET, `${G}/submissions/stage2_submit.json`);
    expect(next === undefined || JSON.parse(next.body).timestamp !== "ghost_stage2").toBe(true);
  });

  it("skips the folder of a job rejected before anything ran", async () => {
    const report = await submit(
      `${G}/submissions/p2submit.json`,
      { dataname: `${G}/inputs/missing.avi`, configname: CONFIG, timestamp: "p2" },
      post,
    );
    expect(report.exitCode).toBe(99);
    const endKey = `${G}/results/job__${ANALYSIS}_p2/process_results/end.txt`;
    await s3.store.put(BUCKET, endKey, "end of analysis marker");
    const [outcome] = await runPostProcess(putEvent(BUCKET, encodeEventKey(endKey)), deps(post));
    expect(outcome.action).toBe("ignored");
    expect(await s3.store.exists(BUCKET, postMarkerKey(`${G}/results/job__${ANALYSIS}_p2`, "stage2"))).toBe(false);
  });
});
