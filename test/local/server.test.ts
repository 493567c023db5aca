/**
 * The local server's wiring with minimal stand-in handlers: S3 events reach "submit" with keys
 * encoded as S3 does, launched IAEs boot only after the submit invocation, state changes reach
 * "monitor" for the right analysis, and close() stops IAEs and the endpoint.
 */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { decodeEventKey, endMarkerKey, jobFolderKey } from "../../model/layout";
import { fillCommand } from "../../protocols/command-template";
import type { ProtocolDeps } from "../../protocols/deps";
import type { LocalHandlers } from "../../local/handlers";
import type { Ec2StateChangeEvent, LambdaS3Event } from "../../local/events";
import { readyLine, startLocal, type LocalNeurocaas } from "../../local/server";
import { createLocalS3Client } from "../../local/s3-server";
import { writeStackFile } from "./support/stack";

const REPO = path.resolve(__dirname, "../..");

interface Seen {
  submits: string[];
  monitor: string[];
  runningBeforeSubmitEnded: boolean;
}

function standInHandlers(seen: Seen): LocalHandlers {
  const jobs = new Map<string, { bucket: string; folder: string }>();
  let submitting = 0;
  return {
    async submit(event: LambdaS3Event, deps: ProtocolDeps) {
      submitting++;
      try {
        const key = decodeEventKey(event.Records[0].s3.object.key);
        seen.submits.push(key);
        const body = JSON.parse((await deps.store.get(deps.config.bucketName, key))!.body) as {
          dataname: string;
          configname: string;
          timestamp: string;
        };
        const folder = jobFolderKey("lab", deps.config.bucketName, body.timestamp);
        const [iae] = await deps.compute.launch({
          imageId: deps.config.ami,
          instanceType: deps.config.instanceType,
          count: 1,
          volumeSizeGb: 10,
          spot: false,
          tags: { Timeout: "60", "neurocaas:analysis": deps.config.bucketName, "neurocaas:dataset": body.dataname },
          securityGroupIds: [],
          shutdownBehavior: "terminate",
          clientToken: key,
        });
        jobs.set(iae.instanceId, { bucket: deps.config.bucketName, folder });
        await new Promise((r) => setTimeout(r, 200));
        return 0;
      } finally {
        submitting--;
      }
    },
    async monitor(event: Ec2StateChangeEvent, deps: ProtocolDeps) {
      const id = event.detail["instance-id"];
      seen.monitor.push(`${deps.config.bucketName}:${event.detail.state}`);
      const job = jobs.get(id)!;
      if (event.detail.state === "running") {
        if (submitting > 0) seen.runningBeforeSubmitEnded = true;
        const command = fillCommand(deps.config.command, {
          bucket: job.bucket,
          datasetKey: "d",
          resultFolder: job.folder,
          configKey: "c",
        });
        await deps.compute.sendCommand({
          instanceId: id,
          commands: [command],
          workingDirectory: deps.config.workingDirectory,
          executionTimeoutSeconds: 60,
          outputBucket: job.bucket,
          outputPrefix: `${job.folder}/internal_ec2_logs`,
        });
      }
      if (event.detail.state === "terminated")
        await deps.store.put(job.bucket, endMarkerKey(job.folder), "end of analysis marker");
    },
    async postProcess() {
      throw new Error("not configured in this test");
    },
  };
}

