import { createHash, randomBytes } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import { Readable } from "node:stream";
import * as os from "node:os";
import * as path from "node:path";
import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "../../protocols/s3-client";
import { clientFromConnection } from "../../cli/user/connection";
import { downloadKeyOrPrefix, downloadObject, downloadPrefix, localPathFor, uploadFile } from "../../cli/transfer";
import { startLocalS3Server, type LocalS3Request, type LocalS3Server } from "../../local/s3-server";

const BUCKET = "transfers";
const MiB = 1024 * 1024;

async function sha256(file: string): Promise<string> {
  return createHash("sha256")
    .update(await fsp.readFile(file))
    .digest("hex");
}

describe("uploads and downloads against a local endpoint are byte-exact", () => {
  let s3: LocalS3Server;
  let client: S3Client;
  let dir: string;

  let fault: ((r: LocalS3Request) => number | undefined) | undefined;
  const seen: LocalS3Request[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3Server({
      buckets: [BUCKET],
      faults: (r) => {
        seen.push(r);
        return fault?.(r);
      },
    });
    // The user CLI's own client (checksums only when required), signing with the key a user exports.
    process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
    client = clientFromConnection({ endpointUrl: s3.endpoint });
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "transfer-"));
  });
  afterAll(async () => {
    client.destroy();
    await s3.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  async function roundTrip(name: string, size: number, partSize?: number): Promise<{ parts: number[] }> {
    const src = path.join(dir, name);
    await fsp.writeFile(src, randomBytes(size));
    const progress: number[] = [];
    await uploadFile({
      client,
      bucket: BUCKET,
      key: `in/${name}`,
      localPath: src,
      partSize,
      onProgress: (n) => progress.push(n),
    });
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `in/${name}` }));
    expect(head.ContentLength).toBe(size);
    const dst = path.join(dir, "down", name);
    await downloadObject(client, BUCKET, `in/${name}`, dst);
    expect(await sha256(dst)).toBe(await sha256(src));
    return { parts: progress };
  }

  it("a file below the part size (single streamed PUT)", async () => {
    await roundTrip("small.bin", 300 * 1024 + 7);
  });

  it("a multipart file with parts over 5 MiB, uploaded concurrently", async () => {
    const { parts } = await roundTrip("big.bin", 13 * MiB + 123, 5 * MiB);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...parts)).toBe(13 * MiB + 123);
  });

  it("a raw streamed PutObject (the case s3rver corrupts when default checksums are sent)", async () => {
    const src = path.join(dir, "stream.bin");
    await fsp.writeFile(src, randomBytes(2 * MiB + 5));
    const size = (await fsp.stat(src)).size;
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "in/stream.bin", Body: createReadStream(src), ContentLength: size }),
    );
    const dst = path.join(dir, "down", "stream.bin");
    await downloadObject(client, BUCKET, "in/stream.bin", dst);
    expect(await sha256(dst)).toBe(await sha256(src));
  });

  it("downloads a prefix keeping the layout and skipping folder placeholders", async () => {
    for (const [key, body] of [
      ["res/a/", ""],
      ["res/a/x.txt", "x"],
      ["res/b.txt", "bb"],
    ]) {
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from(body) }));
    }
    const out = path.join(dir, "prefix");
    const files = await downloadPrefix(client, BUCKET, "res/", out);
    expect(files.map((f) => path.relative(out, f)).sort()).toEqual(["a/x.txt", "b.txt"]);
    expect(await fsp.readFile(path.join(out, "b.txt"), "utf8")).toBe("bb");
  });

  it("aborts a multipart upload whose part fails, leaving no parts and no object", async () => {
    const src = path.join(dir, "doomed.bin");
    await fsp.writeFile(src, randomBytes(11 * MiB));
    seen.length = 0;
    fault = (r) => (r.method === "PUT" && r.query.get("partNumber") === "2" ? 400 : undefined);
    try {
      // One attempt per request: the fault is final, not a retryable 5xx.
      const once = createS3Client({
        endpoint: s3.endpoint,
        region: "us-east-1",
        credentials: { ...s3.credentials },
        maxAttempts: 1,
      });
      await expect(
        uploadFile({ client: once, bucket: BUCKET, key: "in/doomed.bin", localPath: src, partSize: 5 * MiB }),
      ).rejects.toThrow();
      once.destroy();
    } finally {
      fault = undefined;
    }
    const uploadId = seen.find((r) => r.query.has("uploadId"))?.query.get("uploadId");
    expect(uploadId).toBeTruthy();
    expect(
      seen.some((r) => r.method === "DELETE" && r.key === "in/doomed.bin" && r.query.get("uploadId") === uploadId),
    ).toBe(true);
    await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "in/doomed.bin" }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });

  it("downloads a dataset folder, and refuses an empty one naming it", async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "ds/folder/one.txt", Body: "1" }));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "ds/empty/", Body: "" }));
    const got = await downloadKeyOrPrefix(client, BUCKET, "ds/folder", path.join(dir, "ds"));
    expect(await fsp.readFile(path.join(got, "one.txt"), "utf8")).toBe("1");
    await expect(downloadKeyOrPrefix(client, BUCKET, "ds/empty/", path.join(dir, "ds"))).rejects.toThrow(
      `nothing found under s3://${BUCKET}/ds/empty/`,
    );
    await expect(downloadKeyOrPrefix(client, BUCKET, "ds/missing", path.join(dir, "ds"))).rejects.toThrow(
      `s3://${BUCKET}/ds/missing does not exist`,
    );
  });
});

describe("an interrupted download", () => {
  it("keeps the file that was there and leaves no partial file", async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "transfer-cut-"));
    try {
      const target = path.join(dir, "result.csv");
      await fsp.writeFile(target, "the earlier, complete result\n");
      // The connection drops after the first 64 KiB of the body.
      const body = new Readable({
        read() {
          this.push(Buffer.alloc(64 * 1024, 1));
          this.destroy(new Error("socket hang up"));
        },
      });
      const cut = { send: async () => ({ Body: body }) } as unknown as S3Client;
      await expect(downloadObject(cut, BUCKET, "x/result.csv", target)).rejects.toThrow("socket hang up");
      expect(await fsp.readFile(target, "utf8")).toBe("the earlier, complete result\n");
      expect(await fsp.readdir(dir)).toEqual(["result.csv"]);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

describe("localPathFor", () => {
  it("refuses keys that would escape the target directory", () => {
    expect(localPathFor("/tmp/o", "p/", "p/a/b.txt")).toBe("/tmp/o/a/b.txt");
    expect(localPathFor("/tmp/o", "p/", "p/")).toBeUndefined();
    expect(() => localPathFor("/tmp/o", "p/", "p/../../etc/passwd")).toThrow(/outside/);
  });
});
