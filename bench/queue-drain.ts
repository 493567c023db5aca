/**
 * Queue benchmark (issue 17): many jobs through a queue of small capacity in local mode. Every
 * submit file is uploaded at once to an analysis with DEPLOY_LIMIT = capacity; the queue's drain
 * (monitor on each IAE end, job manager start gate) must start each job exactly once, never run more
 * than `capacity` IAEs at a time, and lose none. Counts the S3 requests the platform makes on the
 * queue object and in total, per job.
 */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { readJobState } from "../cli/user/job-state";
import { fallbackHourlyPrice, protocolHandlers } from "../local/protocol-handlers";
import type { LocalHandlers } from "../local/handlers";
import { startLocal } from "../local/server";
import { IAE_TAGS } from "../protocols/compute";
import type { ProtocolDeps } from "../protocols/deps";
import { QUEUE_KEY } from "../protocols/job-queue";
import { listKeys } from "../protocols/s3-client";
import type { ObjectStore } from "../protocols/storage";
import { finishedJobs, jobId, LOCAL_BUCKET, LOCAL_GROUP, throughputStack, withRetries } from "./local-throughput";
import type { BenchSection } from "./report";
import { elapsedMs, round } from "./stats";

export interface QueueBenchArgs {
  readonly quick: boolean;
  readonly log: (line: string) => void;
  readonly timeoutMs?: number;
  /** Sizes (default: 200 jobs, capacity 10; quick: 20 and 3). */
  readonly jobs?: number;
  readonly capacity?: number;
}

const REPO_ROOT = path.resolve(__dirname, "..");

/** S3 requests of the platform: all, and those on the queue object. */
interface Counts {
  all: number;
  queue: number;
}

/** `store` with every request counted (a request on the queue object also under `queue`). */
export function countingStore(store: ObjectStore, counts: Counts): ObjectStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        counts.all++;
        if (args[1] === QUEUE_KEY) counts.queue++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** The most intervals [start, end) open at once. */
export function maxOverlap(spans: readonly (readonly [number, number])[]): number {
  const points = spans
    .flatMap(([s, e]) => [[s, 1] as const, [e, -1] as const])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of points) {
    now += d;
    max = Math.max(max, now);
  }
  return max;
}