describe("local server wiring", () => {
  let dir: string;
  let local: LocalNeurocaas | undefined;
  const seen: Seen = { submits: [], monitor: [], runningBeforeSubmitEnded: false };

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "local-server-"));
    const stack = await writeStackFile(dir, {
      name: "wiring",
      // HOME is the IAE sandbox; the endpoint and credentials point at the local server. (The
      // IAE can write only in its sandbox: the line comes back as the command's stdout.)
      command: `echo "$HOME|$AWS_ENDPOINT_URL|$AWS_ACCESS_KEY_ID|$AWS_REQUEST_CHECKSUM_CALCULATION|$(pwd)|$(command -v neurocaas)|$AWS_SECRET_ACCESS_KEY|{}"; sleep 0.2`,
    });
    local = await startLocal({
      port: 0,
      dataDir: path.join(dir, "data"),
      stackFiles: [stack],
      repoRoot: REPO,
      handlers: standInHandlers(seen),
      fallbackPrice: async () => 0.01,
    });
  });
  afterAll(async () => {
    await local?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("creates the bucket and group folders and prints a ready line with endpoint and credentials", async () => {
    const l = local!;
    const listed = await l.client.send(new ListObjectsV2Command({ Bucket: "wiring" }));
    // The four folders of the group, and its spend summary for the dashboard (from its ledger).
    expect(listed.Contents!.map((o) => o.Key).sort()).toEqual([
      "lab/configs/",
      "lab/inputs/",
      "lab/results/",
      "lab/submissions/",
      "logs/_ledger/lab.json",
      "logs/_spend/lab.json",
    ]);
    const { accessKeyId, secretAccessKey } = l.credentials;
    expect(readyLine(l)).toBe(
      `neurocaas local ready: endpoint ${l.endpoint} access-key ${accessKeyId} secret-key ${secretAccessKey} (admin) buckets wiring data-dir ${path.join(dir, "data")} user-keys ${path.join(dir, "data", "credentials")} dashboard ${l.endpoint}/_dashboard/`,
    );
  });

  it("routes a submit file to submit, boots the IAE after it, and its state changes to monitor", async () => {
    const l = local!;
    const key = "lab/submissions/a b:c_submit.json";
    await l.client.send(
      new PutObjectCommand({
        Bucket: "wiring",
        Key: key,
        Body: Buffer.from(
          JSON.stringify({ dataname: "lab/inputs/x", configname: "lab/configs/c.json", timestamp: "w1" }),
        ),
      }),
    );
    const endKey = endMarkerKey(jobFolderKey("lab", "wiring", "w1"));
    for (let i = 0; i < 100; i++) {
      const found = await l.client.send(new HeadObjectCommand({ Bucket: "wiring", Key: endKey })).then(
        () => true,
        () => false,
      );
      if (found) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await l.settle();
    expect(seen.submits).toEqual([key]);
    expect(seen.runningBeforeSubmitEnded).toBe(false);
    expect(seen.monitor).toEqual(["wiring:running", "wiring:shutting-down", "wiring:terminated"]);
    const logs = await l.client.send(
      new ListObjectsV2Command({
        Bucket: "wiring",
        Prefix: `${jobFolderKey("lab", "wiring", "w1")}/internal_ec2_logs/`,
      }),
    );
    const stdoutKey = logs.Contents!.map((o) => o.Key!).find((k) => k.endsWith("/stdout"))!;
    const stdout = await (
      await l.client.send(new GetObjectCommand({ Bucket: "wiring", Key: stdoutKey }))
    ).Body!.transformToString();
    const line = stdout.trim().split("|");
    expect(line[0]).toMatch(new RegExp(`^${path.join(dir, "data", "compute", "iae")}/i-[0-9a-f]{17}$`));
    // The IAE signs with its own key (not the admin's), which stops working once it terminated.
    expect(line[1]).toBe(l.endpoint);
    expect(line[2]).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(line[2]).not.toBe(l.credentials.accessKeyId);
    expect(line[3]).toBe("WHEN_REQUIRED");
    expect(line[4]).toBe(REPO);
    expect(line[5]).toBe(path.join(REPO, "bin", "neurocaas"));
    const iaeClient = createLocalS3Client({
      endpoint: l.endpoint,
      credentials: { accessKeyId: line[2], secretAccessKey: line[6] },
    });
    await expect(iaeClient.send(new GetObjectCommand({ Bucket: "wiring", Key: endKey }))).rejects.toMatchObject({
      name: "InvalidAccessKeyId",
    });
    iaeClient.destroy();
    expect(line[7]).toBe("wiring");
    const end = await l.client.send(new GetObjectCommand({ Bucket: "wiring", Key: endKey }));
    expect(await end.Body!.transformToString()).toBe("end of analysis marker");
  });

  it("close() is idempotent and closes the endpoint", async () => {
    const l = local!;
    await l.close();
    await l.close();
    local = undefined;
    await expect(fetch(l.endpoint)).rejects.toThrow();
  });
});

describe("local server: S3 notifications survive a shutdown", () => {
  it("replays a submit whose handler was cut short by the shutdown", async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "local-journal-"));
    const stack = await writeStackFile(dir, { name: "journal", command: "true" });
    const handled: string[] = [];
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const slow: LocalHandlers = {
      async submit(event, deps) {
        entered();
        await deps.clock.sleep(60_000); // rejected when the server shuts down
        handled.push(event.Records[0].s3.object.key);
        return 0;
      },
      monitor: async () => undefined,
      postProcess: async () => undefined,
    };
    const quick: LocalHandlers = {
      async submit(event) {
        handled.push(`replayed ${event.Records[0].s3.object.key}`);
        return 0;
      },
      monitor: async () => undefined,
      postProcess: async () => undefined,
    };
    const common = {
      port: 0,
      dataDir: path.join(dir, "data"),
      stackFiles: [stack],
      repoRoot: REPO,
      fallbackPrice: async () => 0.01,
    };
    try {
      const first = await startLocal({ ...common, handlers: slow });
      await first.client.send(
        new PutObjectCommand({ Bucket: "journal", Key: "lab/submissions/x y_submit.json", Body: Buffer.from("{}") }),
      );
      await inHandler;
      await first.close();
      expect(handled).toEqual([]);

      const second = await startLocal({ ...common, handlers: quick });
      await second.settle();
      await second.close();
      expect(handled).toEqual(["replayed lab/submissions/x+y_submit.json"]);

      const third = await startLocal({ ...common, handlers: quick });
      await third.settle();
      await third.close();
      expect(handled).toHaveLength(1);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
