/**
 * S3's conditional writes (`If-None-Match: *`, `If-Match: "etag"`) decided against the current
 * ETag of the key (undefined: no such key), as S3 answers them. s3rver ignores these headers; the
 * local endpoint applies this rule under its per-key write lock.
 */
import { s3Failure, type S3Failure } from "./s3-errors";

export function preconditionFailure(
  ifNoneMatch: string | undefined,
  ifMatch: string | undefined,
  current: string | undefined,
): S3Failure | undefined {
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() === "*" && current !== undefined) {
    return s3Failure(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
  }
  if (ifMatch !== undefined) {
    if (current === undefined) return s3Failure(404, "NoSuchKey", "The specified key does not exist.");
    if (ifMatch.trim() !== "*" && normalizeEtag(ifMatch) !== normalizeEtag(current)) {
      return s3Failure(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
    }
  }
  return undefined;
}

function normalizeEtag(etag: string): string {
  return etag.trim().replace(/^W\//, "").replace(/^"|"$/g, "");
}
