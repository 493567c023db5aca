/** `s3://bucket/key` URIs (storage bypass, workflow registrations): the one parser of the project. */

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

export function isS3Uri(value: string): boolean {
  return value.startsWith("s3://");
}

/** `s3://bucket/key` → parts (`s3://bucket` has the key ""); undefined for anything else. */
export function tryParseS3Uri(uri: string): S3Location | undefined {
  if (!isS3Uri(uri)) return undefined;
  const rest = uri.slice("s3://".length);
  const slash = rest.indexOf("/");
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  if (bucket === "") return undefined;
  return { bucket, key: slash === -1 ? "" : rest.slice(slash + 1) };
}

/** `tryParseS3Uri` that names the problem. */
export function parseS3Uri(uri: string): S3Location {
  if (!isS3Uri(uri)) throw new Error(`"${uri}" is not an S3 URI (expected s3://bucket/key)`);
  const parsed = tryParseS3Uri(uri);
  if (!parsed) throw new Error(`"${uri}" has no bucket name (expected s3://bucket/key)`);
  return parsed;
}

export function formatS3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key.replace(/^\/+/, "")}`;
}

/** The key of a bucket key or `s3://` URI (the bucket of a URI dropped). */
export function keyOf(keyOrUri: string): string {
  return tryParseS3Uri(keyOrUri)?.key ?? keyOrUri;
}
