import type { ProtocolName } from "../components/blueprint/types";
import { fillCommand } from "./command-template";
import { IAE_TAGS, LaunchError, tagValue, type IaeDescription, type IaeLaunchRequest, type LaunchedIae } from "./compute";
import { BUDGET_REJECTION, CertificateLog, SHUTDOWN_LINE, stepDoneLine, stepErrorLine, type StepNumber } from "./certificate";
import { renderDatasetStatus } from "./dataset-status";
import { formatIsoSeconds, formatTime } from "./time-format";
import { countsAgainstGroup, decideBudget, formatUsd, projectedCost, timeoutMinutes } from "./budget";
import { finishJobIfDone, writeEndMarker } from "./completion";
import { mapBounded } from "./concurrency";
import { UNCHANGED, updateJson, updateObject } from "./conditional-update";
import { limitsOf, type ProtocolDeps, type ProtocolLimits } from "./deps";
import { JobError, errorMessage, isAwsError } from "./errors";
import { costLogFor, jobRecordKey, parseJobRecord, sameSubmission, sha256, type IaeCommon, type JobRecord, type LaunchBatchRecord, type LaunchRecord, type PlannedIae, type SubmissionIdentity } from "./job-record";
import { parseJobConfig, type JobConfig } from "./job-config";
import { activeCostLogKey, basename, boundedName, certificateKey, datasetLineName, datasetStatusKey, finishedCostLogKey, groupOfKey, jobFolderName } from "./layout";
import { defaultInvocation, leaseLive, leaseOf, type Invocation, type Lease } from "./lease";
import { readLedger } from "./ledger";
import { BucketUnavailableError, PreconditionFailedError } from "./storage";
import { keyOf } from "./s3-uri";
import { parseSubmitFile, MAX_TIMESTAMP_LENGTH, type SubmitFile } from "./submit-file";

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
  readonly reason?: string;
  readonly instanceIds: readonly string[];
}

/** One IAE of a job. */
export type IaePlan = PlannedIae;

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

/** Another attempt took the job over: this one must stop writing. */
class LeaseLostError extends Error {
  constructor(recordKey: string) {
    super(`another attempt of the job manager took over ${recordKey}; this attempt stops`);
    this.name = "LeaseLostError";
  }
}

/** The longest rejection-folder stem derived from a submit file's name. */
const MAX_REJECTION_STEM_BYTES = 100;

/**
 * The job manager (SPEC §4): four steps, each logged to the certificate. Protocols subclass it
 * and override the step hooks (`checkConfig`, `iaeCount`, `planIaes`, …).
 *
 * Every effect is idempotent and resumable: the job record is claimed with a lease (the
 * invocation's deadline), the launch is recorded before each launch call (write-ahead) and the
 * instance ids as soon as it returns, so an attempt that takes over a job whose holder is gone
 * (a Lambda retry, a redelivery after the deadline, a restarted local server) adopts what was
 * already launched instead of starting it twice or leaving it behind.
 */
export class Submission {
  readonly protocol: ProtocolName = "default";
  protected readonly limits: ProtocolLimits;
  protected readonly cert: CertificateLog;
  protected readonly startedAt: Date;
  protected readonly invocation: Invocation;
  protected group?: string;
  protected submitText?: string;
  protected submitDigest?: string;
  protected submit?: SubmitFile;
  protected location?: JobLocation;
  protected configKey?: string;
  protected config?: JobConfig;
  protected instanceType: string;
  protected hourlyPrice = 0;
  protected volumeSizeGb = 0;
  protected spot = false;
  protected plans: IaePlan[] = [];
  protected launched: { plan: IaePlan; iae: LaunchedIae }[] = [];
  /** The record of an earlier attempt this one took over (resume), if any. */
  protected resumedFrom?: JobRecord;
  private activeLogsWritten: string[] = [];
  /** Whether this attempt may write in `location` (its own claim). */
  private ownsLocation = false;

  constructor(
    protected readonly deps: ProtocolDeps,
    protected readonly target: SubmitTarget,
  ) {
    this.limits = limitsOf(deps);
    this.startedAt = deps.clock.now();
    this.invocation = deps.invocation ?? defaultInvocation(this.startedAt);
    this.cert = new CertificateLog(this.startedAt, () => deps.clock.now());
    this.instanceType = deps.config.instanceType;
  }

  protected get bucket(): string {
    return this.deps.config.bucketName;
  }

  protected get identity(): SubmissionIdentity {
    return { bucket: this.target.bucket, key: this.target.key, sha256: this.submitDigest as string, ...(this.target.upload !== undefined ? { upload: this.target.upload } : {}) };
  }

  async run(): Promise<JobOutcome> {
    let step: StepNumber = 1;
    try {
      const early = await this.initialize();
      if (early) return early;
      await this.stepDone(1);
      step = 2;
      await this.validate();
      await this.stepDone(2);
      step = 3;
      await this.setUpEnvironment();
      await this.stepDone(3);
      step = 4;
      await this.launch();
      await this.deliverCommands();
      await this.finishCertificate();
      this.cert.append(stepDoneLine(4));
      await this.writeCertificate();
      const record = await this.updateRecord((r) => ({ ...r, state: "started", exitCode: 0 }));
      // IAEs that already ended (fast, or gone before they ran) left completion to us.
      await finishJobIfDone(this.deps, this.invocation, record, (this.location as JobLocation).recordKey);
      return { ...this.outcome(0), ...(this.resumedFrom ? { resumed: true } : {}) };
    } catch (err) {
      return this.fail(step, err);
    }
  }

