import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createHash, randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Readable } from "node:stream";
import YAML from "yaml";
import { submitFileKey } from "../cli/user/submission";
import { PROJECT_ROOT } from "../components/project-root";
import { createLocalS3Client } from "../local/s3-server";
import { LOCAL_BUCKET, LOCAL_GROUP, throughputStack } from "./local-throughput";
import { startLocalProcess } from "./local-server";
import { freePort, run, type RunResult } from "./proc";
import type { BenchSection } from "./report";
import { elapsedMs, median, round } from "./stats";

export interface TransfersArgs {
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

/** The Debian package's CLI first (the reference), else whatever `aws` is on PATH. */
const AWS_CLI_CANDIDATES = ["/usr/bin/aws", "aws"] as const;

function transferSize(quick: boolean): number {
  return quick ? 16 * 2 ** 20 : 2 ** 30;
}

/** Write `bytes` of random data to `file`; returns its sha256 (hex). */
export async function writeRandomFile(file: string, bytes: number): Promise<string> {
  const hash = createHash("sha256");
  const fd = await fsp.open(file, "w");
  try {
    for (let left = bytes; left > 0;) {
      const chunk = randomBytes(Math.min(left, 8 * 2 ** 20));
      hash.update(chunk);
      await fd.write(chunk);
      left -= chunk.length;
    }
  } finally {
    await fd.close();
  }
  return hash.digest("hex");
}

/** sha256 and size of an object, streamed. */
async function objectDigest(client: S3Client, bucket: string, key: string): Promise<{ sha256: string; bytes: number }> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of res.Body as Readable) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

/** MiB/s of `bytes` moved in `ms`. */
export function mibPerSecond(bytes: number, ms: number): number {
  return bytes / 2 ** 20 / (ms / 1000);
}

async function findAwsCli(): Promise<{ path: string; version: string } | undefined> {
  for (const candidate of AWS_CLI_CANDIDATES) {
    try {
      const r = await run(candidate, ["--version"], { timeoutMs: 60_000 });
      if (r.code === 0) return { path: candidate, version: (r.stdout || r.stderr).trim() };
    } catch {
      // not installed here
    }
  }
  return undefined;
}

interface ToolRun {
  readonly tool: "neurocaas submit" | "aws s3 cp";
  readonly round: number;
  readonly ms: number;
}

export async function benchTransfers(args: TransfersArgs): Promise<BenchSection> {
  const started = process.hrtime.bigint();
  const bytes = transferSize(args.quick);
  const rounds = args.quick ? 1 : 3;
  const aws = await findAwsCli();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "neurocaas-bench-xfer-"));
  const stackFile = path.join(dir, "bench-xfer.yaml");
  await fsp.writeFile(stackFile, YAML.stringify(throughputStack(10)));
  const server = await startLocalProcess({ port: await freePort(), dataDir: path.join(dir, "data"), stackFile });
  const client = createLocalS3Client(server);
  const runs: ToolRun[] = [];
  const verified: { tool: string; key: string; bytes: number; exact: boolean }[] = [];
  let startupMs: number | undefined;
  try {
    const source = path.join(dir, "upload.bin");
    const config = path.join(dir, "config.yaml");
    await fsp.writeFile(config, "param: 1\n");
    const t = process.hrtime.bigint();
    const sha = await writeRandomFile(source, bytes);
    args.log(`transfers: wrote ${bytes} random bytes in ${(elapsedMs(t) / 1000).toFixed(1)} s`);
    const env = {
      ...process.env,
      NODE_NO_WARNINGS: "1",
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_REGION: "us-east-1",
      AWS_PAGER: "",
    };
    const check = (r: RunResult, what: string) => {
      if (r.code !== 0)
        throw new Error(`transfers: ${what} failed (exit ${r.code ?? r.signal}): ${r.stderr.slice(-1500)}`);
    };
    const neurocaas = [process.execPath, "--import", "tsx", path.join(PROJECT_ROOT, "cli", "main.ts")];
    const help = await run(neurocaas[0], [...neurocaas.slice(1), "--help"], {
      cwd: PROJECT_ROOT,
      env,
      timeoutMs: 120_000,
    });
    check(help, "neurocaas --help");
    startupMs = help.ms;
    let submitKey = "";
    const awsKey = `${LOCAL_GROUP}/inputs/aws-copy.bin`;
    for (let round = 1; round <= rounds; round++) {
      // Alternate which tool goes first so drift on a shared machine hits both alike.
      const order = round % 2 === 1 ? ["neurocaas", "aws"] : ["aws", "neurocaas"];
      for (const tool of order) {
        if (tool === "neurocaas") {
          const job = `xfer${round}`;
          const r = await run(
            neurocaas[0],
            [
              ...neurocaas.slice(1),
              "submit",
              "--endpoint-url",
              server.endpoint,
              "--bucket",
              LOCAL_BUCKET,
              "--group",
              LOCAL_GROUP,
              "--data",
              source,
              "--config",
              config,
              "--timestamp",
              job,
            ],
            { cwd: PROJECT_ROOT, env, timeoutMs: 30 * 60_000 },
          );
          check(r, "neurocaas submit");
          submitKey = submitFileKey(LOCAL_GROUP, job);
          runs.push({ tool: "neurocaas submit", round, ms: r.ms });
        } else if (aws) {
          const r = await run(
            aws.path,
            [
              "s3",
              "cp",
              source,
              `s3://${LOCAL_BUCKET}/${awsKey}`,
              "--endpoint-url",
              server.endpoint,
              "--only-show-errors",
            ],
            { cwd: dir, env, timeoutMs: 30 * 60_000 },
          );
          check(r, "aws s3 cp");
          runs.push({ tool: "aws s3 cp", round, ms: r.ms });
        }
        args.log(`transfers: round ${round} ${tool}: ${runs[runs.length - 1]?.ms.toFixed(0)} ms`);
      }
    }
    const submitted = await client.send(new GetObjectCommand({ Bucket: LOCAL_BUCKET, Key: submitKey }));
    const dataKey = (
      JSON.parse(await (submitted.Body as { transformToString(): Promise<string> }).transformToString()) as {
        dataname: string | string[];
      }
    ).dataname;
    const submittedKey = Array.isArray(dataKey) ? dataKey[0] : dataKey;
    for (const [tool, key] of [["neurocaas submit", submittedKey], ...(aws ? [["aws s3 cp", awsKey]] : [])] as [
      string,
      string,
    ][]) {
      const d = await objectDigest(client, LOCAL_BUCKET, key);
      verified.push({ tool, key, bytes: d.bytes, exact: d.sha256 === sha && d.bytes === bytes });
    }
    await fsp.rm(source, { force: true });
  } finally {
    client.destroy();
    await server.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  }
  return transfersSection({ runs, verified, bytes, aws, startupMs, quick: args.quick, ms: elapsedMs(started) });
}

