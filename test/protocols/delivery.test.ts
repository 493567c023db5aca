/**
 * Issue 11 — exactly-once effects under at-least-once events. AWS delivers S3 and EventBridge
 * events at least once and out of order and retries a Lambda that failed or timed out; each test
 * replays one such delivery pattern against the job manager and the monitor (EC2/SSM fakes, local
 * S3) and checks what a user would notice: how often the analysis ran, what is left running,
 * whether end.txt appears, whether the certificate and status files still say the truth.
 */
import type { CostLog } from "../../model/cost-log";
import type { Invocation } from "../../protocols/lease";
import { ledgerKey } from "../../protocols/ledger";
import {
  activeCostLogKey,
  certificateKey,
  datasetStatusKey,
  encodeEventKey,
  endMarkerKey,
  finishedCostLogKey,
} from "../../model/layout";
import { runMonitor, runSubmit, type JobOutcome } from "../../protocols/run";
import type { ProtocolDeps, ProtocolLimits } from "../../protocols/deps";
import { AwsWorld, ec2Error } from "../support/aws-world";
import { Gate, killAt, Killed, pauseAt } from "../support/kill";
import { useMemoryS3 } from "../support/memory-store";
import { BUCKET, FakeClock, GROUP as G, protocolDeps, putEvent, stateEvent } from "../support/protocol-env";

const s3 = useMemoryS3([BUCKET]);
const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

const D = [0, 1].map((i) => `${G}/inputs/d${i}.txt`);
const CONFIG = `${G}/configs/c.json`;
const SAVE = `${G}/configs/save.json`;

beforeAll(async () => {
  for (const d of D) await s3.store.put(BUCKET, d, d);
  await s3.store.put(BUCKET, CONFIG, "{}");
  await s3.store.put(BUCKET, SAVE, JSON.stringify({ __duration__: 30 }));
});
beforeEach(() => {
  world.reset();
  world.prices.set("t2.micro", 0.0116);
});

function inv(id: string): Invocation {
  return { id, deadline: new Date(clock.now().getTime() + 900_000) };
}
function deps(invocation?: string, limits: Partial<ProtocolLimits> = {}): ProtocolDeps {
  return {
    ...protocolDeps({ world, store: s3.store, clock, limits }),
    ...(invocation ? { invocation: inv(invocation) } : {}),
  };
}

let n = 0;
async function submitFile(
  dataname: string[],
  config = CONFIG,
): Promise<{ key: string; event: ReturnType<typeof putEvent>; folder: string }> {
  n++;
  const key = `${G}/submissions/dl${n}submit.json`;
  await s3.store.put(BUCKET, key, JSON.stringify({ dataname, configname: config, timestamp: `dl${n}` }));
  return { key, event: putEvent(BUCKET, encodeEventKey(key)), folder: `${G}/results/job__${BUCKET}_dl${n}` };
}
async function startJob(dataname: string[], config = CONFIG): Promise<JobOutcome> {
  const { event } = await submitFile(dataname, config);
  const report = await runSubmit(event, deps());
  expect(report.exitCode).toBe(0);
  return report.jobs[0];
}
function boot(id: string): void {
  world.instances.get(id)!.state = "running";
}
function commandsFor(id: string): number {
  return world.commands.filter((c) => c.instanceId === id).length;
}
function jobInstances(folder: string): string[] {
  const job = folder.split("/").pop()!;
  return [...world.instances.values()].filter((i) => i.tags["neurocaas:job"] === job).map((i) => i.id);
}
async function activeLog(id: string): Promise<CostLog | undefined> {
  const o = await s3.store.get(BUCKET, activeCostLogKey(id));
  return o ? (JSON.parse(o.body) as CostLog) : undefined;
}
async function text(key: string): Promise<string | undefined> {
  return (await s3.store.get(BUCKET, key))?.body;
}
async function status(folder: string, dataset: string): Promise<{ status: string; reason: string[] }> {
  return JSON.parse((await text(datasetStatusKey(folder, dataset)))!);
}
/** Run every live IAE of the job: boot, `running` event, the analysis succeeds, the IAE terminates. */
async function runToEnd(folder: string, invocation?: string): Promise<void> {
  for (const id of jobInstances(folder)) {
    const inst = world.instances.get(id)!;
    if (inst.state === "pending") boot(id);
    if (inst.state === "running") await runMonitor(stateEvent(id, "running"), deps(invocation));
  }
  for (const id of jobInstances(folder)) {
    for (const c of world.commands) if (c.instanceId === id) c.status = "Success";
    const inst = world.instances.get(id)!;
    if (inst.state !== "terminated") inst.state = "terminated";
    await runMonitor(stateEvent(id, "terminated"), deps(invocation));
  }
}

