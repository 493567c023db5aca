import type { CostLog } from "../../model/cost-log";
import { activeCostLogKey, encodeEventKey } from "../../model/layout";
import { runPostProcess, runSubmit } from "../../protocols/run";
import { postMarkerKey } from "../../protocols/postprocess";
import { AwsWorld } from "../support/aws-world";
import { useMemoryS3 } from "../support/memory-store";
import { BUCKET, FakeClock, GROUP as G, protocolDeps, putEvent } from "../support/protocol-env";
import type { AnalysisRuntimeConfig } from "../../model/runtime-config";

const s3 = useMemoryS3([BUCKET, "otherbucket", "outbucket"]);
const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

const DATA = `${G}/inputs/video.avi`;

beforeAll(async () => {
  await s3.store.put(BUCKET, DATA, "frames");
  await s3.store.put(BUCKET, `${G}/inputs/video2.avi`, "frames");
  await s3.store.put("otherbucket", "lab/data/d.txt", "bypass data");
  await s3.store.put("otherbucket", "lab/configs/c.yaml", "__duration__: 30\nwait: 1\n");
});

beforeEach(() => {
  world.reset();
  world.prices.set("t2.micro", 0.0116);
  world.prices.set("p3.2xlarge", 3.06);
});

let n = 0;
async function submitJob(fields: object, config: Partial<AnalysisRuntimeConfig> = {}) {
  n++;
  const key = `${G}/submissions/p${n}submit.json`;
  await s3.store.put(BUCKET, key, JSON.stringify(fields));
  const report = await runSubmit(
    putEvent(BUCKET, encodeEventKey(key)),
    protocolDeps({ world, store: s3.store, clock, config: { bypassBuckets: ["otherbucket", "outbucket"], ...config } }),
  );
  return report;
}

async function activeLogs(ids: readonly string[]): Promise<CostLog[]> {
  return Promise.all(
    ids.map(async (id) => JSON.parse((await s3.store.get(BUCKET, activeCostLogKey(id)))!.body) as CostLog),
  );
}

