/**
 * A submission rejected at step 1 (its timestamp unusable or taken) is reported in a folder of its
 * own — `{group}/results/job__{analysis}_{stem}_rejected-{id}` — never in a real job's folder.
 */
import { SHUTDOWN_LINE, stepErrorLine, type CertificateLog } from "./certificate";
import { UNCHANGED, updateObject } from "./conditional-update";
import type { ProtocolDeps } from "./deps";
import { createRecord } from "./job-claim";
import { stepFailure } from "./job-failure";
import { sameSubmission, sha256, type JobRecord, type SubmissionIdentity } from "./job-record";
import { certificateKey } from "../model/layout";

export interface RejectionArgs {
  readonly deps: Pick<ProtocolDeps, "store" | "clock" | "log">;
  /** The analysis bucket: rejection records live under its `logs/_jobs/` like job records. */
  readonly bucket: string;
  readonly group: string;
  readonly identity: SubmissionIdentity;
  /** The job folder's name for a stem (`job__{analysis}_{stem}`). */
  readonly jobName: (stem: string) => string;
  /** The folder and record of a job name in the group's own results folder. */
  readonly folderOf: (jobName: string) => {
    readonly outputBucket: string;
    readonly jobFolder: string;
    readonly recordKey: string;
  };
  readonly cert: CertificateLog;
  readonly attempts: number;
}

export interface Rejection {
  readonly outputBucket: string;
  readonly jobFolder: string;
  readonly reason: string;
  /** A redelivery of an upload whose rejection was already reported. */
  readonly duplicate: boolean;
}

/**
 * Report `error` at step 1 in the folder `{stem}_rejected-{id}`, where the id derives from the
 * submission (file, text and upload), so every rejected upload gets its own certificate, and a
 * redelivery of the same upload finds its rejection done. The folder is claimed like a job folder
 * (a record created with If-None-Match), so it can never be a real job's: a job whose timestamp
 * happens to produce the same name is refused.
 */
export async function rejectInOwnFolder(a: RejectionArgs, stem: string, error: unknown): Promise<Rejection> {
  const { message, details } = stepFailure(error);
  // `{digest8}-{upload8}`: clients that know what they uploaded find their rejections by the
  // prefix `rejectedJobFolder(jobFolder, digest)`; the upload part keeps each upload's own.
  const id = `${a.identity.sha256.slice(0, 8)}-${sha256(JSON.stringify(a.identity)).slice(0, 8)}`;
  const { store } = a.deps;
  for (let attempt = 0; attempt < 5; attempt++) {
    const jobName = a.jobName(`${stem}_rejected-${id}${attempt > 0 ? `-${attempt}` : ""}`);
    const loc = a.folderOf(jobName);
    const now = a.deps.clock.now().toISOString();
    const record: JobRecord = {
      version: 1,
      submission: a.identity,
      group: a.group,
      jobName,
      outputBucket: loc.outputBucket,
      jobFolder: loc.jobFolder,
      state: "rejected",
      exitCode: 99,
      instances: [],
      created: now,
      updated: now,
    };
    const taken = await createRecord(store, a.bucket, loc.recordKey, record);
    if (taken && (!taken.other || !sameSubmission(taken.other, a.identity))) continue; // another job's name: the next one
    const mine = !taken; // else a redelivery: finish what the earlier attempt may not have written
    const rejection: Rejection = {
      outputBucket: loc.outputBucket,
      jobFolder: loc.jobFolder,
      reason: message,
      duplicate: !mine,
    };
    if (!mine && (await store.exists(loc.outputBucket, certificateKey(loc.jobFolder)))) return rejection;
    for (const d of details) a.cert.append(d);
    a.cert.append(stepErrorLine(1, "INTERNAL", message));
    a.cert.append(SHUTDOWN_LINE);
    await updateObject(
      { store, bucket: loc.outputBucket, key: certificateKey(loc.jobFolder), attempts: a.attempts },
      (current) => (current ? UNCHANGED : a.cert.render()),
    );
    a.deps.log?.(`job manager: ${a.identity.key} rejected at step 1 (${message}); certificate in ${loc.jobFolder}`);
    return rejection;
  }
  throw new Error(`no free rejection folder for ${a.identity.key}`);
}