  // ---------------------------------------------------------------- step 1: Initialization

  /** Read the submit file, derive group and job folder, claim the job. Returns an outcome to stop early. */
  protected async initialize(): Promise<JobOutcome | undefined> {
    const { key } = this.target;
    this.group = this.groupOf(key);
    if (this.group === undefined) {
      const reason = `Submit key ${JSON.stringify(key)} is not inside a group's submissions/ folder; ignored.`;
      this.deps.log?.(reason);
      return { exitCode: 99, submitKey: key, protocol: this.protocol, reason, instanceIds: [] };
    }
    const obj = await this.deps.store.get(this.target.bucket, key);
    this.submitText = obj?.body ?? "";
    this.submitDigest = sha256(this.submitText);
    let parseError: unknown;
    try {
      if (!obj) throw new JobError(`The submit file ${key} could not be read: it no longer exists.`);
      this.submit = parseSubmitFile(this.submitText, { group: this.group, analysisBucket: this.bucket, bypassBuckets: this.deps.config.bypassBuckets ?? [] });
    } catch (err) {
      parseError = err;
    }
    const timestamp = this.submit?.timestamp ?? lenientTimestamp(this.submitText);
    if (timestamp === undefined) {
      // No usable job folder: report in a rejection folder of this submission's own.
      const stem = boundedName(`invalid-submit-${basename(key).replace(/\.json$/, "")}`, MAX_REJECTION_STEM_BYTES);
      return this.reject(stem, parseError ?? new JobError("The submit file has no usable timestamp."));
    }
    this.location = this.locate(timestamp, this.submit);
    const claimed = await this.claim();
    if (claimed) return claimed;
    this.cert.append(`[Job Manager] Job ${this.location.jobName} received from ${key}.`);
    if (parseError) throw parseError;
    return undefined;
  }

