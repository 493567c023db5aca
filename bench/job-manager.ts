import { PutObjectCommand } from "@aws-sdk/client-s3";
import * as path from "node:path";
import { Ec2ComputeBackend } from "../protocols/aws/ec2-compute";
import { PricingApiPriceSource } from "../protocols/aws/pricing";
import { S3ObjectStore } from "../protocols/aws/s3-store";
import { ParameterStoreBudgets } from "../protocols/aws/ssm-parameters";
import { systemClock, type ProtocolDeps } from "../protocols/deps";
import { encodeEventKey } from "../model/layout";
import { runSubmit } from "../protocols/run";
import { DEFAULT_BUDGET_PARAMETER_PREFIX, type AnalysisRuntimeConfig } from "../model/runtime-config";
import { createS3Client } from "../protocols/s3-client";
import { createLocalS3Client, startLocalS3Server } from "../local/s3-server";
import { modeledAws } from "./aws-mocks";
import { BusyTime, countRequests, RequestCounter, type RequestCounts } from "./counters";
import type { BenchCheck, BenchSection, BenchTable } from "./report";
import { fixtureCostLogs, historyLogs, putObjects } from "./s3-seed";
import { elapsedMs, median, round } from "./stats";

/** Reference figures of the original job manager (issue 7, SPEC 4.4/4.5). */
const ORIGINAL = { bookkeepingMs: 5_000, lambdaMs: 80_000 } as const;
/** Issue target: handler time for N = 100, H = 10,000 under 2 s plus the modeled latency. */
const HANDLER_BUDGET_MS = 2_000;

export interface JobManagerBenchArgs {
  readonly quick: boolean;
  readonly fixturesDir: string;
  /** Fixed latency per EC2/SSM/Pricing call (default 50 ms). */
  readonly latencyMs?: number;
  /** Override the sizes of the mode (debugging, tests). */
  readonly sizes?: ReturnType<typeof jobManagerSizes>;
  readonly log: (line: string) => void;
}

/** One measured submission. */
export interface SubmissionRun {
  readonly label: string;
  readonly protocol: "default" | "ensemble";
  readonly datasets: number;
  readonly history: number;
  readonly iaes: number;
  readonly exitCode: number;
  /** Why the job manager rejected the submission (exit 99). */
  readonly reason?: string;
  readonly handlerMs: number;
  /** Wall time with at least one EC2/SSM/Pricing call in flight. */
  readonly modeledMs: number;
  /** Wall time with at least one S3 request in flight. */
  readonly s3Ms: number;
  /** Wall time with no request of any service in flight (the handler's own CPU and scheduling). */
  readonly ownMs: number;
  readonly requests: RequestCounts;
}

const BUCKET = "benchanalysis";
const INSTANCE_TYPE = "m5.xlarge";
const AMI = "ami-0bench0000000000";
/** Everything counted under this group is a budget (spend) read or write. */
export const S3_BUDGET = "S3 budget";

/**
 * Requests for the group's spend: the ledger `logs/_ledger/…` and finished cost logs
 * `logs/{group}/…` (not active logs `logs/active/`, job records `logs/_jobs/` nor the users' spend
 * summaries `logs/_spend/`, one GET and one PUT per submission whatever the history).
 */
export function isBudgetRequest(_operation: string, input: Record<string, unknown>): boolean {
  const key = typeof input.Key === "string" ? input.Key : typeof input.Prefix === "string" ? input.Prefix : undefined;
  if (key === undefined || !key.startsWith("logs/")) return false;
  return key.startsWith("logs/_ledger/") || !/^logs\/(active|_jobs|_spend|_queue)\//.test(key);
}

export function benchRuntimeConfig(
  deployLimit: number,
  protocol: AnalysisRuntimeConfig["protocol"],
  groups: readonly string[],
): AnalysisRuntimeConfig {
  return {
    bucketName: BUCKET,
    analysisName: BUCKET,
    region: "us-east-1",
    stage: "websubstack",
    protocol,
    ami: AMI,
    instanceType: INSTANCE_TYPE,
    allowedInstanceTypes: [],
    command: "cd ~/bin && bash run.sh {} {} {} {}",
    workingDirectory: "~/bin",
    shutdownBehavior: "terminate",
    ssmTimeoutSeconds: 172000,
    launch: true,
    deployLimit,
    maxCost: 300,
    monitor: true,
    allowSpot: true,
    imageVolumeSizeGb: 100,
    affiliates: groups.map((g) => ({ AffiliateName: g, UserInput: true })),
    iaeInstanceProfileArn: "arn:aws:iam::123456789012:instance-profile/neurocaas-iae",
    iaeRoleArn: "arn:aws:iam::123456789012:role/neurocaas-iae",
    keyName: "neurocaas-dev-key",
    securityGroupIds: ["sg-0bench"],
    budgetParameterPrefix: DEFAULT_BUDGET_PARAMETER_PREFIX,
  };
}

