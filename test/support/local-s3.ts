import * as fs from "node:fs";
import * as path from "node:path";
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import {
  createLocalS3Client,
  startLocalS3Server,
  type LocalS3Request,
  type LocalS3Server,
} from "../../local/s3-server";
import { S3ObjectStore } from "../../protocols/aws/s3-store";
import { createS3Client } from "../../protocols/s3-client";
import type { ObjectStore } from "../../protocols/storage";

/** One s3rver per test file: call at the top level of a describe block or file. */
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

/** Upload a local directory tree under a key prefix. */
export async function uploadTree(store: ObjectStore, bucket: string, dir: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) keys.push(...(await uploadTree(store, bucket, full, `${prefix}${entry.name}/`)));
    else {
      await store.put(bucket, `${prefix}${entry.name}`, fs.readFileSync(full, "utf-8"));
      keys.push(`${prefix}${entry.name}`);
    }
  }
  return keys;
}

/** key → ETag of every object under a prefix (one listing; detects any change of content). */
export async function snapshot(client: S3Client, bucket: string, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out.set(o.Key as string, `${o.ETag} ${o.Size}`);
    token = page.NextContinuationToken;
  } while (token);
  return out;
}