describe("the analysis runs exactly once per IAE", () => {
  it("two running events, the second arriving while the first still waits for the SSM agent, send one command", async () => {
    const job = await startJob([D[0]]);
    const [id] = job.instanceIds;
    boot(id);
    world.agentReadyAfter = 2;
    // The first copy fails once (agent not ready) and waits; the duplicate arrives meanwhile.
    const waiting = new Gate();
    const slow: ProtocolDeps = { ...deps("ev-1"), clock: { now: clock.now, sleep: () => waiting.wait() } };
    const first = runMonitor(stateEvent(id, "running"), slow);
    await waiting.reached;
    const second = await runMonitor(stateEvent(id, "running"), deps("ev-2"));
    expect(second.action).toBe("delivery-in-progress");
    waiting.open();
    expect((await first).action).toBe("command-delivered");
    expect(commandsFor(id)).toBe(1);
  });

  it("three concurrent copies of the running event send one command", async () => {
    const job = await startJob([D[0]]);
    const [id] = job.instanceIds;
    boot(id);
    const outcomes = await Promise.all(
      ["a", "b", "c"].map((x) => runMonitor(stateEvent(id, "running"), deps(`ev-${x}`))),
    );
    expect(outcomes.filter((o) => o.action === "command-delivered")).toHaveLength(1);
    expect(commandsFor(id)).toBe(1);
  });

  it("a monitor that times out after SSM accepted the command is retried: the retry reuses the command, none is sent again", async () => {
    const job = await startJob([D[0]]);
    const [id] = job.instanceIds;
    boot(id);
    const dying = killAt(deps("ev-timeout"), (e) => e.what.startsWith("sendCommand"), true);
    await expect(runMonitor(stateEvent(id, "running"), dying.deps)).rejects.toThrow(Killed);
    expect(commandsFor(id)).toBe(1);
    clock.advance(60_000);
    const retry = await runMonitor(stateEvent(id, "running"), deps("ev-timeout"));
    expect(retry).toMatchObject({ action: "command-delivered", detail: expect.stringContaining("reused") });
    expect(commandsFor(id)).toBe(1);
    expect((await activeLog(id))?.commandid).toBe(world.commands[0].commandId);
  });

  it("failing to record the command id after SSM accepted it does not terminate the healthy IAE as 'command could not be sent'", async () => {
    const job = await startJob([D[0]]);
    const [id] = job.instanceIds;
    boot(id);
    let sent = false;
    s3.fault = (r) => (sent && r.method === "PUT" && r.key === activeCostLogKey(id) ? 500 : undefined);
    const d = deps("ev-record");
    const compute = {
      ...d.compute,
      sendCommand: async (req: Parameters<typeof d.compute.sendCommand>[0]) => {
        const out = await d.compute.sendCommand(req);
        sent = true;
        return out;
      },
    };
    await expect(runMonitor(stateEvent(id, "running"), { ...d, compute })).rejects.toThrow();
    s3.fault = undefined;
    expect(world.instances.get(id)!.state).toBe("running");
    expect((await status(job.jobFolder!, D[0])).status).not.toBe("FAILED");
    expect(await text(certificateKey(job.jobFolder!))).not.toContain("could not be sent");
    // Lambda retries the failed invocation: the command is found, not sent again.
    const retry = await runMonitor(stateEvent(id, "running"), deps("ev-record"));
    expect(retry.action).toBe("command-delivered");
    expect(commandsFor(id)).toBe(1);
  });

  it("a monitor killed at any boundary of delivery is retried: one command, the IAE never terminated", async () => {
    const probe = await startJob([D[0]]);
    boot(probe.instanceIds[0]);
    const clean = killAt(deps("probe"), () => false);
    await runMonitor(stateEvent(probe.instanceIds[0], "running"), clean.deps);
    const boundaries = clean.effects.length;
    expect(boundaries).toBeGreaterThanOrEqual(5);
    for (const after of [false, true]) {
      for (let k = 1; k <= boundaries; k++) {
        const job = await startJob([D[0]]);
        const [id] = job.instanceIds;
        boot(id);
        const dying = killAt(deps(`run-${after}-${k}`), (e) => e.n === k, after);
        await expect(runMonitor(stateEvent(id, "running"), dying.deps)).rejects.toThrow(Killed);
        clock.advance(60_000);
        await runMonitor(stateEvent(id, "running"), deps(`run-${after}-${k}`));
        // A duplicate of the event after all that changes nothing.
        await runMonitor(stateEvent(id, "running"), deps("late-duplicate"));
        expect([after, k, commandsFor(id)]).toEqual([after, k, 1]);
        expect([after, k, world.instances.get(id)!.state]).toEqual([after, k, "running"]);
        expect([after, k, (await activeLog(id))?.commandid]).toEqual([
          after,
          k,
          world.commands.find((c) => c.instanceId === id)!.commandId,
        ]);
      }
    }
  });
});

