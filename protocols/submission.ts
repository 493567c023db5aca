import type { ProtocolName } from "../model/blueprint/types";
import { CertificateLog, SHUTDOWN_LINE, stepDoneLine, stepErrorLine, type StepNumber } from "./certificate";
import { fillCommand } from "./command-template";
import { finishJobIfDone, writeEndMarker } from "./completion";
import { IAE_TAGS, tagValue, type IaeDescription } from "./compute";
import { mapBounded } from "./concurrency";
import { updateObject } from "./conditional-update";
import { renderDatasetStatus, type DatasetStatusName } from "./dataset-status";
import { limitsOf, type ProtocolDeps, type ProtocolLimits } from "./deps";
import { JobError, errorMessage } from "./errors";
import { checkJobBudget, releaseJobBudget, reserveJobBudget, type BudgetApproval } from "./job-budget";
import { cancelJob, stopCancelledJob, CANCELLED_BY_USER } from "./job-cancel";
import {
  acquireStartGate,
  closeWaitingJob,
  dequeue,
  drainQueue,
  enqueue,
  releaseStartGate,
  isQueueableLaunchFailure,
  launchCause,
  queueEntryOf,
  queueFull,
  readQueue,
} from "./job-queue";
import { queueLimitsOf } from "../model/queue-limits";
import { formatUsd } from "./budget";
import { JobClaim, LeaseLostError } from "./job-claim";
import type { JobConfig } from "./job-config";
import {
  bucketUnavailableMessage,
  CHANGED_WHILE_INTERRUPTED,
  stepFailure,
  takenBy,
  takenTimestamp,
} from "./job-failure";
import { checkInputsExist, readJobConfig } from "./job-inputs";
import { rejectInOwnFolder } from "./job-rejection";
import {
  launchBatches,
  launchRequestOf,
  launchToken,
  runLaunchCalls,
  runningIaesOfJob,
  sameLaunch,
  withBatchIds,
  writeActiveCostLogs,
  type IaePlan,
  type LaunchedPlan,
} from "./job-launch";
import {
  jobRecordKey,
  sha256,
  type IaeCommon,
  type JobRecord,
  type LaunchBatchRecord,
  type LaunchRecord,
  type LaunchTemplate,
  type SubmissionIdentity,
} from "./job-record";
import {
  activeCostLogKey,
  basename,
  boundedName,
  certificateKey,
  datasetLineName,
  datasetStatusKey,
  groupOfKey,
  isReservedGroupName,
  jobFolderName,
} from "../model/layout";
import { defaultInvocation, leaseOf, type Invocation } from "./lease";
import { keyOf } from "./s3-uri";
import type { SpendSnapshot } from "../model/spend-summary";
import { BucketUnavailableError, PreconditionFailedError } from "./storage";
import { MAX_TIMESTAMP_LENGTH, parseCancelFile, parseSubmitFile, type SubmitFile } from "./submit-file";
import { formatTime } from "./time-format";

export type { IaePlan } from "./job-launch";

/** Where a submit file was uploaded (key already URL-decoded). */
export interface SubmitTarget {
  readonly bucket: string;
  readonly key: string;
  /** Which upload triggered this delivery (S3 event `versionId` or `sequencer`), when the event says. */
  readonly upload?: string;
}

/** What one submit file led to. */
export interface JobOutcome {
  /** 0: job started; 99: rejected or failed. */
  readonly exitCode: 0 | 99;
  readonly submitKey: string;
  readonly protocol: ProtocolName;
  readonly outputBucket?: string;
  readonly jobFolder?: string;
  /** The same submission was already processed (or is being processed); nothing was done. */
  readonly duplicate?: boolean;
  /** This attempt took over a job whose earlier attempt is gone, and finished it. */
  readonly resumed?: boolean;
  /** The job waits in the analysis' queue (SPEC §11): the queue's drain starts it. */
  readonly queued?: boolean;
  /** A cancel request (`{"cancel": …}`) was carried out. */
  readonly cancelled?: boolean;
  /** What the budget check saw (absent when the job stopped before it): feeds the group's spend summary. */
  readonly spend?: SpendSnapshot;
  readonly reason?: string;
  readonly instanceIds: readonly string[];
}

/** Where the job lives, once the submit file is read. */
export interface JobLocation {
  readonly jobName: string;
  readonly outputBucket: string;
  /** Key prefix of the job folder, no trailing slash. */
  readonly jobFolder: string;
  readonly inputBucket: string;
  /** Placeholder 3: `results/job__…` or the bypass `s3://` URI of the job folder. */
  readonly resultFolderArgument: string;
  readonly recordKey: string;
}

/** Step 1's result: a valid submit file of a group, and its job, claimed by this attempt. */
export interface ReceivedJob {
  readonly group: string;
  readonly submit: SubmitFile;
  readonly location: JobLocation;
  /** SHA-256 of the submit file's text. */
  readonly submitDigest: string;
  /** The record of an earlier attempt this one took over, when resuming. */
  readonly resumedFrom?: JobRecord;
}

/** Step 2's result as the protocol hooks see it: inputs found, config read, instance type chosen. */
export interface ConfiguredJob extends ReceivedJob {
  /** Dataset keys in the input bucket, in submit order. */
  readonly datasets: readonly string[];
  /** Config key in the input bucket. */
  readonly configKey: string;
  readonly config: JobConfig;
  readonly instanceType: string;
}

/** Step 3's result: how the IAEs are launched. */
export interface JobEnvironment {
  /** On-demand USD per hour of the instance type (from the budget check). */
  readonly hourlyPrice: number;
  readonly volumeSizeGb: number;
  /** A "NeuroCAAS Save" job (spot capacity, on-demand fallback). */
  readonly spot: boolean;
  readonly plans: readonly IaePlan[];
}

/** Why a job waits when another job of the analysis is being started at this moment (it is started right after, if it fits). */
const STARTING_ANOTHER =
  "another job of this analysis is being started right now (jobs start one at a time, in arrival order)";

