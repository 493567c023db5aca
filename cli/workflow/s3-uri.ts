/**
 * `s3://bucket/key` URIs as the workflow CLI stores them in `registration.json` (pure helpers;
 * parsing is protocols/s3-uri.ts).
 */
import { formatS3Uri, isS3Uri, parseS3Uri } from "../../protocols/s3-uri";

/** `-b B -k K` as an S3 URI; a `K` that already is an `s3://` URI is kept as is (storage bypass). */
export function uriFromBucketKey(bucket: string, key: string): string {
  return isS3Uri(key) ? key : formatS3Uri(bucket, key);
}

/** Join URI or path segments with single slashes. */
export function joinUri(base: string, ...parts: string[]): string {
  let out = base.replace(/\/+$/, "");
  for (const p of parts) {
    const trimmed = p.replace(/^\/+|\/+$/g, "");
    if (trimmed) out = `${out}/${trimmed}`;
  }
  return out;
}

/** The group of a registered dataset: the first key component (`s3://bucket/{group}/inputs/...`). */
export function groupOfUri(uri: string): string {
  const { key } = parseS3Uri(uri);
  const i = key.indexOf("/");
  if (i <= 0) {
    throw new Error(`cannot derive the group from "${uri}": the key must look like {group}/inputs/{name}`);
  }
  return key.slice(0, i);
}
