/**
 * Which bucket names and object keys the local endpoint stores. s3rver keeps every object as files
 * under `{directory}/{bucket}/{key segments...}` and trusts the key: `..`, a leading `/` or a
 * 250-byte segment used to write outside the bucket directory or crash the server. Keys that S3
 * itself would accept but that cannot be stored safely as files get a clean 400 instead.
 */
import { s3Failure, type S3Failure } from "./s3-errors";

/** S3's key limit (UTF-8 bytes). */
const MAX_KEY_BYTES = 1024;
/** File-name limit of Linux file systems (NAME_MAX). */
const MAX_NAME_BYTES = 255;
/** s3rver stores key `a/b` as `a/b._S3rver_object` plus `a/b._S3rver_metadata.json`: the longest suffix. */
const STORE_SUFFIX = "._S3rver_metadata.json";
/** Marker s3rver uses for its own files (metadata, multipart uploads, bucket configs). */
const STORE_MARKER = "._S3rver_";
/** The longest last segment of a key that still fits in a file name. */
const MAX_LAST_SEGMENT_BYTES = MAX_NAME_BYTES - Buffer.byteLength(STORE_SUFFIX);

/** A bucket name that is one safe directory name (S3's own rules are stricter; CreateBucket applies them). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

function shown(key: string): string {
  return JSON.stringify(key.length > 80 ? `${key.slice(0, 60)}…${key.slice(-12)}` : key);
}

export function bucketNameProblem(bucket: string): S3Failure | undefined {
  if (BUCKET_NAME.test(bucket) && !bucket.includes("..")) return undefined;
  return s3Failure(
    400,
    "InvalidBucketName",
    `The specified bucket is not valid: ${shown(bucket)} (up to 63 lowercase letters, digits, ".", "_" and "-", starting with a letter or digit)`,
  );
}

/** Why `key` cannot be stored by the local endpoint, or undefined when it can. */
export function objectKeyProblem(key: string): S3Failure | undefined {
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_KEY_BYTES)
    return s3Failure(
      400,
      "KeyTooLongError",
      `Your key is too long: ${bytes} bytes, S3 allows at most ${MAX_KEY_BYTES}`,
    );
  const refuse = (why: string) =>
    s3Failure(
      400,
      "InvalidArgument",
      `Object key ${shown(key)} ${why}; the local endpoint stores keys as files and refuses keys that could name a file outside the bucket`,
    );
  if (key.includes("\0")) return refuse("contains a NUL character");
  if (key.includes("\\")) return refuse("contains a backslash");
  if (key.startsWith("/")) return refuse('starts with "/" (an absolute path)');
  if (key.includes(STORE_MARKER))
    return refuse(`contains "${STORE_MARKER}", which the store reserves for its own files`);
  const segments = key.split("/");
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    const last = i === segments.length - 1;
    if (segment === "." || segment === "..") return refuse(`has a "${segment}" path segment`);
    // A trailing "/" (folder placeholder) is fine; "a//b" would be stored as, and overwrite, "a/b".
    if (segment === "" && !last) return refuse('has an empty path segment ("//")');
    const limit = last ? MAX_LAST_SEGMENT_BYTES : MAX_NAME_BYTES;
    const size = Buffer.byteLength(segment);
    if (size > limit) {
      return s3Failure(
        400,
        "KeyTooLongError",
        `Object key ${shown(key)} has a ${size}-byte ${last ? "last part" : "folder name"}: the local endpoint stores each "/"-separated part as a file name, ` +
          `at most ${limit} bytes${last ? ` for the last part (${MAX_NAME_BYTES} minus the store's suffix)` : ""}; shorten it`,
      );
    }
  }
  return undefined;
}
