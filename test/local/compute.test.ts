import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  CommandTargetNotReadyError,
  IAE_STOP_REASONS,
  IAE_TAGS,
  LaunchError,
  type IaeLaunchRequest,
} from "../../protocols/compute";
import { LocalCompute } from "../../local/compute";
import type { Ec2StateChangeEvent } from "../../local/events";
import { createLocalS3Client, startLocalS3Server, type LocalS3Server } from "../../local/s3-server";

const BUCKET = "demo";
const JOB = "lab/results/job__demo_t1";
const REPO = path.resolve(__dirname, "../..");

function request(overrides: Partial<IaeLaunchRequest> = {}): IaeLaunchRequest {
  return {
    imageId: "ami-local",
    instanceType: "t3.micro",
    count: 1,
    volumeSizeGb: 10,
    spot: false,
    tags: {
      PriceTracking: "On",
      Timeout: "60",
      "neurocaas:analysis": BUCKET,
      "neurocaas:group": "lab",
      "neurocaas:job": JOB,
      "neurocaas:dataset": "lab/inputs/d.csv",
    },
    securityGroupIds: [],
    shutdownBehavior: "terminate",
    clientToken: `tok-${Math.random()}`,
    ...overrides,
  };
}

async function text(client: S3Client, key: string): Promise<string> {
  const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return res.Body!.transformToString();
}

