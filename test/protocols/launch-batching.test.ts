import type { CostLog } from "../../model/cost-log";
import {
  ACTIVE_LOG_PREFIX,
  activeCostLogKey,
  certificateKey,
  datasetStatusKey,
  encodeEventKey,
  endMarkerKey,
} from "../../model/layout";
import { jobRecordKey, type JobRecord } from "../../protocols/job-record";
import { runSubmit } from "../../protocols/run";
import type { ProtocolLimits } from "../../protocols/deps";
import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { AwsWorld, ec2Error, type SimInstance } from "../support/aws-world";
import { useMemoryS3 } from "../support/memory-store";
import { BUCKET, FakeClock, GROUP as G, protocolDeps, putEvent } from "../support/protocol-env";

const s3 = useMemoryS3([BUCKET]);
const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

const DATA = Array.from({ length: 10 }, (_, i) => `${G}/inputs/batch${i}.txt`);
const DATASET_TAG = "neurocaas:dataset";

beforeAll(async () => {
  for (const d of DATA) await s3.store.put(BUCKET, d, d);
  await s3.store.put(BUCKET, `${G}/configs/plain.json`, "{}");
});
beforeEach(() => {
  world.reset();
  world.prices.set("t2.micro", 0.0116);
});

let n = 0;
async function submit(datanames: readonly string[], limits: Partial<ProtocolLimits> = {}) {
  n++;
  const key = `${G}/submissions/batch${n}submit.json`;
  await s3.store.put(
    BUCKET,
    key,
    JSON.stringify({ timestamp: `batch${n}`, dataname: datanames, configname: `${G}/configs/plain.json` }),
  );
  const report = await runSubmit(
    putEvent(BUCKET, encodeEventKey(key)),
    protocolDeps({ world, store: s3.store, clock, limits, config: { maxQueueLength: 0 } }),
  );
  return report.jobs[0];
}

function instance(id: string): SimInstance {
  const inst = world.instances.get(id);
  if (!inst) throw new Error(`no instance ${id}`);
  return inst;
}

/** Every launched IAE: its instance and volume tags, cost log, status file and job record agree on its dataset. */
async function expectConsistentMapping(
  job: { instanceIds: readonly string[]; jobFolder?: string },
  datanames: readonly string[],
): Promise<void> {
  expect(job.instanceIds).toHaveLength(datanames.length);
  const seen: string[] = [];
  for (const id of job.instanceIds) {
    const inst = instance(id);
    const dataset = inst.tags[DATASET_TAG];
    expect(inst.volume?.tags[DATASET_TAG]).toBe(dataset);
    expect(inst.volume?.tags["neurocaas:job"]).toBe(inst.tags["neurocaas:job"]);
    expect(inst.volume?.tags.PriceTracking).toBe("On");
    const log = JSON.parse((await s3.store.get(BUCKET, activeCostLogKey(id)))!.body) as CostLog;
    expect(log.datapath).toEqual([dataset]);
    expect(log.datasetindex).toBe(datanames.indexOf(dataset));
    expect(log.command).toContain(dataset);
    const status = JSON.parse((await s3.store.get(BUCKET, datasetStatusKey(job.jobFolder!, dataset)))!.body) as {
      instance: string;
      input: string;
    };
    expect(status).toMatchObject({ instance: id, input: dataset });
    seen.push(dataset);
  }
  expect([...seen].sort()).toEqual([...datanames].sort());
}

async function jobRecord(jobFolder: string): Promise<JobRecord> {
  return JSON.parse((await s3.store.get(BUCKET, jobRecordKey(G, jobFolder.split("/").pop()!)))!.body) as JobRecord;
}

