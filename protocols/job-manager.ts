/** The job manager's entry point (submit Lambda and local mode): one job per created `*submit.json`. */
import type { ProtocolDeps } from "./deps";
import { createSubmission } from "./protocol-registry";
import { createdObjects, type S3NotificationEvent } from "./s3-event";
import { recordSubmissionSpend } from "./spend-summary-writer";
import type { JobOutcome } from "./submission";

export interface SubmitReport {
  /** 0 when every submit file started a job (or was a repeat of one that did), else 99. */
  readonly exitCode: 0 | 99;
  readonly jobs: readonly JobOutcome[];
}

/** Job manager: one job per `*submit.json` record of the event, in order. */
export async function runSubmit(event: S3NotificationEvent, deps: ProtocolDeps): Promise<SubmitReport> {
  const jobs: JobOutcome[] = [];
  for (const target of createdObjects(event)) {
    const outcome = await createSubmission(deps, target).run();
    jobs.push(outcome);
    // The group's spend summary, from what the budget check saw (not for a repeated delivery).
    if (outcome.spend && !outcome.duplicate)
      await recordSubmissionSpend(deps, outcome.spend, outcome.exitCode === 0 && outcome.instanceIds.length > 0);
  }
  const exitCode = jobs.length > 0 && jobs.every((j) => j.exitCode === 0) ? 0 : 99;
  return { exitCode, jobs };
}
