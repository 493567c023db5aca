/**
 * The in-memory S3 of the protocol suites (test/support/memory-store.ts) against the local S3
 * endpoint they used to run on: every case runs the same calls through S3ObjectStore on both and
 * expects the same transcript (results, errors, ETags, key order, HTTP requests made).
 */
import type { LocalS3Request } from "../../local/s3-server";
import { awsErrorCode, awsHttpStatus } from "../../protocols/retry";
import { BucketUnavailableError, PreconditionFailedError, type ObjectStore } from "../../protocols/storage";
import { useLocalS3 } from "../support/local-s3";
import { useMemoryS3 } from "../support/memory-store";

const A = "contract-a";
const B = "contract-b";
const MISSING = "contract-missing";
const local = useLocalS3([A, B]);
const memory = useMemoryS3([A, B]);

interface Target {
  store: ObjectStore;
  requests: LocalS3Request[];
  fault: ((request: LocalS3Request) => number | undefined) | undefined;
}

type Case = (t: Target, step: (what: string, call: () => Promise<unknown>) => Promise<unknown>) => Promise<void>;

function outcome(err: unknown): unknown {
  if (err instanceof PreconditionFailedError) return { error: err.name, bucket: err.bucket, key: err.key };
  if (err instanceof BucketUnavailableError) return { error: err.name, bucket: err.bucket, code: err.code };
  const fault = (err as { $fault?: unknown }).$fault;
  return { error: "S3", code: awsErrorCode(err), status: awsHttpStatus(err), fault };
}

function request(r: LocalS3Request): string {
  const list = ["list-type", "prefix", "max-keys", "continuation-token"]
    .filter((p) => r.query.has(p))
    .map((p) => `${p}=${r.query.get(p)}`);
  return `${r.method} ${r.bucket}/${r.key}${list.length ? `?${list.join("&")}` : ""}`;
}

/** What a case saw on one store: each call's result or error, then the requests it made. */
async function transcript(t: Target, run: Case): Promise<unknown[]> {
  const seen: unknown[] = [];
  t.requests.length = 0;
  await run(t, async (what, call) => {
    try {
      const value = await call();
      seen.push([what, value]);
      return value;
    } catch (err) {
      seen.push([what, outcome(err)]);
      return undefined;
    }
  });
  seen.push(["requests", t.requests.map(request)]);
  t.fault = undefined;
  return seen;
}

/** Run a case on both stores (each starts from the state the earlier cases left, the same on both). */
async function same(run: Case): Promise<unknown[]> {
  const real = await transcript(local, run);
  const double = await transcript(memory, run);
  expect(double).toEqual(real);
  return real;
}

const ETAG = /^"[0-9a-f]{32}"$/;

