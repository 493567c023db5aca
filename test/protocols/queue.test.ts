/**
 * Queue and cancel (SPEC §11, issue 17) with the EC2 fake: queue order, reservation, limits,
 * capacity errors, two drains at once, cancel races (while queued, while launching, after finish).
 */
import type { ComputeBackend } from "../../protocols/compute";
import { drainQueue, QUEUE_KEY, readQueue } from "../../protocols/job-queue";
import { jobRecordKey, parseJobRecord, type JobRecord } from "../../protocols/job-record";
import {
  certificateKey,
  datasetStatusKey,
  encodeEventKey,
  endMarkerKey,
  finishedCostLogKey,
  jobFolderName,
} from "../../model/layout";
import { ledgerKey } from "../../protocols/ledger";
import { runMonitor, runSubmit, type JobOutcome } from "../../protocols/run";
import type { AnalysisRuntimeConfig } from "../../model/runtime-config";
import type { ProtocolDeps } from "../../protocols/deps";
import { AwsWorld, ec2Error } from "../support/aws-world";
import { useMemoryS3 } from "../support/memory-store";
import { BUCKET, FakeClock, GROUP as G, protocolDeps, putEvent, stateEvent } from "../support/protocol-env";

const s3 = useMemoryS3([BUCKET]);
const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

const OTHER = "othergroup";
const D = [0, 1, 2].map((i) => `${G}/inputs/q${i}.txt`);
const CONFIG = `${G}/configs/q.json`;

beforeAll(async () => {
  for (const d of D) await s3.store.put(BUCKET, d, d);
  await s3.store.put(BUCKET, CONFIG, "{}");
  await s3.store.put(BUCKET, `${OTHER}/inputs/x.txt`, "x");
  await s3.store.put(BUCKET, `${OTHER}/configs/q.json`, "{}");
});
beforeEach(async () => {
  world.reset();
  world.prices.set("t2.micro", 1);
  // Each test starts with an empty queue and ledger.
  await s3.store.delete(BUCKET, QUEUE_KEY);
  await s3.store.delete(BUCKET, ledgerKey(G));
  for (const k of await s3.store.list(BUCKET, `logs/${G}/`)) await s3.store.delete(BUCKET, k);
});

const BASE: Partial<AnalysisRuntimeConfig> = {
  deployLimit: 2,
  maxCost: 1000,
  affiliates: [
    { AffiliateName: G, UserInput: true },
    { AffiliateName: OTHER, UserInput: true },
  ],
};
function deps(config: Partial<AnalysisRuntimeConfig> = {}, invocation?: string): ProtocolDeps {
  return {
    ...protocolDeps({ world, store: s3.store, clock, config: { ...BASE, ...config } }),
    ...(invocation ? { invocation: { id: invocation, deadline: new Date(clock.now().getTime() + 900_000) } } : {}),
  };
}

let n = 0;
async function submit(
  dataname: string | string[],
  config: Partial<AnalysisRuntimeConfig> = {},
  group = G,
): Promise<JobOutcome & { timestamp: string }> {
  n++;
  const timestamp = `q${n}`;
  const key = `${group}/submissions/q${n}submit.json`;
  await s3.store.put(BUCKET, key, JSON.stringify({ dataname, configname: `${group}/configs/q.json`, timestamp }));
  const report = await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps(config));
  return { ...report.jobs[0], timestamp };
}
async function cancel(
  timestamp: string,
  config: Partial<AnalysisRuntimeConfig> = {},
  group = G,
  d?: ProtocolDeps,
): Promise<JobOutcome> {
  n++;
  const key = `${group}/submissions/cancel${n}submit.json`;
  await s3.store.put(BUCKET, key, JSON.stringify({ cancel: timestamp }));
  return (await runSubmit(putEvent(BUCKET, encodeEventKey(key)), d ?? deps(config))).jobs[0];
}
const text = async (key: string): Promise<string> => (await s3.store.get(BUCKET, key))?.body ?? "";
const status = async (job: JobOutcome, dataset: string): Promise<Record<string, unknown>> =>
  JSON.parse(await text(datasetStatusKey(job.jobFolder!, dataset))) as Record<string, unknown>;