  protected groupOf(key: string): string | undefined {
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

  protected locate(timestamp: string, submit: SubmitFile | undefined): JobLocation {
    const group = this.group as string;
    const jobName = jobFolderName(this.bucket, timestamp);
    const recordKey = jobRecordKey(group, jobName);
    if (submit?.bypass) {
      const { inputBucket, outputBucket, resultPrefix } = submit.bypass;
      const jobFolder = resultPrefix === "" ? jobName : `${resultPrefix}/${jobName}`;
      return { jobName, outputBucket, jobFolder, inputBucket, resultFolderArgument: `s3://${outputBucket}/${jobFolder}`, recordKey };
    }
    return this.ownFolder(jobName, this.bucket);
  }

  /** The job folder in the group's own results folder of the analysis bucket. */
  private ownFolder(jobName: string, inputBucket: string): JobLocation {
    const group = this.group as string;
    return { jobName, outputBucket: this.bucket, jobFolder: `${group}/results/${jobName}`, inputBucket, resultFolderArgument: `results/${jobName}`, recordKey: jobRecordKey(group, jobName) };
  }

  /**
   * Create the job record with If-None-Match and this attempt's lease. A record of the same
   * submission means a repeated or concurrent delivery: nothing to do while its holder may still
   * work, taken over (and the job resumed) once the holder is provably gone. A record of another
   * submission means the timestamp is taken.
   */
  protected async claim(): Promise<JobOutcome | undefined> {
    const loc = this.location as JobLocation;
    const now = this.deps.clock.now().toISOString();
    const record: JobRecord = {
      version: 1,
      submission: this.identity,
      group: this.group as string,
      jobName: loc.jobName,
      outputBucket: loc.outputBucket,
      jobFolder: loc.jobFolder,
      state: "claimed",
      lease: leaseOf(this.invocation),
      instances: [],
      created: now,
      updated: now,
    };
    let fresh = true;
    const existing = await this.createRecord(loc.recordKey, record);
    if (existing) {
      const { other, etag } = existing;
      if (other && sameSubmission(other, this.identity)) {
        if (!(await this.takeOver(other, etag))) {
          this.deps.log?.(`duplicate delivery of ${this.target.key}: job ${loc.jobName} is ${other.state}; nothing to do`);
          return { exitCode: other.exitCode ?? 0, submitKey: this.target.key, protocol: this.protocol, outputBucket: other.outputBucket, jobFolder: other.jobFolder, duplicate: true, instanceIds: other.instances.map((i) => i.instanceId) };
        }
        fresh = false;
      } else {
        const why =
          other && other.submission.key === this.target.key && other.submission.sha256 === this.submitDigest
            ? `the same submit file was uploaded again (that job ${other.state === "rejected" ? "was rejected" : "already ran or is running"})`
            : `another submission (${other?.submission.key ?? "unknown"}) already uses it`;
        return this.rejectTakenTimestamp(why);
      }
    }
    this.ownsLocation = true;
    // A job folder made before this record existed (e.g. by the original deployment) is not ours.
    let taken: boolean;
    try {
      taken = await this.folderHasCertificate(loc);
    } catch (err) {
      if (!(err instanceof BucketUnavailableError)) throw err;
      await this.relocateToOwnFolder(err);
      throw new JobError(bucketUnavailableMessage(err, "write the job folder to"), "AWS");
    }
    if (taken && fresh) {
      this.ownsLocation = false;
      await this.deps.store.delete(this.bucket, loc.recordKey);
      return this.rejectTakenTimestamp("its job folder already holds a certificate");
    }
    return undefined;
  }

  /** Create a job record (If-None-Match); when the name is taken, the record there (undefined if unreadable) and its ETag. */
  private async createRecord(key: string, record: JobRecord): Promise<{ other?: JobRecord; etag: string } | undefined> {
    try {
      await this.deps.store.put(this.bucket, key, JSON.stringify(record), { ifNoneMatch: "*" });
      return undefined;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      const existing = await this.deps.store.get(this.bucket, key);
      return { other: existing ? parseJobRecord(existing.body) : undefined, etag: existing?.etag ?? "" };
    }
  }

  /** Whether the job folder already holds a certificate; reaching the bucket proves it usable. */
  private async folderHasCertificate(loc: JobLocation): Promise<boolean> {
    // HEAD cannot tell a missing bucket from a missing key: a listing can.
    if (loc.outputBucket !== this.bucket) return this.deps.store.prefixExists(loc.outputBucket, certificateKey(loc.jobFolder));
    return this.deps.store.exists(loc.outputBucket, certificateKey(loc.jobFolder));
  }

  /**
   * The storage-bypass bucket cannot take the job folder: report in the group's own results
   * folder of the analysis bucket instead (this claim owns that name too: records are per job name).
   */
  private async relocateToOwnFolder(err: BucketUnavailableError): Promise<void> {
    const loc = this.location as JobLocation;
    if (loc.outputBucket === this.bucket) throw err;
    this.deps.log?.(`job manager: ${err.message}; reporting in the group's own results folder`);
    this.location = { ...this.ownFolder(loc.jobName, loc.inputBucket), resultFolderArgument: loc.resultFolderArgument };
    const next = this.location;
    await this.updateRecord((r) => ({ ...r, outputBucket: next.outputBucket, jobFolder: next.jobFolder }));
  }

  /**
   * Resume a job of the same submission whose holder is gone (its lease expired, it was this
   * very invocation's earlier attempt, or the environment knows it ended). Records without a lease
   * (older versions) count as gone `staleClaimMs` after their last update.
   */
  private async takeOver(other: JobRecord, etag: string): Promise<boolean> {
    if (other.state !== "claimed" && other.state !== "launching") return false;
    const lease: Lease = other.lease ?? { holder: "", expires: new Date(Date.parse(other.updated) + this.limits.staleClaimMs).toISOString() };
    if (leaseLive(lease, this.invocation, this.deps.clock.now())) return false;
    const mine: JobRecord = { ...other, lease: leaseOf(this.invocation), updated: this.deps.clock.now().toISOString() };
    try {
      await this.deps.store.put(this.bucket, (this.location as JobLocation).recordKey, JSON.stringify(mine), { ifMatch: etag });
    } catch (err) {
      if (err instanceof PreconditionFailedError) return false; // another redelivery took it first
      throw err;
    }
    this.resumedFrom = other;
    this.cert.append(
      other.launch
        ? "[Job Manager] An earlier attempt at this job stopped while starting its IAEs; resuming it (IAEs it started are adopted, none is started twice)."
        : "[Job Manager] An earlier attempt at this job stopped before launching anything; starting it again.",
    );
    return true;
  }

  /** Report a taken timestamp in a rejection folder of this submission: the existing job's files are never touched. */
  private async rejectTakenTimestamp(why: string): Promise<JobOutcome> {
    const loc = this.location as JobLocation;
    this.location = undefined;
    this.ownsLocation = false;
    const timestamp = loc.jobName.slice(jobFolderName(this.bucket, "").length);
    return this.reject(timestamp, new JobError(`The timestamp of this submission is already used by job ${loc.jobName}: ${why}. Choose a new, unique timestamp.`));
  }

  /**
   * Reject at step 1 in a folder of this submission's own:
   * `{group}/results/job__{bucket}_{stem}_rejected-{id}` where the id derives from the submission
   * (file, text and upload), so every rejected upload gets its own certificate, and a redelivery
   * of the same upload finds its rejection done. The folder is claimed like a job folder, so it
   * can never be a real job's: a job whose timestamp happens to produce the same name is refused.
   */
  private async reject(stem: string, error: unknown): Promise<JobOutcome> {
    const message = error instanceof JobError ? error.message : errorMessage(error);
    const details = error instanceof JobError ? error.details : [];
    // `{digest8}-{upload8}`: clients that know what they uploaded find their rejections by the
    // prefix `rejectedJobFolder(jobFolder, digest)`; the upload part keeps each upload's own.
    const id = `${(this.submitDigest as string).slice(0, 8)}-${sha256(JSON.stringify(this.identity)).slice(0, 8)}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const jobName = jobFolderName(this.bucket, `${stem}_rejected-${id}${attempt > 0 ? `-${attempt}` : ""}`);
      const loc = this.ownFolder(jobName, this.bucket);
      const now = this.deps.clock.now().toISOString();
      const record: JobRecord = { version: 1, submission: this.identity, group: this.group as string, jobName, outputBucket: loc.outputBucket, jobFolder: loc.jobFolder, state: "rejected", exitCode: 99, instances: [], created: now, updated: now };
      const taken = await this.createRecord(loc.recordKey, record);
      if (taken && (!taken.other || !sameSubmission(taken.other, this.identity))) continue; // another job's name: the next one
      const mine = !taken; // else a redelivery: finish what the earlier attempt may not have written
      const outcome: JobOutcome = { exitCode: 99, submitKey: this.target.key, protocol: this.protocol, outputBucket: loc.outputBucket, jobFolder: loc.jobFolder, reason: message, instanceIds: [], ...(mine ? {} : { duplicate: true }) };
      if (!mine && (await this.deps.store.exists(loc.outputBucket, certificateKey(loc.jobFolder)))) return outcome;
      for (const d of details) this.cert.append(d);
      this.cert.append(stepErrorLine(1, "INTERNAL", message));
      this.cert.append(SHUTDOWN_LINE);
      await updateObject({ store: this.deps.store, bucket: loc.outputBucket, key: certificateKey(loc.jobFolder), attempts: this.limits.conditionalWriteAttempts }, (current) => (current ? UNCHANGED : this.cert.render()));
      this.deps.log?.(`job manager: ${this.target.key} rejected at step 1 (${message}); certificate in ${loc.jobFolder}`);
      return outcome;
    }
    throw new Error(`no free rejection folder for ${this.target.key}`);
  }

  // ---------------------------------------------------------------- step 2: Validation

  protected async validate(): Promise<void> {
    const submit = this.submit as SubmitFile;
    const limit = this.deps.config.deployLimit;
    // Cheap limits first: a 10,000-dataset submit must not cause 10,000 existence checks.
    if (submit.datanames.length > limit) {
      throw new JobError(`This job asks for ${submit.datanames.length} datasets; this analysis runs at most ${limit} IAEs at a time (DEPLOY_LIMIT).`);
    }
    this.checkInstanceType();
    const datasets = this.datasetKeys();
    this.configKey = this.keyInInputBucket(submit.configname);
    await this.checkExistence(datasets, this.configKey);
    this.config = await this.readConfig(this.configKey);
    const problems = await this.checkConfig(this.config);
    if (problems.length > 0) {
      throw new JobError(`The config ${this.configKey} has ${problems.length} problem(s); fix them and submit again.`, "INTERNAL", problems.map((p) => `[CONFIG ERROR] ${p}`));
    }
    const count = this.iaeCount();
    if (count > limit) throw new JobError(`This job needs ${count} IAEs; this analysis runs at most ${limit} at a time (DEPLOY_LIMIT).`);
    // This job's own IAEs (already started by an earlier attempt) do not count against it.
    const running = (await this.deps.compute.listRunning({ instanceType: this.instanceType })).filter((i) => !this.isOwnIae(i)).length;
    if (running + count > limit) {
      throw new JobError(
        `Instance requests greater than pipeline bandwidth: ${running} ${this.instanceType} IAEs are running and this job needs ${count}; the limit is ${limit} (DEPLOY_LIMIT). Try again later or contact NeuroCAAS administrator.`,
      );
    }
    await this.checkBudget(count);
  }

  protected checkInstanceType(): void {
    const requested = (this.submit as SubmitFile).instanceType;
    if (requested === undefined || requested === this.deps.config.instanceType) {
      this.cert.append(`Using instance type ${this.instanceType}.`);
      return;
    }
    const allowed = [this.deps.config.instanceType, ...this.deps.config.allowedInstanceTypes];
    if (!allowed.includes(requested)) {
      throw new JobError(`Instance type ${requested} is not available for this analysis; allowed: ${allowed.join(", ")}.`);
    }
    this.instanceType = requested;
    this.cert.append(`Using requested instance type ${requested}.`);
  }

  /** Dataset keys in the input bucket, in submit order. */
  protected datasetKeys(): string[] {
    return (this.submit as SubmitFile).datanames.map((d) => this.keyInInputBucket(d));
  }

  protected keyInInputBucket(nameOrUri: string): string {
    return keyOf(nameOrUri);
  }

  /** Whether a running instance is an IAE of this very job (tags set atomically by the launch). */
  protected isOwnIae(iae: IaeDescription): boolean {
    const loc = this.location as JobLocation;
    return iae.tags[IAE_TAGS.analysis] === this.bucket && iae.tags[IAE_TAGS.group] === this.group && iae.tags[IAE_TAGS.job] === tagValue(loc.jobName);
  }

  protected async checkExistence(datasets: readonly string[], configKey: string): Promise<void> {
    const bucket = (this.location as JobLocation).inputBucket;
    const missing: string[] = [];
    let found: boolean[];
    try {
      // A bypass bucket may not exist or not be readable: a listing tells, where HEAD only says 404.
      if (bucket !== this.bucket) await this.deps.store.prefixExists(bucket, "");
      found = await mapBounded(datasets, 16, (key) => (key.endsWith("/") ? this.deps.store.prefixExists(bucket, key) : this.deps.store.exists(bucket, key)));
    } catch (err) {
      if (err instanceof BucketUnavailableError) throw new JobError(bucketUnavailableMessage(err, "read the inputs from"), "AWS");
      throw err;
    }
    datasets.forEach((d, i) => {
      if (!found[i]) missing.push(`[INPUT ERROR] Dataset ${d} does not exist in bucket ${bucket}${d.endsWith("/") ? " (no object under this folder)" : ""}.`);
    });
    if (!(await this.deps.store.exists(bucket, configKey))) missing.push(`[INPUT ERROR] Config ${configKey} does not exist in bucket ${bucket}.`);
    if (missing.length > 0) {
      throw new JobError(`${missing.length} input(s) of this job do not exist; check the dataname and configname of the submit file.`, "INTERNAL", missing);
    }
    this.cert.append(`Found ${datasets.length} dataset(s) and the config ${configKey}.`);
  }

  protected async readConfig(key: string): Promise<JobConfig> {
    const obj = await this.deps.store.get((this.location as JobLocation).inputBucket, key);
    if (!obj) throw new JobError(`Config ${key} does not exist.`);
    const config = parseJobConfig(obj.body, key);
    for (const note of config.notes) this.cert.append(note);
    this.cert.append(
      `Config read: duration ${config.durationMinutes} min${config.durationExplicit ? "" : " (default)"}, additional storage ${config.datasetSizeGb} GB.`,
    );
    return config;
  }

  /** Problems with the config beyond the reserved keys (protocol hook; input checking). */
  protected async checkConfig(_config: JobConfig): Promise<string[]> {
    return [];
  }

  /** Number of IAEs the job starts (protocol hook; ensemble). */
  protected iaeCount(): number {
    return (this.submit as SubmitFile).datanames.length;
  }

  protected async checkBudget(count: number): Promise<void> {
    const { config, budgets, prices, compute, store, clock } = this.deps;
    const group = this.group as string;
    const duration = (this.config as JobConfig).durationMinutes;
    const override = await budgets.budgetFor(group, config.bucketName);
    const budget = override ?? config.maxCost;
    this.hourlyPrice = await prices.hourlyPrice(this.instanceType, config.region);
    const ledger = await readLedger({ store, bucket: config.bucketName, group, now: () => clock.now(), sleep: clock.sleep, maxAttempts: this.limits.conditionalWriteAttempts });
    const running = (await compute.listRunning({ imageId: config.ami })).filter((i) => countsAgainstGroup(i, config.ami, group) && !this.isOwnIae(i));
    let runningBound = 0;
    const priceCache = new Map<string, number>([[this.instanceType, this.hourlyPrice]]);
    for (const iae of running) {
      if (!priceCache.has(iae.instanceType)) priceCache.set(iae.instanceType, await prices.hourlyPrice(iae.instanceType, config.region));
      runningBound += ((priceCache.get(iae.instanceType) as number) * timeoutMinutes(iae.tags)) / 60;
    }
    const decision = decideBudget({ budget, spent: ledger.total, projected: projectedCost(this.hourlyPrice, count, duration), runningBound });
    const lines = [
      `Budget ${formatUsd(budget)} (${override !== undefined ? "set for your group" : "analysis default MAXCOST"}).`,
      `Incurred cost so far: ${formatUsd(decision.spent)}. Running IAEs may still cost up to ${formatUsd(decision.runningBound)}. This job may cost up to ${formatUsd(decision.projected)} (${count} IAE(s) × ${duration} min at $${this.hourlyPrice}/h).`,
      `Remaining budget: ${formatUsd(budget - decision.spent - decision.runningBound)}.`,
    ];
    if (!decision.covered) throw new JobError(BUDGET_REJECTION, "INTERNAL", lines);
    for (const l of lines) this.cert.append(l);
  }

  // ---------------------------------------------------------------- step 3: Environment Setup

  protected async setUpEnvironment(): Promise<void> {
    const config = this.config as JobConfig;
    this.volumeSizeGb = this.deps.config.imageVolumeSizeGb + config.datasetSizeGb;
    this.spot = config.durationExplicit && this.deps.config.allowSpot;
    this.plans = await this.planIaes();
    this.cert.append(
      `Environment: ${this.plans.length} IAE(s) of type ${this.instanceType}, ${this.volumeSizeGb} GB storage, timeout ${config.durationMinutes} min, ${this.spot ? "NeuroCAAS Save job (spot capacity, on-demand fallback)" : "on-demand capacity"}.`,
    );
  }

  /** One plan per IAE (protocol hook; ensemble). */
  protected async planIaes(): Promise<IaePlan[]> {
    return this.datasetKeys().map((dataset, index) => ({ index, dataset, configKey: this.configKey as string, command: this.commandFor(dataset, this.configKey as string) }));
  }

  protected commandFor(dataset: string, configKey: string): string {
    const loc = this.location as JobLocation;
    return fillCommand(this.deps.config.command, { bucket: loc.inputBucket, datasetKey: dataset, resultFolder: loc.resultFolderArgument, configKey });
  }

  // ---------------------------------------------------------------- step 4: Initialize Processing

  /**
   * Request every IAE (all or nothing) and record their cost logs. Never waits for boot. Each
   * launch call is written ahead into the job record (its token and plans) and its instance ids
   * right after it returns, so the monitor can account for an IAE whose cost log is not written
   * yet and a resumed attempt adopts instead of launching twice.
   */
  protected async launch(): Promise<void> {
    if (!this.deps.config.launch) {
      this.cert.append("LAUNCH is off for this analysis: no IAE was started.");
      return;
    }
    const batches = this.launchBatches();
    const requests = batches.map((plans, number) => this.launchRequest(plans, number));
    const intent: LaunchRecord = { common: this.iaeCommon(), batches: batches.map((plans, n) => ({ token: requests[n].clientToken, plans })) };
    const prior = this.resumedFrom?.launch;
    if (prior && !sameLaunch(prior, intent)) {
      await this.adoptEverything();
      throw new JobError("The job's inputs or settings changed while its job manager was interrupted, so its IAEs could not be resumed as planned; submit the job again with a new timestamp.", "INTERNAL");
    }
    const recorded = await this.updateRecord((r) => ({ ...r, state: "launching", configKey: this.configKey, inputBucket: (this.location as JobLocation).inputBucket, launch: r.launch ?? intent }));
    const launch = recorded.launch as LaunchRecord;
    const failures: unknown[] = [];
    await mapBounded(
      batches,
      this.limits.launchConcurrency,
      async (plans, n) => {
        try {
          const known = launch.batches[n].instanceIds;
          const iaes = known ? await this.adopt(known) : await this.deps.compute.launch({ ...requests[n], ...(prior ? { adopt: true } : {}) });
          if (iaes.length !== plans.length) {
            await this.deps.compute.terminate(iaes.map((i) => i.instanceId));
            throw new LaunchError("service", `the compute backend started ${iaes.length} IAE(s) for ${plans.length} requested`);
          }
          // By contract the backend answers in launch order: IAE i carries instanceTags[i], so it
          // runs plan i (its dataset, config and command). Match by index, never by arrival.
          iaes.forEach((iae, i) => this.launched.push({ plan: plans[i], iae }));
          if (!known) await this.recordBatch(n, iaes.map((i) => i.instanceId));
        } catch (err) {
          failures.push(err);
          throw err;
        }
      },
      { stopOnError: true },
    ).catch(() => undefined);
    if (failures.length > 0) throw failures.find((f) => f instanceof LeaseLostError) ?? launchFailure(failures[0]);
    this.launched.sort((a, b) => a.plan.index - b.plan.index);
    await this.writeActiveLogs(launch.common);
    this.cert.append(`Requested ${this.launched.length} IAE(s): ${this.launched.map((l) => l.iae.instanceId).join(", ")}.`);
  }

  /** Cost-log fields every IAE of this job shares. */
  protected iaeCommon(): IaeCommon {
    const loc = this.location as JobLocation;
    return {
      price: this.hourlyPrice,
      databucket: loc.inputBucket,
      jobpath: loc.jobFolder,
      resultbucket: loc.outputBucket,
      group: this.group as string,
      analysis: this.bucket,
      jobrecord: loc.recordKey,
      workingdirectory: this.deps.config.workingDirectory,
      ssmtimeout: this.deps.config.ssmTimeoutSeconds,
      timeout: (this.config as JobConfig).durationMinutes,
    };
  }

  /** Instances an earlier attempt recorded for a launch call, as launched IAEs (gone ones included). */
  private async adopt(ids: readonly string[]): Promise<LaunchedIae[]> {
    const described = new Map((await this.deps.compute.describe(ids)).map((d) => [d.instanceId, d]));
    return ids.map((id) => ({ instanceId: id, instanceType: described.get(id)?.instanceType ?? this.instanceType, spot: described.get(id)?.spot ?? false }));
  }

  /** Every instance this job ever started (found by its tags), so a failing resume can stop them all. */
  private async adoptEverything(): Promise<void> {
    const loc = this.location as JobLocation;
    const mine = await this.deps.compute.listRunning({ tags: { [IAE_TAGS.analysis]: this.bucket, [IAE_TAGS.job]: tagValue(loc.jobName) } });
    for (const iae of mine.filter((i) => this.isOwnIae(i))) this.launched.push({ plan: { index: -1, dataset: iae.tags[IAE_TAGS.dataset] ?? "", configKey: "", command: "" }, iae });
  }

  /** Record a launch call's instance ids (plan order) in the job record as soon as it returned. */
  private async recordBatch(n: number, ids: readonly string[]): Promise<void> {
    await this.updateRecord((r) => {
      const launch = r.launch as LaunchRecord;
      const batches: LaunchBatchRecord[] = launch.batches.map((b, i) => (i === n ? { ...b, instanceIds: [...ids] } : b));
      return { ...r, launch: { ...launch, batches }, instances: instancesOf(batches) };
    });
  }

  /**
   * Active cost logs, created only where none exists (the monitor may have created one from the
   * launch record and moved on) and only for IAEs still alive or unaccounted: an adopted IAE that
   * already ended belongs to the monitor's bookkeeping.
   */
  private async writeActiveLogs(common: IaeCommon): Promise<void> {
    const now = formatIsoSeconds(this.deps.clock.now());
    const alive = this.resumedFrom ? new Set((await this.deps.compute.describe(this.launched.map((l) => l.iae.instanceId))).filter((d) => d.state === "pending" || d.state === "running").map((d) => d.instanceId)) : undefined;
    await mapBounded(this.launched, 16, async ({ plan, iae }) => {
      if (alive && !alive.has(iae.instanceId)) return;
      if (alive && (await this.deps.store.exists(this.bucket, finishedCostLogKey(common.group, iae.instanceId)))) return;
      try {
        await this.deps.store.put(this.bucket, activeCostLogKey(iae.instanceId), JSON.stringify(costLogFor(common, plan, iae, now), null, 2), { ifNoneMatch: "*" });
        this.activeLogsWritten.push(iae.instanceId);
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
      }
    });
  }

  /**
   * The job's launch calls: plans with the same `launchGroupKey` (everything but per-instance
   * tags alike) in plan order, cut into batches of at most `launchBatchSize` IAEs. A job of N
   * datasets makes ceil(N / launchBatchSize) launch calls.
   */
  protected launchBatches(): IaePlan[][] {
    const cap = Math.max(1, Math.floor(this.limits.launchBatchSize));
    const groups = new Map<string, IaePlan[]>();
    for (const plan of this.plans) {
      const k = this.launchGroupKey(plan);
      const group = groups.get(k);
      if (group) group.push(plan);
      else groups.set(k, [plan]);
    }
    const batches: IaePlan[][] = [];
    for (const group of groups.values()) for (let i = 0; i < group.length; i += cap) batches.push(group.slice(i, i + cap));
    return batches;
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

  /** One launch call for a batch of plans; `number` is the batch's position (spreads batches over subnets). */
  protected launchRequest(batch: readonly IaePlan[], number = 0): IaeLaunchRequest {
    const c = this.deps.config;
    const loc = this.location as JobLocation;
    const tags: Record<string, string> = {
      [IAE_TAGS.priceTracking]: "On",
      [IAE_TAGS.timeout]: String((this.config as JobConfig).durationMinutes),
      [IAE_TAGS.analysis]: c.bucketName,
      [IAE_TAGS.group]: this.group as string,
      [IAE_TAGS.job]: tagValue(loc.jobName),
      Name: tagValue(`neurocaas-${loc.jobName}`),
    };
    return {
      imageId: c.ami,
      instanceType: this.instanceType,
      count: batch.length,
      volumeSizeGb: this.volumeSizeGb,
      spot: this.spot,
      tags,
      instanceTags: batch.map((plan) => this.instanceTagsFor(plan)),
      instanceProfileArn: c.iaeInstanceProfileArn || undefined,
      keyName: c.keyName || undefined,
      securityGroupIds: c.securityGroupIds,
      subnetId: c.subnetIds?.[number % Math.max(1, c.subnetIds.length)],
      shutdownBehavior: c.shutdownBehavior,
      clientToken: sha256(`${loc.recordKey}#${this.submitDigest}#${batch[0].index}#${batch.length}`).slice(0, LAUNCH_TOKEN_LENGTH),
    };
  }

