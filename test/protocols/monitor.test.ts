import { SendCommandCommand } from "@aws-sdk/client-ssm";
import type { CostLog } from "../../model/cost-log";
import {
  activeCostLogKey,
  certificateKey,
  datasetStatusKey,
  encodeEventKey,
  endMarkerKey,
  finishedCostLogKey,
} from "../../model/layout";
import { runMonitor, runSubmit, type JobOutcome } from "../../protocols/run";
import { AwsWorld } from "../support/aws-world";
import { useMemoryS3 } from "../support/memory-store";
import { BUCKET, FakeClock, GROUP as G, protocolDeps, putEvent, stateEvent } from "../support/protocol-env";
import type { AnalysisRuntimeConfig } from "../../model/runtime-config";
import type { ProtocolLimits } from "../../protocols/deps";

const s3 = useMemoryS3([BUCKET]);
const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

const D1 = `${G}/inputs/a.txt`;
const D2 = `${G}/inputs/b.txt`;
const CONFIG = `${G}/configs/c.json`;

beforeAll(async () => {
  await s3.store.put(BUCKET, D1, "a");
  await s3.store.put(BUCKET, D2, "b");
  await s3.store.put(BUCKET, CONFIG, "{}");
});
beforeEach(() => {
  world.reset();
  world.prices.set("t2.micro", 0.0116);
});

let n = 0;
function deps(config: Partial<AnalysisRuntimeConfig> = {}, limits: Partial<ProtocolLimits> = {}) {
  return protocolDeps({ world, store: s3.store, clock, config, limits });
}
async function startJob(dataname: string | string[], config: Partial<AnalysisRuntimeConfig> = {}): Promise<JobOutcome> {
  n++;
  const key = `${G}/submissions/m${n}submit.json`;
  await s3.store.put(BUCKET, key, JSON.stringify({ dataname, configname: CONFIG, timestamp: `mon${n}` }));
  const report = await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps(config));
  expect(report.exitCode).toBe(0);
  return report.jobs[0];
}
function boot(id: string): void {
  world.instances.get(id)!.state = "running";
}
async function activeLog(id: string): Promise<CostLog | undefined> {
  const o = await s3.store.get(BUCKET, activeCostLogKey(id));
  return o ? (JSON.parse(o.body) as CostLog) : undefined;
}