export async function benchQueue(args: QueueBenchArgs): Promise<BenchSection> {
  const started = process.hrtime.bigint();
  const jobs = args.jobs ?? (args.quick ? 20 : 200);
  const capacity = args.capacity ?? (args.quick ? 3 : 10);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "neurocaas-bench-queue-"));
  const stack = throughputStack(jobs) as {
    config: { "neurocaas:blueprint": { Lambda: { LambdaConfig: Record<string, unknown> } } };
  };
  Object.assign(stack.config["neurocaas:blueprint"].Lambda.LambdaConfig, {
    DEPLOY_LIMIT: capacity,
    MAX_QUEUE_LENGTH: jobs,
  });
  const stackFile = path.join(dir, "bench-queue.yaml");
  await fsp.writeFile(stackFile, YAML.stringify(stack));
  const counts: Counts = { all: 0, queue: 0 };
  const leftRunning = new Map<string, number>();
  const counted = (deps: ProtocolDeps): ProtocolDeps => ({ ...deps, store: countingStore(deps.store, counts) });
  const handlers: LocalHandlers = {
    submit: (event, deps) => protocolHandlers.submit(event, counted(deps)),
    monitor: (event, deps) => {
      // DEPLOY_LIMIT counts pending and running IAEs: one stops counting when it starts shutting down.
      const id = event.detail?.["instance-id"];
      if (id && event.detail.state !== "running" && event.detail.state !== "pending" && !leftRunning.has(id))
        leftRunning.set(id, Date.now());
      return protocolHandlers.monitor(event, counted(deps));
    },
    postProcess: (event, deps) => protocolHandlers.postProcess(event, counted(deps)),
  };
  const dataDir = path.join(dir, "data");
  const local = await startLocal({
    port: 0,
    dataDir,
    stackFiles: [stackFile],
    repoRoot: REPO_ROOT,
    handlers,
    fallbackPrice: fallbackHourlyPrice,
  });
  const client = local.client;
  const ids = Array.from({ length: jobs }, (_, i) => jobId(i));
  let done = new Set<string>();
  let elapsed: number;
  let readErrors = 0;
  const statuses: Record<string, number> = {};
  let queuedJobs = 0;
  const timeoutMs = args.timeoutMs ?? 20 * 60_000;
  try {
    const put = (key: string, body: string) =>
      client.send(new PutObjectCommand({ Bucket: LOCAL_BUCKET, Key: key, Body: body }));
    await put(`${LOCAL_GROUP}/inputs/data.txt`, "small dataset\n");
    await put(`${LOCAL_GROUP}/configs/config.yaml`, "param: 1\n");
    const t = process.hrtime.bigint();
    await Promise.all(
      ids.map((id) =>
        put(
          `${LOCAL_GROUP}/submissions/${id}submit.json`,
          JSON.stringify({
            dataname: `${LOCAL_GROUP}/inputs/data.txt`,
            configname: `${LOCAL_GROUP}/configs/config.yaml`,
            timestamp: id,
          }),
        ),
      ),
    );
    while (done.size < jobs && elapsedMs(t) < timeoutMs) {
      await new Promise((r) => setTimeout(r, 250));
      try {
        done = finishedJobs(await listKeys(client, LOCAL_BUCKET, `${LOCAL_GROUP}/results/`), ids);
      } catch {
        readErrors++;
      }
    }
    elapsed = elapsedMs(t);
    args.log(`queue: ${done.size}/${jobs} jobs ended in ${(elapsed / 1000).toFixed(1)} s`);
    await local.settle();
    for (const id of ids) {
      const state = await withRetries(
        () => readJobState(client, { bucket: LOCAL_BUCKET, group: LOCAL_GROUP, job: id }),
        () => readErrors++,
      );
      const error = (state.certificate ?? "").split("\n").find((l) => / ERROR\. /.test(l));
      const status =
        state.datasets.length === 1
          ? (state.datasets[0].status ?? "no status")
          : error
            ? `stopped: ${error.replace(/\t.*$/, "").slice(0, 160)}`
            : state.certificate
              ? "certificate, no status file"
              : "no certificate";
      statuses[status] = (statuses[status] ?? 0) + 1;
      if ((state.certificate ?? "").includes("Job QUEUED at position")) queuedJobs++;
    }
  } finally {
    await local.close();
  }
  // What the local compute started: IAEs per job, and how many ran at once.
  const state = JSON.parse(await fsp.readFile(path.join(dataDir, "compute", "state.json"), "utf8")) as {
    instances: Record<string, { tags: Record<string, string>; launchTime: string; endedAt?: string }>;
  };
  await fsp.rm(dir, { recursive: true, force: true });
  const perJob = new Map<string, number>();
  for (const r of Object.values(state.instances))
    perJob.set(r.tags[IAE_TAGS.job], (perJob.get(r.tags[IAE_TAGS.job]) ?? 0) + 1);
  const startedOnce = ids.filter((id) => perJob.get(`job__${LOCAL_BUCKET}_${id}`) === 1).length;
  const startedTwice = ids.filter((id) => (perJob.get(`job__${LOCAL_BUCKET}_${id}`) ?? 0) > 1).length;
  const concurrent = maxOverlap(
    Object.entries(state.instances).map(
      ([id, r]) =>
        [Date.parse(r.launchTime), leftRunning.get(id) ?? Date.parse(r.endedAt ?? new Date().toISOString())] as const,
    ),
  );
  const lost = jobs - done.size;
  const checks = [
    { name: "jobs lost", value: String(lost), target: "0", met: lost === 0 },
    {
      name: "jobs started exactly once",
      value: `${startedOnce}/${jobs}`,
      target: `${jobs}/${jobs}`,
      met: startedOnce === jobs,
    },
    {
      name: "most IAEs at once",
      value: String(concurrent),
      target: `≤ ${capacity} (DEPLOY_LIMIT)`,
      met: concurrent <= capacity,
    },
  ];
  return {
    id: "queue",
    title: "6. Queue",
    status: "ok",
    notes: [
      `\`neurocaas local\` in process; ${jobs} submit files uploaded at once to an analysis with DEPLOY_LIMIT ${capacity}; IAE command: echo. Time from the first upload until every job's end.txt exists.`,
      "IAEs per job from the local compute's state; the most at once from each IAE's launch until the monitor heard it shutting down (DEPLOY_LIMIT counts pending and running IAEs).",
      "S3 requests: every request the job manager and monitor made (job files, cost logs, ledger, queue), and those on logs/_queue/queue.json alone, divided by the number of jobs.",
      `benchmark reads that failed after retries: ${readErrors}`,
    ],
    tables: [
      {
        title: `${jobs} jobs through a queue of capacity ${capacity}`,
        columns: [
          "jobs",
          "ended",
          "lost",
          "queued at some point",
          "started once",
          "started twice",
          "most IAEs at once",
          "dataset status",
          "seconds",
          "queue.json requests / job",
          "all platform S3 requests / job",
        ],
        rows: [
          [
            jobs,
            done.size,
            lost,
            queuedJobs,
            startedOnce,
            startedTwice,
            concurrent,
            Object.entries(statuses)
              .map(([k, n]) => `${k}×${n}`)
              .join(", "),
            round(elapsed / 1000, 1),
            round(counts.queue / jobs, 1),
            round(counts.all / jobs, 1),
          ],
        ],
      },
    ],
    checks: args.quick ? checks.map(({ met: _met, ...c }) => c) : checks,
    ms: elapsedMs(started),
    data: {
      jobs,
      capacity,
      ended: done.size,
      lost,
      queuedJobs,
      startedOnce,
      startedTwice,
      concurrent,
      statuses,
      seconds: elapsed / 1000,
      queueRequestsPerJob: counts.queue / jobs,
      s3RequestsPerJob: counts.all / jobs,
    },
  };
}