describe("ensemble protocol", () => {
  const ensemble = { protocol: "ensemble" as const, instanceType: "p3.2xlarge" };

  it("starts ensemble_size IAEs on one dataset, each with its own config copy carrying jobnb", async () => {
    await s3.store.put(BUCKET, `${G}/configs/ens.yaml`, "mode: train\nensemble_size: 3\nlr: 0.1\n");
    const report = await submitJob(
      { dataname: DATA, configname: `${G}/configs/ens.yaml`, timestamp: "ens1" },
      ensemble,
    );
    expect(report.exitCode).toBe(0);
    const job = report.jobs[0];
    expect(job.protocol).toBe("ensemble");
    expect(job.instanceIds).toHaveLength(3);
    // One RunInstances call for the three identical members.
    expect(world.runInstancesCalls).toHaveLength(1);
    expect(world.runInstancesCalls[0]).toMatchObject({ MinCount: 3, MaxCount: 3 });
    const logs = await activeLogs(job.instanceIds);
    for (let i = 1; i <= 3; i++) {
      const configKey = `${G}/configs/job__${BUCKET}_ens1inst${i}config.json`;
      expect(JSON.parse((await s3.store.get(BUCKET, configKey))!.body)).toEqual({
        mode: "train",
        ensemble_size: 3,
        lr: 0.1,
        jobnb: i,
      });
      const log = logs.find((l) => l.datasetindex === i - 1)!;
      expect(log.command).toBe(
        `cd /home/ubuntu; neurocaas_remote/run_main.sh "${BUCKET}" "${DATA}" "results/job__${BUCKET}_ens1" "${configKey}"; . neurocaas_remote/ncap_utils/workflow.sh; cleanup`,
      );
    }
    const cert = (await s3.store.get(BUCKET, `${G}/results/job__${BUCKET}_ens1/logs/certificate.txt`))!.body;
    // One line and one status file per member, named by its jobnb.
    for (let i = 1; i <= 3; i++) {
      expect(cert).toContain(`DATANAME: ${DATA} (inst${i}) | STATUS: INITIALIZING`);
      const status = JSON.parse(
        (await s3.store.get(
          BUCKET,
          `${G}/results/job__${BUCKET}_ens1/logs/DATASET_NAME:video.avi_inst${i}_STATUS.txt`,
        ))!.body,
      );
      expect(status).toMatchObject({ status: "INITIALIZING", input: DATA, member: i });
      expect(logs.find((l) => l.member === i)?.configpath).toBe(`${G}/configs/job__${BUCKET}_ens1inst${i}config.json`);
    }
  });

  it("runs the default protocol when mode is not train", async () => {
    await s3.store.put(BUCKET, `${G}/configs/predict.json`, JSON.stringify({ mode: "predict", ensemble_size: 5 }));
    const report = await submitJob(
      { dataname: DATA, configname: `${G}/configs/predict.json`, timestamp: "ens2" },
      ensemble,
    );
    expect(report.exitCode).toBe(0);
    expect(report.jobs[0].instanceIds).toHaveLength(1);
    const [log] = await activeLogs(report.jobs[0].instanceIds);
    expect(log.command).toContain(`"${G}/configs/predict.json"`);
    expect(await s3.store.exists(BUCKET, `${G}/configs/job__${BUCKET}_ens2inst1config.json`)).toBe(false);
  });

  it("rejects a missing or out-of-range ensemble_size and more than one dataset, listing each problem", async () => {
    await s3.store.put(BUCKET, `${G}/configs/bad-ens.json`, JSON.stringify({ mode: "train", ensemble_size: 101 }));
    const report = await submitJob(
      { dataname: [DATA, `${G}/inputs/video2.avi`], configname: `${G}/configs/bad-ens.json`, timestamp: "ens3" },
      ensemble,
    );
    expect(report.exitCode).toBe(99);
    expect(world.runInstancesCalls).toHaveLength(0);
    const cert = (await s3.store.get(BUCKET, `${G}/results/job__${BUCKET}_ens3/logs/certificate.txt`))!.body;
    expect(cert).toContain("[CONFIG ERROR] ensemble_size must be an integer from 1 to 100; got 101.");
    expect(cert).toContain("[CONFIG ERROR] An ensemble job trains on exactly one dataset; the submit file lists 2.");
  });
});

describe("storage bypass", () => {
  it("reads from the input bucket, writes the job folder under resultpath, and passes the full s3:// placeholder", async () => {
    const report = await submitJob({
      dataname: ["s3://otherbucket/lab/data/d.txt"],
      configname: "s3://otherbucket/lab/configs/c.yaml",
      timestamp: "bypass1",
      resultpath: "s3://outbucket/shared/results/",
    });
    expect(report.exitCode).toBe(0);
    const job = report.jobs[0];
    expect(job.outputBucket).toBe("outbucket");
    expect(job.jobFolder).toBe(`shared/results/job__${BUCKET}_bypass1`);
    expect(await s3.store.exists("outbucket", `shared/results/job__${BUCKET}_bypass1/logs/certificate.txt`)).toBe(true);
    expect(
      await s3.store.exists("outbucket", `shared/results/job__${BUCKET}_bypass1/logs/DATASET_NAME:d.txt_STATUS.txt`),
    ).toBe(true);
    expect(await s3.store.exists(BUCKET, `${G}/results/job__${BUCKET}_bypass1/logs/certificate.txt`)).toBe(false);
    const [log] = await activeLogs(job.instanceIds);
    expect(log.command).toBe(
      `cd /home/ubuntu; neurocaas_remote/run_main.sh "otherbucket" "lab/data/d.txt" "s3://outbucket/shared/results/job__${BUCKET}_bypass1" "lab/configs/c.yaml"; . neurocaas_remote/ncap_utils/workflow.sh; cleanup`,
    );
    // The submitting group's budget pays.
    expect(log.group).toBe(G);
    expect(log.resultbucket).toBe("outbucket");
    // __duration__ given → NeuroCAAS Save (spot) job.
    expect(world.runInstancesCalls[0].InstanceMarketOptions?.MarketType).toBe("spot");
  });

  it("defaults the output to the input bucket", async () => {
    const report = await submitJob({
      dataname: "s3://otherbucket/lab/data/d.txt",
      configname: "s3://otherbucket/lab/configs/c.yaml",
      timestamp: "bypass2",
    });
    expect(report.exitCode).toBe(0);
    expect(report.jobs[0].outputBucket).toBe("otherbucket");
    expect(await s3.store.exists("otherbucket", `results/job__${BUCKET}_bypass2/logs/certificate.txt`)).toBe(true);
  });

  it("reports bypass data that does not exist", async () => {
    const report = await submitJob({
      dataname: "s3://otherbucket/lab/data/missing.txt",
      configname: "s3://otherbucket/lab/configs/c.yaml",
      timestamp: "bypass3",
    });
    expect(report.exitCode).toBe(99);
    const cert = (await s3.store.get("otherbucket", `results/job__${BUCKET}_bypass3/logs/certificate.txt`))!.body;
    expect(cert).toContain("[INPUT ERROR] Dataset lab/data/missing.txt does not exist in bucket otherbucket.");
  });
});