describe("monitor: running", () => {
  it("records the start and delivers the command through SSM once", async () => {
    const job = await startJob([D1, D2]);
    // The job manager returned without waiting for boot: instances pending, no command sent yet.
    expect(job.instanceIds.map((id) => world.instances.get(id)!.state)).toEqual(["pending", "pending"]);
    expect(world.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(clock.sleeps).toHaveLength(0);
    const [id1] = job.instanceIds;
    boot(id1);
    const outcome = await runMonitor(stateEvent(id1, "running", "2026-01-05T12:01:30Z"), deps());
    expect(outcome.action).toBe("command-delivered");
    const log = (await activeLog(id1))!;
    expect(log.start).toBe("2026-01-05T12:01:30Z");
    expect(log.commandid).toBe("cmd-1");
    expect(world.commands).toHaveLength(1);
    const cmd = world.commands[0];
    expect(cmd.instanceId).toBe(id1);
    expect(cmd.parameters.commands).toEqual([
      `cd /home/ubuntu; neurocaas_remote/run_main.sh "${BUCKET}" "${D1}" "results/job__${BUCKET}_mon${n}" "${CONFIG}"; . neurocaas_remote/ncap_utils/workflow.sh; cleanup`,
    ]);
    expect(cmd.parameters.workingDirectory).toEqual(["/home/ubuntu"]);
    expect(cmd.parameters.executionTimeout).toEqual(["172000"]);
    expect(cmd.outputBucket).toBe(BUCKET);
    expect(cmd.outputPrefix).toBe(`${job.jobFolder}/internal_ec2_logs`);
    const status = JSON.parse((await s3.store.get(BUCKET, datasetStatusKey(job.jobFolder!, D1)))!.body);
    expect(status).toMatchObject({ status: "INITIALIZING", input: D1, instance: id1, command: "cmd-1" });
    const cert = (await s3.store.get(BUCKET, certificateKey(job.jobFolder!)))!.body;
    expect(cert).toContain(`DATANAME: ${D1} | STATUS: INITIALIZING | TIME: `);
    expect(cert).toContain("| LAST COMMAND: command cmd-1 sent");

    expect((await runMonitor(stateEvent(id1, "running"), deps())).action).toBe("already-delivered");
    expect(world.commands).toHaveLength(1);
  });

  it("retries while the SSM agent registers", async () => {
    const job = await startJob(D1);
    const [id] = job.instanceIds;
    boot(id);
    world.agentReadyAfter = 3;
    const sleepsBefore = clock.sleeps.length;
    const outcome = await runMonitor(stateEvent(id, "running"), deps());
    expect(outcome.action).toBe("command-delivered");
    expect(world.instances.get(id)!.sendAttempts).toBe(4);
    expect(clock.sleeps.length - sleepsBefore).toBe(3);
  });

  it("terminates and reports an IAE that never becomes ready for its command", async () => {
    const job = await startJob(D1);
    const [id] = job.instanceIds;
    boot(id);
    world.agentReadyAfter = Infinity;
    const outcome = await runMonitor(stateEvent(id, "running"), deps({}, { commandDeliveryMs: 60_000 }));
    expect(outcome.action).toBe("delivery-failed");
    expect(world.instances.get(id)!.state).toBe("terminated");
    // Replaced once (SPEC §11; test/protocols/retry.test.ts); the replacement fails the same way.
    const [replacement] = world.running().map((i) => i.id);
    expect(outcome.detail).toContain(`replaced by ${replacement}`);
    boot(replacement);
    expect((await runMonitor(stateEvent(replacement, "running"), deps({}, { commandDeliveryMs: 60_000 }))).action).toBe(
      "delivery-failed",
    );
    await runMonitor(stateEvent(id, "terminated"), deps());
    const status = JSON.parse((await s3.store.get(BUCKET, datasetStatusKey(job.jobFolder!, D1)))!.body);
    expect(status.status).toBe("FAILED");
    expect(status.reason[1]).toContain(
      `IAE ${replacement} did not become ready to receive its command within 60 s; it was terminated`,
    );
    const cert = (await s3.store.get(BUCKET, certificateKey(job.jobFolder!)))!.body;
    expect(cert).toContain(`DATANAME: ${D1} | STATUS: FAILED`);
    expect(cert).toMatch(
      /\[JOB TERMINATE REASON\] IAE i-\w+ did not become ready to receive its command within 60 s; it was terminated\. It was not replaced/,
    );
    // Its termination then completes the job.
    const end = await runMonitor(stateEvent(replacement, "terminated"), deps());
    expect(end.jobFinished).toBe(true);
    expect((await s3.store.get(BUCKET, endMarkerKey(job.jobFolder!)))!.body).toBe("end of analysis marker");
  });

  it("runs a home-relative working directory through the shell", async () => {
    const job = await startJob(D1, { workingDirectory: "~/bin" });
    boot(job.instanceIds[0]);
    await runMonitor(stateEvent(job.instanceIds[0], "running"), deps({ workingDirectory: "~/bin" }));
    const cmd = world.commands.at(-1)!;
    expect(cmd.parameters.commands[0]).toBe("cd ~/bin 2>/dev/null || true");
    expect(cmd.parameters.workingDirectory).toBeUndefined();
  });

  it("ignores instances that are not IAEs of this analysis, and terminates tagged IAEs without a cost log", async () => {
    const stranger = world.addInstance({
      type: "t2.micro",
      imageId: "ami-0aaaaaaaaaaaaaaaa",
      tags: { Name: "someone's server" },
    });
    const otherAnalysis = world.addInstance({
      type: "t2.micro",
      imageId: "ami-0aaaaaaaaaaaaaaaa",
      tags: { "neurocaas:analysis": "another-bucket" },
    });
    const s3Before = s3.requests.length;
    expect((await runMonitor(stateEvent(stranger.id, "running"), deps())).action).toBe("ignored");
    expect((await runMonitor(stateEvent(otherAnalysis.id, "running"), deps())).action).toBe("ignored");
    expect((await runMonitor(stateEvent(stranger.id, "terminated"), deps())).action).toBe("ignored");
    expect((await runMonitor(stateEvent(stranger.id, "pending"), deps())).action).toBe("ignored");
    // Only reads: one cost-log lookup per event (the pending one needs none).
    expect(s3.requests.slice(s3Before).every((r) => r.method === "GET" || r.method === "HEAD")).toBe(true);
    expect(stranger.state).toBe("running");

    const orphan = world.addInstance({
      type: "t2.micro",
      imageId: "ami-0aaaaaaaaaaaaaaaa",
      tags: { "neurocaas:analysis": BUCKET },
    });
    expect((await runMonitor(stateEvent(orphan.id, "running"), deps())).action).toBe("untracked-terminated");
    expect(orphan.state).toBe("terminated");
  });
});

describe("monitor: shutting-down / terminated", () => {
  it("moves the cost log, accounts its spend, and writes end.txt only after the job's last IAE", async () => {
    const job = await startJob([D1, D2]);
    const [id1, id2] = job.instanceIds;
    for (const id of [id1, id2]) {
      boot(id);
      await runMonitor(stateEvent(id, "running", "2026-01-05T12:00:00Z"), deps());
    }
    const first = await runMonitor(stateEvent(id1, "shutting-down", "2026-01-05T13:00:00Z"), deps());
    expect(first).toMatchObject({ action: "finished", jobFinished: false });
    expect(await activeLog(id1)).toBeUndefined();
    const finished = JSON.parse((await s3.store.get(BUCKET, finishedCostLogKey(G, id1)))!.body) as CostLog;
    expect(finished).toMatchObject({
      "instance-id": id1,
      start: "2026-01-05T12:00:00Z",
      end: "2026-01-05T13:00:00Z",
      price: 0.0116,
    });
    expect(await s3.store.exists(BUCKET, endMarkerKey(job.jobFolder!))).toBe(false);
    // The later `terminated` event of the same instance changes nothing.
    expect((await runMonitor(stateEvent(id1, "terminated", "2026-01-05T13:01:00Z"), deps())).action).toBe("ignored");
    expect(await s3.store.exists(BUCKET, endMarkerKey(job.jobFolder!))).toBe(false);

    const last = await runMonitor(stateEvent(id2, "terminated", "2026-01-05T13:30:00Z"), deps());
    expect(last).toMatchObject({ action: "finished", jobFinished: true });
    expect((await s3.store.get(BUCKET, endMarkerKey(job.jobFolder!)))!.body).toBe("end of analysis marker");
  });

  it("writes end.txt once when the job's IAEs end at the same moment", async () => {
    const job = await startJob([D1, D2]);
    const outcomes = await Promise.all(job.instanceIds.map((id) => runMonitor(stateEvent(id, "terminated"), deps())));
    expect(outcomes.some((o) => o.jobFinished)).toBe(true);
    expect(await s3.store.exists(BUCKET, endMarkerKey(job.jobFolder!))).toBe(true);
    // A log that never saw `running` counts one hour at its price.
    const finished = JSON.parse(
      (await s3.store.get(BUCKET, finishedCostLogKey(G, job.instanceIds[0])))!.body,
    ) as CostLog;
    expect(finished.start).toBeNull();
  });
});

describe("monitor: how an IAE ended decides what its dataset says", () => {
  async function running(): Promise<{ job: JobOutcome; id: string }> {
    const job = await startJob(D1);
    const [id] = job.instanceIds;
    boot(id);
    expect((await runMonitor(stateEvent(id, "running", "2026-01-05T12:00:00Z"), deps())).action).toBe(
      "command-delivered",
    );
    return { job, id };
  }
  const status = async (job: JobOutcome) =>
    JSON.parse((await s3.store.get(BUCKET, datasetStatusKey(job.jobFolder!, D1)))!.body) as Record<string, unknown>;
  const certificate = async (job: JobOutcome) => (await s3.store.get(BUCKET, certificateKey(job.jobFolder!)))!.body;

  it("records a failed command's exit code, details and stderr when the analysis reported nothing", async () => {
    const { job, id } = await running();
    Object.assign(world.commands[0], {
      status: "Failed",
      responseCode: 3,
      statusDetails: "Failed",
      stderr: "Traceback (most recent call last):\nValueError: bad input\n",
    });
    world.instances.get(id)!.state = "terminated";
    expect(await runMonitor(stateEvent(id, "terminated", "2026-01-05T12:10:00Z"), deps())).toMatchObject({
      action: "finished",
      jobFinished: true,
    });
    const s = await status(job);
    expect(s).toMatchObject({
      status: "FAILED",
      command: "cmd-1",
      job_finish: "2026-01-05T12:10:00Z",
      std: { "0": "Traceback (most recent call last):\n", "1": "ValueError: bad input\n" },
    });
    expect((s.reason as string[]).join(" ")).toContain(
      `The command on IAE ${id} ended Failed (exit code 3) before the analysis reported a final status.`,
    );
    expect(await certificate(job)).toMatch(
      new RegExp(`DATANAME: ${D1} \\| STATUS: FAILED \\| .* \\| LAST COMMAND: command Failed`),
    );
  });

  it("fails a dataset the platform killed at its time limit even after it reported SUCCESS", async () => {
    const { job, id } = await running();
    // The analysis reported SUCCESS but was still uploading its results when it was killed.
    await s3.store.put(
      BUCKET,
      datasetStatusKey(job.jobFolder!, D1),
      JSON.stringify({ ...(await status(job)), status: "SUCCESS", reason: ["exit code 0"], std: { "0": "done\n" } }),
    );
    Object.assign(world.instances.get(id)!, { state: "terminated", stateReason: "NeuroCAAS.TimeLimit" });
    const ended = await runMonitor(stateEvent(id, "terminated"), deps());
    expect(ended.action).toBe("finished");
    const s = await status(job);
    expect(s).toMatchObject({ status: "FAILED", std: { "0": "done\n" } });
    expect(s.reason).toEqual([
      "exit code 0",
      expect.stringContaining(
        `IAE ${id} (${D1}) was killed: NeuroCAAS.TimeLimit. The analysis did not finish; submit the job again with a larger __duration__.`,
      ),
    ]);
    expect((await certificate(job)).match(/was killed/g)).toHaveLength(1);
  });

  it("fails a SUCCESS whose command then timed out (results cut off), and keeps one whose command finished", async () => {
    const { job, id } = await running();
    await s3.store.put(
      BUCKET,
      datasetStatusKey(job.jobFolder!, D1),
      JSON.stringify({ ...(await status(job)), status: "SUCCESS", reason: ["exit code 0"] }),
    );
    Object.assign(world.commands[0], { status: "TimedOut", statusDetails: "ExecutionTimedOut" });
    world.instances.get(id)!.state = "terminated";
    await runMonitor(stateEvent(id, "terminated"), deps());
    expect(await status(job)).toMatchObject({
      status: "FAILED",
      reason: [
        "exit code 0",
        `[JOB TERMINATE REASON] The command on IAE ${id} timed out (ExecutionTimedOut) after the analysis reported SUCCESS: its results may be incomplete. Submit the job again.`,
      ],
    });

    const other = await running();
    await s3.store.put(
      BUCKET,
      datasetStatusKey(other.job.jobFolder!, D1),
      JSON.stringify({ ...(await status(other.job)), status: "SUCCESS", reason: ["exit code 0"] }),
    );
    world.commands[world.commands.length - 1].status = "Success";
    world.instances.get(other.id)!.state = "terminated";
    await runMonitor(stateEvent(other.id, "terminated"), deps());
    expect(await status(other.job)).toMatchObject({ status: "SUCCESS", reason: ["exit code 0"] });
  });

  it("keeps the final status of an IAE whose host went away, and notes why in the certificate", async () => {
    const { job, id } = await running();
    await s3.store.put(
      BUCKET,
      datasetStatusKey(job.jobFolder!, D1),
      JSON.stringify({
        ...(await status(job)),
        status: "FAILED",
        reason: ["interrupted: log-command received SIGTERM"],
      }),
    );
    Object.assign(world.instances.get(id)!, { state: "terminated", stateReason: "NeuroCAAS.HostStopped" });
    expect((await runMonitor(stateEvent(id, "terminated"), deps())).action).toBe("finished");
    expect((await status(job)).reason).toEqual(["interrupted: log-command received SIGTERM"]);
    expect(await certificate(job)).toContain(
      `[JOB TERMINATE REASON] IAE ${id} (${D1}) was interrupted: NeuroCAAS.HostStopped. Resubmit the job to run it again.`,
    );
    expect(await s3.store.exists(BUCKET, endMarkerKey(job.jobFolder!))).toBe(true);
  });
});
