import { paginateListObjectsV2, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";

/**
 * Options shared by every S3 client in the project. An explicit endpoint (or the standard
 * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` variables) means a local S3-compatible server.
 */
export interface S3ClientOptions {
  readonly endpoint?: string;
  readonly region?: string;
  /** Named profile from the shared AWS config files. */
  readonly profile?: string;
  readonly credentials?: S3ClientConfig["credentials"];
  /** Attempts per request including SDK retries of 5xx/throttling (SDK default 3). */
  readonly maxAttempts?: number;
}

/** True when a host name or address is reachable only from this machine (a `neurocaas local` server). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\./.test(h) || h === "::ffff:127.0.0.1";
}

export function localEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * Build an S3 client. Against a local endpoint it uses path-style addressing and sends checksums
 * only when an operation requires them: s3rver stores streamed uploads corrupted when the SDK's
 * default checksum trailers are sent.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const endpoint = options.endpoint ?? localEndpointFromEnv();
  const config: S3ClientConfig = {
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  };
  if (endpoint) {
    Object.assign(config, {
      endpoint,
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    } satisfies Partial<S3ClientConfig>);
  }
  return new S3Client(config);
}

/** Multipart settings for uploads, the AWS CLI's defaults (8 MiB parts, 10 in flight). */
export const MULTIPART_PART_SIZE = 8 * 1024 * 1024;
export const MULTIPART_CONCURRENCY = 10;

/** Every key under `prefix` (all pages). */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
  }
  return keys;
}
