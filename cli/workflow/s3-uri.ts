/**
 * `s3://bucket/key` URIs as the workflow CLI stores them in `registration.json` (pure helpers).
 */

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

export function isS3Uri(value: string): boolean {
  return value.startsWith("s3://");
}

export function parseS3Uri(uri: string): S3Location {
  if (!isS3Uri(uri)) throw new Error(`"${uri}" is not an S3 URI (expected s3://bucket/key)`);
  const rest = uri.slice("s3://".length);
  const slash = rest.indexOf("/");
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? "" : rest.slice(slash + 1);
  if (!bucket) throw new Error(`"${uri}" has no bucket name (expected s3://bucket/key)`);
  return { bucket, key };
}

export function formatS3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key.replace(/^\/+/, "")}`;
}

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
