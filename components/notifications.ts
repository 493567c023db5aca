import type { Affiliate, PostProcessing, Stage } from "../model/blueprint/types";

/**
 * The S3 triggers of an analysis (pure): what the bucket's notification configuration sends to
 * the job manager and the post-processing Lambda. The Pulumi component deploys exactly these
 * filters and local mode routes object-created events through the same ones, so a key that
 * starts a job locally is one that starts a job on AWS.
 */

const SUBMIT_SUFFIX = "submit.json";

/** One S3 notification entry, as `BucketNotification.lambdaFunctions` takes it. */
export interface NotificationFilter {
  readonly target: "job-manager" | "postprocess";
  readonly filterPrefix?: string;
  readonly filterSuffix: string;
}

/** What the triggers depend on (both the blueprint and the runtime config carry it). */
export interface NotificationSource {
  readonly stage: Stage;
  readonly affiliates: readonly Pick<Affiliate, "AffiliateName" | "UserInput">[];
  readonly postProcessing?: Pick<PostProcessing, "PostTrigger">;
}

/**
 * webdev: one per affiliate under its `submissions/` (or `results/` when `UserInput` is false);
 * websubstack: any key ending in `submit.json`. Post-processing: result files named `PostTrigger`
 * under a job's `process_results/`.
 */
export function notificationFiltersFor(src: NotificationSource): NotificationFilter[] {
  const filters: NotificationFilter[] =
    src.stage === "webdev"
      ? src.affiliates.map((a) => ({
          target: "job-manager" as const,
          filterPrefix: `${a.AffiliateName}/${a.UserInput ? "submissions" : "results"}/`,
          filterSuffix: SUBMIT_SUFFIX,
        }))
      : [{ target: "job-manager", filterSuffix: SUBMIT_SUFFIX }];
  const post = src.postProcessing;
  if (post !== undefined) filters.push({ target: "postprocess", filterSuffix: `process_results/${post.PostTrigger}` });
  return filters;
}

/** S3's rule: the object key starts with the prefix and ends with the suffix. */
function matchesNotificationFilter(filter: NotificationFilter, key: string): boolean {
  return (
    (filter.filterPrefix === undefined || key.startsWith(filter.filterPrefix)) && key.endsWith(filter.filterSuffix)
  );
}

/** The Lambda an object-created event of `key` is delivered to, if any. */
export function notificationTarget(
  filters: readonly NotificationFilter[],
  key: string,
): NotificationFilter["target"] | undefined {
  return filters.find((f) => matchesNotificationFilter(f, key))?.target;
}