describe("input-checking protocol", () => {
  const schema = {
    type: "object",
    required: ["alpha", "mode"],
    properties: {
      alpha: { type: "number", minimum: 0, maximum: 1 },
      mode: { enum: ["fast", "slow"] },
      n: { type: "integer" },
      __duration__: { type: "integer" },
    },
  };
  const inputChecking = { protocol: "input-checking" as const, configSchema: schema };

  it("lists every problem in the certificate before any cost is incurred", async () => {
    await s3.store.put(BUCKET, `${G}/configs/ic-bad.json`, JSON.stringify({ alpha: 2, n: 1.5 }));
    const report = await submitJob(
      { dataname: DATA, configname: `${G}/configs/ic-bad.json`, timestamp: "ic1" },
      inputChecking,
    );
    expect(report.exitCode).toBe(99);
    expect(world.runInstancesCalls).toHaveLength(0);
    expect(world.pricing.calls()).toHaveLength(0);
    const cert = (await s3.store.get(BUCKET, `${G}/results/job__${BUCKET}_ic1/logs/certificate.txt`))!.body;
    expect(cert).toContain("[CONFIG ERROR] the config is missing the required key mode.");
    expect(cert).toContain("[CONFIG ERROR] key alpha must be <= 1.");
    expect(cert).toContain("[CONFIG ERROR] key n must be integer.");
    expect(cert).toContain("has 3 problem(s)");
  });

  it("starts a job whose config satisfies the schema", async () => {
    await s3.store.put(BUCKET, `${G}/configs/ic-good.yaml`, "alpha: 0.5\nmode: fast\nn: 3\n");
    expect(
      (await submitJob({ dataname: DATA, configname: `${G}/configs/ic-good.yaml`, timestamp: "ic2" }, inputChecking))
        .exitCode,
    ).toBe(0);
  });
});