describe("a job manager that dies mid-launch leaves neither orphans nor a stuck job", () => {
  it("killed at any boundary, Lambda's retry resumes it: each IAE started once, one command each, end.txt after the last, all spend recorded", async () => {
    const limits = { launchBatchSize: 1, launchConcurrency: 1 };
    const probe = await submitFile(D);
    const clean = killAt(deps("probe", limits), () => false);
    expect((await runSubmit(probe.event, clean.deps)).exitCode).toBe(0);
    const boundaries = clean.effects.length;
    expect(boundaries).toBeGreaterThanOrEqual(12);
    for (const after of [false, true]) {
      for (let k = 1; k <= boundaries; k++) {
        world.reset();
        world.prices.set("t2.micro", 0.0116);
        const { event, folder } = await submitFile(D);
        const id = `jm-${after}-${k}`;
        const dying = killAt(deps(id, limits), (e) => e.n === k, after);
        await expect(runSubmit(event, dying.deps)).rejects.toThrow();
        // IAEs started before the kill boot meanwhile; the monitor hears about them.
        for (const iid of jobInstances(folder)) {
          boot(iid);
          await runMonitor(stateEvent(iid, "running"), deps(`mon-${k}`));
        }
        clock.advance(60_000); // Lambda retries the failed invocation (same request id) after a minute
        const retry = await runSubmit(event, deps(id, limits));
        const where = `${after ? "after" : "before"} effect ${k} (${dying.effects[k - 1]?.what})`;
        expect([where, retry.exitCode]).toEqual([where, 0]);
        const ids = jobInstances(folder);
        expect([where, ids.length]).toEqual([where, 2]);
        await runToEnd(folder);
        for (const iid of ids) expect([where, iid, commandsFor(iid)]).toEqual([where, iid, 1]);
        const cert = (await text(certificateKey(folder)))!;
        expect([where, cert.includes("[Job Manager] STEP 4/4 (Initialize Processing): DONE")]).toEqual([where, true]);
        expect([where, await text(endMarkerKey(folder))]).toEqual([where, "end of analysis marker"]);
        const ledger = JSON.parse((await text(ledgerKey(G)))!) as { entries: Record<string, number> };
        for (const iid of ids) {
          expect([where, iid in ledger.entries]).toEqual([where, true]);
          expect([where, await activeLog(iid)]).toEqual([where, undefined]);
        }
        for (const d of D) expect([where, (await status(folder, d)).status]).toEqual([where, "SUCCESS"]);
      }
    }
    // One run per side of every S3/EC2 effect (the start gate added several): longer than the default timeout.
  }, 240_000);

  it("killed right after launching, its IAE boots before the retry: the monitor delivers the command from the launch record instead of killing it as untracked", async () => {
    const { event, folder } = await submitFile([D[0]]);
    const dying = killAt(deps("jm-early"), (e) => e.what.startsWith("launch"), true);
    await expect(runSubmit(event, dying.deps)).rejects.toThrow();
    const [id] = jobInstances(folder);
    boot(id);
    const running = await runMonitor(stateEvent(id, "running"), deps());
    expect(running.action).toBe("command-delivered");
    expect(world.instances.get(id)!.state).toBe("running");
    // Retried at +1 and +2 minutes: the first retry resumes and finishes the job, the second is a duplicate.
    clock.advance(60_000);
    const first = await runSubmit(event, deps("jm-early"));
    expect(first.jobs[0]).toMatchObject({ exitCode: 0, resumed: true, instanceIds: [id] });
    clock.advance(120_000);
    expect((await runSubmit(event, deps("jm-early"))).jobs[0].duplicate).toBe(true);
    expect(jobInstances(folder)).toEqual([id]);
    expect(commandsFor(id)).toBe(1);
    expect(await text(certificateKey(folder))).toContain("STEP 4/4 (Initialize Processing): DONE");
  });

  it("a slow but successful launch is never killed as untracked: the monitor does not wait on the cost log, it reads the launch record", async () => {
    const { event, folder } = await submitFile([D[0]]);
    // The job manager is still busy after RunInstances (retries, tagging) when the IAE is running.
    const gate = new Gate();
    const slow = pauseAt(deps("jm-slow"), (m, k) => m === "put" && k.startsWith("logs/active/"), gate);
    const manager = runSubmit(event, slow);
    await gate.reached;
    const [id] = jobInstances(folder);
    boot(id);
    expect((await runMonitor(stateEvent(id, "running"), deps())).action).toBe("command-delivered");
    gate.open();
    expect((await manager).exitCode).toBe(0);
    expect(world.instances.get(id)!.state).toBe("running");
    expect(commandsFor(id)).toBe(1);
    expect((await activeLog(id))?.commandid).toBe(world.commands[0].commandId);
  });

  it("killed after the first of two launch calls was recorded: the first IAE's end does not write end.txt while the second runs", async () => {
    const { event, folder } = await submitFile(D);
    const limits = { launchBatchSize: 1, launchConcurrency: 1 };
    let launches = 0;
    const dying = killAt(deps("jm-two", limits), (e) => e.what.startsWith("launch") && ++launches === 2, true);
    await expect(runSubmit(event, dying.deps)).rejects.toThrow();
    const [first, second] = jobInstances(folder);
    for (const id of [first, second]) {
      boot(id);
      await runMonitor(stateEvent(id, "running"), deps());
    }
    world.instances.get(first)!.state = "terminated";
    const ended = await runMonitor(stateEvent(first, "terminated"), deps());
    expect(ended).toMatchObject({ action: "finished", jobFinished: false });
    expect(await text(endMarkerKey(folder))).toBeUndefined();
    world.instances.get(second)!.state = "terminated";
    clock.advance(16 * 60_000); // the job manager's lease is long gone and no retry came
    expect(await runMonitor(stateEvent(second, "terminated"), deps())).toMatchObject({
      action: "finished",
      jobFinished: true,
    });
    expect(await text(endMarkerKey(folder))).toBe("end of analysis marker");
    expect(await text(certificateKey(folder))).toContain(
      "The job manager stopped before it finished starting this job and was not resumed",
    );
  });
});

