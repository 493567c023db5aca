/**
 * Which IAM permissions an S3 REST request needs, as AWS evaluates them
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html):
 * ListObjects/ListObjectsV2 and HeadBucket → s3:ListBucket on the bucket with the condition keys
 * s3:prefix / s3:delimiter / s3:max-keys present exactly when the request carries them; HEAD and
 * GET of an object → s3:GetObject; multipart create/upload/complete → s3:PutObject; CopyObject
 * (and UploadPartCopy) → s3:GetObject on the source and s3:PutObject on the target;
 * DeleteObjects → s3:DeleteObject per key (answered per key).
 */
import type { ContextValue } from "./iam-eval";

/** One permission a request needs: an action on a bucket or an object. */
export interface PermissionCheck {
  readonly action: string;
  /** "" for an action on no particular bucket (ListAllMyBuckets). */
  readonly bucket: string;
  /** Object key; undefined for a bucket-level permission. */
  readonly key?: string;
  readonly context: Readonly<Record<string, ContextValue>>;
}

export interface S3Operation {
  /** S3 API name, e.g. `ListObjectsV2`. */
  readonly name: string;
  /** Every permission the request needs (DeleteObjects: none here, one per key in its body). */
  readonly checks: readonly PermissionCheck[];
  /** Copy source, validated like any key. */
  readonly copySource?: { readonly bucket: string; readonly key: string; readonly versionId?: string };
}

export type Query = Readonly<Record<string, string | readonly string[]>>;

function has(query: Query, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(query, name);
}

function first(query: Query, name: string): string | undefined {
  const v = query[name];
  return v === undefined ? undefined : typeof v === "string" ? v : v[0];
}

/** Bucket-level subresource → [GET, PUT, DELETE] action. */
const BUCKET_SUBRESOURCES: Readonly<
  Record<string, readonly [string | undefined, string | undefined, string | undefined]>
> = {
  acl: ["s3:GetBucketAcl", "s3:PutBucketAcl", undefined],
  cors: ["s3:GetBucketCORS", "s3:PutBucketCORS", "s3:PutBucketCORS"],
  encryption: ["s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration", "s3:PutEncryptionConfiguration"],
  lifecycle: ["s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:PutLifecycleConfiguration"],
  location: ["s3:GetBucketLocation", undefined, undefined],
  logging: ["s3:GetBucketLogging", "s3:PutBucketLogging", undefined],
  notification: ["s3:GetBucketNotification", "s3:PutBucketNotification", undefined],
  policy: ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
  policyStatus: ["s3:GetBucketPolicyStatus", undefined, undefined],
  publicAccessBlock: [
    "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
  ],
  replication: ["s3:GetReplicationConfiguration", "s3:PutReplicationConfiguration", "s3:PutReplicationConfiguration"],
  requestPayment: ["s3:GetBucketRequestPayment", "s3:PutBucketRequestPayment", undefined],
  tagging: ["s3:GetBucketTagging", "s3:PutBucketTagging", "s3:PutBucketTagging"],
  uploads: ["s3:ListBucketMultipartUploads", undefined, undefined],
  versioning: ["s3:GetBucketVersioning", "s3:PutBucketVersioning", undefined],
  versions: ["s3:ListBucketVersions", undefined, undefined],
  website: ["s3:GetBucketWebsite", "s3:PutBucketWebsite", "s3:DeleteBucketWebsite"],
  "object-lock": ["s3:GetBucketObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration", undefined],
  ownershipControls: [
    "s3:GetBucketOwnershipControls",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketOwnershipControls",
  ],
  accelerate: ["s3:GetAccelerateConfiguration", "s3:PutAccelerateConfiguration", undefined],
  analytics: ["s3:GetAnalyticsConfiguration", "s3:PutAnalyticsConfiguration", "s3:PutAnalyticsConfiguration"],
  inventory: ["s3:GetInventoryConfiguration", "s3:PutInventoryConfiguration", "s3:PutInventoryConfiguration"],
  metrics: ["s3:GetMetricsConfiguration", "s3:PutMetricsConfiguration", "s3:PutMetricsConfiguration"],
};

/** Object-level subresource → [GET, PUT, DELETE] action. */
const OBJECT_SUBRESOURCES: Readonly<
  Record<string, readonly [string | undefined, string | undefined, string | undefined]>
> = {
  acl: ["s3:GetObjectAcl", "s3:PutObjectAcl", undefined],
  tagging: ["s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObjectTagging"],
  retention: ["s3:GetObjectRetention", "s3:PutObjectRetention", undefined],
  "legal-hold": ["s3:GetObjectLegalHold", "s3:PutObjectLegalHold", undefined],
  torrent: ["s3:GetObject", undefined, undefined],
  attributes: ["s3:GetObject", undefined, undefined],
};

/** Listing condition keys: present exactly when the request has the parameter (AWS does not default them). */
function listContext(query: Query): Record<string, string> {
  const context: Record<string, string> = {};
  const prefix = first(query, "prefix");
  const delimiter = first(query, "delimiter");
  const maxKeys = first(query, "max-keys");
  if (prefix !== undefined) context["s3:prefix"] = prefix;
  if (delimiter !== undefined) context["s3:delimiter"] = delimiter;
  if (maxKeys !== undefined) context["s3:max-keys"] = maxKeys;
  return context;
}

