import type { CostLog } from "../../model/cost-log";
import { ACTIVE_LOG_PREFIX, certificateKey, encodeEventKey, endMarkerKey } from "../../model/layout";
import { sha256 } from "../../protocols/job-record";
import { runSubmit } from "../../protocols/run";
import { AwsWorld, ec2Error } from "../support/aws-world";
import { useLocalS3 } from "../support/local-s3";
import { useMemoryS3 } from "../support/memory-store";
import { BUCKET, FakeClock, GROUP as G, protocolDeps, putEvent } from "../support/protocol-env";
import type { ProtocolLimits } from "../../protocols/deps";
import type { ObjectStore } from "../../protocols/storage";

const s3 = useMemoryS3([BUCKET]);
const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

const DATA = [0, 1, 2].map((i) => `${G}/inputs/d${i}.txt`);

async function seed(store: ObjectStore): Promise<void> {
  for (const d of DATA) await store.put(BUCKET, d, d);
  await store.put(BUCKET, `${G}/configs/plain.json`, "{}");
  await store.put(BUCKET, `${G}/configs/save.json`, JSON.stringify({ __duration__: 45 }));
}
beforeAll(() => seed(s3.store));
beforeEach(() => {
  world.reset();
  world.prices.set("t2.micro", 0.0116);
});

let n = 0;
async function submitFile(fields: object, store = s3.store): Promise<string> {
  n++;
  const key = `${G}/submissions/f${n}submit.json`;
  await store.put(BUCKET, key, JSON.stringify({ timestamp: `fault${n}`, ...fields }));
  return key;
}
// No queue (MAX_QUEUE_LENGTH 0): a final capacity error rejects the job, as before queueing existed
// (queueing after capacity errors: test/protocols/queue.test.ts).
function deps(limits: Partial<ProtocolLimits> = {}, store = s3.store) {
  return protocolDeps({ world, store, clock, limits, config: { maxQueueLength: 0 } });
}
async function activeLogs(): Promise<string[]> {
  return [...(await s3.store.list(BUCKET, ACTIVE_LOG_PREFIX))];
}