describe("completion is retry-safe", () => {
  it("a monitor killed at any boundary of the last IAE's completion is retried: end.txt appears, spend counted once", async () => {
    const probe = await startJob([D[0]]);
    const [pid] = probe.instanceIds;
    boot(pid);
    await runMonitor(stateEvent(pid, "running"), deps());
    world.commands.forEach((c) => (c.status = "Success"));
    world.instances.get(pid)!.state = "terminated";
    const clean = killAt(deps("probe"), () => false);
    await runMonitor(stateEvent(pid, "terminated"), clean.deps);
    const boundaries = clean.effects.length;
    expect(clean.effects.map((e) => e.what.split(" ")[0])).toEqual(expect.arrayContaining(["put", "delete"]));
    for (const after of [false, true]) {
      for (let k = 1; k <= boundaries; k++) {
        const job = await startJob([D[0]]);
        const [id] = job.instanceIds;
        boot(id);
        await runMonitor(stateEvent(id, "running"), deps());
        for (const c of world.commands) if (c.instanceId === id) c.status = "Success";
        world.instances.get(id)!.state = "terminated";
        const dying = killAt(deps(`end-${after}-${k}`), (e) => e.n === k, after);
        await expect(runMonitor(stateEvent(id, "terminated"), dying.deps)).rejects.toThrow(Killed);
        await runMonitor(stateEvent(id, "terminated"), deps(`end-${after}-${k}`));
        const where = `${after ? "after" : "before"} ${clean.effects[k - 1].what}`;
        expect([where, await text(endMarkerKey(job.jobFolder!))]).toEqual([where, "end of analysis marker"]);
        expect([where, await activeLog(id)]).toEqual([where, undefined]);
        const finished = JSON.parse((await text(finishedCostLogKey(G, id)))!) as CostLog;
        const ledger = JSON.parse((await text(ledgerKey(G)))!) as { entries: Record<string, number> };
        expect([where, ledger.entries[id]]).toEqual([where, expect.any(Number)]);
        expect(finished.end).not.toBeNull();
        expect([where, (await status(job.jobFolder!, D[0])).status]).toEqual([where, "SUCCESS"]);
      }
    }
  });
});