/** The longest rejection-folder stem derived from a submit file's name. */
const MAX_REJECTION_STEM_BYTES = 100;

/**
 * The job manager (SPEC §4): four steps, each logged to the certificate, each passing its typed
 * result to the next. Protocols subclass it and override a small surface:
 * - `checkConfig(job)`: problems with the config beyond the reserved keys (input checking, ensemble);
 * - `iaeCount(job)`: how many IAEs the job starts (default: one per dataset);
 * - `planIaes(job)`: one plan per IAE — dataset, config key, command (default: one per dataset);
 * - `launchGroupKey(plan)` / `instanceTagsFor(plan)`: which plans share a launch call, and the tags
 *   that differ between IAEs of one call;
 * with the helpers `note(message)` (a certificate line), `commandFor(job, dataset, configKey)` and
 * `deps`. Claiming the job (job-claim.ts), the budget (job-budget.ts), launching
 * (job-launch.ts) and failure messages (job-failure.ts) live in their own modules.
 *
 * Every effect is idempotent and resumable: the job record is claimed with a lease (the
 * invocation's deadline), the launch is recorded before each launch call (write-ahead) and the
 * instance ids as soon as it returns, so an attempt that takes over a job whose holder is gone
 * (a Lambda retry, a redelivery after the deadline, a restarted local server) adopts what was
 * already launched instead of starting it twice or leaving it behind.
 */
export class Submission {
  readonly protocol: ProtocolName = "default";
  private readonly limits: ProtocolLimits;
  private readonly cert: CertificateLog;
  private readonly invocation: Invocation;
  /** What the budget check saw (see JobOutcome.spend). */
  private spend?: SpendSnapshot;
  /** Whose job this is and where this attempt reports (step 1; moved to the group's own folder when a bypass bucket fails). */
  private placed?: { readonly group: string; readonly location: JobLocation };
  /** Whether this attempt may write in `location` (its own claim). */
  private ownsLocation = false;
  private claim?: JobClaim;
  /** IAEs started (or adopted) so far, and the active cost logs this attempt wrote: what a failure rolls back. */
  private readonly launched: LaunchedPlan[] = [];
  private readonly activeLogsWritten: string[] = [];
  /** What queueing this job did so far: a failure undoes it. */
  private enqueued = false;
  private reserved = false;

  constructor(
    protected readonly deps: ProtocolDeps,
    private readonly target: SubmitTarget,
  ) {
    this.limits = limitsOf(deps);
    const startedAt = deps.clock.now();
    this.invocation = deps.invocation ?? defaultInvocation(startedAt);
    this.cert = new CertificateLog(startedAt, () => deps.clock.now());
  }

  async run(): Promise<JobOutcome> {
    let step: StepNumber = 1;
    try {
      const received = await this.initialize();
      if ("exitCode" in received) return received;
      await this.stepDone(1);
      step = 2;
      const { job, approval, queueReason } = await this.validate(received);
      await this.stepDone(2);
      step = 3;
      const env = await this.setUpEnvironment(job, approval.hourlyPrice);
      await this.stepDone(3);
      step = 4;
      if ((await this.launch(job, env, approval, queueReason)) === "queued")
        return { ...this.outcome(job.location, 0), queued: true };
      await this.writeStatusFiles(job, env);
      this.finishCertificate(env);
      this.cert.append(stepDoneLine(4));
      await this.writeCertificate();
      const record = await this.ownClaim().update((r) => ({
        ...r,
        state: r.cancel ? "cancelled" : "started",
        exitCode: 0,
      }));
      // Cancelled while this attempt started it: nothing of it may run.
      if (record.cancel)
        await stopCancelledJob(
          this.deps,
          record,
          job.location.recordKey,
          this.launched.map((l) => l.iae.instanceId),
        );
      // IAEs that already ended (fast, or gone before they ran) left completion to us.
      else await finishJobIfDone(this.deps, this.invocation, record, job.location.recordKey);
      return { ...this.outcome(job.location, 0), ...(job.resumedFrom ? { resumed: true } : {}) };
    } catch (err) {
      return this.fail(step, err);
    }
  }

  // ---------------------------------------------------------------- the protocol surface

  /** Problems with the config beyond the reserved keys (protocol hook; input checking, ensemble). */
  protected async checkConfig(_job: ConfiguredJob): Promise<string[]> {
    return [];
  }

  /** Number of IAEs the job starts (protocol hook; ensemble). */
  protected iaeCount(job: ConfiguredJob): number {
    return job.datasets.length;
  }

  /** One plan per IAE (protocol hook; ensemble): `index` orders the certificate's lines. */
  protected async planIaes(job: ConfiguredJob): Promise<IaePlan[]> {
    return job.datasets.map((dataset, index) => ({
      index,
      dataset,
      configKey: job.configKey,
      command: this.commandFor(job, dataset, job.configKey),
    }));
  }

  /**
   * Plans with equal keys can share one launch call: every launch parameter except the tags of
   * `instanceTagsFor` is the same for them. In this job manager all of a job's IAEs share image,
   * type, volume, market and common tags; a protocol whose IAEs differ otherwise overrides this.
   */
  protected launchGroupKey(_plan: IaePlan): string {
    return "";
  }

  /** Tags that differ between the IAEs of a job (SPEC 4.5: each IAE names its dataset). */
  protected instanceTagsFor(plan: IaePlan): Record<string, string> {
    return { [IAE_TAGS.dataset]: tagValue(plan.dataset) };
  }

  /** Add a line to the certificate's setup log (written at the end of the step). */
  protected note(message: string): void {
    this.cert.append(message);
  }

  /** The analysis command of one IAE, its placeholders filled (SPEC 4.5). */
  protected commandFor(job: ReceivedJob, dataset: string, configKey: string): string {
    const loc = job.location;
    return fillCommand(this.deps.config.command, {
      bucket: loc.inputBucket,
      datasetKey: dataset,
      resultFolder: loc.resultFolderArgument,
      configKey,
    });
  }

