/**
 * The object-storage boundary of the protocols. `aws/s3-store.ts` implements it over the S3 API
 * (real S3 or a local S3-compatible endpoint); protocol code never calls S3 directly.
 */

export interface StoredObject {
  readonly body: string;
  readonly etag: string;
}

export interface PutOptions {
  /** Create only: fail with `PreconditionFailedError` when the key exists. */
  readonly ifNoneMatch?: "*";
  /** Replace only this version: fail with `PreconditionFailedError` when the ETag differs. */
  readonly ifMatch?: string;
  readonly contentType?: string;
}

/** A conditional write lost: the object was created or changed by someone else. */
export class PreconditionFailedError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
  ) {
    super(`conditional write of s3://${bucket}/${key} failed: the object changed`);
    this.name = "PreconditionFailedError";
  }
}

/**
 * A bucket that does not exist or that the platform may not use (NoSuchBucket, AccessDenied):
 * unlike a missing key, retrying does not help; the job must say so.
 */
export class BucketUnavailableError extends Error {
  constructor(
    readonly bucket: string,
    readonly code: string,
  ) {
    super(`bucket ${bucket} does not exist or NeuroCAAS may not use it (${code})`);
    this.name = "BucketUnavailableError";
  }
}

export interface ObjectStore {
  /** The object as UTF-8 text, or undefined when it does not exist. */
  get(bucket: string, key: string): Promise<StoredObject | undefined>;
  put(bucket: string, key: string, body: string, options?: PutOptions): Promise<{ readonly etag: string }>;
  /** Whether exactly this key exists. */
  exists(bucket: string, key: string): Promise<boolean>;
  /** Whether at least one object key starts with `prefix` (one request). */
  prefixExists(bucket: string, prefix: string): Promise<boolean>;
  /** Keys under a prefix, in key order; at most `limit` when given. */
  list(bucket: string, prefix: string, limit?: number): Promise<readonly string[]>;
  /** Delete a key; deleting a missing key is not an error. */
  delete(bucket: string, key: string): Promise<void>;
  copy(sourceBucket: string, sourceKey: string, targetBucket: string, targetKey: string): Promise<void>;
}
