import { createHash } from "node:crypto";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { compareKeys, decodeToken, encodeToken } from "../../local/listing";
import { bucketNameProblem, objectKeyProblem } from "../../local/object-keys";
import { preconditionFailure } from "../../local/preconditions";
import { injectedFault, s3Failure, type S3Failure } from "../../local/s3-errors";
import type { LocalS3Request } from "../../local/s3-server";
import { S3ObjectStore } from "../../protocols/aws/s3-store";
import type { ObjectStore } from "../../protocols/storage";

/**
 * The local S3 endpoint of `useLocalS3` kept in memory, for tests that use S3 only as the
 * protocols' object store: the real `S3ObjectStore` (its error mapping, listing pages, copy
 * source encoding) runs over a client whose `send` answers the six commands it sends as the
 * endpoint does (same ETags, key order, pages, errors, conditional writes, key checks), with no
 * SDK middleware, HTTP, signing or files. Like `useLocalS3` it records each request
 * (`requests`) and lets a test fail one with an S3 error status (`fault`); 5xx answers are
 * retried as by the SDK client of `useLocalS3` (4 attempts).
 * test/protocols/object-store-contract.test.ts runs the same cases against both, so this double
 * cannot drift from the endpoint.
 */
export interface MemoryS3Handle {
  readonly store: ObjectStore;
  /** Answers ListObjectsV2 as well (for `snapshot` in local-s3.ts). */
  readonly client: S3Client;
  /** Fault hook; reset after each test. */
  fault: ((request: LocalS3Request) => number | undefined) | undefined;
  /** Requests seen since the last reset (method + bucket/key). */
  readonly requests: LocalS3Request[];
}

/** A fresh in-memory endpoint per test file; its fault hook and request log are reset after each test. */
export function useMemoryS3(buckets: readonly string[]): MemoryS3Handle {
  const handle = memoryS3(buckets);
  afterEach(() => {
    handle.fault = undefined;
    handle.requests.length = 0;
  });
  return handle;
}

export function memoryS3(buckets: readonly string[], maxAttempts = 4): MemoryS3Handle {
  const endpoint = new MemoryEndpoint(buckets, maxAttempts);
  const client = { send: (command: unknown) => endpoint.send(command) } as unknown as S3Client;
  return Object.defineProperty(
    { store: new S3ObjectStore(client), client, requests: endpoint.requests, fault: undefined },
    "fault",
    { get: () => endpoint.fault, set: (f: MemoryS3Handle["fault"]) => (endpoint.fault = f), enumerable: true },
  );
}

interface MemoryObject {
  readonly bytes: Buffer;
  readonly etag: string;
}

/** An S3 error as the SDK throws it (a HEAD answer has no body: the SDK names a 404 NotFound, others Unknown). */
class MemoryS3Error extends Error {
  readonly $fault: "client" | "server";
  readonly $metadata: { readonly httpStatusCode: number };
  constructor(failure: S3Failure, method: string) {
    super(failure.message);
    this.name = method !== "HEAD" ? failure.code : failure.status === 404 ? "NotFound" : "Unknown";
    this.$fault = failure.status >= 500 ? "server" : "client";
    this.$metadata = { httpStatusCode: failure.status };
  }
}

const NO_SUCH_KEY = s3Failure(404, "NoSuchKey", "The specified key does not exist.");
const NO_SUCH_BUCKET = s3Failure(404, "NoSuchBucket", "The specified bucket does not exist");
const MAX_LIST_KEYS = 1000;

class MemoryEndpoint {
  readonly requests: LocalS3Request[] = [];
  fault: MemoryS3Handle["fault"];
  private readonly buckets = new Map<string, Map<string, MemoryObject>>();

  constructor(
    buckets: readonly string[],
    private readonly maxAttempts: number,
  ) {
    for (const b of buckets) this.buckets.set(b, new Map());
  }

  async send(command: unknown): Promise<unknown> {
    if (command instanceof GetObjectCommand) {
      const { Bucket, Key } = command.input;
      return this.request("GET", Bucket, Key, {}, (objects) => {
        const o = objects.get(Key as string) ?? failWith(NO_SUCH_KEY);
        return { ETag: o.etag, ContentLength: o.bytes.length, Body: body(o.bytes) };
      });
    }
    if (command instanceof HeadObjectCommand) {
      const { Bucket, Key } = command.input;
      return this.request("HEAD", Bucket, Key, {}, (objects) => {
        const o = objects.get(Key as string) ?? failWith(NO_SUCH_KEY);
        return { ETag: o.etag, ContentLength: o.bytes.length };
      });
    }
    if (command instanceof PutObjectCommand) {
      const { Bucket, Key, IfNoneMatch, IfMatch } = command.input;
      const bytes = Buffer.from(command.input.Body as string, "utf-8");
      return this.request(
        "PUT",
        Bucket,
        Key,
        {},
        (objects) => {
          const o = { bytes, etag: `"${createHash("md5").update(bytes).digest("hex")}"` };
          objects.set(Key as string, o);
          return { ETag: o.etag };
        },
        () => preconditionFailure(IfNoneMatch, IfMatch, this.buckets.get(Bucket as string)?.get(Key as string)?.etag),
      );
    }
    if (command instanceof DeleteObjectCommand) {
      const { Bucket, Key } = command.input;
      return this.request("DELETE", Bucket, Key, {}, (objects) => {
        objects.delete(Key as string);
        return {};
      });
    }
    if (command instanceof CopyObjectCommand) return this.copy(command.input);
    if (command instanceof ListObjectsV2Command) return this.list(command.input);
    throw new Error(`the in-memory S3 endpoint does not serve ${(command as object).constructor.name}`);
  }

