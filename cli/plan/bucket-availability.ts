import * as fs from "node:fs";
import * as path from "node:path";
import { HeadBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { homeDirectory } from "../home";

/**
 * Bucket names are global across all AWS accounts: a stack whose bucket name (`neurocaas:bucketName`,
 * by default the `PipelineName`) is taken fails on its first `pulumi up`. With credentials,
 * `neurocaas plan` asks S3 about every bucket the stack would create (HeadBucket: no data is read)
 * and says what to do.
 */

type BucketStatus = "available" | "exists-accessible" | "taken" | "unknown";

export interface BucketAvailability {
  readonly bucket: string;
  readonly status: BucketStatus;
  readonly message: string;
}

/** Whether the environment names AWS credentials explicitly (the plan never probes instance metadata). */
export function hasAwsCredentials(env: NodeJS.ProcessEnv = process.env, home = homeDirectory(env)): boolean {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return true;
  if (env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE) return true;
  const file = env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(home, ".aws", "credentials");
  return fs.existsSync(file);
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

const RENAME = "set neurocaas:bucketName to a free name (the PipelineName stays the analysis' name)";

/**
 * One HeadBucket per bucket, answered in words an administrator can act on. `resourceNames`: the
 * Pulumi resource name of each bucket (as `neurocaas plan` lists it), for the import command.
 */
export async function checkBucketAvailability(
  client: S3Client,
  buckets: readonly string[],
  resourceNames: Readonly<Record<string, string>> = {},
): Promise<BucketAvailability[]> {
  const out: BucketAvailability[] = [];
  for (const bucket of buckets) {
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
      out.push({
        bucket,
        status: "exists-accessible",
        message: `bucket ${bucket} already exists and these credentials can reach it (this account's): adopt it with \`pulumi import aws:s3/bucket:Bucket ${resourceNames[bucket] ?? "<resource name>"} ${bucket}\` before the first up (README "Adopting an existing bucket"), or ${RENAME}`,
      });
    } catch (err) {
      const code = statusOf(err);
      if (code === 404) out.push({ bucket, status: "available", message: `bucket ${bucket} is available` });
      else if (code === 403 || code === 301) {
        out.push({
          bucket,
          status: "taken",
          message: `bucket ${bucket} exists in another account${code === 301 ? " or region" : ""} (S3 answered ${code}): the first up would fail; ${RENAME}`,
        });
      } else
        out.push({ bucket, status: "unknown", message: `could not check bucket ${bucket}: ${(err as Error).message}` });
    }
  }
  return out;
}