/** `x-amz-copy-source` (`/bucket/key?versionId=...`, URL-encoded) → bucket, key, version. */
function parseCopySource(header: string): S3Operation["copySource"] | undefined {
  const [source, query] = header.split("?", 2);
  let decoded: string;
  try {
    decoded = decodeURIComponent(source);
  } catch {
    return undefined;
  }
  const trimmed = decoded.replace(/^\//, "");
  const slash = trimmed.indexOf("/");
  if (slash <= 0 || slash === trimmed.length - 1) return undefined;
  const versionId = query === undefined ? undefined : (new URLSearchParams(query).get("versionId") ?? undefined);
  return {
    bucket: trimmed.slice(0, slash),
    key: trimmed.slice(slash + 1),
    ...(versionId !== undefined ? { versionId } : {}),
  };
}

/**
 * The S3 operation of a path-style request and the permissions it needs, or undefined when the
 * endpoint does not know the operation (then only an unrestricted principal may send it).
 */
export function classifyRequest(
  method: string,
  bucket: string,
  key: string,
  query: Query,
  headers: Readonly<Record<string, string | undefined>>,
): S3Operation | undefined {
  const m = method.toUpperCase();
  const check = (action: string, k?: string, context: Record<string, ContextValue> = {}): PermissionCheck => ({
    action,
    bucket,
    ...(k !== undefined ? { key: k } : {}),
    context,
  });
  if (bucket === "") {
    return m === "GET" || m === "HEAD"
      ? { name: "ListBuckets", checks: [{ action: "s3:ListAllMyBuckets", bucket: "", context: {} }] }
      : undefined;
  }
  if (key === "") {
    const sub = Object.keys(BUCKET_SUBRESOURCES).find((name) => has(query, name));
    if (m === "POST") {
      if (has(query, "delete")) return { name: "DeleteObjects", checks: [] };
      return undefined; // browser form upload (POST Object): refused by the endpoint
    }
    if (sub !== undefined) {
      const [get, put, del] = BUCKET_SUBRESOURCES[sub];
      const action = m === "GET" || m === "HEAD" ? get : m === "PUT" ? put : m === "DELETE" ? del : undefined;
      return action === undefined ? undefined : { name: `${m}Bucket:${sub}`, checks: [check(action)] };
    }
    if (m === "GET")
      return {
        name: first(query, "list-type") === "2" ? "ListObjectsV2" : "ListObjects",
        checks: [check("s3:ListBucket", undefined, listContext(query))],
      };
    if (m === "HEAD") return { name: "HeadBucket", checks: [check("s3:ListBucket")] };
    if (m === "PUT") return { name: "CreateBucket", checks: [check("s3:CreateBucket")] };
    if (m === "DELETE") return { name: "DeleteBucket", checks: [check("s3:DeleteBucket")] };
    return undefined;
  }

  const versionId = first(query, "versionId");
  const sub = Object.keys(OBJECT_SUBRESOURCES).find((name) => has(query, name));
  if (sub !== undefined) {
    const [get, put, del] = OBJECT_SUBRESOURCES[sub];
    const action = m === "GET" || m === "HEAD" ? get : m === "PUT" ? put : m === "DELETE" ? del : undefined;
    return action === undefined
      ? undefined
      : {
          name: `${m}Object:${sub}`,
          checks: [check(versionId !== undefined && action === "s3:GetObject" ? "s3:GetObjectVersion" : action, key)],
        };
  }
  const uploadId = has(query, "uploadId");
  switch (m) {
    case "GET":
    case "HEAD":
      if (uploadId) return { name: "ListParts", checks: [check("s3:ListMultipartUploadParts", key)] };
      return {
        name: m === "GET" ? "GetObject" : "HeadObject",
        checks: [check(versionId !== undefined ? "s3:GetObjectVersion" : "s3:GetObject", key)],
      };
    case "PUT": {
      const checks = [check("s3:PutObject", key)];
      if (headers["x-amz-tagging"] !== undefined) checks.push(check("s3:PutObjectTagging", key));
      if (headers["x-amz-acl"] !== undefined || Object.keys(headers).some((h) => h.startsWith("x-amz-grant-")))
        checks.push(check("s3:PutObjectAcl", key));
      const copy = headers["x-amz-copy-source"];
      if (copy === undefined) return { name: uploadId ? "UploadPart" : "PutObject", checks };
      const copySource = parseCopySource(copy);
      if (copySource === undefined) return { name: "CopyObject", checks, copySource: { bucket: "", key: "" } };
      checks.unshift({
        action: copySource.versionId !== undefined ? "s3:GetObjectVersion" : "s3:GetObject",
        bucket: copySource.bucket,
        key: copySource.key,
        context: {},
      });
      return { name: uploadId ? "UploadPartCopy" : "CopyObject", checks, copySource };
    }
    case "POST":
      if (has(query, "uploads")) return { name: "CreateMultipartUpload", checks: [check("s3:PutObject", key)] };
      if (uploadId) return { name: "CompleteMultipartUpload", checks: [check("s3:PutObject", key)] };
      if (has(query, "restore")) return { name: "RestoreObject", checks: [check("s3:RestoreObject", key)] };
      if (has(query, "select")) return { name: "SelectObjectContent", checks: [check("s3:GetObject", key)] };
      return undefined;
    case "DELETE":
      if (uploadId) return { name: "AbortMultipartUpload", checks: [check("s3:AbortMultipartUpload", key)] };
      return {
        name: "DeleteObject",
        checks: [check(versionId !== undefined ? "s3:DeleteObjectVersion" : "s3:DeleteObject", key)],
      };
    default:
      return undefined;
  }
}
