import { encodeEventKey } from "../../model/layout";
import { runMonitor, runSubmit } from "../../protocols/run";
import {
  emptySpendSummary,
  mergeSpendSummary,
  parseSpendSummary,
  spendSummaryKey,
  SPEND_SUMMARY_MAX_JOBS,
  type SpendSummary,
} from "../../model/spend-summary";
import { applySpendUpdate, recordCompletionSpend, refreshSpendSummary } from "../../protocols/spend-summary-writer";
import { AwsWorld } from "../support/aws-world";
import { useMemoryS3 } from "../support/memory-store";
import { BUCKET, FakeClock, GROUP as G, protocolDeps, putEvent, stateEvent } from "../support/protocol-env";

const NOW = new Date("2026-01-05T12:00:00Z");

describe("mergeSpendSummary (pure)", () => {
  const finished = (job: string, instanceId: string, cost: number) => ({
    analysis: "a",
    group: "g",
    now: NOW,
    finished: { job, instanceId, cost },
  });

  it("adds a finished IAE's cost to its job once, however often the completion is delivered", () => {
    let s = mergeSpendSummary(undefined, finished("job__a_1", "i-1", 0.5));
    s = mergeSpendSummary(s, finished("job__a_1", "i-2", 0.25));
    s = mergeSpendSummary(s, finished("job__a_1", "i-1", 0.5));
    expect(s.jobs["job__a_1"].cost).toBe(0.75);
    expect(Object.keys(s.jobs["job__a_1"].instances)).toEqual(["i-1", "i-2"]);
  });

  it("never moves spent back to a ledger with fewer entries (a slower concurrent writer)", () => {
    const newer = mergeSpendSummary(undefined, {
      analysis: "a",
      group: "g",
      now: NOW,
      ledger: { total: 12, entries: 3 },
    });
    const stale = mergeSpendSummary(newer, { analysis: "a", group: "g", now: NOW, ledger: { total: 10, entries: 2 } });
    expect(stale.spent).toBe(12);
    expect(stale.ledgerEntries).toBe(3);
  });

  it("derives remaining from budget, spent and the running bound; unknown budget stays null", () => {
    const s = mergeSpendSummary(undefined, {
      analysis: "a",
      group: "g",
      now: NOW,
      ledger: { total: 3, entries: 1 },
      running: { upTo: 1.5, iaes: 2 },
    });
    expect(s.remaining).toBeNull();
    const b = mergeSpendSummary(s, { analysis: "a", group: "g", now: NOW, budget: { usd: 10, origin: "group" } });
    expect(b).toMatchObject({
      budget: 10,
      budgetOrigin: "group",
      spent: 3,
      runningUpTo: 1.5,
      runningIaes: 2,
      remaining: 5.5,
    });
  });

  it("keeps the most recent jobs when there are too many to list", () => {
    let s: SpendSummary = emptySpendSummary("a", "g", NOW);
    for (let i = 0; i <= SPEND_SUMMARY_MAX_JOBS; i++) {
      s = mergeSpendSummary(s, { ...finished(`job__a_${i}`, `i-${i}`, 1), now: new Date(NOW.getTime() + i * 1000) });
    }
    expect(Object.keys(s.jobs)).toHaveLength(SPEND_SUMMARY_MAX_JOBS);
    expect(s.jobs["job__a_0"]).toBeUndefined();
    expect(s.jobs[`job__a_${SPEND_SUMMARY_MAX_JOBS}`]).toBeDefined();
  });

  it("parses what it writes and refuses other JSON", () => {
    const s = mergeSpendSummary(undefined, {
      ...finished("job__a_1", "i-1", 0.5),
      budget: { usd: 9, origin: "analysis-default" },
    });
    expect(parseSpendSummary(JSON.stringify(s))).toEqual(s);
    expect(parseSpendSummary("{}")).toBeUndefined();
    expect(parseSpendSummary("not json")).toBeUndefined();
  });
});

