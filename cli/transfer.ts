/**
 * File transfers between this machine and S3, for both CLIs: the user's (`neurocaas submit`,
 * `results`) and the IAE's (`neurocaas workflow`, `run-main`).
 * - Uploads stream the file: one PUT below the part size, else a multipart upload with parts in
 *   parallel; a failed multipart upload is aborted, so no parts are left behind (and billed).
 * - Downloads go through a temporary file beside the target, renamed into place when complete:
 *   an interrupted transfer never leaves a partial file under the target's name.
 * - Prefix downloads keep the relative layout, skip folder placeholders and refuse keys that would
 *   land outside the target folder.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { isNoSuchKey } from "../protocols/aws/s3-store";
import { mapBounded } from "../protocols/concurrency";
import { listKeys, MULTIPART_CONCURRENCY, MULTIPART_PART_SIZE } from "../protocols/s3-client";

export { isNoSuchKey, listKeys };

/** Objects of a prefix downloaded at once. */
const DOWNLOADS_AT_ONCE = 8;

export interface UploadFileArgs {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly localPath: string;
  /** Multipart part size (default 8 MiB, as the AWS CLI). */
  readonly partSize?: number;
  readonly onProgress?: (loadedBytes: number) => void;
}

/** Upload one file; returns its size. */
export async function uploadFile(args: UploadFileArgs): Promise<number> {
  const size = (await fs.promises.stat(args.localPath)).size;
  const upload = new Upload({
    client: args.client,
    params: { Bucket: args.bucket, Key: args.key, Body: fs.createReadStream(args.localPath), ContentLength: size },
    partSize: args.partSize ?? MULTIPART_PART_SIZE,
    queueSize: MULTIPART_CONCURRENCY,
    leavePartsOnError: false,
  });
  if (args.onProgress) {
    const report = args.onProgress;
    upload.on("httpUploadProgress", (p) => report(p.loaded ?? 0));
  }
  await upload.done();
  return size;
}

/** Upload a file to `key`, or a directory's files under `key/`. Returns the uploaded keys. */
export async function uploadPath(client: S3Client, bucket: string, key: string, local: string): Promise<string[]> {
  if (!fs.existsSync(local)) throw new Error(`${local} does not exist`);
  if (!fs.statSync(local).isDirectory()) {
    await uploadFile({ client, bucket, key, localPath: local });
    return [key];
  }
  const keys: string[] = [];
  for (const rel of listFilesRecursive(local)) {
    const k = `${key.replace(/\/+$/, "")}/${rel}`;
    await uploadFile({ client, bucket, key: k, localPath: path.join(local, rel) });
    keys.push(k);
  }
  return keys;
}

/** Every regular file under `dir`, as paths relative to it (posix separators), sorted. */
function listFilesRecursive(dir: string): string[] {
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

/** Download one object to `dest` (atomically, see the header); returns its size. */
export async function downloadObject(client: S3Client, bucket: string, key: string, dest: string): Promise<number> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!res.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}-${randomBytes(4).toString("hex")}.part`;
  try {
    await pipeline(res.Body as Readable, fs.createWriteStream(tmp));
    await fs.promises.rename(tmp, dest);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  return (await fs.promises.stat(dest)).size;
}

/** Local path for `key` below `prefix`, refusing keys that would escape `dir`; undefined for folder placeholders. */
export function localPathFor(dir: string, prefix: string, key: string): string | undefined {
  const rel = key.slice(prefix.length);
  if (rel === "" || rel.endsWith("/")) return undefined;
  const target = path.resolve(dir, rel);
  const root = path.resolve(dir);
  if (target !== root && !target.startsWith(root + path.sep)) {
    throw new Error(`refusing to download "${key}": it would be written outside ${root}`);
  }
  return target;
}

export interface DownloadPrefixOptions {
  /** Fail when nothing lies under the prefix (a dataset "folder" must hold something). */
  readonly mustExist?: boolean;
}

/** Download every object under `prefix` into `dir`, keeping the relative layout. Returns the files written. */
export async function downloadPrefix(
  client: S3Client,
  bucket: string,
  prefix: string,
  dir: string,
  options: DownloadPrefixOptions = {},
): Promise<string[]> {
  // Every target is checked before anything is written.
  const targets = (await listKeys(client, bucket, prefix)).flatMap((key) => {
    const target = localPathFor(dir, prefix, key);
    return target === undefined ? [] : [{ key, target }];
  });
  if (targets.length === 0 && options.mustExist) throw new Error(`nothing found under s3://${bucket}/${prefix}`);
  await mapBounded(targets, DOWNLOADS_AT_ONCE, ({ key, target }) => downloadObject(client, bucket, key, target), {
    stopOnError: true,
  });
  return targets.map((t) => t.target);
}

/**
 * Download a dataset key: one object, or a "folder" (a key ending in `/`, or a key with no object
 * but objects under `key/`). Returns the local path (a file or a directory).
 */
export async function downloadKeyOrPrefix(
  client: S3Client,
  bucket: string,
  key: string,
  destDir: string,
): Promise<string> {
  const name = path.posix.basename(key.replace(/\/+$/, ""));
  const dest = path.join(destDir, name);
  if (!key.endsWith("/")) {
    try {
      await downloadObject(client, bucket, key, dest);
      return dest;
    } catch (err) {
      if (!isNoSuchKey(err)) throw err;
      const under = await listKeys(client, bucket, `${key}/`);
      if (under.length === 0) throw new Error(`s3://${bucket}/${key} does not exist`, { cause: err });
    }
  }
  const prefix = key.endsWith("/") ? key : `${key}/`;
  await downloadPrefix(client, bucket, prefix, dest, { mustExist: true });
  return dest;
}
