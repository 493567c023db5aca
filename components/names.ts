import { createHash } from "node:crypto";

/** AWS name limits this project's names must fit (SPEC §8). */
export const NAME_LIMITS = {
  lambdaFunction: 64,
  iamRole: 64,
  iamGroup: 128,
  iamPolicy: 128,
  iamUser: 64,
  eventRule: 64,
  sqsQueue: 80,
  instanceProfile: 128,
} as const;

/**
 * `{base}-{suffix}` when it fits in `limit`, otherwise the base shortened and made unique with
 * a short hash of the full name, so long analysis names still yield valid, stable names.
 */
export function fitName(base: string, suffix: string, limit: number): string {
  const full = `${base}-${suffix}`;
  if (full.length <= limit) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  const room = limit - suffix.length - hash.length - 2;
  if (room < 1) throw new Error(`Cannot fit name "${full}" into ${limit} characters`);
  return `${base.slice(0, room)}-${hash}-${suffix}`;
}

/**
 * IAM group of one affiliate in one analysis: `{analysis}.{affiliate}`. Analysis names never
 * contain ".", so the pair is unambiguous; a user in several analyses is in several groups.
 */
export function affiliateGroupName(analysis: string, affiliate: string): string {
  return `${analysis}.${affiliate}`;
}

/** IAM user of a NeuroCAAS user in one region (the original's convention). */
export function iamUserName(user: string, region: string): string {
  return `${user}${region}`;
}

/**
 * Physical names of an analysis' resources, all derived from the analysis (PipelineName) — except
 * the bucket, which a stack may name apart (`neurocaas:bucketName`: bucket names are global across
 * AWS accounts, the other names only per account).
 */
export function analysisNames(analysis: string, bucket: string = analysis) {
  return {
    bucket,
    jobManagerFunction: fitName(analysis, "job-manager", NAME_LIMITS.lambdaFunction),
    monitorFunction: fitName(analysis, "monitor", NAME_LIMITS.lambdaFunction),
    postprocessFunction: fitName(analysis, "postprocess", NAME_LIMITS.lambdaFunction),
    jobManagerRole: fitName(analysis, "job-manager", NAME_LIMITS.iamRole),
    monitorRole: fitName(analysis, "monitor", NAME_LIMITS.iamRole),
    postprocessRole: fitName(analysis, "postprocess", NAME_LIMITS.iamRole),
    iaeRole: fitName(analysis, "iae", NAME_LIMITS.iamRole),
    iaeInstanceProfile: fitName(analysis, "iae", NAME_LIMITS.instanceProfile),
    monitorRule: fitName(`neurocaas-${analysis}`, "ec2-state", NAME_LIMITS.eventRule),
    queueSweepRule: fitName(`neurocaas-${analysis}`, "queue-sweep", NAME_LIMITS.eventRule),
    deadLetterQueue: fitName(analysis, "failed-invocations", NAME_LIMITS.sqsQueue),
    logGroup: (fn: string) => `/aws/lambda/${fn}`,
  };
}
