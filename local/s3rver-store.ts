/**
 * The part of s3rver's FilesystemStore the endpoint uses, and a fix for its writes: s3rver pipes
 * an upload into a file stream without listening for the stream's errors, so one failed write
 * (name too long, disk full, permissions) threw an unhandled 'error' event and killed the whole
 * server. The two write paths are replaced by the same logic with `pipeline`, whose failures
 * reach s3rver's request handler as an ordinary error (500 InternalError).
 */
import { createHash } from "node:crypto";
import { createWriteStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

interface S3rverObject {
  readonly bucket: string;
  readonly key: string;
  readonly content: Buffer | Readable;
  readonly metadata: Record<string, string>;
}

export interface S3rverStore {
  readonly rootDirectory: string;
  getBucket(bucket: string): Promise<unknown>;
  getMetadata(
    bucket: string,
    key: string,
  ): Promise<{ etag: string; "last-modified": string; "content-length": number }>;
  existsObject(bucket: string, key: string): Promise<boolean>;
  deleteObject(bucket: string, key: string): Promise<void>;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
  putPart(
    bucket: string,
    uploadId: string,
    partNumber: number,
    content: Readable,
  ): Promise<{ size: number; md5: string }>;
}

/** Write `content` to `file`, returning its size and MD5 (hex); every failure rejects. */
async function writeCounted(file: string, content: Buffer | Readable): Promise<{ size: number; md5: string }> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const md5 = createHash("md5");
  if (Buffer.isBuffer(content)) {
    md5.update(content);
    await fsp.writeFile(file, content);
    return { size: content.length, md5: md5.digest("hex") };
  }
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(content, count, createWriteStream(file));
  return { size, md5: md5.digest("hex") };
}

export function hardenStore(store: S3rverStore): void {
  store.putObject = async (object) => {
    const result = await writeCounted(store.getResourcePath(object.bucket, object.key, "object"), object.content);
    await store.putMetadata(object.bucket, object.key, object.metadata, result.md5);
    return result;
  };
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const partPath = path.join(store.getResourcePath(bucket, undefined, "uploads"), uploadId, String(partNumber));
    const result = await writeCounted(partPath, content);
    await fsp.writeFile(`${partPath}.md5`, result.md5);
    return result;
  };
}