/** Sizes per mode: quick runs only the smallest. */
function jobManagerSizes(quick: boolean): {
  datasets: number[];
  histories: number[];
  ensemble: number[];
  targetRepeats?: number;
} {
  return quick
    ? { datasets: [1], histories: [0], ensemble: [] }
    : { datasets: [1, 10, 100, 1000], histories: [0, 132, 10_000], ensemble: [100], targetRepeats: 5 };
}

export async function benchJobManager(args: JobManagerBenchArgs): Promise<BenchSection> {
  const started = process.hrtime.bigint();
  const latencyMs = args.latencyMs ?? 50;
  const sizes = args.sizes ?? jobManagerSizes(args.quick);
  const groups = sizes.histories.map((h) => `benchh${h}`);
  const maxN = Math.max(...sizes.datasets);
  const server = await startLocalS3Server({ buckets: [BUCKET] });
  const counter = new RequestCounter();
  const busy = new BusyTime();
  const s3Busy = new BusyTime();
  const anyBusy = new BusyTime();
  const aws = modeledAws({
    latencyMs,
    counter,
    busy: [busy, anyBusy],
    budgetParameter: "1000000000",
    hourlyPrice: 0.192,
  });
  const seedClient = createLocalS3Client(server);
  // As the handler builds it (protocols/handlers/aws-deps.ts): standard retries, 5 attempts.
  const s3 = createS3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    credentials: { ...server.credentials },
    maxAttempts: 5,
  });
  countRequests(
    s3 as unknown as Parameters<typeof countRequests>[0],
    "S3",
    counter,
    (op, input) => (isBudgetRequest(op, input) ? S3_BUDGET : undefined),
    [s3Busy, anyBusy],
  );
  const runs: SubmissionRun[] = [];
  try {
    const fixtures = fixtureCostLogs(args.fixturesDir);
    for (const [i, h] of sizes.histories.entries()) {
      const group = groups[i];
      const t = process.hrtime.bigint();
      const inputs = Array.from({ length: maxN }, (_, d) => [`${group}/inputs/d${d}.txt`, `dataset ${d}\n`] as const);
      const n = await putObjects(seedClient, BUCKET, [
        ...inputs,
        [`${group}/configs/config.json`, JSON.stringify({ param: 1 })],
        [`${group}/configs/ensemble.json`, JSON.stringify({ ensemble_size: 100, mode: "train" })],
      ]);
      const logs = await putObjects(seedClient, BUCKET, historyLogs(group, h, fixtures));
      args.log(
        `job-manager: seeded ${group}: ${n} inputs, ${logs} finished cost logs (${(elapsedMs(t) / 1000).toFixed(1)} s)`,
      );
    }
    const submit = async (
      label: string,
      group: string,
      history: number,
      datasets: number,
      protocol: "default" | "ensemble",
      rep = 1,
    ): Promise<void> => {
      const stamp = `${label}-${protocol}-n${datasets}-r${rep}`;
      const key = `${group}/submissions/${stamp}submit.json`;
      const body = {
        dataname: Array.from({ length: datasets }, (_, d) => `${group}/inputs/d${d}.txt`),
        configname: `${group}/configs/${protocol === "ensemble" ? "ensemble" : "config"}.json`,
        timestamp: stamp,
      };
      await seedClient.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(body) }));
      aws.world.terminateAll();
      const deps: ProtocolDeps = {
        config: benchRuntimeConfig(Math.max(maxN, 100), protocol, groups),
        store: new S3ObjectStore(s3),
        compute: new Ec2ComputeBackend({ ec2: aws.ec2, ssm: aws.ssm, sleep: systemClock.sleep, launchRetryMs: 60_000 }),
        budgets: new ParameterStoreBudgets(aws.ssm, DEFAULT_BUDGET_PARAMETER_PREFIX),
        prices: new PricingApiPriceSource(aws.pricing),
        clock: systemClock,
      };
      counter.reset();
      for (const b of [busy, s3Busy, anyBusy]) b.reset();
      const t = process.hrtime.bigint();
      const report = await runSubmit(
        {
          Records: [
            { eventName: "ObjectCreated:Put", s3: { bucket: { name: BUCKET }, object: { key: encodeEventKey(key) } } },
          ],
        },
        deps,
      );
      const handlerMs = elapsedMs(t);
      const job = report.jobs[0];
      const expected = protocol === "ensemble" ? 100 : datasets;
      if (report.exitCode === 0 && job.instanceIds.length !== expected)
        throw new Error(`job-manager: submission ${key} started ${job.instanceIds.length} IAEs, expected ${expected}`);
      runs.push({
        label,
        protocol,
        datasets,
        history,
        iaes: job?.instanceIds.length ?? 0,
        exitCode: report.exitCode,
        ...(report.exitCode !== 0 ? { reason: job?.reason ?? "no job" } : {}),
        handlerMs,
        modeledMs: busy.ms(),
        s3Ms: s3Busy.ms(),
        ownMs: handlerMs - anyBusy.ms(),
        requests: counter.snapshot(),
      });
      args.log(
        `job-manager: ${label} ${protocol} N=${datasets} H=${history}: ${handlerMs.toFixed(0)} ms${report.exitCode !== 0 ? ` REJECTED: ${job?.reason}` : ""}`,
      );
    };
    for (const [i, h] of sizes.histories.entries()) {
      // The first submission of a group with history but no ledger backfills the ledger once.
      await submit("first", groups[i], h, 1, "default");
      for (const n of sizes.datasets) {
        // The judged point (N = 100, H = 10,000) is repeated: the machine is shared and noisy.
        const repeats = n === 100 && h === 10_000 ? (sizes.targetRepeats ?? 1) : 1;
        for (let rep = 1; rep <= repeats; rep++) await submit("steady", groups[i], h, n, "default", rep);
      }
      for (const _members of sizes.ensemble) await submit("steady", groups[i], h, 1, "ensemble");
    }
  } finally {
    aws.restore();
    s3.destroy();
    seedClient.destroy();
    await server.close();
  }
  return jobManagerSection(runs, { quick: args.quick, latencyMs, ms: elapsedMs(started) });
}