  /** The analysis bucket. */
  protected get bucket(): string {
    return this.deps.config.bucketName;
  }

  /** The analysis name (PipelineName): job folders `job__{analysis}_{ts}` and the IAEs' analysis tag. */
  protected get analysis(): string {
    return this.deps.config.analysisName;
  }

  // ---------------------------------------------------------------- step 1: Initialization

  /** Read the submit file, derive group and job folder, claim the job; or an outcome to stop early. */
  private async initialize(): Promise<ReceivedJob | JobOutcome> {
    const { key } = this.target;
    const group = this.groupOf(key);
    if (group === undefined) {
      const reason = `Submit key ${JSON.stringify(key)} is not inside a group's submissions/ folder; ignored.`;
      this.deps.log?.(reason);
      return { exitCode: 99, submitKey: key, protocol: this.protocol, reason, instanceIds: [] };
    }
    if (isReservedGroupName(group)) {
      // Where groups are not enumerated (websubstack), a folder the layout uses for something else
      // must never act as one: the platform roles' IAM Denies rely on it. No certificate either:
      // it would land under `logs/`, a group folder or a job folder — and no user owns that name.
      const reason = `Submit key ${JSON.stringify(key)} is in the folder "${group}", a name NeuroCAAS reserves (logs, inputs, configs, submissions, results, job__…) that is never a group's; rejected, nothing started or written.`;
      this.deps.log?.(reason);
      return { exitCode: 99, submitKey: key, protocol: this.protocol, reason, instanceIds: [] };
    }
    const obj = await this.deps.store.get(this.target.bucket, key);
    const text = obj?.body ?? "";
    const submitDigest = sha256(text);
    const identity: SubmissionIdentity = {
      bucket: this.target.bucket,
      key,
      sha256: submitDigest,
      ...(this.target.upload !== undefined ? { upload: this.target.upload } : {}),
    };
    let cancel: { readonly timestamp: string } | undefined;
    try {
      cancel = obj ? parseCancelFile(text) : undefined;
    } catch (err) {
      return this.reject(
        group,
        identity,
        boundedName(`invalid-cancel-${basename(key).replace(/\.json$/, "")}`, MAX_REJECTION_STEM_BYTES),
        err,
      );
    }
    if (cancel) return this.cancel(group, identity, cancel.timestamp);
    let submit: SubmitFile | undefined;
    let parseError: unknown;
    try {
      if (!obj) throw new JobError(`The submit file ${key} could not be read: it no longer exists.`);
      submit = parseSubmitFile(text, {
        group,
        analysisBucket: this.bucket,
        bypassBuckets: this.deps.config.bypassBuckets ?? [],
      });
    } catch (err) {
      parseError = err;
    }
    const timestamp = submit?.timestamp ?? lenientTimestamp(text);
    if (timestamp === undefined) {
      // No usable job folder: report in a rejection folder of this submission's own.
      const stem = boundedName(`invalid-submit-${basename(key).replace(/\.json$/, "")}`, MAX_REJECTION_STEM_BYTES);
      return this.reject(group, identity, stem, parseError ?? new JobError("The submit file has no usable timestamp."));
    }
    const location = this.locate(group, timestamp, submit);
    this.placed = { group, location };
    const claimed = await this.claimJob(group, identity, location);
    if ("exitCode" in claimed) return claimed;
    this.cert.append(`[Job Manager] Job ${location.jobName} received from ${key}.`);
    if (parseError || !submit) throw parseError;
    return {
      group,
      submit,
      location: this.where().location,
      submitDigest,
      ...(claimed.resumedFrom ? { resumedFrom: claimed.resumedFrom } : {}),
    };
  }

  /** A cancel request (job-cancel.ts): carried out, or rejected in a folder of its own. */
  private async cancel(group: string, identity: SubmissionIdentity, timestamp: string): Promise<JobOutcome> {
    try {
      const out = await cancelJob(this.deps, group, timestamp, this.target.key);
      return {
        exitCode: 0,
        submitKey: this.target.key,
        protocol: this.protocol,
        outputBucket: out.outputBucket,
        jobFolder: out.jobFolder,
        cancelled: true,
        reason: out.summary,
        instanceIds: out.instanceIds,
      };
    } catch (err) {
      if (!(err instanceof JobError)) throw err;
      return this.reject(group, identity, boundedName(`cancel-${timestamp}`, MAX_REJECTION_STEM_BYTES), err);
    }
  }

  private groupOf(key: string): string | undefined {
    if (!key.endsWith("submit.json")) return undefined;
    const viaSubmissions = groupOfKey(key, "submissions");
    if (viaSubmissions !== undefined && !viaSubmissions.includes("/")) return viaSubmissions;
    const viaResults = groupOfKey(key, "results");
    if (viaResults !== undefined && !viaResults.includes("/")) {
      const affiliate = this.deps.config.affiliates.find((a) => a.AffiliateName === viaResults);
      if (affiliate && affiliate.UserInput === false) return viaResults;
    }
    return undefined;
  }

  private locate(group: string, timestamp: string, submit: SubmitFile | undefined): JobLocation {
    const jobName = jobFolderName(this.analysis, timestamp);
    if (submit?.bypass) {
      const { inputBucket, outputBucket, resultPrefix } = submit.bypass;
      const jobFolder = resultPrefix === "" ? jobName : `${resultPrefix}/${jobName}`;
      return {
        jobName,
        outputBucket,
        jobFolder,
        inputBucket,
        resultFolderArgument: `s3://${outputBucket}/${jobFolder}`,
        recordKey: jobRecordKey(group, jobName),
      };
    }
    return this.ownFolder(group, jobName, this.bucket);
  }

  /** The job folder in the group's own results folder of the analysis bucket. */
  private ownFolder(group: string, jobName: string, inputBucket: string): JobLocation {
    return {
      jobName,
      outputBucket: this.bucket,
      jobFolder: `${group}/results/${jobName}`,
      inputBucket,
      resultFolderArgument: `results/${jobName}`,
      recordKey: jobRecordKey(group, jobName),
    };
  }

