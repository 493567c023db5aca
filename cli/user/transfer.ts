import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { listKeys, MULTIPART_CONCURRENCY, MULTIPART_PART_SIZE } from "../../protocols/s3-client";

export interface UploadFileArgs {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly localPath: string;
  readonly partSize?: number;
  readonly onProgress?: (loadedBytes: number) => void;
}

/**
 * Stream a local file to S3: one PUT below the part size, otherwise a concurrent multipart upload
 * (parts are aborted on failure so no partial object is left behind).
 */
export async function uploadFile(args: UploadFileArgs): Promise<void> {
  const upload = new Upload({
    client: args.client,
    params: { Bucket: args.bucket, Key: args.key, Body: createReadStream(args.localPath) },
    partSize: args.partSize ?? MULTIPART_PART_SIZE,
    queueSize: MULTIPART_CONCURRENCY,
    leavePartsOnError: false,
  });
  if (args.onProgress) {
    const report = args.onProgress;
    upload.on("httpUploadProgress", (p) => report(p.loaded ?? 0));
  }
  await upload.done();
}

export { listKeys };

export async function downloadObject(client: S3Client, bucket: string, key: string, localPath: string): Promise<void> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await fsp.mkdir(path.dirname(localPath), { recursive: true });
  await pipeline(res.Body as Readable, createWriteStream(localPath));
}

/** Local path for `key` below `prefix`, refusing keys that would escape `dir`. */
export function localPathFor(dir: string, prefix: string, key: string): string | undefined {
  const rel = key.slice(prefix.length);
  if (rel === "" || rel.endsWith("/")) return undefined; // folder placeholder objects
  const target = path.resolve(dir, rel);
  const root = path.resolve(dir);
  if (target !== root && !target.startsWith(root + path.sep)) {
    throw new Error(`refusing to download "${key}": it would be written outside ${root}`);
  }
  return target;
}

/** Download every object under `prefix` into `dir`, keeping the relative layout. Returns the files written. */
export async function downloadPrefix(client: S3Client, bucket: string, prefix: string, dir: string): Promise<string[]> {
  const written: string[] = [];
  for (const key of await listKeys(client, bucket, prefix)) {
    const target = localPathFor(dir, prefix, key);
    if (!target) continue;
    await downloadObject(client, bucket, key, target);
    written.push(target);
  }
  return written;
}