describe("launch faults", () => {
  it("rolls back a partial launch on a final capacity error: nothing left running", async () => {
    const key = await submitFile({ dataname: DATA, configname: `${G}/configs/plain.json` });
    const logsBefore = await activeLogs();
    world.runInstancesFaults.push(
      undefined,
      undefined,
      ...Array.from({ length: 30 }, () =>
        ec2Error("InsufficientInstanceCapacity", 500, "We currently do not have sufficient t2.micro capacity"),
      ),
    );
    // Batches of one IAE: the first two batches start, the third never does.
    const report = await runSubmit(
      putEvent(BUCKET, encodeEventKey(key)),
      deps({ launchRetryMs: 10_000, launchConcurrency: 1, launchBatchSize: 1 }),
    );
    expect(report.exitCode).toBe(99);
    expect(world.instances.size).toBe(2);
    expect(world.running()).toHaveLength(0);
    expect(await activeLogs()).toEqual(logsBefore);
    const job = report.jobs[0];
    expect((await s3.store.get(BUCKET, endMarkerKey(job.jobFolder!)))!.body).toBe("end of analysis marker");
    const cert = (await s3.store.get(BUCKET, certificateKey(job.jobFolder!)))!.body;
    expect(cert).toContain(
      "[Job Manager] STEP 4/4 (Initialize Processing): AWS ERROR. [JOB TERMINATE REASON] AWS has no free capacity for this instance type right now (InsufficientInstanceCapacity).",
    );
    expect(cert).toMatch(
      /Terminated the 2 IAE\(s\) already started for this job \(i-\w+, i-\w+\); nothing is left running\./,
    );
    expect(cert).toContain("[Job Manager] Shutting down job.");
  });

  it("retries throttling with backoff and then starts the job", async () => {
    const key = await submitFile({ dataname: DATA[0], configname: `${G}/configs/plain.json` });
    world.runInstancesFaults.push(
      ec2Error("RequestLimitExceeded", 503, "Request limit exceeded."),
      ec2Error("RequestLimitExceeded", 503, "Request limit exceeded."),
    );
    const sleeps = clock.sleeps.length;
    const report = await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps());
    expect(report.exitCode).toBe(0);
    expect(world.runInstancesCalls).toHaveLength(3);
    expect(clock.sleeps.slice(sleeps)).toEqual([1000, 2000]);
    // Every retry repeats the same idempotency token (as EC2 recommends): the job's instances exist once.
    expect(new Set(world.runInstancesCalls.map((c) => c.ClientToken)).size).toBe(1);
    expect(world.running()).toHaveLength(1);
  });

  it("explains an exhausted vCPU quota in words", async () => {
    const key = await submitFile({ dataname: DATA[0], configname: `${G}/configs/plain.json` });
    world.runInstancesFaults.push(
      ...Array.from({ length: 30 }, () =>
        ec2Error("VcpuLimitExceeded", 400, "You have requested more vCPU capacity than your current vCPU limit"),
      ),
    );
    const report = await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps({ launchRetryMs: 5000 }));
    expect(report.exitCode).toBe(99);
    const cert = (await s3.store.get(BUCKET, certificateKey(report.jobs[0].jobFolder!)))!.body;
    expect(cert).toContain("The account's vCPU quota for this instance family is used up (VcpuLimitExceeded).");
  });

  it("falls back to on-demand when a NeuroCAAS Save job finds no spot capacity", async () => {
    const key = await submitFile({ dataname: DATA[0], configname: `${G}/configs/save.json` });
    world.runInstancesFaults.push(
      ec2Error("InsufficientInstanceCapacity", 500, "There is no Spot capacity available that matches your request."),
    );
    const report = await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps());
    expect(report.exitCode).toBe(0);
    expect(world.runInstancesCalls.map((c) => c.InstanceMarketOptions?.MarketType ?? "on-demand")).toEqual([
      "spot",
      "on-demand",
    ]);
    const log = JSON.parse(
      (await s3.store.get(BUCKET, `${ACTIVE_LOG_PREFIX}${report.jobs[0].instanceIds[0]}.json`))!.body,
    ) as CostLog;
    expect(log.spot).toBe(false);
  });

  it("rolls back when the cost logs cannot be written after launch", async () => {
    const key = await submitFile({ dataname: DATA.slice(0, 2), configname: `${G}/configs/plain.json` });
    s3.fault = (r) => (r.method === "PUT" && r.key.startsWith(ACTIVE_LOG_PREFIX) ? 500 : undefined);
    const report = await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps());
    s3.fault = undefined;
    expect(report.exitCode).toBe(99);
    expect(world.instances.size).toBe(2);
    expect(world.running()).toHaveLength(0);
    const cert = (await s3.store.get(BUCKET, certificateKey(report.jobs[0].jobFolder!)))!.body;
    expect(cert).toContain("[Job Manager] STEP 4/4 (Initialize Processing): AWS ERROR.");
    expect(cert).toContain("nothing is left running");
  });
});

// The SDK client's retries of 5xx answers, over HTTP to the local S3 endpoint.
describe("storage faults", () => {
  const local = useLocalS3([BUCKET]);
  beforeAll(() => seed(local.store));

  it("retries transient S3 5xx answers and still starts the job", async () => {
    const key = await submitFile({ dataname: DATA[0], configname: `${G}/configs/plain.json` }, local.store);
    const failed = new Set<string>();
    local.fault = (r) => {
      const id = `${r.method} ${r.key}`;
      if (failed.has(id)) return undefined;
      failed.add(id);
      return 503; // first attempt of every request fails
    };
    const report = await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps({}, local.store));
    local.fault = undefined;
    expect(report.exitCode).toBe(0);
    expect(failed.size).toBeGreaterThan(5);
    expect(await local.store.exists(BUCKET, certificateKey(report.jobs[0].jobFolder!))).toBe(true);
  });
});