  /**
   * Claim the job record (job-claim.ts). A record of another submission means the timestamp is
   * taken; so does a job folder made before this record existed (e.g. by the original deployment).
   */
  private async claimJob(
    group: string,
    identity: SubmissionIdentity,
    loc: JobLocation,
  ): Promise<{ resumedFrom?: JobRecord } | JobOutcome> {
    const now = this.deps.clock.now().toISOString();
    const record: JobRecord = {
      version: 1,
      submission: identity,
      group,
      jobName: loc.jobName,
      outputBucket: loc.outputBucket,
      jobFolder: loc.jobFolder,
      state: "claimed",
      lease: leaseOf(this.invocation),
      instances: [],
      created: now,
      updated: now,
    };
    const claim = new JobClaim({
      store: this.deps.store,
      bucket: this.bucket,
      recordKey: loc.recordKey,
      invocation: this.invocation,
      clock: this.deps.clock,
      attempts: this.limits.conditionalWriteAttempts,
      staleClaimMs: this.limits.staleClaimMs,
    });
    const result = await claim.claim(record);
    if (result.kind === "duplicate") {
      const other = result.record;
      this.deps.log?.(`duplicate delivery of ${this.target.key}: job ${loc.jobName} is ${other.state}; nothing to do`);
      // An earlier attempt queued the job and stopped before its queue entry was written: finish that.
      if (other.state === "queued" && other.queue && other.launch?.template) {
        await enqueue(this.deps, queueEntryOf(other, loc.recordKey)).catch((err: unknown) =>
          this.deps.log?.(`job manager: could not re-queue ${loc.jobName}: ${errorMessage(err)}`),
        );
      }
      return {
        exitCode: other.exitCode ?? 0,
        submitKey: this.target.key,
        protocol: this.protocol,
        outputBucket: other.outputBucket,
        jobFolder: other.jobFolder,
        duplicate: true,
        instanceIds: other.instances.map((i) => i.instanceId),
      };
    }
    if (result.kind === "taken")
      return this.rejectTakenTimestamp(group, identity, loc, takenBy(result.other, identity));
    this.claim = claim;
    this.ownsLocation = true;
    if (result.resumedFrom) {
      this.cert.append(
        result.resumedFrom.launch
          ? "[Job Manager] An earlier attempt at this job stopped while starting its IAEs; resuming it (IAEs it started are adopted, none is started twice)."
          : "[Job Manager] An earlier attempt at this job stopped before launching anything; starting it again.",
      );
    }
    let taken: boolean;
    try {
      taken = await this.folderHasCertificate(loc);
    } catch (err) {
      if (!(err instanceof BucketUnavailableError)) throw err;
      await this.relocateToOwnFolder(err);
      throw new JobError(bucketUnavailableMessage(err, "write the job folder to"), "AWS");
    }
    if (taken && !result.resumedFrom) {
      this.ownsLocation = false;
      await claim.release();
      return this.rejectTakenTimestamp(group, identity, loc, "its job folder already holds a certificate");
    }
    return { ...(result.resumedFrom ? { resumedFrom: result.resumedFrom } : {}) };
  }

  /** Whether the job folder already holds a certificate; reaching the bucket proves it usable. */
  private async folderHasCertificate(loc: JobLocation): Promise<boolean> {
    // HEAD cannot tell a missing bucket from a missing key: a listing can.
    if (loc.outputBucket !== this.bucket)
      return this.deps.store.prefixExists(loc.outputBucket, certificateKey(loc.jobFolder));
    return this.deps.store.exists(loc.outputBucket, certificateKey(loc.jobFolder));
  }

  /**
   * The storage-bypass bucket cannot take the job folder: report in the group's own results
   * folder of the analysis bucket instead (this claim owns that name too: records are per job name).
   */
  private async relocateToOwnFolder(err: BucketUnavailableError): Promise<void> {
    const { group, location: loc } = this.where();
    if (loc.outputBucket === this.bucket) throw err;
    this.deps.log?.(`job manager: ${err.message}; reporting in the group's own results folder`);
    const next: JobLocation = {
      ...this.ownFolder(group, loc.jobName, loc.inputBucket),
      resultFolderArgument: loc.resultFolderArgument,
    };
    this.placed = { group, location: next };
    await this.ownClaim().update((r) => ({ ...r, outputBucket: next.outputBucket, jobFolder: next.jobFolder }));
  }

  /** Report a taken timestamp in a rejection folder of this submission: the existing job's files are never touched. */
  private async rejectTakenTimestamp(
    group: string,
    identity: SubmissionIdentity,
    loc: JobLocation,
    why: string,
  ): Promise<JobOutcome> {
    this.placed = undefined;
    this.ownsLocation = false;
    const timestamp = loc.jobName.slice(jobFolderName(this.analysis, "").length);
    return this.reject(group, identity, timestamp, takenTimestamp(loc.jobName, why));
  }

  /** Reject at step 1 in a folder of this submission's own (job-rejection.ts). */
  private async reject(group: string, identity: SubmissionIdentity, stem: string, error: unknown): Promise<JobOutcome> {
    const r = await rejectInOwnFolder(
      {
        deps: this.deps,
        bucket: this.bucket,
        group,
        identity,
        jobName: (x) => jobFolderName(this.analysis, x),
        folderOf: (jobName) => this.ownFolder(group, jobName, this.bucket),
        cert: this.cert,
        attempts: this.limits.conditionalWriteAttempts,
      },
      stem,
      error,
    );
    return {
      exitCode: 99,
      submitKey: this.target.key,
      protocol: this.protocol,
      outputBucket: r.outputBucket,
      jobFolder: r.jobFolder,
      reason: r.reason,
      instanceIds: [],
      ...(r.duplicate ? { duplicate: true } : {}),
    };
  }

  // ---------------------------------------------------------------- step 2: Validation

