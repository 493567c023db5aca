import { QUEUE_KEY } from "../../protocols/job-queue";
import { spendSummaryKey } from "../../model/spend-summary";
import * as fs from "node:fs";
import * as path from "node:path";
import { decideBudget, projectedCost } from "../../protocols/budget";
import { costOfLog, type CostLog } from "../../model/cost-log";
import { activeCostLogKey, certificateKey, encodeEventKey, finishedCostLogKey, jobFolderKey } from "../../model/layout";
import { ledgerKey, legacyEntries, readLedger, type Ledger } from "../../protocols/ledger";
import { runMonitor, runSubmit } from "../../protocols/run";
import { AwsWorld } from "../support/aws-world";
import { useMemoryS3 } from "../support/memory-store";
import { COST_LOGS } from "../support/paths";
import { AMI, BUCKET, FakeClock, protocolDeps, putEvent, stateEvent } from "../support/protocol-env";

const GROUP = "test_user";
const SPEND = 1264.98;
const s3 = useMemoryS3([BUCKET]);
const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

const logFiles = fs.readdirSync(COST_LOGS).filter((f) => f.endsWith(".json"));

beforeAll(async () => {
  for (const f of logFiles)
    await s3.store.put(BUCKET, `logs/${GROUP}/${f}`, fs.readFileSync(path.join(COST_LOGS, f), "utf-8"));
  for (let i = 0; i < 10; i++) await s3.store.put(BUCKET, `${GROUP}/inputs/d${i}.txt`, `data ${i}`);
  await s3.store.put(BUCKET, `${GROUP}/configs/ten.json`, JSON.stringify({ __duration__: 10 }));
  await s3.store.put(BUCKET, `${GROUP}/configs/sixhundred.yaml`, "__duration__: 600\n");
  await s3.store.put(BUCKET, `${GROUP}/configs/default.json`, JSON.stringify({ wait: 5 }));
});

beforeEach(() => {
  world.reset();
  world.prices.set("t2.micro", 1); // every new job's price forced to $1/h
});

describe("cost of the 132 real finished logs (fixtures/cost-logs/test_user)", () => {
  it("is $1264.98 with each log's own price and one hour for a missing start or end", () => {
    expect(logFiles).toHaveLength(132);
    const logs = logFiles.map((f) => JSON.parse(fs.readFileSync(path.join(COST_LOGS, f), "utf-8")) as CostLog);
    expect(logs.filter((l) => !l.start || !l.end)).toHaveLength(30);
    expect(logs.reduce((s, l) => s + costOfLog(l), 0)).toBeCloseTo(SPEND, 2);
  });

  it("backfills the group ledger once from the legacy logs", async () => {
    const entries = await legacyEntries({ store: s3.store, bucket: BUCKET, group: GROUP });
    expect(Object.keys(entries)).toHaveLength(132);
    const ledger = await readLedger({
      store: s3.store,
      bucket: BUCKET,
      group: GROUP,
      now: clock.now,
      sleep: clock.sleep,
      maxAttempts: 5,
    });
    expect(ledger.total).toBeCloseTo(SPEND, 2);
    expect(await s3.store.exists(BUCKET, ledgerKey(GROUP))).toBe(true);
  });
});

