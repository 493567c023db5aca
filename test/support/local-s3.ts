import type { S3Client } from "@aws-sdk/client-s3";
import {
  createLocalS3Client,
  startLocalS3Server,
  type LocalS3Request,
  type LocalS3Server,
} from "../../local/s3-server";
import { S3ObjectStore } from "../../protocols/aws/s3-store";
import { createS3Client } from "../../protocols/s3-client";
import type { ObjectStore } from "../../protocols/storage";

/**
 * One s3rver per test file: call at the top level of a describe block or file. For suites that
 * use S3 only as the protocols' object store, `useMemoryS3` (memory-store.ts) answers the same
 * without HTTP; keep this one for tests of the SDK client, HTTP or the endpoint itself.
 */
export interface LocalS3Handle {
  server: LocalS3Server;
  client: S3Client;
  store: ObjectStore;
  /** Fault hook for the running server; reset after each test. */
  fault: ((request: LocalS3Request) => number | undefined) | undefined;
  /** Requests seen since the last reset (method + bucket/key). */
  requests: LocalS3Request[];
}

export function useLocalS3(buckets: readonly string[]): LocalS3Handle {
  const handle = { requests: [] as LocalS3Request[], fault: undefined } as unknown as LocalS3Handle;
  beforeAll(async () => {
    handle.server = await startLocalS3Server({
      buckets,
      verbose: process.env.NEUROCAAS_S3_VERBOSE === "1",
      faults: (r) => {
        handle.requests.push(r);
        return handle.fault?.(r);
      },
    });
    handle.client = createS3Client({
      endpoint: handle.server.endpoint,
      region: "us-east-1",
      credentials: { ...handle.server.credentials },
      maxAttempts: 4,
    });
    handle.store = new S3ObjectStore(handle.client);
  });
  afterEach(() => {
    handle.fault = undefined;
    handle.requests.length = 0;
  });
  afterAll(async () => {
    handle.client?.destroy();
    await handle.server?.close();
  });
  return handle;
}

/** A fresh client for a handle (e.g. with other retry settings). */
export function localClient(handle: LocalS3Handle): S3Client {
  return createLocalS3Client(handle.server);
}
