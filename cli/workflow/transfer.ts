import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { GetObjectCommand, NoSuchKey, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { listKeys, MULTIPART_CONCURRENCY, MULTIPART_PART_SIZE } from "../../protocols/s3-client";

/**
 * File transfers between an IAE and S3: single objects, "folder" prefixes and directories.
 * Downloads go through a temporary file so an interrupted transfer never leaves a partial target.
 */

export async function downloadObject(client: S3Client, bucket: string, key: string, dest: string): Promise<number> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!res.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.part`;
  try {
    await pipeline(res.Body as Readable, fs.createWriteStream(tmp));
    fs.renameSync(tmp, dest);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return fs.statSync(dest).size;
}

export { listKeys };

/** Download every object under `prefix` (ending in `/`) into `destDir`, keeping relative paths. */
export async function downloadPrefix(client: S3Client, bucket: string, prefix: string, destDir: string): Promise<number> {
  const keys = (await listKeys(client, bucket, prefix)).filter((k) => !k.endsWith("/"));
  if (keys.length === 0) throw new Error(`nothing found under s3://${bucket}/${prefix}`);
  fs.mkdirSync(destDir, { recursive: true });
  for (const key of keys) {
    const rel = key.slice(prefix.length);
    const dest = path.resolve(destDir, rel);
    if (!dest.startsWith(path.resolve(destDir) + path.sep)) throw new Error(`refusing to write ${key} outside ${destDir}`);
    await downloadObject(client, bucket, key, dest);
  }
  return keys.length;
}

/**
 * Download a dataset key: one object, or a "folder" (a key ending in `/`, or a key with no object
 * but objects under `key/`). Returns the local path (a file or a directory).
 */
export async function downloadKeyOrPrefix(client: S3Client, bucket: string, key: string, destDir: string): Promise<string> {
  const name = path.posix.basename(key.replace(/\/+$/, ""));
  const dest = path.join(destDir, name);
  if (!key.endsWith("/")) {
    try {
      await downloadObject(client, bucket, key, dest);
      return dest;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const under = await listKeys(client, bucket, `${key}/`);
      if (under.length === 0) throw new Error(`s3://${bucket}/${key} does not exist`, { cause: err });
    }
  }
  const prefix = key.endsWith("/") ? key : `${key}/`;
  await downloadPrefix(client, bucket, prefix, dest);
  return dest;
}

export function isNotFound(err: unknown): boolean {
  if (err instanceof NoSuchKey) return true;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

/** Upload one file (multipart above 8 MiB, parts in parallel). */
export async function uploadFile(client: S3Client, bucket: string, key: string, file: string): Promise<number> {
  const size = fs.statSync(file).size;
  const upload = new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: fs.createReadStream(file), ContentLength: size },
    partSize: MULTIPART_PART_SIZE,
    queueSize: MULTIPART_CONCURRENCY,
  });
  await upload.done();
  return size;
}

/** Every regular file under `dir`, as paths relative to it (posix separators), sorted. */
export function listFilesRecursive(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(r);
      else if (entry.isFile() || (entry.isSymbolicLink() && fs.statSync(path.join(dir, r)).isFile())) out.push(r);
    }
  };
  walk("");
  return out.sort();
}

/** Upload a file to `key`, or a directory's files under `key/`. Returns the uploaded keys. */
export async function uploadPath(client: S3Client, bucket: string, key: string, local: string): Promise<string[]> {
  if (!fs.existsSync(local)) throw new Error(`${local} does not exist`);
  if (fs.statSync(local).isDirectory()) {
    const keys: string[] = [];
    for (const rel of listFilesRecursive(local)) {
      const k = `${key.replace(/\/+$/, "")}/${rel}`;
      await uploadFile(client, bucket, k, path.join(local, rel));
      keys.push(k);
    }
    return keys;
  }
  await uploadFile(client, bucket, key, local);
  return [key];
}

/** Copy a local file or directory (recursively) to `dest`. */
export function copyLocal(src: string, dest: string): void {
  if (!fs.existsSync(src)) throw new Error(`${src} does not exist`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  if (fs.statSync(src).isDirectory()) fs.cpSync(src, dest, { recursive: true });
  else fs.copyFileSync(src, dest);
}
