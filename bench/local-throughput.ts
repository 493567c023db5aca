import { PutObjectCommand } from "@aws-sdk/client-s3";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { readJobState } from "../cli/user/job-state";
import { endMarkerKey, jobFolderKey } from "../model/layout";
import { createS3Client, listKeys } from "../protocols/s3-client";
import { startLocalProcess } from "./local-server";
import { peakRssKb } from "../local/procfs";
import { freePort } from "./proc";
import type { BenchSection } from "./report";
import { elapsedMs, round } from "./stats";

export interface LocalThroughputArgs {
  readonly quick: boolean;
  readonly log: (line: string) => void;
  /** Give up waiting for end.txt files after this long (default 15 min). */
  readonly timeoutMs?: number;
}

export const LOCAL_BUCKET = "benchlocal";
export const LOCAL_GROUP = "lab";

/** Stack file of one analysis whose IAEs run a trivial command. */
export function throughputStack(jobs: number): Record<string, unknown> {
  return {
    config: {
      "neurocaas:blueprint": {
        PipelineName: LOCAL_BUCKET,
        REGION: "us-east-1",
        STAGE: "webdev",
        Lambda: {
          Protocol: "default",
          LambdaConfig: {
            AMI: "ami-0123456789abcdef0",
            INSTANCE_TYPE: "t3.micro",
            COMMAND: 'echo "bucket={}" "data={}" "result={}" "config={}"',
            WORKING_DIRECTORY: "~/neurocaas",
            DEPLOY_LIMIT: Math.max(100, 2 * jobs),
            MAXCOST: 1_000_000,
          },
        },
        UXData: { Affiliates: [{ AffiliateName: LOCAL_GROUP, UserNames: ["benchuser"], UserInput: true }] },
      },
    },
  };
}

export function jobId(i: number): string {
  return `bench${String(i).padStart(4, "0")}`;
}

/** Job ids whose end.txt is among `keys`. */
export function finishedJobs(keys: Iterable<string>, ids: readonly string[]): Set<string> {
  const wanted = new Map(ids.map((id) => [endMarkerKey(jobFolderKey(LOCAL_GROUP, LOCAL_BUCKET, id)), id]));
  const done = new Set<string>();
  for (const k of keys) {
    const id = wanted.get(k);
    if (id !== undefined) done.add(id);
  }
  return done;
}

/** `fn`, tried up to `attempts` times; `onError` sees every failed try. */
export async function withRetries<T>(fn: () => Promise<T>, onError: (err: unknown) => void, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      onError(err);
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}

export async function benchLocalThroughput(args: LocalThroughputArgs): Promise<BenchSection> {
  const started = process.hrtime.bigint();
  const jobs = args.quick ? 5 : 100;
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "neurocaas-bench-local-"));
  const stackFile = path.join(dir, "bench-local.yaml");
  await fsp.writeFile(stackFile, YAML.stringify(throughputStack(jobs)));
  const server = await startLocalProcess({ port: await freePort(), dataDir: path.join(dir, "data"), stackFile });
  // Polling reads race with the server's writes; s3rver then answers 500 now and then (counted).
  const client = createS3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    credentials: { ...server.credentials },
    maxAttempts: 10,
  });
  let readErrors = 0;
  const ids = Array.from({ length: jobs }, (_, i) => jobId(i));
  let done = new Set<string>();
  let elapsed: number;
  let peakKb: number | undefined;
  const statuses: Record<string, number> = {};
  const timeoutMs = args.timeoutMs ?? 15 * 60_000;
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
    const submittedMs = elapsedMs(t);
    args.log(`local-throughput: ${jobs} submit files uploaded in ${submittedMs.toFixed(0)} ms`);
    while (done.size < jobs && elapsedMs(t) < timeoutMs) {
      await new Promise((r) => setTimeout(r, 250));
      try {
        done = finishedJobs(await listKeys(client, LOCAL_BUCKET, `${LOCAL_GROUP}/results/`), ids);
      } catch (err) {
        readErrors++;
        args.log(`local-throughput: listing failed (${(err as Error).name}); polling again`);
      }
    }
    elapsed = elapsedMs(t);
    peakKb = peakRssKb(server.child.pid as number);
    args.log(`local-throughput: ${done.size}/${jobs} jobs ended in ${(elapsed / 1000).toFixed(1)} s`);
    for (const id of ids) {
      const state = await withRetries(
        () => readJobState(client, { bucket: LOCAL_BUCKET, group: LOCAL_GROUP, job: id }),
        () => readErrors++,
      );
      const status =
        state.datasets.length === 1
          ? (state.datasets[0].status ?? "no status")
          : `${state.datasets.length} status files`;
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  } finally {
    client.destroy();
    await server.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  }
  const lost = jobs - done.size;
  return {
    id: "local-throughput",
    title: "4. Local throughput",
    status: "ok",
    notes: [
      "`neurocaas local` as a child process (one node process, free port, temp data dir); every submit file uploaded at once; time from the first upload until every job's process_results/end.txt exists (polled every 250 ms).",
      "peak memory = VmHWM of the server process (IAEs are separate processes and not included).",
      `benchmark reads that failed after the SDK's own retries (s3rver answers 500 InternalError when a read races a write): ${readErrors}`,
    ],
    tables: [
      {
        title: `${jobs} jobs of one dataset each, IAE command: echo`,
        columns: [
          "jobs",
          "ended (end.txt)",
          "lost",
          "dataset status at the end",
          "seconds",
          "jobs/s",
          "server peak RSS MB",
        ],
        rows: [
          [
            jobs,
            done.size,
            lost,
            Object.entries(statuses)
              .map(([k, n]) => `${k}×${n}`)
              .join(", "),
            round(elapsed / 1000, 1),
            round(done.size / (elapsed / 1000), 2),
            peakKb === undefined ? null : round(peakKb / 1024, 0),
          ],
        ],
      },
    ],
    checks: [{ name: "jobs lost", value: String(lost), target: "0", ...(args.quick ? {} : { met: lost === 0 }) }],
    ms: elapsedMs(started),
    data: { jobs, ended: done.size, statuses, lost, readErrors, seconds: elapsed / 1000, peakRssKb: peakKb },
  };
}
