import { ListBucketsCommand, type S3Client } from "@aws-sdk/client-s3";
import { isLoopbackEndpoint } from "./connection";

/**
 * Turn the S3 errors a user runs into (wrong bucket, endpoint not running, wrong host) into
 * messages that say what is wrong and what to do. Anything else is passed through unchanged.
 */

export interface S3ErrorContext {
  readonly client: S3Client;
  readonly bucket: string;
  /** The endpoint the command talks to (undefined: AWS). */
  readonly endpoint?: string;
}

/** A network error code (`ECONNREFUSED`, ...) of the error or of what it wraps. */
export function networkErrorCode(err: unknown, depth = 0): string | undefined {
  if (depth > 4 || err === null || typeof err !== "object") return undefined;
  const e = err as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === "string" && /^E[A-Z]+$/.test(e.code)) return e.code;
  for (const inner of Array.isArray(e.errors) ? e.errors : []) {
    const code = networkErrorCode(inner, depth + 1);
    if (code) return code;
  }
  return networkErrorCode(e.cause, depth + 1);
}

function errorName(err: unknown): string | undefined {
  const e = err as { name?: unknown; Code?: unknown } | null;
  return typeof e?.name === "string" ? e.name : typeof e?.Code === "string" ? e.Code : undefined;
}

/** The message for an endpoint that cannot be reached, or undefined when `err` is something else. */
function unreachableEndpointMessage(err: unknown, endpoint: string | undefined): string | undefined {
  const code = networkErrorCode(err);
  const where = endpoint ?? "AWS S3";
  if (code === "ECONNREFUSED") {
    if (endpoint !== undefined && isLoopbackEndpoint(endpoint)) {
      return `cannot connect to ${endpoint} (connection refused): is \`neurocaas local\` running at ${endpoint}? Start it with \`npm start\` (or \`neurocaas local --port PORT\`) and pass the endpoint it prints`;
    }
    return `cannot connect to ${where} (connection refused): check --endpoint-url`;
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return `cannot resolve the host of ${where} (${code}): check --endpoint-url and your network`;
  if (code === "ETIMEDOUT" || code === "ECONNRESET" || code === "EHOSTUNREACH" || code === "ENETUNREACH") {
    return `cannot reach ${where} (${code}): check --endpoint-url and your network`;
  }
  return undefined;
}

async function existingBuckets(client: S3Client): Promise<string> {
  try {
    const res = await client.send(new ListBucketsCommand({}));
    const names = (res.Buckets ?? []).map((b) => b.Name).filter((n): n is string => n !== undefined);
    return names.length === 0 ? "there are no buckets there" : `buckets there: ${names.join(", ")}`;
  } catch (err) {
    // Users never may list buckets (on AWS as locally): the bucket name comes from whoever runs the analysis.
    if (errorName(err) === "AccessDenied")
      return "these credentials may not list buckets (users never can): ask for the analysis' bucket name (its blueprint's PipelineName, or the stack's neurocaas:bucketName)";
    return `the buckets there could not be listed (${errorName(err) ?? (err as Error).message})`;
  }
}

/** A user-facing error for `err`, or `err` itself when there is nothing better to say. */
async function explainS3Error(err: unknown, ctx: S3ErrorContext): Promise<unknown> {
  const unreachable = unreachableEndpointMessage(err, ctx.endpoint);
  if (unreachable) return new Error(unreachable, { cause: err });
  const where = ctx.endpoint ?? "AWS";
  switch (errorName(err)) {
    case "NoSuchBucket":
      return new Error(
        `bucket "${ctx.bucket}" does not exist at ${where}; ${await existingBuckets(ctx.client)} (--bucket is the analysis bucket: the PipelineName of its blueprint, or the stack's neurocaas:bucketName)`,
        { cause: err },
      );
    case "InvalidAccessKeyId":
    case "SignatureDoesNotMatch":
      return new Error(
        `${where} did not accept the credentials (${errorName(err)}): check --profile or $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY`,
        { cause: err },
      );
    case "AccessDenied":
      return new Error(
        `access denied by ${where} in bucket "${ctx.bucket}": check --bucket and --group (your group's folder), and that your credentials belong to that group`,
        { cause: err },
      );
    default:
      return err;
  }
}

/** Run a user command's S3 work, rethrowing errors through `explainS3Error`. */
export async function withS3Errors<T>(ctx: S3ErrorContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw await explainS3Error(err, ctx);
  }
}
