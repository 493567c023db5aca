/**
 * Queue and cancel in local mode (issue 17): a stack with DEPLOY_LIMIT 1 runs three jobs one after
 * another to SUCCESS; `neurocaas cancel` stops a running job (its IAE's processes end) and a queued one.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { readJobState, waitForJob, type JobState } from "../../cli/user/job-state";
import { submitJob } from "../../cli/user/submit-job";
import { requestCancel, waitForCancel } from "../../cli/user/cancel-job";
import { runMainCommand, useLocalServer } from "./support/local-server";

jest.setTimeout(240_000);

const BUCKET = "q-mock";

describe("local NeuroCAAS: queue and cancel", () => {
  const server = useLocalServer({
    name: BUCKET,
    command: runMainCommand("examples/mock/run_mock.sh"),
    lambdaConfig: { DEPLOY_LIMIT: 1 },
  });

  async function submit(job: string, config: string): Promise<void> {
    const data = path.join(server.dir, `${job}.txt`);
    const cfg = path.join(server.dir, `${job}.yaml`);
    await fsp.writeFile(data, `data of ${job}\n`);
    await fsp.writeFile(cfg, config);
    await submitJob({
      client: server.local.client,
      bucket: BUCKET,
      group: "lab",
      data: [data],
      config: cfg,
      timestamp: job,
    });
  }
  const wait = (job: string): Promise<JobState> =>
    waitForJob(server.local.client, { bucket: BUCKET, group: "lab", job }, { intervalMs: 200, timeoutMs: 120_000 });

  it("DEPLOY_LIMIT 1 with three jobs: they wait in the queue and run one after another to SUCCESS", async () => {
    for (const job of ["one", "two", "three"]) await submit(job, "wait: 1\n__duration__: 60\n");
    const states = [await wait("one"), await wait("two"), await wait("three")];
    for (const s of states) expect(s.datasets.map((d) => d.status)).toEqual(["SUCCESS"]);
    // The later ones were queued (DEPLOY_LIMIT, or behind a job being started), then started by the drain.

    const queued = states.filter((s) => /Job QUEUED at position \d+: /.test(s.certificate ?? ""));
    expect(queued.length).toBeGreaterThanOrEqual(2);
    for (const s of queued) expect(s.certificate).toMatch(/\[Queue\] Capacity is free: started the job after/);
    // One after another: no two ran at the same time.
    const spans = states
      .map(
        (s) =>
          [
            Date.parse(String(s.datasets[0].body.job_start)),
            Date.parse(String(s.datasets[0].body.job_finish)),
          ] as const,
      )
      .sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
  });

  it("relaunches a local IAE once on demand when a spot interruption is injected; the job still succeeds", async () => {
    await submit("spot", "wait: 3\n__duration__: 60\n");
    let instance: string | undefined;
    for (let i = 0; i < 600 && instance === undefined; i++) {
      const s = await readJobState(server.local.client, { bucket: BUCKET, group: "lab", job: "spot" });
      if (s.datasets[0]?.status === "IN PROGRESS" && typeof s.datasets[0].body.instance === "string")
        instance = s.datasets[0].body.instance;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(instance).toBeDefined();
    await server.local.interruptSpot(instance!);
    const state = await wait("spot");
    expect(state.datasets.map((d) => d.status)).toEqual(["SUCCESS"]);
    expect(state.datasets[0].body.instance).not.toBe(instance);
    expect(state.certificate).toContain(`AWS announced`);
    expect(state.certificate).toMatch(
      new RegExp(
        `AWS reclaimed the spot capacity of IAE ${instance} .*relaunched once on on-demand capacity as IAE i-`,
      ),
    );
  });

  it("cancels a running job (its processes end) and the job queued behind it", async () => {
    // __duration__ 600 (seconds here): the cancel, not its time limit, must end it.
    await submit("long", "wait: 600\n__duration__: 600\n");
    // Each submission has its own job manager: "behind" is sent once "long" runs, so it cannot
    // take the one IAE slot first.
    const statusOf = async (job: string) =>
      (await readJobState(server.local.client, { bucket: BUCKET, group: "lab", job })).datasets[0]?.status;
    const waitForStatus = async (job: string, status: string) => {
      for (let i = 0; i < 600 && (await statusOf(job)) !== status; i++) await new Promise((r) => setTimeout(r, 100));
      return statusOf(job);
    };
    expect(await waitForStatus("long", "IN PROGRESS")).toBe("IN PROGRESS");
    await submit("behind", "wait: 1\n");
    expect(await waitForStatus("behind", "QUEUED")).toBe("QUEUED");

    const queuedCancel = await requestCancel({
      client: server.local.client,
      bucket: BUCKET,
      group: "lab",
      job: "behind",
    });
    expect(
      (
        await waitForCancel(server.local.client, { bucket: BUCKET, group: "lab", job: "behind" }, queuedCancel, {
          intervalMs: 200,
        })
      ).kind,
    ).toBe("cancelled");
    const started = Date.now();
    const runningCancel = await requestCancel({
      client: server.local.client,
      bucket: BUCKET,
      group: "lab",
      job: "long",
    });
    expect(
      (
        await waitForCancel(server.local.client, { bucket: BUCKET, group: "lab", job: "long" }, runningCancel, {
          intervalMs: 200,
        })
      ).kind,
    ).toBe("cancelled");
    // end.txt comes once the IAE has ended: its 600-second analysis was killed, not waited for.
    const long = await wait("long");
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(long.finished).toBe(true);
    expect(long.datasets.map((d) => d.status)).toEqual(["CANCELLED"]);
    expect(long.certificate).toContain("cancelled by user");
    const after = await wait("behind");
    expect(after.finished).toBe(true);
    expect(after.datasets.map((d) => d.status)).toEqual(["CANCELLED"]);

    // An unknown job: rejected, with a reason.
    const unknown = await requestCancel({
      client: server.local.client,
      bucket: BUCKET,
      group: "lab",
      job: "never-submitted",
    });
    const answer = await waitForCancel(
      server.local.client,
      { bucket: BUCKET, group: "lab", job: "never-submitted" },
      unknown,
      {
        intervalMs: 200,
      },
    );
    expect(answer).toMatchObject({ kind: "rejected" });
    expect(answer.kind === "rejected" && answer.reason).toMatch(/There is no job with timestamp "never-submitted"/);
  });
});