  /**
   * The command reaches each IAE when the monitor sees it running (its cost log carries the
   * command). Here: the per-dataset (per ensemble member) status files, INITIALIZING, created only
   * where none exists (an IAE that already reported keeps its status).
   */
  protected async deliverCommands(): Promise<void> {
    const loc = this.location as JobLocation;
    const byIndex = new Map(this.launched.map((l) => [l.plan.index, l.iae.instanceId]));
    await mapBounded(this.plans, 16, async (plan) => {
      const status = { status: "INITIALIZING" as const, reason: [], input: plan.dataset, ...(plan.member !== undefined ? { member: plan.member } : {}), instance: byIndex.get(plan.index) ?? null, command: null, job: loc.jobName };
      try {
        await this.deps.store.put(loc.outputBucket, datasetStatusKey(loc.jobFolder, plan.dataset, plan.member), renderDatasetStatus(status), { ifNoneMatch: "*" });
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
      }
    });
    if (this.launched.length > 0) this.cert.append("Each IAE receives its command as soon as it is running.");
  }

  protected async finishCertificate(): Promise<void> {
    const byIndex = new Map(this.launched.map((l) => [l.plan.index, l.iae.instanceId]));
    const time = formatTime(this.deps.clock.now());
    this.cert.setDatasets(
      this.plans.map((p) => ({ dataname: datasetLineName(p.dataset, p.member), status: "INITIALIZING", time, lastCommand: byIndex.has(p.index) ? `waiting for IAE ${byIndex.get(p.index)}` : "None" })),
    );
  }