  private async validate(
    received: ReceivedJob,
  ): Promise<{ job: ConfiguredJob; approval: BudgetApproval; queueReason?: string }> {
    const { submit, location: loc } = received;
    const limit = this.deps.config.deployLimit;
    // Cheap limits first: a 10,000-dataset submit must not cause 10,000 existence checks.
    if (submit.datanames.length > limit) {
      throw new JobError(
        `This job asks for ${submit.datanames.length} datasets; this analysis runs at most ${limit} IAEs at a time (DEPLOY_LIMIT).`,
      );
    }
    const instanceType = this.chooseInstanceType(submit);
    const datasets = submit.datanames.map(keyOf);
    const configKey = keyOf(submit.configname);
    this.cert.append(await checkInputsExist(this.deps.store, loc.inputBucket, this.bucket, datasets, configKey));
    const { config, lines } = await readJobConfig(this.deps.store, loc.inputBucket, configKey);
    for (const line of lines) this.cert.append(line);
    const job: ConfiguredJob = { ...received, datasets, configKey, config, instanceType };
    const problems = await this.checkConfig(job);
    if (problems.length > 0) {
      throw new JobError(
        `The config ${configKey} has ${problems.length} problem(s); fix them and submit again.`,
        "INTERNAL",
        problems.map((p) => `[CONFIG ERROR] ${p}`),
      );
    }
    const count = this.iaeCount(job);
    if (count > limit)
      throw new JobError(`This job needs ${count} IAEs; this analysis runs at most ${limit} at a time (DEPLOY_LIMIT).`);
    // This job's own IAEs (already started by an earlier attempt) do not count against it.
    const isOwnIae = (iae: IaeDescription) => this.isOwnIae(job, iae);
    const running = (await this.deps.compute.listRunning({ instanceType })).filter((i) => !isOwnIae(i)).length;
    const queueReason = await this.queueReason(job, running, count);
    const budget = await checkJobBudget(this.deps, {
      group: job.group,
      recordKey: loc.recordKey,
      instanceType,
      iaeCount: count,
      durationMinutes: config.durationMinutes,
      isOwnIae,
      attempts: this.limits.conditionalWriteAttempts,
      onChecked: (spend) => (this.spend = spend),
    });
    for (const l of budget.lines) this.cert.append(l);
    return { job, approval: budget, ...(queueReason !== undefined ? { queueReason } : {}) };
  }

  /**
   * Why the job must wait (SPEC §11): it would exceed DEPLOY_LIMIT, or earlier jobs for its
   * instance type wait already (arrival order: nobody overtakes them). Undefined: it starts now.
   * Throws when it cannot wait: the analysis has no queue (MAX_QUEUE_LENGTH 0), or the queue is full.
   */
  private async queueReason(job: ConfiguredJob, running: number, count: number): Promise<string | undefined> {
    const limit = this.deps.config.deployLimit;
    const queue = await readQueue(this.deps);
    const own = queue.entries.some((e) => e.recordKey === job.location.recordKey);
    const ahead = queue.entries.filter(
      (e) => e.instanceType === job.instanceType && e.recordKey !== job.location.recordKey,
    ).length;
    let reason: string | undefined;
    if (running + count > limit)
      reason = `${running} ${job.instanceType} IAEs are running and this job needs ${count}; the limit is ${limit} (DEPLOY_LIMIT)`;
    else if (ahead > 0) reason = `${ahead} earlier job(s) for ${job.instanceType} are waiting for capacity`;
    if (reason === undefined || own) return reason;
    const { maxQueueLength } = queueLimitsOf(this.deps.config);
    if (maxQueueLength === 0) {
      throw new JobError(
        `Instance requests greater than pipeline bandwidth: ${reason}. This analysis does not queue jobs (MAX_QUEUE_LENGTH 0). Try again later or contact NeuroCAAS administrator.`,
      );
    }
    if (queue.entries.length >= maxQueueLength) throw queueFull(maxQueueLength);
    return reason;
  }

  private chooseInstanceType(submit: SubmitFile): string {
    const requested = submit.instanceType;
    const standard = this.deps.config.instanceType;
    if (requested === undefined || requested === standard) {
      this.cert.append(`Using instance type ${standard}.`);
      return standard;
    }
    const allowed = [standard, ...this.deps.config.allowedInstanceTypes];
    if (!allowed.includes(requested)) {
      throw new JobError(
        `Instance type ${requested} is not available for this analysis; allowed: ${allowed.join(", ")}.`,
      );
    }
    this.cert.append(`Using requested instance type ${requested}.`);
    return requested;
  }

  /** Whether a running instance is an IAE of this very job (tags set atomically by the launch). */
  private isOwnIae(job: ReceivedJob, iae: IaeDescription): boolean {
    return (
      iae.tags[IAE_TAGS.analysis] === this.analysis &&
      iae.tags[IAE_TAGS.group] === job.group &&
      iae.tags[IAE_TAGS.job] === tagValue(job.location.jobName)
    );
  }

  // ---------------------------------------------------------------- step 3: Environment Setup

  private async setUpEnvironment(job: ConfiguredJob, hourlyPrice: number): Promise<JobEnvironment> {
    const { config, instanceType } = job;
    const volumeSizeGb = this.deps.config.imageVolumeSizeGb + config.datasetSizeGb;
    const spot = config.durationExplicit && this.deps.config.allowSpot;
    const plans = await this.planIaes(job);
    this.cert.append(
      `Environment: ${plans.length} IAE(s) of type ${instanceType}, ${volumeSizeGb} GB storage, timeout ${config.durationMinutes} min, ${spot ? "NeuroCAAS Save job (spot capacity, on-demand fallback)" : "on-demand capacity"}.`,
    );
    return { hourlyPrice, volumeSizeGb, spot, plans };
  }

  // ---------------------------------------------------------------- step 4: Initialize Processing