const record = async (timestamp: string, group = G): Promise<JobRecord> =>
  parseJobRecord(await text(jobRecordKey(group, jobFolderName(BUCKET, timestamp))))!;
const reservations = async (): Promise<Record<string, number>> =>
  (JSON.parse((await text(ledgerKey(G))) || "{}") as { reservations?: Record<string, number> }).reservations ?? {};
const jobOf = (id: string): string => world.instances.get(id)!.tags["neurocaas:job"];

/** An IAE ends as EC2 reports it: terminated, then the monitor hears of it (and drains the queue). */
async function end(id: string, config: Partial<AnalysisRuntimeConfig> = {}) {
  world.instances.get(id)!.state = "terminated";
  return runMonitor(stateEvent(id, "terminated"), deps(config));
}

describe("queue instead of reject (DEPLOY_LIMIT)", () => {
  it("queues whole jobs in arrival order and starts each exactly once as IAEs end", async () => {
    const a = await submit([D[0], D[1]]);
    expect(a.exitCode).toBe(0);
    expect(a.instanceIds).toHaveLength(2);
    const b = await submit(D[2]);
    const c = await submit([D[0], D[1]]);
    const d = await submit(D[0]);
    for (const j of [b, c, d]) {
      expect(j.exitCode).toBe(0);
      expect(j.queued).toBe(true);
      expect(j.instanceIds).toEqual([]);
    }
    const certB = await text(certificateKey(b.jobFolder!));
    expect(certB).toContain(`DATANAME: ${D[2]} | STATUS: QUEUED`);
    expect(certB).toMatch(
      /Job QUEUED at position 1: 2 t2\.micro IAEs are running and this job needs 1; the limit is 2 \(DEPLOY_LIMIT\)/,
    );
    expect(await text(certificateKey(d.jobFolder!))).toMatch(/Job QUEUED at position 3: 2 t2\.micro IAEs are running/);
    expect(await status(b, D[2])).toMatchObject({ status: "QUEUED", instance: null });
    expect((await readQueue(deps())).entries.map((e) => e.jobName)).toEqual(
      [b, c, d].map((j) => jobFolderName(BUCKET, j.timestamp)),
    );
    expect(world.running()).toHaveLength(2);

    // One slot frees: B (1 IAE) starts; C (2 IAEs) does not fit, and D may not overtake it.
    const first = await end(a.instanceIds[0]);
    expect(first.queue?.started).toEqual([jobRecordKey(G, jobFolderName(BUCKET, b.timestamp))]);
    expect(
      world
        .running()
        .map((i) => i.tags["neurocaas:job"])
        .sort(),
    ).toEqual([jobFolderName(BUCKET, a.timestamp), jobFolderName(BUCKET, b.timestamp)]);
    const bStatus = await status(b, D[2]);
    expect(bStatus.status).toBe("INITIALIZING");
    expect(typeof bStatus.instance).toBe("string");
    expect(await text(certificateKey(b.jobFolder!))).toContain(`DATANAME: ${D[2]} | STATUS: INITIALIZING`);
    expect((await record(b.timestamp)).state).toBe("started");

    // The rest of A and B end: C starts whole, then D when C has ended.
    await end(a.instanceIds[1]);
    expect(world.running()).toHaveLength(1); // still only B: C needs 2
    const bId = world.running()[0].id;
    await end(bId);
    expect(world.running().map((i) => jobOf(i.id))).toEqual([
      jobFolderName(BUCKET, c.timestamp),
      jobFolderName(BUCKET, c.timestamp),
    ]);
    for (const i of world.running()) await end(i.id);
    expect(world.running().map((i) => jobOf(i.id))).toEqual([jobFolderName(BUCKET, d.timestamp)]);
    expect((await readQueue(deps())).entries).toEqual([]);
    // Each job was launched exactly once.
    const launchesPerJob = new Map<string, number>();
    for (const call of world.runInstancesCalls) {
      const job = call.TagSpecifications![0].Tags!.find((t) => t.Key === "neurocaas:job")!.Value!;
      launchesPerJob.set(job, (launchesPerJob.get(job) ?? 0) + 1);
    }
    expect([...launchesPerJob.values()]).toEqual([1, 1, 1, 1]);
  });

  it("reserves a queued job's projected cost against the group's budget until it starts", async () => {
    // $1/h, 60 min: A runs ($1 running bound), B queued ($1 reserved); C would bring the total to $3.
    const a = await submit(D[0], { deployLimit: 1, maxCost: 2.5 });
    const b = await submit(D[1], { deployLimit: 1, maxCost: 2.5 });
    expect(b.queued).toBe(true);
    expect(await reservations()).toEqual({ [jobRecordKey(G, jobFolderName(BUCKET, b.timestamp))]: 1 });
    const c = await submit(D[2], { deployLimit: 1, maxCost: 2.5 });
    expect(c.exitCode).toBe(99);
    const certC = await text(certificateKey(c.jobFolder!));
    expect(certC).toContain("Job is not covered by budget.");
    expect(certC).toContain("Reserved for queued jobs: $1.00.");
    // B starts when A ends: its reservation becomes a running IAE.
    await end(a.instanceIds[0], { deployLimit: 1, maxCost: 2.5 });
    expect((await record(b.timestamp)).state).toBe("started");
    expect(await reservations()).toEqual({});
  });

  it("rejects past MAX_QUEUE_LENGTH, and with no queue (0) as before", async () => {
    await submit([D[0], D[1]], { maxQueueLength: 1 });
    expect((await submit(D[2], { maxQueueLength: 1 })).queued).toBe(true);
    const full = await submit(D[2], { maxQueueLength: 1 });
    expect(full.exitCode).toBe(99);
    expect(await text(certificateKey(full.jobFolder!))).toContain(
      "The analysis' queue is full: 1 job(s) are already waiting for capacity (MAX_QUEUE_LENGTH).",
    );
    const none = await submit(D[2], { maxQueueLength: 0 });
    expect(none.exitCode).toBe(99);
    expect(await text(certificateKey(none.jobFolder!))).toMatch(
      /Instance requests greater than pipeline bandwidth: .*MAX_QUEUE_LENGTH 0/,
    );
    expect(world.runInstancesCalls).toHaveLength(1);
  });

  it("rejects a job that waited past MAX_QUEUE_WAIT (scheduled sweep), releasing its reservation", async () => {
    await submit([D[0], D[1]], { maxQueueWaitMinutes: 10 });
    const b = await submit(D[2], { maxQueueWaitMinutes: 10 });
    clock.advance(11 * 60_000);
    const swept = await runMonitor(
      { "detail-type": "Scheduled Event", source: "aws.events", detail: {} } as never,
      deps({ maxQueueWaitMinutes: 10 }),
    );
    expect(swept.action).toBe("queue-drained");
    expect(swept.queue?.ended).toEqual([jobRecordKey(G, jobFolderName(BUCKET, b.timestamp))]);
    expect(await status(b, D[2])).toMatchObject({ status: "FAILED" });
    const cert = await text(certificateKey(b.jobFolder!));
    expect(cert).toContain("[JOB TERMINATE REASON] The job waited 10 min in the queue (MAX_QUEUE_WAIT)");
    expect(cert).toContain(`DATANAME: ${D[2]} | STATUS: FAILED`);
    expect(await s3.store.exists(BUCKET, endMarkerKey(b.jobFolder!))).toBe(true);
    expect(await reservations()).toEqual({});
    expect((await record(b.timestamp)).state).toBe("rejected");
  });

  it("queues a job whose capacity errors outlast the retry window, and starts it when capacity is back", async () => {
    world.runInstancesFaults.push(
      ...Array.from({ length: 30 }, () =>
        ec2Error("InsufficientInstanceCapacity", 500, "We currently do not have sufficient t2.micro capacity"),
      ),
    );
    const j = await submit(D[0]);
    expect(j.exitCode).toBe(0);
    expect(j.queued).toBe(true);
    expect(world.running()).toHaveLength(0);
    expect(await text(certificateKey(j.jobFolder!))).toMatch(
      /Job QUEUED at position 1: AWS has no free capacity for this instance type right now \(InsufficientInstanceCapacity\)/,
    );
    world.runInstancesFaults.length = 0;
    const swept = await runMonitor({ "detail-type": "Scheduled Event", detail: {} } as never, deps());
    expect(swept.queue?.started).toHaveLength(1);
    expect(world.running()).toHaveLength(1);
    // The retry used fresh idempotency tokens (the failed launch's would return nothing new).
    const tokens = world.runInstancesCalls.map((c) => c.ClientToken);
    expect(new Set(tokens).size).toBeGreaterThan(1);
  });

  it("two drains at once start a queued job exactly once", async () => {
    const a = await submit([D[0], D[1]]);
    const b = await submit(D[2]);
    // Capacity frees without a monitor event; then two drains race (two invocations).
    world.instances.get(a.instanceIds[0])!.state = "terminated";
    const before = world.runInstancesCalls.length;
    const [x, y] = await Promise.all([drainQueue(deps({}, "drain-x")), drainQueue(deps({}, "drain-y"))]);
    expect([...x.started, ...y.started]).toEqual([jobRecordKey(G, jobFolderName(BUCKET, b.timestamp))]);
    expect(world.runInstancesCalls.length - before).toBe(1);
    // A third drain later finds nothing to do.
    expect((await drainQueue(deps({}, "drain-z"))).started).toEqual([]);
    expect(world.runInstancesCalls.length - before).toBe(1);
  });
});