export function transfersSection(r: {
  runs: readonly ToolRun[];
  verified: readonly { tool: string; key: string; bytes: number; exact: boolean }[];
  bytes: number;
  aws?: { path: string; version: string };
  startupMs?: number;
  quick: boolean;
  ms: number;
}): BenchSection {
  const byTool = (tool: ToolRun["tool"]) => r.runs.filter((x) => x.tool === tool).map((x) => x.ms);
  const ours = byTool("neurocaas submit");
  const theirs = byTool("aws s3 cp");
  const oursMs = ours.length > 0 ? median(ours) : undefined;
  const theirsMs = theirs.length > 0 ? median(theirs) : undefined;
  const ratio = oursMs !== undefined && theirsMs !== undefined ? theirsMs / oursMs : undefined;
  const exact = (tool: string) => r.verified.find((v) => v.tool === tool)?.exact;
  const row = (tool: ToolRun["tool"], ms: number[], med: number | undefined) => [
    tool,
    ms.length,
    med === undefined ? null : round(med / 1000, 2),
    med === undefined ? null : round(mibPerSecond(r.bytes, med), 1),
    ms.length > 0 ? ms.map((m) => round(m / 1000, 1)).join(" / ") : "-",
    exact(tool) ?? null,
  ];
  return {
    id: "transfers",
    title: "5. Transfers",
    status: "ok",
    notes: [
      `${r.bytes} bytes of random data uploaded to one \`neurocaas local\` endpoint by each tool (alternating order per round); times are whole commands, process start-up included (\`neurocaas --help\` takes ${r.startupMs === undefined ? "?" : round(r.startupMs / 1000, 2)} s here); byte-exactness checked by downloading and hashing (sha256).`,
      r.aws
        ? `AWS CLI: ${r.aws.path} (${r.aws.version})`
        : `AWS CLI not installed (tried ${AWS_CLI_CANDIDATES.join(", ")}; Debian package awscli): the reference side was not measured.`,
    ],
    tables: [
      {
        title: `Upload of ${round(r.bytes / 2 ** 20, 0)} MiB to the local endpoint`,
        columns: ["tool", "runs", "seconds (median)", "MiB/s", "each run (s)", "byte-exact"],
        rows: [row("neurocaas submit", ours, oursMs), row("aws s3 cp", theirs, theirsMs)],
      },
    ],
    checks: [
      {
        name: "throughput ratio neurocaas submit / aws s3 cp",
        value: ratio === undefined ? "not measured" : `${round(ratio, 2)}`,
        target: "≥ 1.0",
        ...(!r.quick && ratio !== undefined ? { met: ratio >= 1 } : {}),
      },
      {
        name: "byte-exact uploads",
        value: r.verified.map((v) => `${v.tool}: ${v.exact ? "yes" : "NO"}`).join(", "),
        target: "all",
        met: r.verified.length > 0 && r.verified.every((v) => v.exact),
      },
    ],
    ms: r.ms,
    data: { bytes: r.bytes, runs: r.runs, verified: r.verified, aws: r.aws ?? null, startupMs: r.startupMs },
  };
}