  /**
   * Request every IAE (all or nothing, job-launch.ts) and record their cost logs. Never waits for
   * boot. Each launch call is written ahead into the job record and its instance ids right after
   * it returns, so the monitor can account for an IAE whose cost log is not written yet and a
   * resumed attempt adopts instead of launching twice.
   */
  private async launch(
    job: ConfiguredJob,
    env: JobEnvironment,
    approval: BudgetApproval,
    queueReason: string | undefined,
  ): Promise<"started" | "queued"> {
    if (!this.deps.config.launch) {
      this.cert.append("LAUNCH is off for this analysis: no IAE was started.");
      return "started";
    }
    const template = this.launchTemplate(job, env);
    const batches = launchBatches(env.plans, this.limits.launchBatchSize, (plan) => this.launchGroupKey(plan));
    const batchRecords: LaunchBatchRecord[] = batches.map((plans) => ({
      token: launchToken(job.location.recordKey, job.submitDigest, plans),
      plans,
      instanceTags: plans.map((p) => this.instanceTagsFor(p)),
    }));
    const intent: LaunchRecord = { common: this.iaeCommon(job, env), batches: batchRecords, template };
    const prior = job.resumedFrom?.launch;
    const claim = this.ownClaim();
    if (prior && !sameLaunch(prior, intent)) {
      this.launched.push(
        ...(await runningIaesOfJob(this.deps.compute, this.analysis, job.location.jobName, (iae) =>
          this.isOwnIae(job, iae),
        )),
      );
      throw new JobError(CHANGED_WHILE_INTERRUPTED, "INTERNAL");
    }
    const recorded = await claim.update((r) => ({
      ...r,
      state: "launching",
      configKey: job.configKey,
      inputBucket: job.location.inputBucket,
      launch: r.launch ?? intent,
    }));
    const launch: LaunchRecord = { ...(recorded.launch ?? intent), template: recorded.launch?.template ?? template };
    // An earlier attempt decided to queue the job: it keeps waiting (never launched here and queued too).
    if (recorded.queue) return this.enqueueJob(job, env, approval, recorded.queue.reason, recorded.queue.launches);
    const queueing = queueLimitsOf(this.deps.config).maxQueueLength > 0;
    // Jobs start one at a time (the start gate), so concurrent submissions never exceed DEPLOY_LIMIT.
    const gated = queueing && (await acquireStartGate(this.deps, this.invocation));
    try {
      const reason = !queueing ? queueReason : gated ? await this.queueReasonNow(job) : STARTING_ANOTHER;
      if (reason !== undefined) return await this.enqueueJob(job, env, approval, reason, 0);
      return await this.launchNow(job, launch, batches, prior !== undefined, approval, env);
    } finally {
      // Whatever queued meanwhile (here or elsewhere) is started now if it fits.
      if (gated) await releaseStartGate(this.deps, this.invocation);
    }
  }

  /** Why the job must wait, counted while holding the start gate (undefined: it starts now). */
  private async queueReasonNow(job: ConfiguredJob): Promise<string | undefined> {
    const running = (await this.deps.compute.listRunning({ instanceType: job.instanceType })).filter(
      (i) => !this.isOwnIae(job, i),
    ).length;
    return this.queueReason(job, running, this.iaeCount(job));
  }

  /** Launch every IAE now (all or nothing); capacity errors that outlast the retry window queue the job instead. */
  private async launchNow(
    job: ConfiguredJob,
    launch: LaunchRecord,
    batches: readonly IaePlan[][],
    resuming: boolean,
    approval: BudgetApproval,
    env: JobEnvironment,
  ): Promise<"started" | "queued"> {
    const claim = this.ownClaim();
    try {
      await runLaunchCalls({
        compute: this.deps.compute,
        batches,
        requests: launch.batches.map((b, n) => launchRequestOf(launch.template as LaunchTemplate, b, n)),
        recorded: launch,
        resuming,
        concurrency: this.limits.launchConcurrency,
        instanceType: job.instanceType,
        recordBatch: (n, ids) => claim.update((r) => withBatchIds(r, n, ids)).then(() => undefined),
        launched: this.launched,
      });
    } catch (err) {
      if (
        err instanceof LeaseLostError ||
        !isQueueableLaunchFailure(launchCause(err)) ||
        queueLimitsOf(this.deps.config).maxQueueLength === 0
      )
        throw err;
      // Capacity errors outlasted the retry window: the job waits for capacity instead (all or nothing).
      const ids = [...new Set(this.launched.map((l) => l.iae.instanceId))];
      if (ids.length > 0) await this.deps.compute.terminate(ids);
      this.launched.length = 0;
      this.cert.append(
        `Starting the IAEs failed: ${errorMessage(err)}${ids.length > 0 ? ` The ${ids.length} IAE(s) already started were terminated.` : ""}`,
      );
      const queue = await readQueue(this.deps);
      if (
        !queue.entries.some((e) => e.recordKey === job.location.recordKey) &&
        queue.entries.length >= queueLimitsOf(this.deps.config).maxQueueLength
      )
        throw err;
      return this.enqueueJob(job, env, approval, errorMessage(err), 1);
    }
    await writeActiveCostLogs({
      store: this.deps.store,
      compute: this.deps.compute,
      bucket: this.bucket,
      common: launch.common,
      launched: this.launched,
      now: this.deps.clock.now(),
      resuming: job.resumedFrom !== undefined,
      written: this.activeLogsWritten,
    });
    this.cert.append(
      `Requested ${this.launched.length} IAE(s): ${this.launched.map((l) => l.iae.instanceId).join(", ")}.`,
    );
    return "started";
  }