describe("cancel", () => {
  it("cancels a queued job: dropped from the queue, reservation released, CANCELLED, end.txt; it never starts", async () => {
    const a = await submit([D[0], D[1]]);
    const b = await submit(D[2]);
    const out = await cancel(b.timestamp);
    expect(out.exitCode).toBe(0);
    expect(out.cancelled).toBe(true);
    expect(await status(b, D[2])).toMatchObject({ status: "CANCELLED" });
    const cert = await text(certificateKey(b.jobFolder!));
    expect(cert).toContain(`DATANAME: ${D[2]} | STATUS: CANCELLED`);
    expect(cert).toContain("cancelled by user");
    expect(await s3.store.exists(BUCKET, endMarkerKey(b.jobFolder!))).toBe(true);
    expect((await readQueue(deps())).entries).toEqual([]);
    expect(await reservations()).toEqual({});
    await end(a.instanceIds[0]);
    await end(a.instanceIds[1]);
    expect(world.runInstancesCalls).toHaveLength(1);
    // Cancelling twice is harmless.
    const again = await cancel(b.timestamp);
    expect(again.exitCode).toBe(0);
    expect(again.reason).toMatch(/already cancelled/);
    expect(await status(b, D[2])).toMatchObject({ status: "CANCELLED" });
  });

  it("cancels a running job: IAEs terminated, CANCELLED kept when they end, spend accounted, end.txt", async () => {
    const a = await submit([D[0], D[1]]);
    const out = await cancel(a.timestamp);
    expect(out.exitCode).toBe(0);
    expect(a.instanceIds.map((id) => world.instances.get(id)!.state)).toEqual(["terminated", "terminated"]);
    for (const id of a.instanceIds) await runMonitor(stateEvent(id, "terminated"), deps());
    for (const dataset of [D[0], D[1]]) expect(await status(a, dataset)).toMatchObject({ status: "CANCELLED" });
    for (const id of a.instanceIds) expect(await s3.store.exists(BUCKET, finishedCostLogKey(G, id))).toBe(true);
    expect(await s3.store.exists(BUCKET, endMarkerKey(a.jobFolder!))).toBe(true);
    expect((await record(a.timestamp)).state).toBe("cancelled");
  });

  it("cancels a job while its job manager is launching it: nothing is left running", async () => {
    n++;
    const timestamp = `q${n}`;
    const key = `${G}/submissions/q${n}submit.json`;
    await s3.store.put(BUCKET, key, JSON.stringify({ dataname: [D[0]], configname: CONFIG, timestamp }));
    const d = deps({}, "job-manager");
    const real = d.compute;
    let cancelled: JobOutcome | undefined;
    const racing: ComputeBackend = Object.assign(Object.create(real) as ComputeBackend, {
      launch: async (request: Parameters<ComputeBackend["launch"]>[0]) => {
        cancelled ??= await cancel(timestamp, {}, G, deps({}, "canceller"));
        return real.launch(request);
      },
    });
    const report = await runSubmit(putEvent(BUCKET, encodeEventKey(key)), { ...d, compute: racing });
    expect(cancelled?.exitCode).toBe(0);
    expect(report.exitCode).toBe(0);
    expect(world.running()).toHaveLength(0);
    const jobFolder = report.jobs[0].jobFolder!;
    expect(JSON.parse(await text(datasetStatusKey(jobFolder, D[0]))).status).toBe("CANCELLED");
    expect((await record(timestamp)).state).toBe("cancelled");
  });

  it("rejects cancelling an unknown job, another group's job, or a finished one, with a certificate", async () => {
    const unknown = await cancel("no-such-job");
    expect(unknown.exitCode).toBe(99);
    expect(unknown.jobFolder).toMatch(new RegExp(`^${G}/results/job__${BUCKET}_cancel-no-such-job_rejected-`));
    expect(await text(certificateKey(unknown.jobFolder!))).toMatch(/There is no job with timestamp "no-such-job"/);

    const theirs = await submit(`${OTHER}/inputs/x.txt`, {}, OTHER);
    expect(theirs.exitCode).toBe(0);
    const cross = await cancel(theirs.timestamp);
    expect(cross.exitCode).toBe(99);
    expect(cross.jobFolder!.startsWith(`${G}/results/`)).toBe(true);
    expect(world.running()).toHaveLength(1);

    const done = await submit(D[0]);
    world.instances.get(done.instanceIds[0])!.state = "running";
    await runMonitor(stateEvent(done.instanceIds[0], "running"), deps());
    await s3.store.put(
      BUCKET,
      datasetStatusKey(done.jobFolder!, D[0]),
      JSON.stringify({ status: "SUCCESS", reason: [], input: D[0] }),
    );
    await end(done.instanceIds[0]);
    expect(await s3.store.exists(BUCKET, endMarkerKey(done.jobFolder!))).toBe(true);
    const late = await cancel(done.timestamp);
    expect(late.exitCode).toBe(99);
    expect(await text(certificateKey(late.jobFolder!))).toContain("had already finished");
    expect(await status(done, D[0])).toMatchObject({ status: "SUCCESS" });
  });

  it("rejects a malformed cancel request naming the problem", async () => {
    n++;
    const key = `${G}/submissions/bad${n}submit.json`;
    await s3.store.put(BUCKET, key, JSON.stringify({ cancel: "a/b", dataname: "x" }));
    const out = (await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps())).jobs[0];
    expect(out.exitCode).toBe(99);
    const cert = await text(certificateKey(out.jobFolder!));
    expect(cert).toContain('"cancel" "a/b" must not contain "/"');
    expect(cert).toContain('remove "dataname"');
  });
});