describe("LocalCompute", () => {
  let s3: LocalS3Server;
  let client: S3Client;
  let dir: string;
  let events: Ec2StateChangeEvent[];
  const opened: LocalCompute[] = [];

  async function open(secondsPerMinute = 60): Promise<LocalCompute> {
    const c = await LocalCompute.open({
      directory: dir,
      dataDir: dir,
      client,
      region: "us-east-1",
      iaeEnv: { AWS_ENDPOINT_URL: s3.endpoint },
      pathPrefix: [],
      repoRoot: REPO,
      secondsPerMinute,
      onStateChange: async (e) => {
        events.push(e);
      },
      killGraceMs: 200,
    });
    opened.push(c);
    return c;
  }

  const states = (id: string) => events.filter((e) => e.detail["instance-id"] === id).map((e) => e.detail.state);

  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "local-compute-"));
    s3 = await startLocalS3Server({ buckets: [BUCKET] });
    client = createLocalS3Client(s3);
    events = [];
  });
  afterEach(async () => {
    for (const c of opened.splice(0)) await c.close();
    client.destroy();
    await s3.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("launches pending IAEs idempotently, boots them on release and runs the command to termination", async () => {
    const compute = await open();
    const view = compute.invocation();
    const req = request({ count: 2 });
    const launched = await view.compute.launch(req);
    expect(launched).toHaveLength(2);
    expect(await view.compute.launch(req)).toEqual(launched);
    expect(await compute.countRunning({ instanceType: "t3.micro" })).toBe(2);
    const id = launched[0].instanceId;
    expect(id).toMatch(/^i-[0-9a-f]{17}$/);
    const cmd = {
      instanceId: id,
      commands: ["echo out-$AWS_ENDPOINT_URL", "echo err >&2"],
      workingDirectory: "~/bin",
      executionTimeoutSeconds: 60,
      outputBucket: BUCKET,
      outputPrefix: `${JOB}/internal_ec2_logs`,
    };
    await expect(compute.sendCommand(cmd)).rejects.toBeInstanceOf(CommandTargetNotReadyError);
    expect(events).toHaveLength(0);

    await view.release();
    expect(states(id)).toEqual(["running"]);
    const info = await compute.sendCommand(cmd);
    await compute.settle();
    expect(states(id)).toEqual(["running", "shutting-down", "terminated"]);
    expect(await compute.commandStatus(id, info.commandId)).toEqual({
      commandId: info.commandId,
      status: "Success",
      exitCode: 0,
    });
    // Terminated: the sandbox went with the "machine".
    await expect(fsp.stat(path.join(dir, "iae", id))).rejects.toThrow();
    await expect(fsp.stat(path.join(dir, "output", id))).rejects.toThrow();
    const base = `${JOB}/internal_ec2_logs/${info.commandId}/${id}/awsrunShellScript/0.awsrunShellScript`;
    expect(await text(client, `${base}/stdout`)).toBe(`out-${s3.endpoint}\n`);
    expect(await text(client, `${base}/stderr`)).toBe("err\n");
    expect(await compute.countRunning({})).toBe(1);
    await compute.terminate([launched[1].instanceId, "i-unknown"]);
    expect(states(launched[1].instanceId)).toEqual(["running", "shutting-down", "terminated"]);
    expect(await compute.countRunning({})).toBe(0);
  });

  it("gives each IAE of a launch its own instanceTags on top of the common tags, in request order", async () => {
    const compute = await open();
    const view = compute.invocation();
    const { [IAE_TAGS.dataset]: _common, ...common } = request().tags;
    const datasets = ["lab/inputs/a.csv", "lab/inputs/b.csv", "lab/inputs/c.csv"];
    const launched = await view.compute.launch(
      request({ count: 3, tags: common, instanceTags: datasets.map((d) => ({ [IAE_TAGS.dataset]: d })) }),
    );
    const described = await compute.describe(launched.map((l) => l.instanceId));
    expect(launched.map((l) => described.find((d) => d.instanceId === l.instanceId)?.tags)).toEqual(
      datasets.map((d) => ({ ...common, [IAE_TAGS.dataset]: d })),
    );
    await expect(view.compute.launch(request({ count: 2, instanceTags: [{}] }))).rejects.toBeInstanceOf(LaunchError);
    await compute.terminate(launched.map((l) => l.instanceId));
  });

  /** Every key of the job folder with its text: what the compute backend must leave alone. */
  async function jobFiles(): Promise<Record<string, string>> {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${JOB}/` }));
    const out: Record<string, string> = {};
    for (const o of listed.Contents ?? [])
      if (!o.Key!.includes("/internal_ec2_logs/")) out[o.Key!] = await text(client, o.Key!);
    return out;
  }

  it("kills an IAE over its __duration__ and reports why, writing no job file", async () => {
    const compute = await open(0.5); // 1 minute = 0.5 s
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${JOB}/logs/certificate.txt`,
        Body: "DATANAME: lab/inputs/d.csv | STATUS: IN PROGRESS | TIME: x | LAST COMMAND: y\n",
      }),
    );
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${JOB}/logs/DATASET_NAME:d.csv_STATUS.txt`,
        Body: JSON.stringify({ status: "IN PROGRESS", input: "lab/inputs/d.csv" }),
      }),
    );
    const before = await jobFiles();
    const [iae] = await compute.launch(request({ tags: { ...request().tags, Timeout: "1" } }));
    await compute.boot([iae.instanceId]);
    const info = await compute.sendCommand({
      instanceId: iae.instanceId,
      commands: ["sleep 30"],
      workingDirectory: "~",
      executionTimeoutSeconds: 600,
      outputBucket: BUCKET,
      outputPrefix: `${JOB}/internal_ec2_logs`,
    });
    await compute.settle();
    expect(states(iae.instanceId)).toEqual(["running", "shutting-down", "terminated"]);
    expect(await compute.commandStatus(iae.instanceId, info.commandId)).toMatchObject({
      status: "Failed",
      details: "killed at the __duration__ of 1 minute(s)",
    });
    expect(await compute.describe([iae.instanceId])).toMatchObject([
      { stateReason: IAE_STOP_REASONS.timeLimit, stateMessage: "it exceeded its __duration__ of 1 minute(s)" },
    ]);
    expect(await jobFiles()).toEqual(before);
  });

  it("reports a failed command's exit code and stderr (the monitor records them)", async () => {
    const compute = await open();
    const [iae] = await compute.launch(request());
    await compute.boot([iae.instanceId]);
    const info = await compute.sendCommand({
      instanceId: iae.instanceId,
      commands: ["echo broken thing >&2; exit 4"],
      workingDirectory: "~",
      executionTimeoutSeconds: 60,
      outputBucket: BUCKET,
      outputPrefix: `${JOB}/internal_ec2_logs`,
    });
    await compute.settle();
    expect(await compute.commandStatus(iae.instanceId, info.commandId)).toEqual({
      commandId: info.commandId,
      status: "Failed",
      exitCode: 4,
      stderr: "broken thing",
    });
    expect(await compute.describe([iae.instanceId])).toMatchObject([{ state: "terminated" }]);
    expect((await compute.describe([iae.instanceId]))[0].stateReason).toBeUndefined();
    expect(await jobFiles()).toEqual({});
  });

  it("ends IAEs left active by a stopped server on the next start, saying why", async () => {
    const first = await open();
    const [iae] = await first.launch(request());
    await first.boot([iae.instanceId]);
    const info = await first.sendCommand({
      instanceId: iae.instanceId,
      commands: ["sleep 30"],
      workingDirectory: "~",
      executionTimeoutSeconds: 600,
      outputBucket: BUCKET,
      outputPrefix: `${JOB}/internal_ec2_logs`,
    });
    await first.close();
    expect(states(iae.instanceId)).toEqual(["running"]);

    const second = await open();
    expect(await second.describe([iae.instanceId])).toMatchObject([{ state: "running" }]);
    expect(await second.recover()).toEqual([iae.instanceId]);
    expect(states(iae.instanceId)).toEqual(["running", "shutting-down", "terminated"]);
    expect(await second.describe([iae.instanceId])).toMatchObject([
      {
        state: "terminated",
        stateReason: IAE_STOP_REASONS.hostStopped,
        stateMessage: "the local NeuroCAAS server stopped while it was running",
      },
    ]);
    expect((await second.commandStatus(iae.instanceId, info.commandId)).status).toBe("Cancelled");
    expect(await second.recover()).toEqual([]);
    expect(await jobFiles()).toEqual({});
  });

  it("ends an IAE that never got its command on recovery, saying it was pending", async () => {
    const first = await open();
    const [iae] = await first.launch(request(), false);
    await first.close();

    const second = await open();
    expect(await second.recover()).toEqual([iae.instanceId]);
    expect(states(iae.instanceId)).toEqual(["shutting-down", "terminated"]);
    expect(await second.describe([iae.instanceId])).toMatchObject([
      { stateMessage: "the local NeuroCAAS server stopped while it was pending" },
    ]);
  });

  it("keeps IAEs beyond maxRunning pending until a running one ends", async () => {
    let running = 0;
    let peak = 0;
    const compute: LocalCompute = await LocalCompute.open({
      directory: dir,
      dataDir: dir,
      client,
      region: "us-east-1",
      iaeEnv: {},
      pathPrefix: [],
      repoRoot: REPO,
      maxRunning: 1,
      onStateChange: async (e) => {
        events.push(e);
        const id = e.detail["instance-id"];
        if (e.detail.state === "running") {
          peak = Math.max(peak, ++running);
          await compute.sendCommand({
            instanceId: id,
            commands: ["sleep 0.2"],
            workingDirectory: "~",
            executionTimeoutSeconds: 60,
            outputBucket: BUCKET,
            outputPrefix: `${JOB}/internal_ec2_logs`,
          });
        }
        if (e.detail.state === "shutting-down") running--;
      },
    });
    opened.push(compute);
    const view = compute.invocation();
    const launched = await view.compute.launch(request({ count: 3 }));
    await view.release();
    expect((await compute.describe(launched.map((l) => l.instanceId))).map((d) => d.state).sort()).toEqual([
      "pending",
      "pending",
      "running",
    ]);
    for (let i = 0; i < 100 && events.filter((e) => e.detail.state === "terminated").length < 3; i++) {
      await compute.settle();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(peak).toBe(1);
    for (const l of launched) expect(states(l.instanceId)).toEqual(["running", "shutting-down", "terminated"]);
  });

  it("forgets terminated IAEs an hour after they ended, like EC2", async () => {
    const compute = await open();
    const [iae] = await compute.launch(request(), false);
    const [other] = await compute.launch(request(), false);
    await compute.terminate([iae.instanceId]);
    compute.prune(Date.now() + 30 * 60 * 1000);
    expect(await compute.describe([iae.instanceId])).toHaveLength(1);
    compute.prune(Date.now() + 61 * 60 * 1000);
    expect(await compute.describe([iae.instanceId, other.instanceId])).toEqual([
      expect.objectContaining({ instanceId: other.instanceId, state: "pending" }),
    ]);
  });
});