describe("batched launch", () => {
  it("starts a 10-dataset job with one RunInstances call; each instance and volume carries its own dataset", async () => {
    const job = await submit(DATA);
    expect(job.exitCode).toBe(0);
    expect(world.runInstancesCalls).toHaveLength(1);
    const call = world.runInstancesCalls[0];
    expect(call).toMatchObject({ MinCount: 10, MaxCount: 10 });
    // The dataset differs per IAE: it is not a common tag of the call.
    for (const spec of call.TagSpecifications!) expect(spec.Tags!.some((t) => t.Key === DATASET_TAG)).toBe(false);
    expect(call.TagSpecifications!.map((s) => s.ResourceType)).toEqual(["instance", "volume"]);
    // One CreateTags per instance, on the instance and its root volume.
    expect(world.createTagsCalls).toHaveLength(10);
    for (const c of world.createTagsCalls) {
      expect(c.Resources).toHaveLength(2);
      expect(c.Resources![1]).toBe(instance(c.Resources![0]).volume!.id);
      expect(c.Tags!.map((t) => t.Key)).toEqual([DATASET_TAG]);
    }
    await expectConsistentMapping(job, DATA);
    const record = await jobRecord(job.jobFolder!);
    expect(record.instances.map((i) => [i.instanceId, i.dataset, i.index])).toEqual(
      job.instanceIds.map((id) => [id, instance(id).tags[DATASET_TAG], DATA.indexOf(instance(id).tags[DATASET_TAG])]),
    );
  });

  it("matches launched instance i to plan i by its launch index, not by answer order or instance id order", async () => {
    world.runInstancesReversed = true;
    world.launchIndexOf = (n, count) => (n + 3) % count;
    const job = await submit(DATA);
    expect(job.exitCode).toBe(0);
    expect(world.runInstancesCalls).toHaveLength(1);
    // The instance EC2 numbers k in the launch runs dataset k (the monitor can find its plan from that alone).
    for (const inst of world.instances.values()) expect(inst.tags[DATASET_TAG]).toBe(DATA[inst.launchIndex!]);
    expect(instance([...world.instances.values()][0].id).tags[DATASET_TAG]).toBe(DATA[3]);
    await expectConsistentMapping(job, DATA);
  });

  it("caps a launch call at launchBatchSize IAEs: ceil(N / cap) RunInstances calls", async () => {
    const job = await submit(DATA, { launchBatchSize: 4 });
    expect(job.exitCode).toBe(0);
    expect(world.runInstancesCalls.map((c) => c.MaxCount)).toEqual(expect.arrayContaining([4, 4, 2]));
    expect(world.runInstancesCalls).toHaveLength(3);
    expect(new Set(world.runInstancesCalls.map((c) => c.ClientToken)).size).toBe(3);
    await expectConsistentMapping(job, DATA);
  });

  it("keeps a single-dataset job to one call with every tag set by RunInstances itself", async () => {
    const job = await submit(DATA.slice(0, 1));
    expect(job.exitCode).toBe(0);
    expect(world.runInstancesCalls).toHaveLength(1);
    expect(world.createTagsCalls).toHaveLength(0);
    const tags = Object.fromEntries(
      world.runInstancesCalls[0].TagSpecifications![1].Tags!.map((t) => [t.Key, t.Value]),
    );
    expect(tags[DATASET_TAG]).toBe(DATA[0]);
    await expectConsistentMapping(job, DATA.slice(0, 1));
  });

  it("finds the root volumes through DescribeInstances when RunInstances does not list them", async () => {
    world.runInstancesReturnsVolumes = false;
    const job = await submit(DATA.slice(0, 3));
    expect(job.exitCode).toBe(0);
    expect(
      world.ec2
        .commandCalls(DescribeInstancesCommand)
        .some((c) => c.args[0].input.Filters?.some((f) => f.Name === "instance-id")),
    ).toBe(true);
    await expectConsistentMapping(job, DATA.slice(0, 3));
  });

  it("retries throttled and not-yet-visible CreateTags calls, then starts the job", async () => {
    world.createTagsFaults.push(
      ec2Error("RequestLimitExceeded", 503, "Request limit exceeded."),
      ec2Error("InvalidInstanceID.NotFound", 400, "The instance ID does not exist"),
    );
    const job = await submit(DATA.slice(0, 3));
    expect(job.exitCode).toBe(0);
    expect(world.createTagsCalls).toHaveLength(5);
    await expectConsistentMapping(job, DATA.slice(0, 3));
  });
});

describe("batched launch failures", () => {
  async function expectNothingLeft(job: { jobFolder?: string }, logsBefore: readonly string[]): Promise<string> {
    expect(world.instances.size).toBeGreaterThan(0);
    expect(world.running()).toHaveLength(0);
    expect([...(await s3.store.list(BUCKET, ACTIVE_LOG_PREFIX))]).toEqual(logsBefore);
    return (await s3.store.get(BUCKET, certificateKey(job.jobFolder!)))!.body;
  }

  it("terminates every instance of the call when tagging fails; the job fails in words", async () => {
    const logsBefore = [...(await s3.store.list(BUCKET, ACTIVE_LOG_PREFIX))];
    world.createTagsFaults.push(undefined, undefined, ec2Error("InvalidParameterValue", 400, "Tag value is invalid"));
    const job = await submit(DATA);
    expect(job.exitCode).toBe(99);
    expect(world.runInstancesCalls).toHaveLength(1);
    expect(world.instances.size).toBe(10);
    const cert = await expectNothingLeft(job, logsBefore);
    expect(cert).toContain(
      "[Job Manager] STEP 4/4 (Initialize Processing): AWS ERROR. [JOB TERMINATE REASON] The analysis could not start IAEs: the new IAEs could not be tagged",
    );
    expect(cert).toContain("[Job Manager] Shutting down job.");
  });

  it("rolls back the batches already started when a later batch cannot be tagged", async () => {
    const logsBefore = [...(await s3.store.list(BUCKET, ACTIVE_LOG_PREFIX))];
    world.createTagsFaults.push(
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      ...Array.from({ length: 40 }, () => ec2Error("RequestLimitExceeded", 503, "Request limit exceeded.")),
    );
    const job = await submit(DATA, { launchBatchSize: 5, launchConcurrency: 1, launchRetryMs: 5_000 });
    expect(job.exitCode).toBe(99);
    expect(world.runInstancesCalls).toHaveLength(2);
    expect(world.instances.size).toBe(10);
    const cert = await expectNothingLeft(job, logsBefore);
    expect(cert).toContain("AWS refused more instance requests for now (RequestLimitExceeded).");
    expect(cert).toMatch(
      /Terminated the 5 IAE\(s\) already started for this job \((i-\w+, ){4}i-\w+\); nothing is left running\./,
    );
    expect((await s3.store.get(BUCKET, endMarkerKey(job.jobFolder!)))!.body).toBe("end of analysis marker");
  });
});
