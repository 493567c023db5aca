/** The job manager's entry point (submit Lambda and local mode): one job per created `*submit.json`. */
import type { ProtocolDeps } from "./deps";
import { createSubmission } from "./protocol-registry";
import { createdObjects, type S3NotificationEvent } from "./s3-event";
import type { JobOutcome } from "./submission";

export interface SubmitReport {
  /** 0 when every submit file started a job (or was a repeat of one that did), else 99. */
  readonly exitCode: 0 | 99;
  readonly jobs: readonly JobOutcome[];
}

/** Job manager: one job per `*submit.json` record of the event, in order. */
export async function runSubmit(event: S3NotificationEvent, deps: ProtocolDeps): Promise<SubmitReport> {
  const jobs: JobOutcome[] = [];
  for (const target of createdObjects(event)) jobs.push(await createSubmission(deps, target).run());
  const exitCode = jobs.length > 0 && jobs.every((j) => j.exitCode === 0) ? 0 : 99;
  return { exitCode, jobs };
}
