import type { StackValidationPolicy } from "@pulumi/policy";
import { P } from "./props";
import { isKind, knownOrUndefined, runtimeConfigOf, str } from "./resources";
import { bucketsOf, pointsAt } from "./s3";

/**
 * S3 keeps a single notification configuration per bucket: a second BucketNotification silently
 * replaces the first (and the job trigger with it). Every analysis bucket needs exactly one.
 */
export const oneNotificationPerBucket: StackValidationPolicy = {
  name: "neurocaas-one-notification-per-bucket",
  description: "Exactly one S3 notification configuration per analysis bucket (at most one per any bucket).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const buckets = bucketsOf(args.resources);
    const canonical = (ref: string) => buckets.find((b) => b.refs.has(ref))?.name ?? ref;
    const byBucket = new Map<string, string[]>();
    for (const r of args.resources) {
      if (!isKind(r.type, "notification")) continue;
      const ref = knownOrUndefined(() => str(r.props, P.subresourceBucket));
      const key = ref !== undefined ? canonical(ref) : buckets.find((b) => pointsAt(r, b))?.name;
      if (!key) continue;
      byBucket.set(key, [...(byBucket.get(key) ?? []), r.urn]);
    }
    for (const [bucket, urns] of byBucket) {
      if (urns.length > 1) {
        report(
          `Bucket '${bucket}' has ${urns.length} notification configurations; S3 keeps only the last one applied.`,
          urns[1],
        );
      }
    }
    const analysisBuckets = new Set<string>();
    for (const r of args.resources) {
      if (!isKind(r.type, "lambda")) continue;
      const rc = runtimeConfigOf(r.props);
      if (rc && !(rc instanceof Error) && typeof rc.bucketName === "string")
        analysisBuckets.add(canonical(rc.bucketName));
    }
    for (const bucket of analysisBuckets) {
      if (!byBucket.has(bucket)) {
        const urn = buckets.find((b) => b.name === bucket)?.resource.urn;
        report(
          `Analysis bucket '${bucket}' has no notification configuration; submit files would never start a job.`,
          urn,
        );
      }
    }
  },
};

export const stackPolicies = [oneNotificationPerBucket];
