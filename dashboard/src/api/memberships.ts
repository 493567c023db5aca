import type { S3Client } from "@aws-sdk/client-s3";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { DashboardAnalysis, DashboardConfig } from "../../../model/dashboard-config";
import { httpStatus } from "./s3";

export interface Membership {
  readonly bucket: string;
  readonly group: string;
  /** Cognito: the role to take for this group. */
  readonly roleArn?: string;
}

/**
 * The (analysis, group) pairs a key may use: users may list only their own group folders, so a
 * one-key listing of each folder tells (403 for the others). Analyses in config.json order.
 */
export async function probeMemberships(
  analyses: readonly DashboardAnalysis[],
  clientFor: (a: DashboardAnalysis) => S3Client,
): Promise<Membership[]> {
  const checks = analyses.flatMap((a) => a.groups.map((group) => ({ a, group })));
  const results = await Promise.all(
    checks.map(async ({ a, group }) => {
      try {
        await clientFor(a).send(new ListObjectsV2Command({ Bucket: a.bucket, Prefix: `${group}/`, MaxKeys: 1 }));
        return true;
      } catch (err) {
        const name = (err as { name?: string }).name ?? "";
        if (name === "InvalidAccessKeyId" || name === "InvalidClientTokenId")
          throw new Error("this access key is not known here: check the access key id", { cause: err });
        if (name === "SignatureDoesNotMatch")
          throw new Error("the secret key does not match the access key id", { cause: err });
        const status = httpStatus(err);
        if (status === 403 || status === 404) return false;
        throw err;
      }
    }),
  );
  return checks.filter((_, i) => results[i]).map(({ a, group }) => ({ bucket: a.bucket, group }));
}

/** The hex SHA-256 of an access key id (as config.json names local keys); undefined outside a secure context. */
async function accessKeyDigest(accessKeyId: string): Promise<string | undefined> {
  if (typeof crypto === "undefined" || !crypto.subtle) return undefined;
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessKeyId)));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The memberships config.json lists for this key (local mode), or undefined when it lists none
 * (then the caller probes). Pairs of analyses the dashboard does not serve are dropped.
 */
export async function listedMemberships(
  config: DashboardConfig,
  accessKeyId: string,
): Promise<Membership[] | undefined> {
  const table = config.signIn.keys?.memberships;
  const digest = table ? await accessKeyDigest(accessKeyId) : undefined;
  const entry = digest !== undefined ? table?.[digest] : undefined;
  if (entry === undefined) return undefined;
  const all = config.analyses.flatMap((a) => a.groups.map((group) => ({ bucket: a.bucket, group })));
  return entry === "all" ? all : all.filter((m) => entry.some((e) => e.bucket === m.bucket && e.group === m.group));
}