  // ---------------------------------------------------------------- failure handling

  protected async fail(step: StepNumber, err: unknown): Promise<JobOutcome> {
    const kind = err instanceof JobError ? err.kind : isAwsError(err) ? "AWS" : "INTERNAL";
    const message = err instanceof JobError ? err.message : errorMessage(err);
    this.deps.log?.(`job manager: step ${step} failed for ${this.target.key}: ${message}`);
    // Not owning the job folder (e.g. S3 failed while claiming, or another attempt took the job
    // over): writing there could clobber another attempt's work. Rethrow so the invocation is retried.
    if ((this.location && !this.ownsLocation) || err instanceof LeaseLostError) throw err;
    if (!this.location) return { exitCode: 99, submitKey: this.target.key, protocol: this.protocol, reason: message, instanceIds: [] };
    try {
      for (const d of err instanceof JobError ? err.details : []) this.cert.append(d);
      this.cert.append(stepErrorLine(step, kind, message));
      if (this.launched.length > 0) await this.rollback();
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
      await this.updateRecord((r) => ({ ...r, state: step === 4 ? "failed" : "rejected", exitCode: 99 }));
    } catch (writeErr) {
      this.deps.log?.(`job manager: could not record the failure of ${this.target.key}: ${errorMessage(writeErr)}`);
      // Unrecorded, the job must not end silently: fail the invocation so that it is retried
      // (a retry of this invocation takes the claim over at once).
      throw err;
    }
    const loc = this.location;
    return { exitCode: 99, submitKey: this.target.key, protocol: this.protocol, outputBucket: loc.outputBucket, jobFolder: loc.jobFolder, reason: message, instanceIds: [] };
  }

