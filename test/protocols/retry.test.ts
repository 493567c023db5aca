/**
 * Retry what the infrastructure broke (SPEC §11, issue 17), with the EC2 fake: a spot IAE reclaimed
 * by AWS mid-run is relaunched once on demand; an IAE whose agent never registers is replaced once;
 * a replacement is never replaced again; both attempts' spend is accounted. An analysis that exits
 * non-zero runs again only up to the blueprint's MAX_ATTEMPTS.
 */
import { certificateKey, datasetStatusKey, encodeEventKey, endMarkerKey, finishedCostLogKey } from "../../model/layout";
import { IAE_STOP_REASONS } from "../../protocols/compute";
import { ledgerKey } from "../../protocols/ledger";
import { runMonitor, runSubmit, type JobOutcome } from "../../protocols/run";
import type { ProtocolLimits } from "../../protocols/deps";
import { AwsWorld } from "../support/aws-world";
import { useMemoryS3 } from "../support/memory-store";
import { BUCKET, FakeClock, GROUP as G, protocolDeps, putEvent, stateEvent } from "../support/protocol-env";

const s3 = useMemoryS3([BUCKET]);
const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

const D = `${G}/inputs/r.txt`;
beforeAll(async () => {
  await s3.store.put(BUCKET, D, "r");
  await s3.store.put(BUCKET, `${G}/configs/save.json`, JSON.stringify({ __duration__: 45 }));
  await s3.store.put(BUCKET, `${G}/configs/plain.json`, "{}");
});
beforeEach(() => {
  world.reset();
  world.prices.set("t2.micro", 1);
});

const deps = (limits: Partial<ProtocolLimits> = {}) => protocolDeps({ world, store: s3.store, clock, limits });
let n = 0;
async function submit(config: string): Promise<JobOutcome> {
  n++;
  const key = `${G}/submissions/r${n}submit.json`;
  await s3.store.put(
    BUCKET,
    key,
    JSON.stringify({ dataname: D, configname: `${G}/configs/${config}`, timestamp: `retry${n}` }),
  );
  return (await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps())).jobs[0];
}
const text = async (key: string) => (await s3.store.get(BUCKET, key))?.body ?? "";
const status = async (job: JobOutcome) =>
  JSON.parse(await text(datasetStatusKey(job.jobFolder!, D))) as Record<string, unknown>;
const warning = (id: string) =>
  ({
    "detail-type": "EC2 Spot Instance Interruption Warning",
    source: "aws.ec2",
    time: "2026-01-05T12:20:00Z",
    detail: { "instance-id": id, "instance-action": "terminate" },
  }) as never;

async function boot(id: string, limits: Partial<ProtocolLimits> = {}) {
  world.instances.get(id)!.state = "running";
  return runMonitor(stateEvent(id, "running"), deps(limits));
}