  /**
   * Queue the job whole (SPEC §11), every step repeatable by a resumed attempt: the decision in the
   * record, the projected cost reserved against the group's budget, the queue entry, QUEUED status
   * files and certificate; then the record says `queued` (the queue's drain starts it from there)
   * and a drain runs at once in case capacity freed up meanwhile.
   */
  private async enqueueJob(
    job: ConfiguredJob,
    env: JobEnvironment,
    approval: BudgetApproval,
    reason: string,
    launchesTried: number,
  ): Promise<"queued"> {
    const loc = job.location;
    const claim = this.ownClaim();
    const { maxQueueWaitMinutes } = queueLimitsOf(this.deps.config);
    const now = this.deps.clock.now();
    const deadline = new Date(now.getTime() + maxQueueWaitMinutes * 60_000);
    const decided = await claim.update((r) =>
      r.queue
        ? r
        : {
            ...r,
            queue: {
              queuedAt: now.toISOString(),
              deadline: deadline.toISOString(),
              reason,
              position: 0,
              launches: launchesTried,
            },
          },
    );
    await reserveJobBudget(this.deps, job.group, loc.recordKey, approval, this.limits.sharedWriteAttempts);
    this.reserved = true;
    const position = await enqueue(this.deps, queueEntryOf(decided, loc.recordKey));
    this.enqueued = true;
    await this.createStatusFiles(loc, env.plans, () => ({
      status: "QUEUED",
      reason: [`Waiting for capacity: ${reason}.`],
      instance: null,
    }));
    const time = formatTime(now);
    this.cert.setDatasets(
      env.plans.map((p) => ({
        dataname: datasetLineName(p.dataset, p.member),
        status: "QUEUED",
        time,
        lastCommand: `waiting in the queue (position ${position})`,
      })),
    );
    this.cert.append(
      `[Job Manager] Job QUEUED at position ${position}: ${reason}. It starts by itself, all ${env.plans.length} IAE(s) at once, when capacity frees up; if it has not started by ${deadline.toISOString()} (MAX_QUEUE_WAIT ${maxQueueWaitMinutes} min) it is rejected. ${formatUsd(approval.projected)} of your group's budget is reserved for it meanwhile.`,
    );
    this.cert.append(`[Job Manager] STEP 4/4 (Initialize Processing): QUEUED`);
    await this.writeCertificate();
    const record = await claim.update((r) => ({
      ...r,
      state: r.cancel ? "cancelled" : "queued",
      exitCode: 0,
      queue: r.queue ? { ...r.queue, position } : r.queue,
    }));
    if (record.cancel) {
      await closeWaitingJob(this.deps, record, loc.recordKey, {
        status: "CANCELLED",
        reason: `The job was ${CANCELLED_BY_USER} (${record.cancel.request}).`,
        lastCommand: CANCELLED_BY_USER,
        lines: [],
      });
      return "queued";
    }
    // Capacity may have freed meanwhile (not after a launch failure: that would retry at once).
    if (launchesTried > 0) return "queued";
    try {
      await drainQueue(this.deps);
    } catch (err) {
      // The job is safely queued: the next drain (an IAE ending, the scheduled sweep) starts it.
      this.deps.log?.(`job manager: draining the queue after queueing ${loc.jobName} failed: ${errorMessage(err)}`);
    }
    return "queued";
  }

  /** Launch parameters every IAE of this job shares (recorded, so the queue's drain can launch later). */
  private launchTemplate(job: ConfiguredJob, env: JobEnvironment): LaunchTemplate {
    const c = this.deps.config;
    const loc = job.location;
    return {
      imageId: c.ami,
      instanceType: job.instanceType,
      volumeSizeGb: env.volumeSizeGb,
      spot: env.spot,
      tags: {
        [IAE_TAGS.priceTracking]: "On",
        [IAE_TAGS.timeout]: String(job.config.durationMinutes),
        [IAE_TAGS.analysis]: c.analysisName,
        [IAE_TAGS.group]: job.group,
        [IAE_TAGS.job]: tagValue(loc.jobName),
        Name: tagValue(`neurocaas-${loc.jobName}`),
      },
      ...(c.iaeInstanceProfileArn ? { instanceProfileArn: c.iaeInstanceProfileArn } : {}),
      ...(c.keyName ? { keyName: c.keyName } : {}),
      securityGroupIds: c.securityGroupIds,
      ...(c.subnetIds ? { subnetIds: c.subnetIds } : {}),
      shutdownBehavior: c.shutdownBehavior,
    };
  }

  /** Cost-log fields every IAE of this job shares. */
  private iaeCommon(job: ConfiguredJob, env: JobEnvironment): IaeCommon {
    const loc = job.location;
    return {
      price: env.hourlyPrice,
      databucket: loc.inputBucket,
      jobpath: loc.jobFolder,
      resultbucket: loc.outputBucket,
      group: job.group,
      analysis: this.analysis,
      jobrecord: loc.recordKey,
      workingdirectory: this.deps.config.workingDirectory,
      ssmtimeout: this.deps.config.ssmTimeoutSeconds,
      timeout: job.config.durationMinutes,
    };
  }

  /**
   * The command reaches each IAE when the monitor sees it running (its cost log carries the
   * command). Here: the per-dataset (per ensemble member) status files, INITIALIZING, created only
   * where none exists (an IAE that already reported keeps its status).
   */
  private async writeStatusFiles(job: ConfiguredJob, env: JobEnvironment): Promise<void> {
    const loc = job.location;
    const byIndex = new Map(this.launched.map((l) => [l.plan.index, l.iae.instanceId]));
    await this.createStatusFiles(loc, env.plans, (plan) => ({
      status: "INITIALIZING",
      reason: [],
      instance: byIndex.get(plan.index) ?? null,
    }));
    if (this.launched.length > 0) this.cert.append("Each IAE receives its command as soon as it is running.");
  }

  /**
   * One status file per planned IAE (dataset, or ensemble member), created only where none exists:
   * a retried job manager, or an IAE that already reported, keeps the status it has.
   */
  private async createStatusFiles(
    loc: JobLocation,
    plans: readonly IaePlan[],
    initial: (plan: IaePlan) => { status: DatasetStatusName; reason: readonly string[]; instance: string | null },
  ): Promise<void> {
    await mapBounded(plans, 16, async (plan) => {
      const { status, reason, instance } = initial(plan);
      const doc = {
        status,
        reason,
        input: plan.dataset,
        ...(plan.member !== undefined ? { member: plan.member } : {}),
        instance,
        command: null,
        job: loc.jobName,
      };
      try {
        await this.deps.store.put(
          loc.outputBucket,
          datasetStatusKey(loc.jobFolder, plan.dataset, plan.member),
          renderDatasetStatus(doc),
          { ifNoneMatch: "*" },
        );
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
      }
    });
  }