  /** Terminate everything this job launched, drop their active cost logs, write end.txt. */
  protected async rollback(): Promise<void> {
    const ids = [...new Set(this.launched.map((l) => l.iae.instanceId))];
    await this.deps.compute.terminate(ids);
    await mapBounded(this.activeLogsWritten, 16, (id) => this.deps.store.delete(this.bucket, activeCostLogKey(id)));
    const loc = this.location as JobLocation;
    await writeEndMarker(this.deps.store, loc.outputBucket, loc.jobFolder);
    this.cert.append(`Terminated the ${ids.length} IAE(s) already started for this job (${ids.join(", ")}); nothing is left running.`);
    this.launched = [];
  }

  // ---------------------------------------------------------------- helpers

  protected async stepDone(step: StepNumber): Promise<void> {
    this.cert.append(stepDoneLine(step));
    await this.writeCertificate();
  }

  /** Merge this attempt's new lines into the certificate (conditional read-modify-write: nobody's lines are lost). */
  protected async writeCertificate(): Promise<void> {
    const loc = this.location as JobLocation;
    await updateObject({ store: this.deps.store, bucket: loc.outputBucket, key: certificateKey(loc.jobFolder), attempts: this.limits.conditionalWriteAttempts, sleep: this.deps.clock.sleep }, (current) =>
      this.cert.applyTo(current?.body),
    );
    this.cert.markWritten();
  }