describe("spot interruption", () => {
  it("relaunches a reclaimed spot IAE once on on-demand capacity; both attempts are accounted", async () => {
    const job = await submit("save.json");
    const [spot] = job.instanceIds;
    expect(world.instances.get(spot)!.spot).toBe(true);
    expect((await boot(spot)).action).toBe("command-delivered");
    await s3.store.put(
      BUCKET,
      datasetStatusKey(job.jobFolder!, D),
      JSON.stringify({ status: "IN PROGRESS", reason: [], input: D, instance: spot }),
    );
    expect((await runMonitor(warning(spot), deps())).action).toBe("interruption-noted");
    expect(await text(certificateKey(job.jobFolder!))).toContain(
      `AWS announced at 2026-01-05T12:20:00Z that it reclaims the spot capacity of IAE ${spot}`,
    );

    const calls = world.runInstancesCalls.length;
    world.instances.get(spot)!.state = "terminated";
    world.instances.get(spot)!.stateReason = "Server.SpotInstanceTermination";
    const ended = await runMonitor(stateEvent(spot, "terminated"), deps());
    expect(ended.jobFinished).toBe(false);
    expect(world.runInstancesCalls.length).toBe(calls + 1);
    expect(world.runInstancesCalls[calls].InstanceMarketOptions).toBeUndefined();
    const [replacement] = world.running().map((i) => i.id);
    expect(replacement).not.toBe(spot);
    expect(await status(job)).toMatchObject({ status: "INITIALIZING", instance: replacement });
    const cert = await text(certificateKey(job.jobFolder!));
    expect(cert).toContain(`relaunched once on on-demand capacity as IAE ${replacement}`);
    expect(await s3.store.exists(BUCKET, endMarkerKey(job.jobFolder!))).toBe(false);
    // A repeated end event relaunches nothing more.
    await runMonitor(stateEvent(spot, "terminated"), deps());
    expect(world.runInstancesCalls.length).toBe(calls + 1);

    // The replacement runs the same command and finishes the job.
    expect((await boot(replacement)).action).toBe("command-delivered");
    expect(world.commands.map((c) => c.parameters.commands)).toEqual([
      world.commands[0].parameters.commands,
      world.commands[0].parameters.commands,
    ]);
    await s3.store.put(
      BUCKET,
      datasetStatusKey(job.jobFolder!, D),
      JSON.stringify({ status: "SUCCESS", reason: [], input: D, instance: replacement }),
    );
    world.instances.get(replacement)!.state = "terminated";
    expect((await runMonitor(stateEvent(replacement, "terminated"), deps())).jobFinished).toBe(true);
    const ledger = JSON.parse(await text(ledgerKey(G))) as { entries: Record<string, number> };
    expect(Object.keys(ledger.entries)).toEqual(expect.arrayContaining([spot, replacement]));
    for (const id of [spot, replacement]) expect(await s3.store.exists(BUCKET, finishedCostLogKey(G, id))).toBe(true);
  });

  it("does not relaunch an on-demand IAE that ended, nor a spot IAE whose analysis had finished", async () => {
    const plain = await submit("plain.json");
    await boot(plain.instanceIds[0]);
    const calls = world.runInstancesCalls.length;
    world.instances.get(plain.instanceIds[0])!.state = "terminated";
    await runMonitor(stateEvent(plain.instanceIds[0], "terminated"), deps());
    expect(world.runInstancesCalls.length).toBe(calls);
    expect((await status(plain)).status).toBe("FAILED");

    const done = await submit("save.json");
    await boot(done.instanceIds[0]);
    await s3.store.put(
      BUCKET,
      datasetStatusKey(done.jobFolder!, D),
      JSON.stringify({ status: "SUCCESS", reason: [], input: D }),
    );
    world.instances.get(done.instanceIds[0])!.state = "terminated";
    world.instances.get(done.instanceIds[0])!.stateReason = "Server.SpotInstanceTermination";
    expect((await runMonitor(stateEvent(done.instanceIds[0], "terminated"), deps())).jobFinished).toBe(true);
    expect(world.runInstancesCalls.length).toBe(calls + 1);
  });
});

describe("an IAE that never receives its command", () => {
  it("is replaced once; a replacement that fails the same way fails the dataset", async () => {
    const limits = { commandDeliveryMs: 10_000 };
    world.agentReadyAfter = 1000;
    const job = await submit("plain.json");
    const [first] = job.instanceIds;
    const calls = world.runInstancesCalls.length;
    const out = await boot(first, limits);
    expect(out.action).toBe("delivery-failed");
    expect(world.instances.get(first)!.state).toBe("terminated");
    expect(world.runInstancesCalls.length).toBe(calls + 1);
    const second = world.running()[0].id;
    expect(out.detail).toContain(`replaced by ${second}`);
    expect(await status(job)).toMatchObject({ status: "INITIALIZING", instance: second });
    // The first one's end does not settle the dataset nor end the job.
    expect((await runMonitor(stateEvent(first, "terminated"), deps(limits))).jobFinished).toBe(false);
    expect((await status(job)).status).toBe("INITIALIZING");

    const again = await boot(second, limits);
    expect(again.action).toBe("delivery-failed");
    expect(world.runInstancesCalls.length).toBe(calls + 1);
    expect(await status(job)).toMatchObject({ status: "FAILED" });
    expect(await text(certificateKey(job.jobFolder!))).toContain(
      "It was not replaced: it was already the replacement of an earlier IAE.",
    );
    expect((await runMonitor(stateEvent(second, "terminated"), deps(limits))).jobFinished).toBe(true);
    world.agentReadyAfter = 0;
  });
});