describe("the job manager and the monitor keep the group's spend summary current", () => {
  const s3 = useMemoryS3([BUCKET]);
  const clock = new FakeClock();
  const world = new AwsWorld(() => clock.now());
  afterAll(() => world.restore());
  const deps = () => protocolDeps({ world, store: s3.store, clock, config: { maxCost: 50 } });
  const summary = async (group = G): Promise<SpendSummary | undefined> => {
    const o = await s3.store.get(BUCKET, spendSummaryKey(group));
    return o ? parseSpendSummary(o.body) : undefined;
  };

  beforeAll(async () => {
    world.reset();
    world.prices.set("t2.micro", 1);
    await s3.store.put(BUCKET, `${G}/inputs/a.txt`, "a");
    await s3.store.put(BUCKET, `${G}/inputs/b.txt`, "b");
    await s3.store.put(BUCKET, `${G}/configs/c.json`, JSON.stringify({ __duration__: 30 }));
  });

  it("submission → budget, running bound; completions → per-job cost and spent; a repeated event counts once", async () => {
    const key = `${G}/submissions/s1submit.json`;
    await s3.store.put(
      BUCKET,
      key,
      JSON.stringify({
        dataname: [`${G}/inputs/a.txt`, `${G}/inputs/b.txt`],
        configname: `${G}/configs/c.json`,
        timestamp: "s1",
      }),
    );
    const report = await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps());
    expect(report.exitCode).toBe(0);
    const [i1, i2] = report.jobs[0].instanceIds;
    let s = await summary();
    // Two IAEs of 30 min at $1/h may still cost $1 together.
    expect(s).toMatchObject({
      budget: 50,
      budgetOrigin: "analysis-default",
      spent: 0,
      runningIaes: 2,
      runningUpTo: 1,
      remaining: 49,
      jobs: {},
    });

    for (const id of [i1, i2]) world.instances.get(id)!.state = "running";
    await runMonitor(stateEvent(i1, "running", "2026-01-05T12:00:00Z"), deps());
    await runMonitor(stateEvent(i2, "running", "2026-01-05T12:00:00Z"), deps());
    world.instances.get(i1)!.state = "terminated";
    await runMonitor(stateEvent(i1, "terminated", "2026-01-05T12:30:00Z"), deps());
    s = await summary();
    expect(s!.jobs[`job__${BUCKET}_s1`]).toMatchObject({ cost: 0.5 });
    expect(s).toMatchObject({ spent: 0.5, runningIaes: 1, budget: 50 });

    world.instances.get(i2)!.state = "terminated";
    await runMonitor(stateEvent(i2, "terminated", "2026-01-05T12:15:00Z"), deps());
    await runMonitor(stateEvent(i2, "terminated", "2026-01-05T12:15:00Z"), deps());
    s = await summary();
    expect(s!.jobs[`job__${BUCKET}_s1`].cost).toBe(0.75);
    expect(s).toMatchObject({ spent: 0.75, runningIaes: 0, runningUpTo: 0, remaining: 49.25 });
  });

  it("a budget set for the group replaces the analysis default at the next submission", async () => {
    world.parameters.set(`/neurocaas/budgets/${G}/${BUCKET}`, "0.5");
    const key = `${G}/submissions/s2submit.json`;
    await s3.store.put(
      BUCKET,
      key,
      JSON.stringify({ dataname: `${G}/inputs/a.txt`, configname: `${G}/configs/c.json`, timestamp: "s2" }),
    );
    const report = await runSubmit(putEvent(BUCKET, encodeEventKey(key)), deps());
    // Rejected by the budget: nothing runs, the summary shows why.
    expect(report.exitCode).toBe(99);
    expect(await summary()).toMatchObject({
      budget: 0.5,
      budgetOrigin: "group",
      spent: 0.75,
      runningIaes: 0,
      remaining: -0.25,
    });
    // A submission stopped before the budget check (missing input) leaves the summary as it was.
    const before = await s3.store.get(BUCKET, spendSummaryKey(G));
    const k3 = `${G}/submissions/s3submit.json`;
    await s3.store.put(
      BUCKET,
      k3,
      JSON.stringify({ dataname: `${G}/inputs/missing.txt`, configname: `${G}/configs/c.json`, timestamp: "s3" }),
    );
    expect((await runSubmit(putEvent(BUCKET, encodeEventKey(k3)), deps())).exitCode).toBe(99);
    expect((await s3.store.get(BUCKET, spendSummaryKey(G)))!.etag).toBe(before!.etag);
  });

  it("concurrent completions all land (conditional writes retried) and leave the running figures", async () => {
    const group = "othergroup";
    await refreshSpendSummary(deps(), group);
    await applySpendUpdate(deps(), { analysis: BUCKET, group, now: NOW, running: { upTo: 6, iaes: 6 } });
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        recordCompletionSpend(deps(), {
          "instance-id": `i-c${i}`,
          "instance-type": "t2.micro",
          spot: false,
          price: 1,
          timeout: 60,
          databucket: BUCKET,
          datapath: [],
          jobpath: `${group}/results/job__x_${i % 2}`,
          start: "2026-01-05T12:00:00Z",
          end: "2026-01-05T13:00:00Z",
          group,
        }),
      ),
    );
    const s = await summary(group);
    expect(s!.jobs["job__x_0"].cost + s!.jobs["job__x_1"].cost).toBe(6);
    expect(s).toMatchObject({ runningUpTo: 0, runningIaes: 0, budget: 50 });
  });
});
