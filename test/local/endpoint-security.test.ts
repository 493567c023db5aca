/**
 * Attacks on the local S3 endpoint (issue 10, "an endpoint a lab can trust"): requests without a
 * valid signature, web pages driving a visitor's browser, and object keys that name files
 * outside the bucket directory or beyond file-name limits. Each test names its case.
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createLocalS3Client, startLocalS3Server, type LocalS3Event, type LocalS3Server } from "../../local/s3-server";
import { errorCode, rawRequest, signHeaders, signedChunkedBody, type RawRequest } from "./support/raw-s3";

const BUCKET = "bkt";
const OTHER = "other";

describe("local endpoint under attack", () => {
  let root: string;
  let s3: LocalS3Server;
  let admin: S3Client;
  const events: LocalS3Event[] = [];

  const send = (r: RawRequest) => rawRequest(s3.endpoint, r);
  const signed = (r: Omit<RawRequest, "credentials">) => send({ ...r, credentials: s3.credentials });
  const read = async (key: string, bucket = BUCKET): Promise<string | undefined> => {
    try {
      return await (await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
    } catch (err) {
      if ((err as { name?: string }).name === "NoSuchKey") return undefined;
      throw err;
    }
  };
  /** Every file under `dir` (relative paths). */
  const files = async (dir: string): Promise<string[]> =>
    (await fsp.readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));

  beforeAll(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), "endpoint-attacks-"));
    s3 = await startLocalS3Server({
      directory: path.join(root, "s3"),
      buckets: [BUCKET, OTHER],
      onEvent: (e) => events.push(e),
    });
    admin = createLocalS3Client(s3);
  });
  afterAll(async () => {
    admin?.destroy();
    await s3?.close();
    await fsp.rm(root, { recursive: true, force: true });
  });

  describe("authentication (AWS Signature V4)", () => {
    it("unsigned request: a PUT without a signature is refused with AccessDenied and stores nothing", async () => {
      const res = await send({ method: "PUT", path: `/${BUCKET}/lab/submissions/unsigned_submit.json`, body: "{}" });
      expect(res.status).toBe(403);
      expect(errorCode(res)).toBe("AccessDenied");
      expect(await read("lab/submissions/unsigned_submit.json")).toBeUndefined();
    });

    it("unsigned request: GET and listings without a signature are refused with AccessDenied", async () => {
      await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: "lab/configs/private.yaml", Body: "secret: 1\n" }));
      for (const p of [`/${BUCKET}/lab/configs/private.yaml`, `/${BUCKET}`, "/"]) {
        const res = await send({ method: "GET", path: p });
        expect([p, res.status, errorCode(res)]).toEqual([p, 403, "AccessDenied"]);
      }
    });

    it("wrong secret key: a request signed with the right key id but a wrong secret is refused with SignatureDoesNotMatch", async () => {
      const forged = createLocalS3Client({
        endpoint: s3.endpoint,
        credentials: { accessKeyId: s3.credentials.accessKeyId, secretAccessKey: "not-the-secret-0123456789" },
      });
      await expect(
        forged.send(new PutObjectCommand({ Bucket: BUCKET, Key: "lab/inputs/forged.csv", Body: "x" })),
      ).rejects.toMatchObject({ name: "SignatureDoesNotMatch" });
      forged.destroy();
      expect(await read("lab/inputs/forged.csv")).toBeUndefined();
    });

    it("unknown access key: a key the server never issued is refused with InvalidAccessKeyId", async () => {
      const stranger = createLocalS3Client({
        endpoint: s3.endpoint,
        credentials: {
          accessKeyId: "AKIAIOSFODNN7EXAMPLE",
          secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        },
      });
      await expect(
        stranger.send(new GetObjectCommand({ Bucket: BUCKET, Key: "lab/configs/private.yaml" })),
      ).rejects.toMatchObject({ name: "InvalidAccessKeyId" });
      stranger.destroy();
    });

    it("replayed signature: a signature made for one key does not authorise a request for another", async () => {
      const res = await signed({
        method: "PUT",
        path: `/${BUCKET}/lab/submissions/replayed_submit.json`,
        signedPath: `/${BUCKET}/lab/inputs/harmless.csv`,
        body: "{}",
      });
      expect([res.status, errorCode(res)]).toEqual([403, "SignatureDoesNotMatch"]);
      expect(await read("lab/submissions/replayed_submit.json")).toBeUndefined();
    });

    it("header added after signing: an unsigned x-amz-copy-source on a signed request is refused", async () => {
      const res = await signed({
        method: "PUT",
        path: `/${BUCKET}/lab/inputs/copied.yaml`,
        body: "",
        afterSigning: { "x-amz-copy-source": `/${BUCKET}/lab/configs/private.yaml` },
      });
      expect(res.status).toBe(403);
      expect(await read("lab/inputs/copied.yaml")).toBeUndefined();
    });

    it("altered body: a body that does not match its signed SHA-256 is refused with XAmzContentSHA256Mismatch and not stored", async () => {
      const headers = await signHeaders(s3.endpoint, {
        method: "PUT",
        path: `/${BUCKET}/lab/inputs/altered.csv`,
        body: "original",
        credentials: s3.credentials,
      });
      const res = await send({
        method: "PUT",
        path: `/${BUCKET}/lab/inputs/altered.csv`,
        body: "tampered",
        afterSigning: headers,
      });
      expect([res.status, errorCode(res)]).toEqual([400, "XAmzContentSHA256Mismatch"]);
      expect(await read("lab/inputs/altered.csv")).toBeUndefined();
    });

    it("presigned URLs: a valid one works; one signed with a wrong secret or expired is refused", async () => {
      await admin.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: "lab/results/job__bkt_1/out file+1.txt", Body: "result" }),
      );
      const command = new GetObjectCommand({ Bucket: BUCKET, Key: "lab/results/job__bkt_1/out file+1.txt" });
      const good = await getSignedUrl(admin, command, { expiresIn: 300 });
      const ok = await fetch(good);
      expect([ok.status, await ok.text()]).toEqual([200, "result"]);

      const forged = createLocalS3Client({
        endpoint: s3.endpoint,
        credentials: { accessKeyId: s3.credentials.accessKeyId, secretAccessKey: "wrong-secret-0123456789abcdef" },
      });
      const bad = await fetch(await getSignedUrl(forged, command, { expiresIn: 300 }));
      expect(bad.status).toBe(403);
      expect(await bad.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
      const expired = await fetch(
        await getSignedUrl(admin, command, { expiresIn: 60, signingDate: new Date(Date.now() - 3600_000) }),
      );
      expect(expired.status).toBe(403);
      expect(await expired.text()).toContain("Request has expired");
      forged.destroy();
    });

    it("streaming-chunk upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): signed chunks are stored decoded; a tampered chunk is refused", async () => {
      const data = randomBytes(70_000);
      const chunks = [data.subarray(0, 65536), data.subarray(65536)];
      const encodedLength = [...chunks, Buffer.alloc(0)].reduce(
        (n, c) => n + c.length.toString(16).length + 17 + 64 + 2 + c.length + 2,
        0,
      );
      const upload = async (key: string, tamper?: (i: number, d: Buffer) => Buffer) => {
        const signingDate = new Date();
        const base: RawRequest = {
          method: "PUT",
          path: `/${BUCKET}/${key}`,
          headers: {
            "content-encoding": "aws-chunked",
            "x-amz-decoded-content-length": String(data.length),
            "content-length": String(encodedLength),
          },
          payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
          credentials: s3.credentials,
          signingDate,
        };
        const headers = await signHeaders(s3.endpoint, base);
        const seed = /Signature=([0-9a-f]{64})/.exec(headers.authorization)![1];
        const body = await signedChunkedBody(s3.credentials, signingDate, seed, chunks, tamper);
        return send({ method: "PUT", path: base.path, body, afterSigning: headers });
      };
      const ok = await upload("lab/inputs/chunked.bin");
      expect(ok.status).toBe(200);
      const stored = await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: "lab/inputs/chunked.bin" }));
      expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(data)).toBe(true);

      const bad = await upload("lab/inputs/chunked-tampered.bin", (i, d) =>
        i === 1 ? Buffer.from(d).fill(0x41, 0, 10) : d,
      );
      expect([bad.status, errorCode(bad)]).toEqual([403, "SignatureDoesNotMatch"]);
      expect(await read("lab/inputs/chunked-tampered.bin")).toBeUndefined();
    });

    it("SDK default checksums (aws-chunked body with a checksum trailer) are stored byte for byte, not framing and all", async () => {
      const client = new S3Client({
        endpoint: s3.endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: s3.credentials,
        requestChecksumCalculation: "WHEN_SUPPORTED",
      });
      const data = randomBytes(100_000);
      await client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: "lab/inputs/trailer.bin",
          Body: Readable.from([data]),
          ContentLength: data.length,
        }),
      );
      const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "lab/inputs/trailer.bin" }));
      expect(Buffer.from(await out.Body!.transformToByteArray()).equals(data)).toBe(true);
      client.destroy();
    });
  });

  describe("browsers (cross-site request forgery)", () => {
    const form = (key: string) => {
      const boundary = "----evil";
      const body = [
        `--${boundary}`,
        'Content-Disposition: form-data; name="key"',
        "",
        key,
        `--${boundary}`,
        'Content-Disposition: form-data; name="file"; filename="submit.json"',
        "Content-Type: application/json",
        "",
        '{"dataname":"x","configname":"y","timestamp":"csrf"}',
        `--${boundary}--`,
        "",
      ].join("\r\n");
      return { body, type: `multipart/form-data; boundary=${boundary}` };
    };

    it("CSRF: a form POST from Origin http://evil.example cannot upload a submit file", async () => {
      events.length = 0;
      const f = form("lab/submissions/csrf_submit.json");
      const res = await send({
        method: "POST",
        path: `/${BUCKET}`,
        headers: { origin: "http://evil.example", "content-type": f.type },
        body: f.body,
      });
      expect(res.status).toBe(403);
      expect(await read("lab/submissions/csrf_submit.json")).toBeUndefined();
      expect(events).toEqual([]);
    });

    it("CSRF: a form POST without an Origin (POST Object, never signature-checked by s3rver) is refused", async () => {
      const f = form("lab/submissions/form_submit.json");
      const res = await send({ method: "POST", path: `/${BUCKET}`, headers: { "content-type": f.type }, body: f.body });
      expect(res.status).toBe(403);
      expect(await read("lab/submissions/form_submit.json")).toBeUndefined();
    });

    it("CSRF: a cross-origin PUT from http://evil.example is refused even when it carries a valid signature", async () => {
      const res = await signed({
        method: "PUT",
        path: `/${BUCKET}/lab/submissions/xorigin_submit.json`,
        body: "{}",
        afterSigning: { origin: "http://evil.example" },
      });
      expect([res.status, errorCode(res)]).toEqual([403, "AccessDenied"]);
      expect(res.body).toContain("http://evil.example");
      expect(await read("lab/submissions/xorigin_submit.json")).toBeUndefined();
    });

    it("CSRF: a cross-site request marked only by Sec-Fetch-Site is refused", async () => {
      const res = await signed({
        method: "GET",
        path: `/${BUCKET}/lab/configs/private.yaml`,
        afterSigning: { "sec-fetch-site": "cross-site" },
      });
      expect(res.status).toBe(403);
    });

    it("same origin: a page served by the endpoint itself (e.g. /_dashboard/) may call it", async () => {
      const res = await signed({
        method: "GET",
        path: `/${BUCKET}/lab/configs/private.yaml`,
        afterSigning: { origin: s3.endpoint, "sec-fetch-site": "same-origin" },
      });
      expect([res.status, res.body]).toEqual([200, "secret: 1\n"]);
    });

    it("an origin the operator allows gets a preflight answer and CORS headers; others get no preflight", async () => {
      const open = await startLocalS3Server({ buckets: [BUCKET], allowedOrigins: ["http://localhost:3000"] });
      try {
        const pre = await rawRequest(open.endpoint, {
          method: "OPTIONS",
          path: `/${BUCKET}/k`,
          headers: {
            origin: "http://localhost:3000",
            "access-control-request-method": "PUT",
            "access-control-request-headers": "authorization,x-amz-date",
          },
        });
        expect(pre.status).toBe(200);
        expect(pre.headers["access-control-allow-origin"]).toBe("http://localhost:3000");
        expect(pre.headers["access-control-allow-methods"]).toContain("PUT");
        const put = await rawRequest(open.endpoint, {
          method: "PUT",
          path: `/${BUCKET}/k`,
          body: "v",
          credentials: open.credentials,
          afterSigning: { origin: "http://localhost:3000" },
        });
        expect(put.status).toBe(200);
        expect(put.headers["access-control-allow-origin"]).toBe("http://localhost:3000");
        const evil = await rawRequest(open.endpoint, {
          method: "OPTIONS",
          path: `/${BUCKET}/k`,
          headers: { origin: "http://evil.example", "access-control-request-method": "PUT" },
        });
        expect(evil.status).toBe(403);
        expect(evil.headers["access-control-allow-origin"]).toBeUndefined();
      } finally {
        await open.close();
      }
    });
  });

  describe("object keys stay inside the bucket directory", () => {
    const outside = async () => (await files(root)).filter((f) => !f.startsWith(`s3${path.sep}`));

    it("'..' traversal: a key /bkt/%2E%2E/escaped.txt is refused and writes no file outside the bucket", async () => {
      const res = await signed({ method: "PUT", path: `/${BUCKET}/%2E%2E/escaped.txt`, body: "pwned" });
      expect([res.status, errorCode(res)]).toEqual([400, "InvalidArgument"]);
      const raw = await signed({ method: "PUT", path: `/${BUCKET}/lab/../../../escaped2.txt`, body: "pwned" });
      expect(raw.status).toBe(400);
      expect(await files(path.join(root, "s3"))).not.toContainEqual(expect.stringMatching(/escaped/));
      expect(await outside()).toEqual([]);
    });

    it("'..' traversal into another bucket: lab/../../other/planted.txt is refused", async () => {
      const res = await signed({ method: "PUT", path: `/${BUCKET}/lab/%2E%2E/%2E%2E/${OTHER}/planted.txt`, body: "x" });
      expect(res.status).toBe(400);
      expect(await read("planted.txt", OTHER)).toBeUndefined();
    });

    it("absolute and backslash keys: '//etc/x', '..\\\\x' and an encoded '%2F..%2F' are refused", async () => {
      for (const p of [
        `/${BUCKET}//etc/neurocaas-test`,
        `/${BUCKET}/..%5Cescaped`,
        `/${BUCKET}/lab%2F..%2F..%2Fescaped3`,
      ]) {
        const res = await signed({ method: "PUT", path: p, body: "x" });
        expect([p, res.status]).toEqual([p, 400]);
      }
      expect(await outside()).toEqual([]);
    });

    it("'..' as the bucket name (%2E%2E) is refused with InvalidBucketName", async () => {
      const res = await signed({ method: "PUT", path: "/%2E%2E/escaped4.txt", body: "x" });
      expect([res.status, errorCode(res)]).toEqual([400, "InvalidBucketName"]);
      expect(await outside()).toEqual([]);
    });

    it("'..' in a copy source cannot read files outside the bucket", async () => {
      await fsp.writeFile(path.join(root, "outside-secret._S3rver_object"), "secret");
      const res = await signed({
        method: "PUT",
        path: `/${BUCKET}/lab/configs/stolen.txt`,
        headers: { "x-amz-copy-source": `/${BUCKET}/%2E%2E/%2E%2E/outside-secret` },
      });
      expect(res.status).toBe(400);
      expect(await read("lab/configs/stolen.txt")).toBeUndefined();
      await fsp.rm(path.join(root, "outside-secret._S3rver_object"));
    });

    it("'..' in DeleteObjects deletes nothing outside the bucket", async () => {
      await admin.send(new PutObjectCommand({ Bucket: OTHER, Key: "victim.txt", Body: "keep me" }));
      const xml = `<Delete><Object><Key>../${OTHER}/victim.txt</Key></Object></Delete>`;
      const res = await signed({
        method: "POST",
        path: `/${BUCKET}`,
        query: { delete: "" },
        headers: { "content-type": "application/xml" },
        body: xml,
      });
      expect(res.status).toBe(200);
      expect(res.body).toContain("<Error><Key>../other/victim.txt</Key><Code>InvalidArgument</Code>");
      expect(await read("victim.txt", OTHER)).toBe("keep me");
    });

    it("'..' as a multipart upload id cannot write outside the bucket", async () => {
      const res = await signed({
        method: "PUT",
        path: `/${BUCKET}/lab/inputs/part.bin`,
        query: { partNumber: "1", uploadId: "../../../escaped-part" },
        body: "part",
      });
      expect([res.status, errorCode(res)]).toEqual([404, "NoSuchUpload"]);
      expect(await outside()).toEqual([]);
    });

    it("250-character path segment: a clean 400, and the server keeps serving (it used to crash)", async () => {
      const res = await signed({ method: "PUT", path: `/${BUCKET}/lab/inputs/${"a".repeat(250)}`, body: "x" });
      expect([res.status, errorCode(res)]).toEqual([400, "KeyTooLongError"]);
      const folder = await signed({ method: "PUT", path: `/${BUCKET}/lab/${"f".repeat(256)}/x`, body: "x" });
      expect(folder.status).toBe(400);
      await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: "lab/inputs/after.txt", Body: "still up" }));
      expect(await read("lab/inputs/after.txt")).toBe("still up");
    });

    it("overlong key: more than 1024 bytes gets KeyTooLongError", async () => {
      const key = Array.from({ length: 9 }, () => "d".repeat(120)).join("/");
      await expect(admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "x" }))).rejects.toMatchObject({
        name: "KeyTooLongError",
      });
    });

    it("a 229-character basename (valid in S3, and within file-name limits) is stored and read back", async () => {
      const key = `lab/inputs/${"n".repeat(229)}`;
      await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "long name" }));
      expect(await read(key)).toBe("long name");
    });
  });
});