  /** Conditional read-modify-write of the job record, only while this attempt holds its lease. */
  protected async updateRecord(change: (record: JobRecord) => JobRecord): Promise<JobRecord> {
    const loc = this.location as JobLocation;
    const out = await updateJson<JobRecord>({ store: this.deps.store, bucket: this.bucket, key: loc.recordKey, attempts: this.limits.conditionalWriteAttempts, sleep: this.deps.clock.sleep }, (current) => {
      if (!current || current.lease?.holder !== this.invocation.id) throw new LeaseLostError(loc.recordKey);
      return { ...change(current), updated: this.deps.clock.now().toISOString() };
    });
    return out.value as JobRecord;
  }

  protected outcome(exitCode: 0 | 99): JobOutcome {
    const loc = this.location as JobLocation;
    return { exitCode, submitKey: this.target.key, protocol: this.protocol, outputBucket: loc.outputBucket, jobFolder: loc.jobFolder, instanceIds: this.launched.map((l) => l.iae.instanceId) };
  }
}

/** Length of a launch's idempotency token (the EC2 backend appends its market, within EC2's 64). */
export const LAUNCH_TOKEN_LENGTH = 60;

/** The `instances` list of a job record from its launch batches (plan order). */
function instancesOf(batches: readonly LaunchBatchRecord[]): JobRecord["instances"] {
  return batches
    .flatMap((b) => (b.instanceIds ?? []).map((instanceId, i) => ({ instanceId, dataset: b.plans[i].dataset, index: b.plans[i].index })))
    .sort((a, b) => a.index - b.index);
}

