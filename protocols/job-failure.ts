/** The job manager's failure messages (SPEC 4.1: every reason in words a user can act on). */
import { LaunchError } from "./compute";
import { JobError, errorMessage, isAwsError } from "./errors";
import type { JobRecord, SubmissionIdentity } from "./job-record";
import type { BucketUnavailableError } from "./storage";

/** How a step failed, as its certificate line says it. */
export interface StepFailure {
  readonly kind: "AWS" | "INTERNAL";
  readonly message: string;
  /** Lines written before the step line (e.g. every problem found). */
  readonly details: readonly string[];
}

export function stepFailure(err: unknown): StepFailure {
  if (err instanceof JobError) return { kind: err.kind, message: err.message, details: err.details };
  return { kind: isAwsError(err) ? "AWS" : "INTERNAL", message: errorMessage(err), details: [] };
}

/** A launch that could not start every IAE, in words (the compute backend says which limit). */
export function launchFailure(err: unknown): JobError {
  if (err instanceof JobError) return err;
  if (err instanceof LaunchError) {
    const words: Record<LaunchError["kind"], string> = {
      capacity:
        "AWS has no free capacity for this instance type right now (InsufficientInstanceCapacity). Try again later or choose another instance type.",
      "vcpu-limit":
        "The account's vCPU quota for this instance family is used up (VcpuLimitExceeded). Try again when other jobs have finished, or contact NeuroCAAS administrator.",
      throttled: "AWS refused more instance requests for now (RequestLimitExceeded). Try again in a few minutes.",
      "instance-limit":
        "The account's instance limit is reached (InstanceLimitExceeded). Contact NeuroCAAS administrator.",
      "invalid-request": `The analysis could not start IAEs: ${err.message}. Contact NeuroCAAS administrator.`,
      service: `AWS failed to start the IAEs: ${err.message}. Try again later.`,
    };
    return new JobError(words[err.kind], "AWS", [], { cause: err });
  }
  return new JobError(`Could not start the IAEs: ${errorMessage(err)}`, isAwsError(err) ? "AWS" : "INTERNAL");
}

export function bucketUnavailableMessage(err: BucketUnavailableError, what: string): string {
  return `The storage bypass bucket ${err.bucket} does not exist or NeuroCAAS may not use it (${err.code}), so NeuroCAAS could not ${what} it. Check the bucket name, or ask the administrator to list it in neurocaas:bypassBuckets and grant access.`;
}

/** Why a job name is taken, from the record that holds it. */
export function takenBy(other: JobRecord | undefined, identity: SubmissionIdentity): string {
  if (other && other.submission.key === identity.key && other.submission.sha256 === identity.sha256) {
    return `the same submit file was uploaded again (that job ${other.state === "rejected" ? "was rejected" : "already ran or is running"})`;
  }
  return `another submission (${other?.submission.key ?? "unknown"}) already uses it`;
}

export function takenTimestamp(jobName: string, why: string): JobError {
  return new JobError(
    `The timestamp of this submission is already used by job ${jobName}: ${why}. Choose a new, unique timestamp.`,
  );
}

export const CHANGED_WHILE_INTERRUPTED =
  "The job's inputs or settings changed while its job manager was interrupted, so its IAEs could not be resumed as planned; submit the job again with a new timestamp.";