  private copy(input: CopyObjectCommand["input"]): Promise<unknown> {
    const source = decodeURIComponent(input.CopySource as string);
    const slash = source.indexOf("/");
    const sourceBucket = slash === -1 ? "" : source.slice(0, slash);
    const sourceKey = source.slice(slash + 1);
    const invalid =
      sourceBucket === ""
        ? s3Failure(
            400,
            "InvalidArgument",
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
          )
        : (bucketNameProblem(sourceBucket) ?? objectKeyProblem(sourceKey));
    return this.request(
      "PUT",
      input.Bucket,
      input.Key,
      {},
      (objects) => {
        const from = this.buckets.get(sourceBucket) ?? failWith(NO_SUCH_BUCKET);
        const o = from.get(sourceKey) ?? failWith(NO_SUCH_KEY);
        objects.set(input.Key as string, o);
        return { CopyObjectResult: { ETag: o.etag } };
      },
      undefined,
      invalid,
    );
  }

  private list(input: ListObjectsV2Command["input"]): Promise<unknown> {
    const prefix = input.Prefix ?? "";
    const maxKeys = Math.min(MAX_LIST_KEYS, input.MaxKeys ?? MAX_LIST_KEYS);
    const query: Record<string, string> = { "list-type": "2", prefix };
    if (input.MaxKeys !== undefined) query["max-keys"] = String(input.MaxKeys);
    if (input.ContinuationToken !== undefined) query["continuation-token"] = input.ContinuationToken;
    const b = input.Bucket ?? "";
    return this.request("GET", b, "", query, (objects) => {
      const after = input.ContinuationToken === undefined ? undefined : decodeToken(b, input.ContinuationToken);
      const keys = [...objects.keys()]
        .filter((k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0))
        .sort(compareKeys);
      const page = keys.slice(0, maxKeys);
      const truncated = keys.length > page.length;
      return {
        KeyCount: page.length,
        IsTruncated: truncated,
        ...(page.length > 0
          ? {
              Contents: page.map((k) => {
                const o = objects.get(k) as MemoryObject;
                return { Key: k, ETag: o.etag, Size: o.bytes.length };
              }),
            }
          : {}),
        ...(truncated ? { NextContinuationToken: encodeToken(b, page[page.length - 1]) } : {}),
      };
    });
  }

  /**
   * One request as the endpoint serves it: on a later macrotask (concurrent handlers interleave
   * as over HTTP), name checks, the fault hook (5xx retried like the SDK), the write
   * precondition, the bucket, then the operation, atomic like the endpoint's per-key lock.
   */
  private async request<T>(
    method: string,
    bucket: string | undefined,
    key: string | undefined,
    query: Record<string, string>,
    serve: (objects: Map<string, MemoryObject>) => T,
    precondition?: () => S3Failure | undefined,
    invalid?: S3Failure,
  ): Promise<T> {
    const b = bucket ?? "";
    const k = key ?? "";
    for (let attempt = 1; ; attempt++) {
      await new Promise((resolve) => setImmediate(resolve));
      const problem = bucketNameProblem(b) ?? (k === "" ? undefined : objectKeyProblem(k)) ?? invalid;
      if (problem) throw new MemoryS3Error(problem, method);
      const request = { method, bucket: b, key: k, query: new URLSearchParams(query) };
      this.requests.push(request);
      const status = this.fault?.(request);
      if (status !== undefined) {
        if (status >= 500 && attempt < this.maxAttempts) continue;
        throw new MemoryS3Error(injectedFault(status), method);
      }
      const failure = precondition?.();
      if (failure) throw new MemoryS3Error(failure, method);
      const objects = this.buckets.get(b);
      try {
        return serve(objects ?? failWith(NO_SUCH_BUCKET));
      } catch (err) {
        if (err instanceof Failure) throw new MemoryS3Error(err.failure, method);
        throw err;
      }
    }
  }
}

class Failure extends Error {
  constructor(readonly failure: S3Failure) {
    super(failure.message);
  }
}

function failWith(failure: S3Failure): never {
  throw new Failure(failure);
}

/** The part of the SDK's response stream S3ObjectStore reads. */
function body(bytes: Buffer): { transformToString(encoding?: string): Promise<string> } {
  return { transformToString: async (encoding = "utf-8") => bytes.toString(encoding as BufferEncoding) };
}