  private finishCertificate(env: JobEnvironment): void {
    const byIndex = new Map(this.launched.map((l) => [l.plan.index, l.iae.instanceId]));
    const time = formatTime(this.deps.clock.now());
    this.cert.setDatasets(
      env.plans.map((p) => ({
        dataname: datasetLineName(p.dataset, p.member),
        status: "INITIALIZING",
        time,
        lastCommand: byIndex.has(p.index) ? `waiting for IAE ${byIndex.get(p.index)}` : "None",
      })),
    );
  }

  // ---------------------------------------------------------------- failure handling

  private async fail(step: StepNumber, err: unknown): Promise<JobOutcome> {
    const { kind, message, details } = stepFailure(err);
    this.deps.log?.(`job manager: step ${step} failed for ${this.target.key}: ${message}`);
    // Not owning the job folder (e.g. S3 failed while claiming, or another attempt took the job
    // over): writing there could clobber another attempt's work. Rethrow so the invocation is retried.
    if ((this.placed && !this.ownsLocation) || err instanceof LeaseLostError) throw err;
    if (!this.placed)
      return { exitCode: 99, submitKey: this.target.key, protocol: this.protocol, reason: message, instanceIds: [] };
    try {
      for (const d of details) this.cert.append(d);
      this.cert.append(stepErrorLine(step, kind, message));
      if (this.launched.length > 0) await this.rollback(this.where().location);
      if (this.enqueued) await dequeue(this.deps, this.where().location.recordKey);
      if (this.reserved)
        await releaseJobBudget(
          this.deps,
          this.where().group,
          this.where().location.recordKey,
          this.limits.sharedWriteAttempts,
        );
      this.cert.append(SHUTDOWN_LINE);
      try {
        await this.writeCertificate();
      } catch (writeErr) {
        // A storage-bypass bucket that cannot take the certificate: report in the group's own folder.
        if (!(writeErr instanceof BucketUnavailableError)) throw writeErr;
        await this.relocateToOwnFolder(writeErr);
        this.cert.append(`[Job Manager] ${bucketUnavailableMessage(writeErr, "write the job folder to")}`);
        await this.writeCertificate();
      }
      await this.ownClaim().update((r) => ({ ...r, state: step === 4 ? "failed" : "rejected", exitCode: 99 }));
    } catch (writeErr) {
      this.deps.log?.(`job manager: could not record the failure of ${this.target.key}: ${errorMessage(writeErr)}`);
      // Unrecorded, the job must not end silently: fail the invocation so that it is retried
      // (a retry of this invocation takes the claim over at once).
      throw err;
    }
    const loc = this.where().location;
    return {
      exitCode: 99,
      submitKey: this.target.key,
      protocol: this.protocol,
      outputBucket: loc.outputBucket,
      jobFolder: loc.jobFolder,
      reason: message,
      instanceIds: [],
      ...(this.spend ? { spend: this.spend } : {}),
    };
  }

  /** Terminate everything this job launched, drop their active cost logs, write end.txt. */
  private async rollback(loc: JobLocation): Promise<void> {
    const ids = [...new Set(this.launched.map((l) => l.iae.instanceId))];
    await this.deps.compute.terminate(ids);
    await mapBounded(this.activeLogsWritten, 16, (id) => this.deps.store.delete(this.bucket, activeCostLogKey(id)));
    await writeEndMarker(this.deps.store, loc.outputBucket, loc.jobFolder);
    this.cert.append(
      `Terminated the ${ids.length} IAE(s) already started for this job (${ids.join(", ")}); nothing is left running.`,
    );
    this.launched.length = 0;
  }

  // ---------------------------------------------------------------- helpers

  private async stepDone(step: StepNumber): Promise<void> {
    this.cert.append(stepDoneLine(step));
    await this.writeCertificate();
  }

  /** Merge this attempt's new lines into the certificate (conditional read-modify-write: nobody's lines are lost). */
  private async writeCertificate(): Promise<void> {
    const loc = this.where().location;
    await updateObject(
      {
        store: this.deps.store,
        bucket: loc.outputBucket,
        key: certificateKey(loc.jobFolder),
        attempts: this.limits.conditionalWriteAttempts,
        sleep: this.deps.clock.sleep,
      },
      (current) => this.cert.applyTo(current?.body),
    );
    this.cert.markWritten();
  }

  /** Where this attempt reports (only asked for once step 1 located the job). */
  private where(): { readonly group: string; readonly location: JobLocation } {
    if (!this.placed) throw new Error("the job manager has not located the job");
    return this.placed;
  }

  /** The claim this attempt holds (only asked for once the job is claimed). */
  private ownClaim(): JobClaim {
    if (!this.claim) throw new Error("the job manager has not claimed the job");
    return this.claim;
  }

  private outcome(loc: JobLocation, exitCode: 0 | 99): JobOutcome {
    return {
      exitCode,
      submitKey: this.target.key,
      protocol: this.protocol,
      outputBucket: loc.outputBucket,
      jobFolder: loc.jobFolder,
      instanceIds: this.launched.map((l) => l.iae.instanceId),
      ...(this.spend ? { spend: this.spend } : {}),
    };
  }
}

/** A timestamp usable as a folder name from a submit file that failed validation, if any. */
function lenientTimestamp(text: string): string | undefined {
  try {
    const raw = JSON.parse(text) as { timestamp?: unknown };
    const t = raw?.timestamp;
    if (
      typeof t === "string" &&
      t.length > 0 &&
      t.length <= MAX_TIMESTAMP_LENGTH &&
      // eslint-disable-next-line no-control-regex
      !/[/\\\u0000-\u001f\u007f]/.test(t) &&
      t !== "." &&
      t !== ".."
    )
      return t;
  } catch {
    // not JSON
  }
  return undefined;
}