describe("idempotency", () => {
  it("starts one job when the same event is delivered three times", async () => {
    const key = await submitFile({ dataname: DATA.slice(0, 2), configname: `${G}/configs/plain.json` });
    const event = putEvent(BUCKET, encodeEventKey(key));
    const reports = [await runSubmit(event, deps()), await runSubmit(event, deps()), await runSubmit(event, deps())];
    expect(reports.map((r) => r.exitCode)).toEqual([0, 0, 0]);
    expect(reports.map((r) => r.jobs[0].duplicate ?? false)).toEqual([false, true, true]);
    expect(world.instances.size).toBe(2);
    expect(reports[2].jobs[0].instanceIds).toEqual(reports[0].jobs[0].instanceIds);
  });

  it("starts one job when the same event is delivered concurrently", async () => {
    const key = await submitFile({ dataname: DATA, configname: `${G}/configs/plain.json` });
    const event = putEvent(BUCKET, encodeEventKey(key));
    const reports = await Promise.all(Array.from({ length: 5 }, () => runSubmit(event, deps())));
    expect(reports.filter((r) => !r.jobs[0].duplicate)).toHaveLength(1);
    expect(world.instances.size).toBe(3);
    const certs = await s3.store.list(BUCKET, `${G}/results/job__${BUCKET}_fault${n}`);
    expect(certs.filter((k) => k.endsWith("certificate.txt"))).toHaveLength(1);
  });

  it("repeats a rejection without writing anything again", async () => {
    const key = await submitFile({ dataname: `${G}/inputs/nope.txt`, configname: `${G}/configs/plain.json` });
    const event = putEvent(BUCKET, encodeEventKey(key));
    const first = await runSubmit(event, deps());
    expect(first.exitCode).toBe(99);
    s3.requests.length = 0;
    const again = await runSubmit(event, deps());
    expect(again.exitCode).toBe(99);
    expect(again.jobs[0].duplicate).toBe(true);
    expect(s3.requests.filter((r) => r.method === "PUT" || r.method === "DELETE").map((r) => r.key)).toEqual([
      `logs/_jobs/${G}/job__${BUCKET}_fault${n}.json`,
    ]);
  });

  it("takes over a job whose earlier attempt died before launching, once it is stale", async () => {
    const key = await submitFile({ dataname: DATA[0], configname: `${G}/configs/plain.json` });
    const event = putEvent(BUCKET, encodeEventKey(key));
    const recordKey = `logs/_jobs/${G}/job__${BUCKET}_fault${n}.json`;
    // An attempt that claimed the job and then died (e.g. Lambda timeout).
    const body = (await s3.store.get(BUCKET, key))!.body;
    const claimedAt = clock.now().toISOString();
    await s3.store.put(
      BUCKET,
      recordKey,
      JSON.stringify({
        version: 1,
        submission: { bucket: BUCKET, key, sha256: sha256(body) },
        group: G,
        jobName: `job__${BUCKET}_fault${n}`,
        outputBucket: BUCKET,
        jobFolder: `${G}/results/job__${BUCKET}_fault${n}`,
        state: "claimed",
        instances: [],
        created: claimedAt,
        updated: claimedAt,
      }),
    );
    const early = await runSubmit(event, deps());
    expect(early.jobs[0].duplicate).toBe(true);
    expect(world.instances.size).toBe(0);
    clock.advance(17 * 60_000);
    const late = await runSubmit(event, deps());
    expect(late.exitCode).toBe(0);
    expect(late.jobs[0].duplicate).toBeUndefined();
    expect(world.instances.size).toBe(1);
    const cert = (await s3.store.get(BUCKET, certificateKey(late.jobs[0].jobFolder!)))!.body;
    expect(cert).toContain("An earlier attempt at this job stopped before launching anything; starting it again.");
  });

  it("does not write into a job folder it could not claim; the redelivery starts the job", async () => {
    const key = await submitFile({ dataname: DATA[0], configname: `${G}/configs/plain.json` });
    const event = putEvent(BUCKET, encodeEventKey(key));
    s3.fault = (r) => (r.key.startsWith("logs/_jobs/") ? 500 : undefined);
    await expect(runSubmit(event, deps())).rejects.toThrow();
    s3.fault = undefined;
    expect(await s3.store.list(BUCKET, `${G}/results/job__${BUCKET}_fault${n}`)).toEqual([]);
    expect(world.instances.size).toBe(0);
    expect((await runSubmit(event, deps())).exitCode).toBe(0);
  });

  it("treats an unreadable job record as another submission's", async () => {
    const key = await submitFile({ dataname: DATA[0], configname: `${G}/configs/plain.json` });
    await s3.store.put(BUCKET, `logs/_jobs/${G}/job__${BUCKET}_fault${n}.json`, "{ not json");
    const report = await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps());
    expect(report.exitCode).toBe(99);
    expect(report.jobs[0].jobFolder).toMatch(/_rejected-[0-9a-f]{8}-[0-9a-f]{8}$/);
    expect(await s3.store.exists(BUCKET, certificateKey(`${G}/results/job__${BUCKET}_fault${n}`))).toBe(false);
  });
});
