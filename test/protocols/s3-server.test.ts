import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { startLocalS3Server, type LocalS3Event } from "../../local/s3-server";
import { createS3Client } from "../../protocols/s3-client";
import { S3ObjectStore } from "../../protocols/aws/s3-store";
import { PreconditionFailedError } from "../../protocols/storage";
import { useLocalS3 } from "../support/local-s3";

const s3 = useLocalS3(["bucket-a"]);

describe("local S3 server", () => {
  it("stores uploads byte for byte", async () => {
    const body = randomBytes(256 * 1024);
    await s3.client.send(new PutObjectCommand({ Bucket: "bucket-a", Key: "g/inputs/blob.bin", Body: body }));
    const out = await s3.client.send(new GetObjectCommand({ Bucket: "bucket-a", Key: "g/inputs/blob.bin" }));
    expect(Buffer.from(await out.Body!.transformToByteArray()).equals(body)).toBe(true);
  });

  it("honours If-None-Match: * (create only)", async () => {
    await s3.store.put("bucket-a", "claims/one.json", "first", { ifNoneMatch: "*" });
    await expect(s3.store.put("bucket-a", "claims/one.json", "second", { ifNoneMatch: "*" })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    expect((await s3.store.get("bucket-a", "claims/one.json"))?.body).toBe("first");
  });

  it("honours If-Match (replace only the version read)", async () => {
    const { etag } = await s3.store.put("bucket-a", "ledger.json", "v1");
    const { etag: etag2 } = await s3.store.put("bucket-a", "ledger.json", "v2", { ifMatch: etag });
    await expect(s3.store.put("bucket-a", "ledger.json", "v3", { ifMatch: etag })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    await s3.store.put("bucket-a", "ledger.json", "v3", { ifMatch: etag2 });
    expect((await s3.store.get("bucket-a", "ledger.json"))?.body).toBe("v3");
    await expect(s3.store.put("bucket-a", "missing.json", "x", { ifMatch: etag2 })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
  });

  it("lets exactly one of many concurrent create-only writes win", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        s3.store.put("bucket-a", "race/claim.json", `writer ${i}`, { ifNoneMatch: "*" }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.filter((r) => r.status === "rejected" && r.reason instanceof PreconditionFailedError)).toHaveLength(
      11,
    );
  });

  it("retries injected 5xx answers through the SDK's retry strategy", async () => {
    let failures = 0;
    s3.fault = (r) => (r.method === "PUT" && r.key === "flaky.txt" && failures++ < 2 ? 503 : undefined);
    await s3.store.put("bucket-a", "flaky.txt", "made it");
    expect(failures).toBe(3);
    expect((await s3.store.get("bucket-a", "flaky.txt"))?.body).toBe("made it");
  });

  it("fails when 5xx answers persist past the retry budget", async () => {
    s3.fault = (r) => (r.key === "down.txt" ? 500 : undefined);
    await expect(s3.store.put("bucket-a", "down.txt", "x")).rejects.toThrow();
  });

  it("pages through listings with continuation tokens (s3rver's DES tokens work on Node >= 17)", async () => {
    for (let i = 0; i < 5; i++) await s3.store.put("bucket-a", `paged/k${i}`, String(i));
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const out = await s3.client.send(
        new ListObjectsV2Command({ Bucket: "bucket-a", Prefix: "paged/", MaxKeys: 2, ContinuationToken: token }),
      );
      seen.push(...(out.Contents ?? []).map((c) => c.Key as string));
      token = out.NextContinuationToken;
    } while (token);
    expect(seen).toEqual(["paged/k0", "paged/k1", "paged/k2", "paged/k3", "paged/k4"]);
  });

  it("answers prefix existence, listing and copy", async () => {
    await s3.store.put("bucket-a", "g/inputs/folder/a.txt", "a");
    await s3.store.put("bucket-a", "g/inputs/folder/b.txt", "b");
    expect(await s3.store.prefixExists("bucket-a", "g/inputs/folder/")).toBe(true);
    expect(await s3.store.prefixExists("bucket-a", "g/inputs/nothing/")).toBe(false);
    expect(await s3.store.list("bucket-a", "g/inputs/folder/")).toEqual([
      "g/inputs/folder/a.txt",
      "g/inputs/folder/b.txt",
    ]);
    await s3.store.copy("bucket-a", "g/inputs/folder/a.txt", "bucket-a", "g/copy of a:1.txt");
    expect((await s3.store.get("bucket-a", "g/copy of a:1.txt"))?.body).toBe("a");
    await s3.store.delete("bucket-a", "g/never-existed");
  });
});

describe("local S3 server lifecycle", () => {
  it("creates buckets, reports events with raw keys, and removes its temp directory on close", async () => {
    const events: LocalS3Event[] = [];
    const server = await startLocalS3Server({ buckets: ["one", "two"], onEvent: (e) => events.push(e) });
    const client = createS3Client({ endpoint: server.endpoint, credentials: server.credentials });
    const store = new S3ObjectStore(client);
    await store.put("two", "grp/submissions/my submit.json", "{}");
    expect(events.map((e) => e.Records[0].s3.object.key)).toContain("grp/submissions/my submit.json");
    client.destroy();
    await server.close();
    expect(fs.existsSync(server.directory)).toBe(false);
  });
});