describe("the in-memory S3 answers as the local S3 endpoint", () => {
  it("stores text as UTF-8 with S3's ETags: unicode, empty, BOM, lone surrogate", async () => {
    const seen = await same(async ({ store }, step) => {
      for (const [key, body] of [
        ["t/unicode.txt", "héllo ✓ 𝄞 日本"],
        ["t/empty.txt", ""],
        ["t/bom.txt", "\uFEFFbom"],
        ["t/surrogate.txt", "x\uD800y"],
        ["t/json.json", '{"a":1}'],
        ["t/DATASET_NAME:d_STATUS.txt", "{}"],
      ]) {
        const put = (await step(`put ${key}`, () => store.put(A, key, body))) as { etag: string };
        expect(put.etag).toMatch(ETAG);
        await step(`get ${key}`, () => store.get(A, key));
      }
      await step("overwrite", () => store.put(A, "t/empty.txt", "now full"));
      await step("get overwritten", () => store.get(A, "t/empty.txt"));
    });
    expect(seen).toContainEqual(["get t/empty.txt", { body: "", etag: '"d41d8cd98f00b204e9800998ecf8427e"' }]);
  });

  it("answers missing keys: get undefined, exists false, delete quietly", async () => {
    await same(async ({ store }, step) => {
      await step("get", () => store.get(A, "m/none.txt"));
      await step("exists", () => store.exists(A, "m/none.txt"));
      await step("delete missing", () => store.delete(A, "m/none.txt"));
      await step("put", () => store.put(A, "m/one.txt", "1"));
      await step("exists", () => store.exists(A, "m/one.txt"));
      await step("exists prefix only", () => store.exists(A, "m/one"));
      await step("exists folder", () => store.exists(A, "m/"));
      await step("delete", () => store.delete(A, "m/one.txt"));
      await step("delete again", () => store.delete(A, "m/one.txt"));
      await step("get deleted", () => store.get(A, "m/one.txt"));
      await step("exists deleted", () => store.exists(A, "m/one.txt"));
    });
  });

  it("lists in UTF-8 byte order, under a prefix, with limits, and finds prefixes", async () => {
    await same(async ({ store }, step) => {
      const keys = [
        "o/a\uFFFD",
        "o/a\u{1F600}",
        "o/aZ",
        "o/a~",
        "o/a/b",
        "o/a-b",
        "o/A",
        "o/a b+c=d&e%20.txt",
        "o/ünï cödé.txt",
        "o/sub/",
        "o/sub/deep/x.txt",
        "o2/other.txt",
      ];
      for (const k of keys) await step(`put ${k}`, () => store.put(A, k, k));
      await step("list o/", () => store.list(A, "o/"));
      await step("list o", () => store.list(A, "o"));
      await step("list o/a", () => store.list(A, "o/a"));
      await step("list o/sub/", () => store.list(A, "o/sub/"));
      await step("list none", () => store.list(A, "o/zzz"));
      await step("list limit 3", () => store.list(A, "o/", 3));
      await step("list limit 1", () => store.list(A, "o/", 1));
      await step("list limit 0", () => store.list(A, "o/", 0));
      await step("list limit 100", () => store.list(A, "o/", 100));
      await step("list empty bucket", () => store.list(B, ""));
      await step("prefixExists o/a", () => store.prefixExists(A, "o/a"));
      await step("prefixExists exact key", () => store.prefixExists(A, "o/aZ"));
      await step("prefixExists none", () => store.prefixExists(A, "o/b"));
      await step("prefixExists empty bucket", () => store.prefixExists(B, ""));
      await step("get unicode key", () => store.get(A, "o/ünï cödé.txt"));
      await step("exists emoji key", () => store.exists(A, "o/a\u{1F600}"));
    });
  });

  it("pages listings of more than 1000 keys", async () => {
    const keys = Array.from({ length: 1001 }, (_, i) => `p/k${String(i).padStart(4, "0")}`);
    const seen = await same(async ({ store }, step) => {
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(A, k, k)));
      const all = (await step("list all", () => store.list(A, "p/"))) as string[];
      expect(all).toEqual(keys);
      await step("list 1000", () => store.list(A, "p/", 1000));
      await step("list 1001", () => store.list(A, "p/", 1001));
      await step("list 1002", () => store.list(A, "p/", 1002));
      await step("prefixExists", () => store.prefixExists(A, "p/k1000"));
    });
    expect(seen).toContainEqual(["list 1000", keys.slice(0, 1000)]);
  });

  it("applies conditional writes as S3 does", async () => {
    await same(async ({ store }, step) => {
      const k = "c/state.json";
      const first = (await step("create", () => store.put(A, k, "1", { ifNoneMatch: "*" }))) as { etag: string };
      await step("create again", () => store.put(A, k, "2", { ifNoneMatch: "*" }));
      const second = (await step("replace", () => store.put(A, k, "2", { ifMatch: first.etag }))) as { etag: string };
      await step("replace stale", () => store.put(A, k, "3", { ifMatch: first.etag }));
      const third = (await step("replace unquoted", () =>
        store.put(A, k, "3", { ifMatch: second.etag.replace(/"/g, "") }),
      )) as { etag: string };
      await step("replace weak", () => store.put(A, k, "4", { ifMatch: `W/${third.etag}` }));
      await step("replace any", () => store.put(A, k, "5", { ifMatch: "*" }));
      await step("replace missing", () => store.put(A, "c/none.json", "1", { ifMatch: first.etag }));
      await step("replace missing any", () => store.put(A, "c/none.json", "1", { ifMatch: "*" }));
      await step("get", () => store.get(A, k));
      await step("get none", () => store.get(A, "c/none.json"));
      const race = await Promise.all(
        [1, 2, 3].map((i) =>
          store.put(A, "c/race.json", String(i), { ifNoneMatch: "*" }).then(
            () => "won",
            (err: unknown) => (err instanceof PreconditionFailedError ? "lost" : String(err)),
          ),
        ),
      );
      await step("race", async () => race.sort());
    });
  });

  it("copies objects, also across buckets and with unicode keys", async () => {
    await same(async ({ store }, step) => {
      const src = "y/logs/DATASET_NAME:a b+ü_STATUS.txt";
      await step("put source", () => store.put(A, src, "status"));
      await step("copy same bucket", () => store.copy(A, src, A, "y/copy.txt"));
      await step("get copy", () => store.get(A, "y/copy.txt"));
      await step("copy other bucket", () => store.copy(A, src, B, "y/ü copy.txt"));
      await step("get other", () => store.get(B, "y/ü copy.txt"));
      await step("copy overwrite", () => store.copy(A, "y/copy.txt", B, "y/ü copy.txt"));
      await step("copy missing key", () => store.copy(A, "y/none.txt", A, "y/x.txt"));
      await step("target untouched", () => store.exists(A, "y/x.txt"));
      await step("copy from missing bucket", () => store.copy(MISSING, src, A, "y/x.txt"));
      await step("copy to missing bucket", () => store.copy(A, src, MISSING, "y/x.txt"));
    });
  });

  it("fails every call on a missing bucket as S3ObjectStore maps it", async () => {
    await same(async ({ store }, step) => {
      await step("get", () => store.get(MISSING, "k"));
      await step("put", () => store.put(MISSING, "k", "x"));
      await step("put if none", () => store.put(MISSING, "k", "x", { ifNoneMatch: "*" }));
      await step("put if match", () => store.put(MISSING, "k", "x", { ifMatch: '"abc"' }));
      await step("exists", () => store.exists(MISSING, "k"));
      await step("prefixExists", () => store.prefixExists(MISSING, ""));
      await step("list", () => store.list(MISSING, ""));
      await step("list limit", () => store.list(MISSING, "", 5));
      await step("delete", () => store.delete(MISSING, "k"));
    });
  });

  it("refuses keys and bucket names the local endpoint cannot store", async () => {
    await same(async ({ store }, step) => {
      for (const key of ["k//double", "../escape", "/absolute", `long/${"x".repeat(300)}`]) {
        await step(`put ${key}`, () => store.put(A, key, "x"));
        await step(`get ${key}`, () => store.get(A, key));
        await step(`exists ${key}`, () => store.exists(A, key));
        await step(`delete ${key}`, () => store.delete(A, key));
      }
      await step("bad bucket get", () => store.get("Bad_Bucket", "k"));
      await step("bad bucket list", () => store.list("Bad_Bucket", ""));
      await step("copy from bad key", () => store.copy(A, "k//double", A, "ok.txt"));
    });
  });

  it("fails a request with an injected fault status, retrying 5xx like the SDK client", async () => {
    await same(async (t, step) => {
      const { store } = t;
      await step("put", () => store.put(A, "f/x.txt", "x"));
      let failures = 0;
      t.fault = (r) => (r.method === "PUT" && r.key === "f/flaky.txt" && failures++ < 2 ? 503 : undefined);
      await step("flaky put", () => store.put(A, "f/flaky.txt", "ok"));
      failures = 0;
      t.fault = (r) => (r.key === "f/x.txt" ? 500 : undefined);
      await step("get down", () => store.get(A, "f/x.txt"));
      await step("put down", () => store.put(A, "f/x.txt", "y", { ifNoneMatch: "*" }));
      t.fault = (r) => (r.key === "f/x.txt" ? 403 : undefined);
      await step("get denied", () => store.get(A, "f/x.txt"));
      await step("exists denied", () => store.exists(A, "f/x.txt"));
      await step("delete denied", () => store.delete(A, "f/x.txt"));
      t.fault = (r) => (r.key === "f/x.txt" ? 404 : undefined);
      await step("exists 404", () => store.exists(A, "f/x.txt"));
      t.fault = (r) => (r.key === "" ? 400 : undefined);
      await step("list refused", () => store.list(A, "f/"));
      t.fault = undefined;
      await step("get after", () => store.get(A, "f/x.txt"));
    });
  });
});
