/**
 * Local users like the cloud's (issue 10): `neurocaas local` issues a key per blueprint user and
 * enforces SPEC §1 on every request with the IAM documents the Pulumi program deploys. Each test
 * names the attack or the mistake a lab could make.
 */
import { execFile, execFileSync } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { LocalHandlers } from "../../local/handlers";
import type { Credentials } from "../../local/keys";
import { createLocalS3Client } from "../../local/s3-server";
import { startLocal, type LocalNeurocaas } from "../../local/server";
import { writeStackFile } from "./support/stack";

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, "../..");
const A = "perm-a";
const B = "perm-b";

/** The job manager and monitor are not under test here: submit files start nothing. */
const idle: LocalHandlers = {
  submit: async () => 0,
  monitor: async () => undefined,
  postProcess: async () => undefined,
};

type Outcome = "ok" | string;

/** "ok", or the S3 error name (the HTTP status for body-less HEAD answers). */
async function outcome(p: Promise<unknown>): Promise<Outcome> {
  return p.then(
    () => "ok",
    (err: { name?: string; $metadata?: { httpStatusCode?: number } }) =>
      err.name === undefined || err.name === "Unknown" ? String(err.$metadata?.httpStatusCode) : err.name,
  );
}

describe("local users and IAEs get the cloud's permissions", () => {
  let dir: string;
  let local: LocalNeurocaas;
  let admin: S3Client;
  const clients: S3Client[] = [];
  let stacks: string[];

  const as = (credentials: Credentials | undefined): S3Client => {
    if (!credentials) throw new Error("no such key");
    const c = createLocalS3Client({ endpoint: local.endpoint, credentials });
    clients.push(c);
    return c;
  };
  const user = (name: string) => as(local.keys.user(name));
  const put = (c: S3Client, bucket: string, key: string, body = "x") =>
    outcome(c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })));
  const get = (c: S3Client, bucket: string, key: string) =>
    outcome(c.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then((r) => r.Body!.transformToString()));
  const del = (c: S3Client, bucket: string, key: string) =>
    outcome(
      c
        .send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: key }] } }))
        .then((r) => (r.Errors?.length ? Promise.reject({ name: r.Errors[0].Code }) : r)),
    );
  const list = (c: S3Client, bucket: string, prefix?: string, delimiter?: string) =>
    outcome(
      c.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          ...(prefix !== undefined ? { Prefix: prefix } : {}),
          ...(delimiter !== undefined ? { Delimiter: delimiter } : {}),
        }),
      ),
    );

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "permissions-"));
    stacks = [
      await writeStackFile(dir, {
        name: A,
        command: "true",
        affiliates: [
          { AffiliateName: "lab", UserNames: ["alice", "carol"] },
          { AffiliateName: "rival", UserNames: ["bob"] },
        ],
      }),
      await writeStackFile(dir, {
        name: B,
        command: "true",
        affiliates: [
          { AffiliateName: "lab2", UserNames: ["alice"] },
          { AffiliateName: "other", UserNames: ["dave"] },
        ],
      }),
    ];
    local = await startLocal({
      port: 0,
      dataDir: path.join(dir, "data"),
      stackFiles: stacks,
      repoRoot: REPO,
      handlers: idle,
      fallbackPrice: async () => 0.01,
    });
    admin = local.client;
    for (const [bucket, key] of [
      [A, "lab/inputs/data.csv"],
      [A, "lab/configs/config.yaml"],
      [A, "lab/submissions/old_submit.json"],
      [A, "lab/results/job__perm-a_1/process_results/out.txt"],
      [A, "rival/inputs/secret.csv"],
      [A, "rival/configs/secret.yaml"],
      [A, "rival/results/job__perm-a_2/process_results/out.txt"],
      [A, "logs/_ledger/rival.json"],
      [A, "logs/active/i-0123456789abcdef0.json"],
      [B, "lab2/configs/c.yaml"],
      [B, "other/configs/c.yaml"],
    ]) {
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `seed ${key}` }));
    }
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await local?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("user of group A cannot read group B's inputs, configs or results", async () => {
    const alice = user("alice");
    expect(await get(alice, A, "rival/configs/secret.yaml")).toBe("AccessDenied");
    expect(await get(alice, A, "rival/inputs/secret.csv")).toBe("AccessDenied");
    expect(await get(alice, A, "rival/results/job__perm-a_2/process_results/out.txt")).toBe("AccessDenied");
  });

  it("user of group A cannot write into group B's submissions (a job billed to B) or delete B's results", async () => {
    const alice = user("alice");
    expect(await put(alice, A, "rival/submissions/evil_submit.json", "{}")).toBe("AccessDenied");
    expect(await put(alice, A, "rival/inputs/planted.csv")).toBe("AccessDenied");
    expect(await del(alice, A, "rival/results/job__perm-a_2/process_results/out.txt")).toBe("AccessDenied");
    expect(await get(admin, A, "rival/results/job__perm-a_2/process_results/out.txt")).toBe("ok");
  });

  it("user reading own inputs or submissions is refused (inputs and submissions are put/delete only)", async () => {
    const alice = user("alice");
    expect(await get(alice, A, "lab/inputs/data.csv")).toBe("AccessDenied");
    expect(await get(alice, A, "lab/submissions/old_submit.json")).toBe("AccessDenied");
  });

  it("user writing results is refused (results are get/delete only)", async () => {
    const alice = user("alice");
    expect(await put(alice, A, "lab/results/job__perm-a_1/process_results/end.txt", "end of analysis marker")).toBe(
      "AccessDenied",
    );
    expect(await put(alice, A, "lab/results/job__perm-a_1/logs/certificate.txt")).toBe("AccessDenied");
  });

  it("user does what SPEC §1 allows in the own group folder", async () => {
    const carol = user("carol");
    expect(await put(carol, A, "lab/inputs/new.csv")).toBe("ok");
    expect(await put(carol, A, "lab/configs/new.yaml")).toBe("ok");
    expect(await get(carol, A, "lab/configs/config.yaml")).toBe("ok");
    expect(await put(carol, A, "lab/submissions/new_submit.json", "{}")).toBe("ok");
    expect(await get(carol, A, "lab/results/job__perm-a_1/process_results/out.txt")).toBe("ok");
    expect(await del(carol, A, "lab/inputs/new.csv")).toBe("ok");
    expect(await put(carol, A, "lab/other/file.txt")).toBe("AccessDenied");
  });

  it("user reading or writing logs/ (ledger, cost logs) is refused", async () => {
    const bob = user("bob");
    expect(await get(bob, A, "logs/_ledger/rival.json")).toBe("AccessDenied");
    expect(await put(bob, A, "logs/_ledger/rival.json", '{"spent":0}')).toBe("AccessDenied");
    expect(await del(bob, A, "logs/active/i-0123456789abcdef0.json")).toBe("AccessDenied");
  });

  it("user listing another group's folder, logs/ or the whole bucket is refused; the root with delimiter / lists the group folders", async () => {
    const bob = user("bob");
    expect(await list(bob, A, "lab/")).toBe("AccessDenied");
    expect(await list(bob, A, "logs/")).toBe("AccessDenied");
    expect(await list(bob, A)).toBe("AccessDenied");
    expect(await list(bob, A, "")).toBe("AccessDenied");
    expect(await list(bob, A, "rival/")).toBe("ok");
    const root = await bob.send(new ListObjectsV2Command({ Bucket: A, Prefix: "", Delimiter: "/" }));
    expect((root.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual(["lab/", "logs/", "rival/"]);
  });

  it("user in groups of two analyses has both groups' rights and no more", async () => {
    const alice = user("alice");
    expect(await get(alice, B, "lab2/configs/c.yaml")).toBe("ok");
    expect(await get(alice, B, "other/configs/c.yaml")).toBe("AccessDenied");
    const dave = user("dave");
    expect(await get(dave, A, "lab/configs/config.yaml")).toBe("AccessDenied");
    expect(await put(user("bob"), B, "lab2/inputs/x.csv")).toBe("AccessDenied");
  });

  it("DeleteObjects is answered per key: the own key is deleted, another group's key is AccessDenied", async () => {
    await admin.send(new PutObjectCommand({ Bucket: A, Key: "lab/inputs/batch.csv", Body: "b" }));
    const res = await user("alice").send(
      new DeleteObjectsCommand({
        Bucket: A,
        Delete: { Objects: [{ Key: "lab/inputs/batch.csv" }, { Key: "rival/inputs/secret.csv" }] },
      }),
    );
    expect((res.Deleted ?? []).map((d) => d.Key)).toEqual(["lab/inputs/batch.csv"]);
    expect((res.Errors ?? []).map((e) => [e.Key, e.Code])).toEqual([["rival/inputs/secret.csv", "AccessDenied"]]);
    expect(await get(admin, A, "rival/inputs/secret.csv")).toBe("ok");
  });

  it("CopyObject of another group's config into the own configs is refused (GetObject on the source)", async () => {
    const alice = user("alice");
    expect(
      await outcome(
        alice.send(
          new CopyObjectCommand({
            Bucket: A,
            Key: "lab/configs/stolen.yaml",
            CopySource: `${A}/rival/configs/secret.yaml`,
          }),
        ),
      ),
    ).toBe("AccessDenied");
    expect(await get(admin, A, "lab/configs/stolen.yaml")).toBe("NoSuchKey");
    expect(
      await outcome(
        alice.send(
          new CopyObjectCommand({
            Bucket: A,
            Key: "lab/configs/copy.yaml",
            CopySource: `${A}/lab/configs/config.yaml`,
          }),
        ),
      ),
    ).toBe("ok");
  });

  it("a key that is not there: 403 for a user (no bucket-wide ListBucket, as on AWS), 404 for the admin", async () => {
    const alice = user("alice");
    expect(
      await outcome(
        alice.send(new HeadObjectCommand({ Bucket: A, Key: "lab/results/job__perm-a_9/process_results/end.txt" })),
      ),
    ).toBe("403");
    expect(await get(alice, A, "lab/results/job__perm-a_9/logs/certificate.txt")).toBe("AccessDenied");
    expect(await get(admin, A, "lab/results/job__perm-a_9/logs/certificate.txt")).toBe("NoSuchKey");
  });

  it("IAE key: reads inputs and configs, writes results of its own analysis; no submissions, logs/ or other analyses", async () => {
    const iae = as(local.keys.issueIae(A, "i-00000000000000001"));
    expect(await get(iae, A, "lab/inputs/data.csv")).toBe("ok");
    expect(await get(iae, A, "lab/configs/config.yaml")).toBe("ok");
    expect(await put(iae, A, "lab/results/job__perm-a_1/process_results/out2.txt")).toBe("ok");
    expect(await put(iae, A, "lab/submissions/iae_submit.json", "{}")).toBe("AccessDenied");
    expect(await put(iae, A, "lab/inputs/overwrite.csv")).toBe("AccessDenied");
    expect(await put(iae, A, "logs/_ledger/rival.json", "{}")).toBe("AccessDenied");
    expect(await get(iae, A, "logs/_ledger/rival.json")).toBe("AccessDenied");
    expect(await get(iae, B, "lab2/configs/c.yaml")).toBe("AccessDenied");
    expect(await list(iae, A, "lab/inputs/")).toBe("ok");
    local.keys.revokeIae("i-00000000000000001");
    expect(await get(iae, A, "lab/inputs/data.csv")).toBe("InvalidAccessKeyId");
  });

  it("keys: kept private (0600) in the data dir, the same after a restart, the platform's never written", async () => {
    const keysFile = path.join(dir, "data", "keys.json");
    for (const f of [keysFile, local.credentialsFile]) expect((await fsp.stat(f)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await fsp.readFile(keysFile, "utf8")) as {
      admin: Credentials;
      users: Record<string, Credentials>;
    };
    expect(Object.keys(stored.users).sort()).toEqual(["alice", "bob", "carol", "dave"]);
    expect(stored.admin).toEqual(local.credentials);
    const ini = await fsp.readFile(local.credentialsFile, "utf8");
    expect(ini).toContain(`[alice]\naws_access_key_id = ${local.keys.user("alice")!.accessKeyId}\n`);
    expect(ini).not.toContain(local.keys.platform.accessKeyId);
    expect(await fsp.readFile(keysFile, "utf8")).not.toContain(local.keys.platform.accessKeyId);

    const again = await startLocal({
      port: 0,
      dataDir: path.join(dir, "data2"),
      stackFiles: stacks,
      repoRoot: REPO,
      handlers: idle,
      fallbackPrice: async () => 0.01,
    });
    const firstAdmin = again.credentials;
    const firstAlice = again.keys.user("alice");
    await again.close();
    const restarted = await startLocal({
      port: 0,
      dataDir: path.join(dir, "data2"),
      stackFiles: stacks,
      repoRoot: REPO,
      handlers: idle,
      fallbackPrice: async () => 0.01,
    });
    expect(restarted.credentials).toEqual(firstAdmin);
    expect(restarted.keys.user("alice")).toEqual(firstAlice);
    expect(restarted.keys.platform).not.toEqual(again.keys.platform);
    await restarted.close();
  });

  it("an admin key given by the operator replaces the generated one", async () => {
    const given = { accessKeyId: "AKIAOPERATORGIVEN001", secretAccessKey: "operator-chosen-secret-0123456789" };
    const l = await startLocal({
      port: 0,
      dataDir: path.join(dir, "data3"),
      stackFiles: stacks,
      repoRoot: REPO,
      handlers: idle,
      fallbackPrice: async () => 0.01,
      adminCredentials: given,
    });
    try {
      expect(l.credentials).toEqual(given);
      const c = createLocalS3Client({ endpoint: l.endpoint, credentials: given });
      expect(await list(c, A)).toBe("ok");
      c.destroy();
    } finally {
      await l.close();
    }
  });

  const hasAws = (() => {
    try {
      execFileSync("aws", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  (hasAws ? it : it.skip)(
    "AWS CLI with a user's profile from the credentials file: own folder works, another group's is AccessDenied",
    async () => {
      const env = {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_"))),
        AWS_SHARED_CREDENTIALS_FILE: local.credentialsFile,
        AWS_CONFIG_FILE: path.join(dir, "no-config"),
        AWS_DEFAULT_REGION: "us-east-1",
      };
      const aws = (...args: string[]) =>
        new Promise<{ code: number; out: string }>((resolve) =>
          execFile(
            "aws",
            ["--profile", "bob", "--endpoint-url", local.endpoint, ...args],
            { env },
            (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }),
          ),
        );
      const file = path.join(dir, "bob.csv");
      await fsp.writeFile(file, "1,2\n");
      expect(await aws("s3", "cp", file, `s3://${A}/rival/inputs/bob.csv`)).toMatchObject({ code: 0 });
      const denied = await aws("s3", "cp", `s3://${A}/lab/configs/config.yaml`, "-");
      expect(denied.code).toBe(1);
      expect(denied.out).toMatch(/403|AccessDenied|Forbidden/);
    },
  );
});