describe("an analysis that exits non-zero (MAX_ATTEMPTS)", () => {
  const withAttempts = (maxAttempts?: number) =>
    protocolDeps({ world, store: s3.store, clock, config: maxAttempts ? { maxAttempts } : {} });
  /** The IAE's analysis ends: its command exits `code` (the analysis writes its status first), the IAE terminates. */
  async function finish(job: JobOutcome, id: string, code: number, maxAttempts?: number) {
    const cmd = world.commands.find((c) => c.instanceId === id)!;
    cmd.status = code === 0 ? "Success" : "Failed";
    cmd.responseCode = code;
    if (code !== 0) cmd.stderr = `attempt on ${id} failed`;
    await s3.store.put(
      BUCKET,
      datasetStatusKey(job.jobFolder!, D),
      JSON.stringify({ status: code === 0 ? "SUCCESS" : "FAILED", reason: [], input: D, instance: id }),
    );
    world.instances.get(id)!.state = "terminated";
    return runMonitor(stateEvent(id, "terminated"), withAttempts(maxAttempts));
  }
  const newest = (before: ReadonlySet<string>) => world.running().find((i) => !before.has(i.id))!.id;

  it("never runs a failed analysis again by default", async () => {
    const job = await submit("plain.json");
    const [first] = job.instanceIds;
    await boot(first);
    const calls = world.runInstancesCalls.length;
    expect((await finish(job, first, 3)).jobFinished).toBe(true);
    expect(world.runInstancesCalls.length).toBe(calls);
    expect((await status(job)).status).toBe("FAILED");
    expect(await s3.store.exists(BUCKET, endMarkerKey(job.jobFolder!))).toBe(true);
  });

  it("MAX_ATTEMPTS 2: a failing analysis runs twice, once per repeated event, then the dataset is FAILED", async () => {
    const job = await submit("plain.json");
    const [first] = job.instanceIds;
    await boot(first);
    const calls = world.runInstancesCalls.length;
    const ended = await finish(job, first, 1, 2);
    expect(ended.jobFinished).toBe(false);
    expect(world.runInstancesCalls.length).toBe(calls + 1);
    // Repeated and concurrent deliveries of the end event start no second retry.
    await Promise.all([
      runMonitor(stateEvent(first, "terminated"), withAttempts(2)),
      runMonitor(stateEvent(first, "terminated"), withAttempts(2)),
    ]);
    expect(world.runInstancesCalls.length).toBe(calls + 1);
    const second = newest(new Set([first]));
    expect(world.runInstancesCalls[calls].InstanceType).toBe(world.runInstancesCalls[calls - 1].InstanceType);
    expect(await status(job)).toMatchObject({ status: "INITIALIZING", instance: second });
    const cert = await text(certificateKey(job.jobFolder!));
    expect(cert).toContain(`running it again as attempt 2 of at most 2 (MAX_ATTEMPTS) on IAE ${second}`);
    expect(await s3.store.exists(BUCKET, endMarkerKey(job.jobFolder!))).toBe(false);

    await boot(second);
    expect(world.commands.filter((c) => c.instanceId === second)).toHaveLength(1);
    expect((await finish(job, second, 1, 2)).jobFinished).toBe(true);
    expect(world.runInstancesCalls.length).toBe(calls + 1);
    expect((await status(job)).status).toBe("FAILED");
    expect(await text(certificateKey(job.jobFolder!))).toContain(
      "it is not run again: its analysis has run 2 of at most 2 time(s) (MAX_ATTEMPTS).",
    );
    const logs = await Promise.all(
      [first, second].map(async (id) => JSON.parse(await text(finishedCostLogKey(G, id))) as Record<string, unknown>),
    );
    expect(logs.map((l) => [l.attempt, l.retry])).toEqual([
      [undefined, undefined],
      [2, "analysis-failure"],
    ]);
    const ledger = JSON.parse(await text(ledgerKey(G))) as { entries: Record<string, number> };
    expect(Object.keys(ledger.entries)).toEqual(expect.arrayContaining([first, second]));
  });

  it("an analysis that fails once and then succeeds ends SUCCESS", async () => {
    const job = await submit("plain.json");
    const [first] = job.instanceIds;
    await boot(first);
    expect((await finish(job, first, 2, 3)).jobFinished).toBe(false);
    const second = newest(new Set([first]));
    await boot(second);
    expect((await finish(job, second, 0, 3)).jobFinished).toBe(true);
    expect((await status(job)).status).toBe("SUCCESS");
    expect(await s3.store.exists(BUCKET, endMarkerKey(job.jobFolder!))).toBe(true);
  });

  it("runs a spot job's failed analysis again on spot capacity", async () => {
    const job = await submit("save.json");
    const [first] = job.instanceIds;
    await boot(first);
    const calls = world.runInstancesCalls.length;
    expect((await finish(job, first, 1, 2)).jobFinished).toBe(false);
    expect(world.runInstancesCalls[calls].InstanceMarketOptions).toBeDefined();
    expect(world.instances.get(newest(new Set([first])))!.spot).toBe(true);
  });

  it("another dataset's IAE ending while a failed one is relaunched does not finish the job early", async () => {
    const D2 = `${G}/inputs/r2.txt`;
    await s3.store.put(BUCKET, D2, "r2");
    const key = `${G}/submissions/race_submit.json`;
    await s3.store.put(
      BUCKET,
      key,
      JSON.stringify({ dataname: [D, D2], configname: `${G}/configs/plain.json`, timestamp: "retry-race" }),
    );
    const job = (await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps())).jobs[0];
    const [a, b] = job.instanceIds;
    await boot(a);
    await boot(b);
    const other = (id: string) => (id === a ? b : a);
    const dataOf = (id: string) => world.instances.get(id)!.tags["neurocaas:dataset"];
    const failing = a;
    const succeeding = other(failing);
    // The succeeding IAE's end is handled at the worst moment: right after the failing IAE's spend is written.
    world.commands.find((c) => c.instanceId === succeeding)!.status = "Success";
    await s3.store.put(
      BUCKET,
      datasetStatusKey(job.jobFolder!, dataOf(succeeding)),
      JSON.stringify({ status: "SUCCESS", reason: [], input: dataOf(succeeding), instance: succeeding }),
    );
    world.instances.get(succeeding)!.state = "terminated";
    let fired = false;
    const store = new Proxy(s3.store, {
      get(target, prop, receiver) {
        if (prop !== "put") {
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        }
        return async (...args: Parameters<typeof target.put>) => {
          const out = await target.put(...args);
          if (!fired && args[1] === finishedCostLogKey(G, failing)) {
            fired = true;
            await runMonitor(stateEvent(succeeding, "terminated"), withAttempts(2));
          }
          return out;
        };
      },
    });
    const cmd = world.commands.find((c) => c.instanceId === failing)!;
    cmd.status = "Failed";
    cmd.responseCode = 1;
    await s3.store.put(
      BUCKET,
      datasetStatusKey(job.jobFolder!, dataOf(failing)),
      JSON.stringify({ status: "FAILED", reason: [], input: dataOf(failing), instance: failing }),
    );
    world.instances.get(failing)!.state = "terminated";
    const ended = await runMonitor(
      stateEvent(failing, "terminated"),
      protocolDeps({ world, store, clock, config: { maxAttempts: 2 } }),
    );
    expect(fired).toBe(true);
    expect(ended.jobFinished).toBe(false);
    expect(await s3.store.exists(BUCKET, endMarkerKey(job.jobFolder!))).toBe(false);
    // The relaunch ends the job.
    const retry = newest(new Set([a, b]));
    await boot(retry);
    world.commands.find((c) => c.instanceId === retry)!.status = "Success";
    await s3.store.put(
      BUCKET,
      datasetStatusKey(job.jobFolder!, dataOf(failing)),
      JSON.stringify({ status: "SUCCESS", reason: [], input: dataOf(failing), instance: retry }),
    );
    world.instances.get(retry)!.state = "terminated";
    expect((await runMonitor(stateEvent(retry, "terminated"), withAttempts(2))).jobFinished).toBe(true);
  });

  it("does not run again an analysis killed at its time limit", async () => {
    const job = await submit("plain.json");
    const [first] = job.instanceIds;
    await boot(first);
    world.instances.get(first)!.stateReason = IAE_STOP_REASONS.timeLimit;
    const calls = world.runInstancesCalls.length;
    expect((await finish(job, first, 1, 3)).jobFinished).toBe(true);
    expect(world.runInstancesCalls.length).toBe(calls);
  });
});