describe("files users read stay correct", () => {
  /** A job manager stopped right before writing its final certificate, and its (booted) IAE, whose agent never registers. */
  async function managerAtFinalCertificate(): Promise<{
    manager: Promise<unknown>;
    gate: Gate;
    folder: string;
    id: string;
  }> {
    const { event, folder } = await submitFile([D[0]]);
    const gate = new Gate();
    const manager = runSubmit(
      event,
      pauseAt(
        deps(`jm-final-${n}`),
        (m, k, body) => m === "put" && k.endsWith("certificate.txt") && (body ?? "").includes("STEP 4/4"),
        gate,
      ),
    );
    await gate.reached;
    const [id] = jobInstances(folder);
    boot(id);
    world.agentReadyAfter = Infinity;
    return { manager, gate, folder, id };
  }

  it("the job manager's final certificate and a concurrent monitor update both survive (monitor first)", async () => {
    // The job manager has computed its final certificate and is about to write it, when the IAE's
    // delivery fails for good and the monitor reports it.
    const { manager, gate, folder, id } = await managerAtFinalCertificate();
    expect((await runMonitor(stateEvent(id, "running"), deps(undefined, { commandDeliveryMs: 10_000 }))).action).toBe(
      "delivery-failed",
    );
    gate.open();
    await manager;
    const cert = (await text(certificateKey(folder)))!;
    expect(cert).toContain("[Job Manager] STEP 4/4 (Initialize Processing): DONE");
    // The monitor replaced the IAE once (SPEC §11): its line and its note survive too.
    expect(cert).toMatch(
      new RegExp(`DATANAME: ${D[0]} \\| STATUS: INITIALIZING \\| TIME: [^|]+\\| LAST COMMAND: replaced by IAE i-`),
    );
    expect(cert).toMatch(
      /\[Monitor\] IAE i-\w+ did not become ready to receive its command within 10 s; it was terminated and replaced once/,
    );
  });

  it("the job manager's final certificate and a concurrent monitor update both survive (job manager first)", async () => {
    const { manager, gate: jmGate, folder, id } = await managerAtFinalCertificate();
    // The monitor reads the certificate (before the final one exists) and is slow to write it back.
    const monGate = new Gate();
    const monitor = runMonitor(
      stateEvent(id, "running"),
      pauseAt(
        deps(undefined, { commandDeliveryMs: 10_000 }),
        (m, k) => m === "get" && k.endsWith("certificate.txt"),
        monGate,
      ),
    );
    await monGate.reached;
    jmGate.open();
    await manager;
    monGate.open();
    await monitor;
    const cert = (await text(certificateKey(folder)))!;
    expect(cert).toContain("[Job Manager] STEP 4/4 (Initialize Processing): DONE");
    expect(cert).toMatch(
      new RegExp(`DATANAME: ${D[0]} \\| STATUS: INITIALIZING \\| TIME: [^|]+\\| LAST COMMAND: replaced by IAE i-`),
    );
  });

  it("an IAE terminated before it ever ran reads FAILED with the reason after end.txt", async () => {
    const job = await startJob([D[0]]);
    const [id] = job.instanceIds;
    world.instances.get(id)!.state = "terminated"; // capacity reclaimed while pending
    world.instances.get(id)!.stateReason = "Server.InsufficientInstanceCapacity";
    expect(await runMonitor(stateEvent(id, "terminated"), deps())).toMatchObject({
      action: "finished",
      jobFinished: true,
    });
    const s = await status(job.jobFolder!, D[0]);
    expect(s.status).toBe("FAILED");
    expect(s.reason.join(" ")).toContain(
      `IAE ${id} ended (terminated) (Server.InsufficientInstanceCapacity) before its analysis started; nothing ran.`,
    );
    const cert = (await text(certificateKey(job.jobFolder!)))!;
    expect(cert).toContain(`DATANAME: ${D[0]} | STATUS: FAILED`);
    expect(cert).toContain("LAST COMMAND: ended before it ran");
    expect(cert).not.toContain("waiting for IAE");
  });

  it("a spot IAE interrupted while IN PROGRESS, whose on-demand relaunch finds no capacity, does not stay IN PROGRESS after end.txt; the certificate says it was interrupted", async () => {
    const job = await startJob([D[0]], SAVE);
    const [id] = job.instanceIds;
    expect(world.instances.get(id)!.spot).toBe(true);
    boot(id);
    await runMonitor(stateEvent(id, "running"), deps());
    // The IAE side reports progress as the workflow CLI does.
    await s3.store.put(
      BUCKET,
      datasetStatusKey(job.jobFolder!, D[0]),
      JSON.stringify({ ...(await status(job.jobFolder!, D[0])), status: "IN PROGRESS", reason: ["running"] }),
    );
    world.instances.get(id)!.state = "terminated";
    world.instances.get(id)!.stateReason = "Server.SpotInstanceTermination";
    // The relaunch on demand (SPEC §11; test/protocols/retry.test.ts) finds no capacity either.
    world.runInstancesFaults.push(
      ...Array.from({ length: 60 }, () =>
        ec2Error("InsufficientInstanceCapacity", 500, "We currently do not have sufficient t2.micro capacity"),
      ),
    );
    expect(await runMonitor(stateEvent(id, "terminated"), deps())).toMatchObject({ jobFinished: true });
    world.runInstancesFaults.length = 0;
    const s = await status(job.jobFolder!, D[0]);
    expect(s.status).toBe("FAILED");
    expect(s.reason.join(" ")).toMatch(
      /was interrupted while its analysis was IN PROGRESS: AWS reclaimed the spot capacity it ran on/,
    );
    const cert = (await text(certificateKey(job.jobFolder!)))!;
    expect(cert).toContain(`DATANAME: ${D[0]} | STATUS: FAILED`);
    expect(cert).toContain("LAST COMMAND: interrupted");
  });
});

describe("cheap when it is not ours", () => {
  it("an event for an instance that is not an IAE of this analysis costs one request", async () => {
    const stranger = world.addInstance({
      type: "t2.micro",
      imageId: "ami-0aaaaaaaaaaaaaaaa",
      tags: { Name: "someone's server" },
    });
    for (const state of ["running", "terminated", "shutting-down"]) {
      world.ec2.resetHistory();
      world.ssm.resetHistory();
      s3.requests.length = 0;
      expect((await runMonitor(stateEvent(stranger.id, state), deps())).action).toBe("ignored");
      const requests = world.ec2.calls().length + world.ssm.calls().length + s3.requests.length;
      expect([state, requests]).toEqual([state, 1]);
    }
    expect(stranger.state).toBe("running");
  });
});