/** Whether two launch records plan the same launch calls (a resume may adopt the earlier one's IAEs). */
function sameLaunch(a: LaunchRecord, b: LaunchRecord): boolean {
  const strip = (r: LaunchRecord): string => JSON.stringify(r.batches.map((x) => ({ token: x.token, plans: x.plans })));
  return strip(a) === strip(b);
}

function bucketUnavailableMessage(err: BucketUnavailableError, what: string): string {
  return `The storage bypass bucket ${err.bucket} does not exist or NeuroCAAS may not use it (${err.code}), so NeuroCAAS could not ${what} it. Check the bucket name, or ask the administrator to list it in neurocaas:bypassBuckets and grant access.`;
}

/** A timestamp usable as a folder name from a submit file that failed validation, if any. */
function lenientTimestamp(text: string): string | undefined {
  try {
    const raw = JSON.parse(text) as { timestamp?: unknown };
    const t = raw?.timestamp;
    // eslint-disable-next-line no-control-regex
    if (typeof t === "string" && t.length > 0 && t.length <= MAX_TIMESTAMP_LENGTH && !/[/\\\u0000-\u001f\u007f]/.test(t) && t !== "." && t !== "..") return t;
  } catch {
    // not JSON
  }
  return undefined;
}

function launchFailure(err: unknown): JobError {
  if (err instanceof JobError) return err;
  if (err instanceof LaunchError) {
    const words: Record<LaunchError["kind"], string> = {
      capacity: "AWS has no free capacity for this instance type right now (InsufficientInstanceCapacity). Try again later or choose another instance type.",
      "vcpu-limit": "The account's vCPU quota for this instance family is used up (VcpuLimitExceeded). Try again when other jobs have finished, or contact NeuroCAAS administrator.",
      throttled: "AWS refused more instance requests for now (RequestLimitExceeded). Try again in a few minutes.",
      "instance-limit": "The account's instance limit is reached (InstanceLimitExceeded). Contact NeuroCAAS administrator.",
      "invalid-request": `The analysis could not start IAEs: ${err.message}. Contact NeuroCAAS administrator.`,
      service: `AWS failed to start the IAEs: ${err.message}. Try again later.`,
    };
    return new JobError(words[err.kind], "AWS");
  }
  return new JobError(`Could not start the IAEs: ${errorMessage(err)}`, isAwsError(err) ? "AWS" : "INTERNAL");
}
