import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { mapBounded } from "../../protocols/concurrency";
import { sha256 } from "../../protocols/job-record";
import { newJobId, validateJobId } from "../../model/job-id";
import { ProgressBar } from "./progress";
import { planSubmission, submitFileBody, submitFileKey, type SubmissionPlan } from "./submission";
import { uploadFile } from "../transfer";

export interface SubmitJobArgs {
  readonly client: S3Client;
  readonly bucket: string;
  readonly group: string;
  readonly data: readonly string[];
  readonly config: string;
  readonly timestamp?: string;
  /** Where progress bars go (drawn only if it is a TTY). */
  readonly progressStream?: NodeJS.WriteStream;
}

export interface SubmittedJob {
  readonly jobId: string;
  readonly submitKey: string;
  /** SHA-256 of the submit file as uploaded (names the folder of a rejected duplicate timestamp). */
  readonly submitDigest: string;
  readonly plan: SubmissionPlan;
}

/** Files uploaded at once (each a multipart upload of its own parts in parallel). */
const UPLOADS_AT_ONCE = 4;

/** Upload local inputs (concurrently, multipart for big files), then write the submit file last. */
export async function submitJob(args: SubmitJobArgs): Promise<SubmittedJob> {
  const jobId = validateJobId(args.timestamp ?? newJobId());
  const plan = await planSubmission({ group: args.group, data: args.data, config: args.config });
  await mapBounded(
    plan.uploads,
    UPLOADS_AT_ONCE,
    async (u) => {
      const bar = args.progressStream
        ? new ProgressBar({ stream: args.progressStream, label: u.key, total: u.size })
        : undefined;
      await uploadFile({
        client: args.client,
        bucket: args.bucket,
        key: u.key,
        localPath: u.localPath,
        onProgress: (n) => bar?.update(n),
      });
      bar?.finish();
    },
    { stopOnError: true },
  );
  const submitKey = submitFileKey(args.group, jobId);
  const body = JSON.stringify(submitFileBody(plan, jobId), null, 2);
  await args.client.send(
    new PutObjectCommand({ Bucket: args.bucket, Key: submitKey, Body: body, ContentType: "application/json" }),
  );
  return { jobId, submitKey, submitDigest: sha256(body), plan };
}
