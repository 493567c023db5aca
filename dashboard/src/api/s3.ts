/**
 * The S3 calls of the dashboard, as a user's key may make them (SPEC §1): list inside the own
 * group folder, put/delete inputs, configs and submissions, get configs and results, read the
 * group's spend summary. A missing key is 403 for users (as on AWS), so callers list before they
 * read.
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified?: Date;
}

/** Where the signed-in user works: one group folder of one analysis bucket. */
export interface Place {
  readonly client: S3Client;
  readonly bucket: string;
  /** The analysis name (PipelineName): job folders are `job__{analysis}_{timestamp}`. */
  readonly analysis: string;
  readonly group: string;
}

export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** A message a user can act on, from an SDK error. */
export function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string; Code?: string };
  const status = httpStatus(err);
  if (status === 403) return `access denied (${e.message || e.name || "403"})`;
  if (err instanceof TypeError && /fetch/i.test(String(e.message)))
    return "the storage endpoint cannot be reached (is `neurocaas local` still running?)";
  return e.message || e.name || String(err);
}

/** Every object under a prefix (paginated). */
export async function listObjects(client: S3Client, bucket: string, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined) continue;
      out.push({
        key: o.Key,
        size: o.Size ?? 0,
        etag: o.ETag ?? "",
        ...(o.LastModified ? { lastModified: o.LastModified } : {}),
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** The sub-folders (common prefixes) directly under a prefix. */
export async function listFolders(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: "/", ContinuationToken: token }),
    );
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Whether exactly this key exists (by listing it: users get 403, not 404, for a missing key). */
export async function keyExists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
  return page.Contents?.[0]?.Key === key;
}

export interface Fetched {
  readonly body: Uint8Array;
  readonly etag: string;
  readonly contentType?: string;
}

/**
 * GET an object; with `ifNoneMatch` a conditional GET: undefined when unchanged (304).
 */
export async function getObject(
  client: S3Client,
  bucket: string,
  key: string,
  ifNoneMatch?: string,
): Promise<Fetched | undefined> {
  try {
    const res = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, ...(ifNoneMatch ? { IfNoneMatch: ifNoneMatch } : {}) }),
    );
    const body = await res.Body!.transformToByteArray();
    return { body, etag: res.ETag ?? "", ...(res.ContentType ? { contentType: res.ContentType } : {}) };
  } catch (err) {
    if (httpStatus(err) === 304) return undefined;
    throw err;
  }
}

export async function getText(client: S3Client, bucket: string, key: string): Promise<string> {
  const o = await getObject(client, bucket, key);
  return new TextDecoder().decode(o!.body);
}

export async function putText(
  client: S3Client,
  bucket: string,
  key: string,
  text: string,
  contentType: string,
): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: contentType }));
}

export async function deleteKeys(client: S3Client, bucket: string, keys: readonly string[]): Promise<string[]> {
  const failed: string[] = [];
  if (keys.length === 1) {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[0] }));
    return failed;
  }
  for (let i = 0; i < keys.length; i += 1000) {
    const res = await client.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
      }),
    );
    for (const e of res.Errors ?? []) if (e.Key) failed.push(`${e.Key}: ${e.Message ?? e.Code ?? "not deleted"}`);
  }
  return failed;
}

/** A short-lived download link that saves the file under its name instead of showing it. */
export async function downloadUrl(client: S3Client, bucket: string, key: string): Promise<string> {
  const name = key.slice(key.lastIndexOf("/") + 1);
  return getSignedUrl(
    client,
    new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      ResponseContentDisposition: `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
      ResponseContentType: "application/octet-stream",
    }),
    { expiresIn: 900 },
  );
}

/** Multipart upload parts (the AWS CLI default) and parts in flight per file. */
const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;

/** Upload a browser File: one PUT below the part size, else multipart; `abort()` cancels and cleans up the parts. */
export function startUpload(
  client: S3Client,
  bucket: string,
  key: string,
  file: Blob,
  onProgress: (loaded: number) => void,
): Upload {
  const upload = new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: file, ContentType: file.type || "application/octet-stream" },
    partSize: PART_SIZE,
    queueSize: PARTS_IN_FLIGHT,
    leavePartsOnError: false,
  });
  upload.on("httpUploadProgress", (p) => onProgress(p.loaded ?? 0));
  return upload;
}
