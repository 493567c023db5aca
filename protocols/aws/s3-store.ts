import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  BucketUnavailableError,
  PreconditionFailedError,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from "../storage";
import { awsErrorCode, awsHttpStatus } from "../retry";

/**
 * ObjectStore over the S3 API. Transient failures (5xx, throttling) are retried by the SDK's
 * standard retry strategy: build the client with `maxAttempts` (the handlers use 5).
 */
export class S3ObjectStore implements ObjectStore {
  constructor(private readonly client: S3Client) {}

  async get(bucket: string, key: string): Promise<StoredObject | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = out.Body ? await out.Body.transformToString("utf-8") : "";
      return { body, etag: out.ETag ?? "" };
    } catch (err) {
      if (isNoSuchKey(err)) return undefined;
      throw classify(err, bucket);
    }
  }

  async put(bucket: string, key: string, body: string, options: PutOptions = {}): Promise<{ etag: string }> {
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: options.contentType ?? contentTypeFor(key),
          ...(options.ifNoneMatch ? { IfNoneMatch: options.ifNoneMatch } : {}),
          ...(options.ifMatch ? { IfMatch: options.ifMatch } : {}),
        }),
      );
      return { etag: out.ETag ?? "" };
    } catch (err) {
      if (isPreconditionFailure(err) || (options.ifMatch && isNoSuchKey(err)))
        throw new PreconditionFailedError(bucket, key);
      throw classify(err, bucket);
    }
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      if (isNoSuchKey(err)) return false;
      throw classify(err, bucket);
    }
  }

  async prefixExists(bucket: string, prefix: string): Promise<boolean> {
    try {
      const out = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
      return (out.KeyCount ?? out.Contents?.length ?? 0) > 0;
    } catch (err) {
      throw classify(err, bucket);
    }
  }

  async list(bucket: string, prefix: string, limit?: number): Promise<readonly string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ContinuationToken: token,
          ...(limit ? { MaxKeys: Math.min(1000, limit - keys.length) } : {}),
        }),
      );
      for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token && (limit === undefined || keys.length < limit));
    return limit === undefined ? keys : keys.slice(0, limit);
  }

  async delete(bucket: string, key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      if (!isNoSuchKey(err)) throw err;
    }
  }

  async copy(sourceBucket: string, sourceKey: string, targetBucket: string, targetKey: string): Promise<void> {
    await this.client.send(
      new CopyObjectCommand({
        Bucket: targetBucket,
        Key: targetKey,
        CopySource: `${sourceBucket}/${encodeURIComponent(sourceKey).replace(/%2F/g, "/")}`,
      }),
    );
  }
}

/** A missing key (never a missing bucket: that is BucketUnavailableError). */
export function isNoSuchKey(err: unknown): boolean {
  const code = awsErrorCode(err);
  return code !== "NoSuchBucket" && (code === "NoSuchKey" || code === "NotFound" || awsHttpStatus(err) === 404);
}

const BUCKET_UNAVAILABLE_CODES = new Set([
  "NoSuchBucket",
  "AccessDenied",
  "Forbidden",
  "AllAccessDisabled",
  "InvalidBucketName",
  "PermanentRedirect",
]);

/**
 * NoSuchBucket / AccessDenied as BucketUnavailableError; anything else unchanged. A HEAD answer has
 * no body to name its error: the SDK calls a bodiless 403 `Unknown` (or gives no code).
 */
function classify(err: unknown, bucket: string): unknown {
  const code = awsErrorCode(err);
  if (code !== undefined && BUCKET_UNAVAILABLE_CODES.has(code)) return new BucketUnavailableError(bucket, code);
  if ((code === undefined || code === "Unknown") && awsHttpStatus(err) === 403)
    return new BucketUnavailableError(bucket, "AccessDenied");
  return err;
}

function isPreconditionFailure(err: unknown): boolean {
  const code = awsErrorCode(err);
  return (
    code === "PreconditionFailed" ||
    code === "ConditionalRequestConflict" ||
    awsHttpStatus(err) === 412 ||
    awsHttpStatus(err) === 409
  );
}

/** JSON files (status files are JSON despite `.txt`, SPEC 4.3) as JSON, everything else as text. */
function contentTypeFor(key: string): string {
  if (key.endsWith(".json") || /\/logs\/DATASET_NAME:[^/]*_STATUS\.txt$/.test(key)) return "application/json";
  return "text/plain; charset=utf-8";
}