describe("budget rule (SPEC 4.4)", () => {
  it("rejects exactly when spend ≥ budget", () => {
    expect(decideBudget({ budget: 10, spent: 5, projected: 4.99, runningBound: 0 }).covered).toBe(true);
    expect(decideBudget({ budget: 10, spent: 5, projected: 5, runningBound: 0 }).covered).toBe(false);
    expect(projectedCost(1, 10, 10)).toBeCloseTo(1.6667, 4);
  });

  let n = 0;
  async function submit(args: {
    datasets: number;
    config: string;
    maxCost: number;
    budgetParameter?: [string, string];
  }): Promise<{ code: number; cert: string }> {
    if (args.budgetParameter) world.parameters.set(args.budgetParameter[0], args.budgetParameter[1]);
    const timestamp = `budget-case-${++n}`;
    const key = `${GROUP}/submissions/case${n}submit.json`;
    const dataname = Array.from({ length: args.datasets }, (_, i) => `${GROUP}/inputs/d${i}.txt`);
    await s3.store.put(
      BUCKET,
      key,
      JSON.stringify({ dataname, configname: `${GROUP}/configs/${args.config}`, timestamp }),
    );
    const report = await runSubmit(
      putEvent(BUCKET, encodeEventKey(key)),
      protocolDeps({
        world,
        store: s3.store,
        clock,
        config: { maxCost: args.maxCost, affiliates: [{ AffiliateName: GROUP, UserInput: true }] },
      }),
    );
    const cert = (await s3.store.get(BUCKET, certificateKey(jobFolderKey(GROUP, BUCKET, timestamp))))!.body;
    return { code: report.exitCode, cert };
  }

  const cases: [string, { datasets: number; config: string }, number, number][] = [
    ["2 datasets without __duration__ (+$2)", { datasets: 2, config: "default.json" }, 1300, 1200],
    ["10 datasets × 10 min (+$1.67)", { datasets: 10, config: "ten.json" }, 1267, 1265],
    ["10 datasets × 600 min (+$100)", { datasets: 10, config: "sixhundred.yaml" }, 1365, 1266],
    ["10 datasets × default 60 min (+$10)", { datasets: 10, config: "default.json" }, 1275, 1265],
  ];
  it.each(
    cases.map(
      ([name, job, pass, fail]) => [`${name}: MAXCOST ${pass} passes, ${fail} fails`, job, pass, fail] as const,
    ),
  )("%s", async (_name, job, pass, fail) => {
    const ok = await submit({ ...job, maxCost: pass });
    expect(ok.code).toBe(0);
    expect(world.running()).toHaveLength(job.datasets);
    world.reset();
    world.prices.set("t2.micro", 1);
    const rejected = await submit({ ...job, maxCost: fail });
    expect(rejected.code).toBe(99);
    expect(world.running()).toHaveLength(0);
    expect(rejected.cert).toContain(
      "[JOB TERMINATE REASON] Job is not covered by budget. Contact NeuroCAAS administrator.",
    );
    expect(rejected.cert).toContain("Incurred cost so far: $1264.98.");
    expect(rejected.cert).toMatch(/Remaining budget: \$-?\d+\.\d\d\./);
  });

  const param = `/neurocaas/budgets/${GROUP}/${BUCKET}`;
  it("a parameter-store budget of 0 fails even when MAXCOST is 1300", async () => {
    const r = await submit({ datasets: 2, config: "default.json", maxCost: 1300, budgetParameter: [param, "0"] });
    expect(r.code).toBe(99);
    expect(r.cert).toContain("Budget $0.00 (set for your group)");
  });

  it("a parameter-store budget of 1300 passes even when MAXCOST is 1200", async () => {
    expect(
      (await submit({ datasets: 2, config: "default.json", maxCost: 1200, budgetParameter: [param, "1300"] })).code,
    ).toBe(0);
  });

  it("an unrelated parameter falls back to MAXCOST", async () => {
    const other: [string, string] = [`/neurocaas/budgets/othergroup/${BUCKET}`, "100000"];
    expect((await submit({ datasets: 2, config: "default.json", maxCost: 1200, budgetParameter: other })).code).toBe(
      99,
    );
    expect((await submit({ datasets: 2, config: "default.json", maxCost: 1300, budgetParameter: other })).code).toBe(0);
  });

  it("20 running IAEs of the same image with Timeout 300 at $1/h add $100", async () => {
    for (let i = 0; i < 20; i++)
      world.addInstance({ type: "t2.micro", imageId: AMI, tags: { Timeout: "300", PriceTracking: "On" } });
    world.addInstance({ type: "t2.micro", imageId: "ami-0other", tags: { Timeout: "300" } }); // another image: not counted
    world.addInstance({ type: "t2.micro", imageId: AMI, tags: { Timeout: "300", "neurocaas:group": "othergroup" } }); // another group's IAE
    // 1264.98 + 2 + 100 = 1366.98
    expect((await submit({ datasets: 2, config: "default.json", maxCost: 1366 })).code).toBe(99);
    expect((await submit({ datasets: 2, config: "default.json", maxCost: 1367 })).code).toBe(0);
  });

  it("costs a bounded number of requests whatever the history length", async () => {
    await submit({ datasets: 1, config: "default.json", maxCost: 5000 }); // ledger exists now
    world.reset();
    world.prices.set("t2.micro", 1);
    s3.requests.length = 0;
    await submit({ datasets: 1, config: "default.json", maxCost: 5000 });
    const small = s3.requests.filter(
      (r) => r.key.startsWith("logs/") && !r.key.startsWith("logs/_jobs/") && !r.key.startsWith("logs/active/"),
    );
    // Three times the history: the check still reads the same single ledger object.
    for (let copy = 0; copy < 2; copy++) {
      for (const f of logFiles)
        await s3.store.put(
          BUCKET,
          `logs/${GROUP}/${f.replace(".json", `-${copy}.json`)}`,
          fs.readFileSync(path.join(COST_LOGS, f), "utf-8"),
        );
    }
    world.reset();
    world.prices.set("t2.micro", 1);
    s3.requests.length = 0;
    await submit({ datasets: 1, config: "default.json", maxCost: 5000 });
    const large = s3.requests.filter(
      (r) => r.key.startsWith("logs/") && !r.key.startsWith("logs/_jobs/") && !r.key.startsWith("logs/active/"),
    );
    // The check reads the queue and the ledger once; the start gate (queue.json: take, look again,
    // release) a fixed few; the group's spend summary for users costs one GET and one PUT.
    const gate = [
      `GET ${QUEUE_KEY}`,
      `PUT ${QUEUE_KEY}`,
      `GET ${QUEUE_KEY}`,
      `GET ${QUEUE_KEY}`,
      `GET ${QUEUE_KEY}`,
      `PUT ${QUEUE_KEY}`,
    ];
    const expected = [
      `GET ${QUEUE_KEY}`,
      `GET ${ledgerKey(GROUP)}`,
      ...gate,
      `GET ${spendSummaryKey(GROUP)}`,
      `PUT ${spendSummaryKey(GROUP)}`,
    ];
    expect(small.map((r) => `${r.method} ${r.key}`)).toEqual(expected);
    expect(large.map((r) => `${r.method} ${r.key}`)).toEqual(expected);
  });
});

