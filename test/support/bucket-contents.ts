import * as fs from "node:fs";
import * as path from "node:path";
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { ObjectStore } from "../../protocols/storage";

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