describe("post-processing chain", () => {
  const post = { postProcessing: { PostTrigger: "end.txt", StepName: "stage2" } };

  it("runs once per job: copies logs/ to logs_pre_{step}/ and writes the next step's submit file", async () => {
    await s3.store.put(BUCKET, `${G}/configs/pp.json`, JSON.stringify({ wait: 1 }));
    const first = await submitJob({ dataname: DATA, configname: `${G}/configs/pp.json`, timestamp: "pp1" }, post);
    expect(first.exitCode).toBe(0);
    const jobFolder = `${G}/results/job__${BUCKET}_pp1`;
    const endKey = `${jobFolder}/process_results/end.txt`;
    await s3.store.put(BUCKET, endKey, "end of analysis marker");
    const deps = protocolDeps({ world, store: s3.store, clock, config: post });

    const event = putEvent(BUCKET, encodeEventKey(endKey));
    const outcomes = (
      await Promise.all([runPostProcess(event, deps), runPostProcess(event, deps), runPostProcess(event, deps)])
    ).flat();
    expect(outcomes.filter((o) => o.action === "submitted")).toHaveLength(1);
    expect(outcomes.filter((o) => o.action === "already-done")).toHaveLength(2);

    expect(await s3.store.exists(BUCKET, `${jobFolder}/logs_pre_stage2/certificate.txt`)).toBe(true);
    expect(await s3.store.exists(BUCKET, `${jobFolder}/logs_pre_stage2/DATASET_NAME:video.avi_STATUS.txt`)).toBe(true);
    const next = JSON.parse((await s3.store.get(BUCKET, `${G}/submissions/stage2_submit.json`))!.body);
    expect(next).toEqual({
      dataname: [`${jobFolder}/process_results/`],
      configname: `${G}/configs/pp.json`,
      timestamp: "pp1_stage2",
    });

    // The written submit file starts the next step on the results.
    const chained = await runSubmit(putEvent(BUCKET, encodeEventKey(`${G}/submissions/stage2_submit.json`)), deps);
    expect(chained.exitCode).toBe(0);
    expect(chained.jobs[0].jobFolder).toBe(`${G}/results/job__${BUCKET}_pp1_stage2`);

    // The step's own end.txt (same bucket) does not start the step again.
    const stepEnd = `${G}/results/job__${BUCKET}_pp1_stage2/process_results/end.txt`;
    await s3.store.put(BUCKET, stepEnd, "end of analysis marker");
    const [again] = await runPostProcess(putEvent(BUCKET, encodeEventKey(stepEnd)), deps);
    expect(again.action).toBe("ignored");
    expect(await s3.store.exists(BUCKET, postMarkerKey(`${G}/results/job__${BUCKET}_pp1_stage2`, "stage2"))).toBe(
      false,
    );
  });

  it("ignores other result files and analyses without post-processing", async () => {
    const deps = protocolDeps({ world, store: s3.store, clock, config: post });
    const [other] = await runPostProcess(
      putEvent(BUCKET, encodeEventKey(`${G}/results/job__${BUCKET}_pp1/process_results/other.txt`)),
      deps,
    );
    expect(other.action).toBe("ignored");
    const [none] = await runPostProcess(
      putEvent(BUCKET, encodeEventKey(`${G}/results/job__${BUCKET}_pp1/process_results/end.txt`)),
      protocolDeps({ world, store: s3.store, clock }),
    );
    expect(none.action).toBe("ignored");
  });
});

describe("event keys", () => {
  it("decodes URL-encoded submit keys once (spaces as +, : as %3A, + as %2B)", async () => {
    const data = `${G}/inputs/my data:v1+final.txt`;
    await s3.store.put(BUCKET, data, "x");
    await s3.store.put(BUCKET, `${G}/configs/plain.json`, "{}");
    const key = `${G}/submissions/my job: 1+2 submit.json`;
    await s3.store.put(
      BUCKET,
      key,
      JSON.stringify({
        dataname: data,
        configname: `${G}/configs/plain.json`,
        timestamp: "2020-05-14T19:25:25.885398",
      }),
    );
    const encoded = encodeEventKey(key);
    expect(encoded).toBe(`${G}/submissions/my+job%3A+1%2B2+submit.json`);
    const report = await runSubmit(putEvent(BUCKET, encoded), protocolDeps({ world, store: s3.store, clock }));
    expect(report.exitCode).toBe(0);
    expect(report.jobs[0].submitKey).toBe(key);
    const [log] = await activeLogs(report.jobs[0].instanceIds);
    expect(log.command).toContain(`"${data}"`);
  });
});