describe("spend of completed IAEs", () => {
  const group = "racegroup";
  function activeLog(id: string, start: string, end: string | null = null): CostLog {
    return {
      "instance-id": id,
      "instance-type": "t2.micro",
      spot: false,
      price: 2,
      databucket: BUCKET,
      datapath: [`${group}/inputs/d.txt`],
      jobpath: `${group}/results/job__${BUCKET}_race`,
      start,
      end,
      group,
      resultbucket: BUCKET,
    };
  }

  it("is never lost when many IAEs finish concurrently, and counts once per instance", async () => {
    const ids = Array.from({ length: 16 }, (_, i) => `i-race${String(i).padStart(13, "0")}`);
    for (const id of ids)
      await s3.store.put(BUCKET, activeCostLogKey(id), JSON.stringify(activeLog(id, "2026-01-05T11:00:00Z")));
    const deps = protocolDeps({ world, store: s3.store, clock });
    // Every IAE ends at 12:30 → 1.5 h × $2 = $3 each; each event delivered twice, all at once.
    const events = ids.flatMap((id) => [
      stateEvent(id, "shutting-down", "2026-01-05T12:30:00Z"),
      stateEvent(id, "shutting-down", "2026-01-05T12:30:00Z"),
    ]);
    await Promise.all(events.map((e) => runMonitor(e, deps)));
    const ledger = JSON.parse((await s3.store.get(BUCKET, ledgerKey(group)))!.body) as Ledger;
    expect(Object.keys(ledger.entries)).toHaveLength(16);
    expect(ledger.total).toBeCloseTo(48, 6);
    // A later event for an instance already accounted changes nothing.
    await runMonitor(stateEvent(ids[0], "terminated", "2026-01-05T12:45:00Z"), deps);
    expect((JSON.parse((await s3.store.get(BUCKET, ledgerKey(group)))!.body) as Ledger).total).toBeCloseTo(48, 6);
    for (const id of ids) {
      expect(await s3.store.exists(BUCKET, activeCostLogKey(id))).toBe(false);
      const finished = JSON.parse((await s3.store.get(BUCKET, finishedCostLogKey(group, id)))!.body) as CostLog;
      expect(finished.end).toBe("2026-01-05T12:30:00Z");
    }
  });
});
