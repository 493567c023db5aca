/**
 * `neurocaas local` as a child process: the ready line, SIGTERM with a running IAE (nothing left
 * behind), and a restart on the same data dir that reports the interrupted job.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createLocalS3Client } from "../../local/s3-server";
import { parseReadyLine, type ReadyLineInfo } from "../../local/server";
import { readJobState, waitForJob } from "../../cli/user/job-state";
import { writeStackFile } from "../local/support/stack";

jest.setTimeout(180_000);

const CLI = path.resolve(__dirname, "../../bin/neurocaas");

interface Running {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly local: ReadyLineInfo;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

function startCli(args: readonly string[]): Promise<Running> {
  const child = spawn(CLI, ["local", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      const ready = stdout
        .split("\n")
        .map(parseReadyLine)
        .find((r) => r !== undefined);
      if (ready) resolve({ child, endpoint: ready.endpoint, local: ready, stderr: () => stderr, exited });
    });
    void exited.then((code) => reject(new Error(`neurocaas local exited (${code}) before ready:\n${stderr}`)));
  });
}

async function alive(pid: number): Promise<boolean> {
  const stat = await fsp.readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return stat !== undefined && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

describe("neurocaas local (CLI)", () => {
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "local-cli-"));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("prints ready, stops cleanly on SIGTERM killing its IAEs, and reports the job on restart", async () => {
    const stack = await writeStackFile(dir, { name: "cli-sleep", command: "echo started {}; sleep 120" });
    const args = ["--port", "0", "--data-dir", path.join(dir, "data"), "--stack-file", stack];
    const first = await startCli(args);
    children.push(first.child);
    const client = createLocalS3Client(first.local);
    const ref = { bucket: "cli-sleep", group: "lab", job: "sig1" };
    await client.send(new PutObjectCommand({ Bucket: ref.bucket, Key: "lab/inputs/d.txt", Body: Buffer.from("d") }));
    await client.send(new PutObjectCommand({ Bucket: ref.bucket, Key: "lab/configs/c.json", Body: Buffer.from("{}") }));
    await client.send(
      new PutObjectCommand({
        Bucket: ref.bucket,
        Key: "lab/submissions/submit.json",
        Body: Buffer.from(
          JSON.stringify({ dataname: "lab/inputs/d.txt", configname: "lab/configs/c.json", timestamp: "sig1" }),
        ),
      }),
    );

    const stateFile = path.join(dir, "data", "compute", "state.json");
    let pid: number | undefined;
    for (let i = 0; i < 200 && pid === undefined; i++) {
      const state = JSON.parse(await fsp.readFile(stateFile, "utf8").catch(() => "{}")) as {
        instances?: Record<string, { pid?: number }>;
      };
      pid = Object.values(state.instances ?? {}).find((r) => r.pid !== undefined)?.pid;
      if (pid === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(pid).toBeDefined();
    expect(await alive(pid!)).toBe(true);
    client.destroy();

    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(first.stderr()).toContain("SIGTERM: stopping local NeuroCAAS");
    expect(await alive(pid!)).toBe(false);

    const second = await startCli(args);
    children.push(second.child);
    try {
      expect(second.stderr()).toMatch(
        /IAE i-[0-9a-f]{17} was running when the server last stopped: reported as interrupted/,
      );
      const c2 = createLocalS3Client(second.local);
      const state = await waitForJob(c2, ref, { intervalMs: 200, timeoutMs: 30_000 });
      expect(state.certificate).toContain("was interrupted: the local NeuroCAAS server stopped");
      expect((await readJobState(c2, ref)).datasets[0].status).toBe("FAILED");
      c2.destroy();
    } finally {
      second.child.kill("SIGINT");
      expect(await second.exited).toBe(0);
    }
  });

  it("ready line: the admin key works, says it is the admin's and names the users' key file; other hosts get a warning", async () => {
    const stack = await writeStackFile(dir, { name: "cli-keys", command: "true" });
    const server = await startCli([
      "--host",
      "0.0.0.0",
      "--port",
      "0",
      "--data-dir",
      path.join(dir, "keys-data"),
      "--stack-file",
      stack,
    ]);
    children.push(server.child);
    try {
      expect(server.stderr()).toMatch(/WARNING: --host 0\.0\.0\.0 makes the endpoint reachable from other machines/);
      expect(server.stderr()).toContain("Blueprint users (alice) have their own keys");
      expect(server.local.credentialsFile).toBe(path.join(dir, "keys-data", "credentials"));
      const ini = await fsp.readFile(server.local.credentialsFile!, "utf8");
      expect(ini).toContain(`[neurocaas-admin]\naws_access_key_id = ${server.local.credentials.accessKeyId}\n`);
      expect(ini).toMatch(/\[alice\]\naws_access_key_id = AKIA[A-Z2-7]{16}\n/);
      const admin = createLocalS3Client(server.local);
      await admin.send(new PutObjectCommand({ Bucket: "cli-keys", Key: "lab/inputs/a.txt", Body: Buffer.from("a") }));
      admin.destroy();
      const stranger = createLocalS3Client({
        endpoint: server.endpoint,
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      });
      await expect(
        stranger.send(new PutObjectCommand({ Bucket: "cli-keys", Key: "lab/inputs/b.txt", Body: Buffer.from("b") })),
      ).rejects.toMatchObject({ name: "InvalidAccessKeyId" });
      stranger.destroy();
    } finally {
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    }
  });

  it("fails fast with a clear message on a bad stack file", async () => {
    const bad = path.join(dir, "bad.yaml");
    await fsp.writeFile(bad, "config:\n  neurocaas:blueprint:\n    PipelineName: Bad_Name\n");
    await expect(
      startCli(["--port", "0", "--data-dir", path.join(dir, "bad-data"), "--stack-file", bad]),
    ).rejects.toThrow(/bad\.yaml/);
  });
});