function total(counts: RequestCounts, service: string): number {
  return Object.values(counts[service] ?? {}).reduce((a, b) => a + b, 0);
}

function op(counts: RequestCounts, service: string, operation: string): number {
  return counts[service]?.[operation] ?? 0;
}

/** The distinct budget-request counts of steady-state runs, by N and then by history length. */
function budgetRequestsByHistory(runs: readonly SubmissionRun[]): Map<number, Map<number, number[]>> {
  const out = new Map<number, Map<number, number[]>>();
  for (const r of runs.filter((x) => x.label === "steady" && x.protocol === "default" && x.exitCode === 0)) {
    const m = out.get(r.datasets) ?? new Map<number, number[]>();
    const counts = m.get(r.history) ?? [];
    const c = total(r.requests, S3_BUDGET);
    if (!counts.includes(c)) counts.push(c);
    m.set(r.history, counts);
    out.set(r.datasets, m);
  }
  return out;
}

/** Turn measured runs into the printed section (pure). */
export function jobManagerSection(
  runs: readonly SubmissionRun[],
  meta: { quick: boolean; latencyMs: number; ms: number },
): BenchSection {
  const table: BenchTable = {
    title: `Job manager: one submission, EC2/SSM/Pricing modeled at ${meta.latencyMs} ms per call, S3 = local s3rver`,
    columns: [
      "run",
      "N",
      "H",
      "exit",
      "IAEs",
      "handler ms",
      "modeled ms",
      "S3 busy ms",
      "own ms",
      "S3 req",
      "S3 budget",
      "RunInstances",
      "EC2 req",
      "SSM req",
      "Pricing req",
    ],
    rows: runs.map((r) => [
      r.protocol === "ensemble" ? `${r.label} ensemble` : r.label,
      r.datasets,
      r.history,
      r.exitCode,
      r.iaes,
      round(r.handlerMs, 0),
      round(r.modeledMs, 0),
      round(r.s3Ms, 0),
      round(r.ownMs, 0),
      total(r.requests, "S3"),
      total(r.requests, S3_BUDGET),
      op(r.requests, "EC2", "RunInstances"),
      total(r.requests, "EC2"),
      total(r.requests, "SSM"),
      total(r.requests, "Pricing"),
    ]),
  };
  const judged = !meta.quick;
  const checks: BenchCheck[] = [];
  const byHistory = budgetRequestsByHistory(runs);
  const independent = [...byHistory.values()].every((m) => new Set([...m.values()].flat()).size === 1);
  const histories = [...new Set(runs.map((r) => r.history))];
  const maxH = Math.max(...histories);
  checks.push({
    name: "S3 budget requests independent of H (steady state)",
    value: [...byHistory.entries()]
      .map(([n, m]) => `N=${n}: ${[...m.entries()].map(([h, c]) => `H=${h}→${c.join("/")}`).join(" ")}`)
      .join("; "),
    target: `same count for every H (original: H GETs + ⌈H/1000⌉ LISTs, i.e. ${maxH + Math.ceil(maxH / 1000)} at H=${maxH})`,
    ...(judged && histories.length > 1 ? { met: independent } : {}),
  });
  const steady = runs.filter((r) => r.label === "steady" && r.exitCode === 0);
  const launchPerDataset = steady
    .filter((r) => r.protocol === "default")
    .map((r) => `${op(r.requests, "EC2", "RunInstances")}/${r.datasets}`);
  checks.push({
    name: "RunInstances calls / datasets (default protocol; batches of up to 100, each IAE's dataset tag applied by CreateTags)",
    value: [...new Set(launchPerDataset)].join(", "),
    target: "⌈N/100⌉ calls for N datasets",
    ...(judged
      ? {
          met: steady
            .filter((r) => r.protocol === "default")
            .every((r) => op(r.requests, "EC2", "RunInstances") <= Math.ceil(r.datasets / 100)),
        }
      : {}),
  });
  for (const e of steady.filter((r) => r.protocol === "ensemble").slice(0, 1)) {
    checks.push({
      name: `RunInstances for an ensemble of ${e.iaes} identical IAEs (batched: MinCount = MaxCount = ${e.iaes})`,
      value: String(op(e.requests, "EC2", "RunInstances")),
      target: "1",
      ...(judged ? { met: op(e.requests, "EC2", "RunInstances") === 1 } : {}),
    });
  }
  // The reference point is repeated in full mode; its medians are judged (the machine is shared).
  const targetRuns = steady.filter((r) => r.protocol === "default" && r.datasets === 100 && r.history === 10_000);
  const target = targetRuns[0];
  if (targetRuns.length > 0) {
    const handler = median(targetRuns.map((r) => r.handlerMs));
    const modeled = median(targetRuns.map((r) => r.modeledMs));
    const bookkeeping = median(targetRuns.map((r) => r.handlerMs - r.modeledMs));
    const of = `median of ${targetRuns.length}`;
    checks.push({
      name: `handler time N=100, H=10,000 (${of})`,
      value: `${round(handler, 0)} ms (modeled EC2/SSM/Pricing ${round(modeled, 0)} ms; each run ${targetRuns.map((r) => round(r.handlerMs, 0)).join(" / ")} ms)`,
      target: `< ${HANDLER_BUDGET_MS} ms + modeled = ${round(HANDLER_BUDGET_MS + modeled, 0)} ms`,
      met: handler < HANDLER_BUDGET_MS + modeled,
    });
    checks.push({
      name: `Lambda time per submission vs the original's ~${ORIGINAL.lambdaMs / 1000} s (it waited for boot), N=100, H=10,000 (${of})`,
      value: `${round(handler, 0)} ms = ${round(ORIGINAL.lambdaMs / handler, 0)}× less`,
      target: "no wait for boot",
    });
    checks.push({
      name: `bookkeeping (handler − modeled EC2/SSM/Pricing) vs the original's ~${ORIGINAL.bookkeepingMs / 1000} s, N=100, H=10,000 (${of})`,
      value: `${round(bookkeeping, 0)} ms`,
      target: `< ${ORIGINAL.bookkeepingMs} ms`,
      ...(judged ? { met: bookkeeping < ORIGINAL.bookkeepingMs } : {}),
    });
  }
  const worst = steady.filter((r) => r.protocol === "default").sort((a, b) => b.handlerMs - a.handlerMs)[0];
  const notes = [
    "modeled ms / S3 busy ms = wall time with at least one EC2/SSM/Pricing call / S3 request in flight (they overlap); own ms = time with no request of any kind in flight (CPU, scheduling).",
    "'first' = first submission of a group after the upgrade: it backfills the spend ledger once from the finished logs; 'steady' = ledger present (kept by the monitor).",
    ...runs
      .filter((r) => r.exitCode !== 0)
      .map((r) => `REJECTED ${r.label} N=${r.datasets} H=${r.history}: ${r.reason}`),
    ...(worst ? [`slowest steady run: N=${worst.datasets}, H=${worst.history}, ${round(worst.handlerMs, 0)} ms`] : []),
    ...(target
      ? [
          `S3 requests of N=100, H=10,000 by operation: ${Object.entries(target.requests.S3 ?? {})
            .map(([o, c]) => `${o}×${c}`)
            .join(", ")}`,
        ]
      : []),
  ];
  const failed = runs.some((r) => r.exitCode !== 0);
  if (failed && judged)
    checks.push({
      name: "every benchmark submission started its job",
      value: `${runs.filter((r) => r.exitCode !== 0).length} rejected`,
      target: "0 rejected",
      met: false,
    });
  return {
    id: "job-manager",
    title: "1. Job-manager overhead",
    status: "ok",
    notes,
    tables: [table],
    checks,
    ms: meta.ms,
    data: { latencyMs: meta.latencyMs, runs },
  };
}

export const DEFAULT_FIXTURES_DIR = path.resolve(__dirname, "../../shared/fixtures");
