import type { ProtocolName } from "../components/blueprint/types";
import { fillCommand } from "./command-template";
import { IAE_TAGS, LaunchError, type IaeLaunchRequest, type LaunchedIae } from "./compute";
import { BUDGET_REJECTION, CertificateLog, SHUTDOWN_LINE, formatTime, renderDatasetStatus, stepDoneLine, stepErrorLine, type StepNumber } from "./certificate";
import { formatLogTime, type CostLog } from "./cost-log";
import { decideBudget, formatUsd, projectedCost, runningBound } from "./budget";
import { limitsOf, type ProtocolDeps, type ProtocolLimits } from "./deps";
import { JobError, errorMessage, isAwsError } from "./errors";
import { jobRecordKey, sameSubmission, sha256, type JobRecord } from "./job-record";
import { parseJobConfig, type JobConfig } from "./job-config";
import { activeCostLogKey, basename, certificateKey, datasetStatusKey, END_MARKER_BODY, endMarkerKey, groupOfKey, jobFolderName, rejectedJobFolder } from "./layout";
import { readLedger } from "./ledger";
import type { SpendSnapshot } from "./spend-summary";
import { PreconditionFailedError } from "./storage";
import { parseSubmitFile, MAX_TIMESTAMP_LENGTH, type SubmitFile } from "./submit-file";

/** Where a submit file was uploaded (key already URL-decoded). */
export interface SubmitTarget {
  readonly bucket: string;
  readonly key: string;
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
  /** What the budget check saw (absent when the job stopped before it): feeds the group's spend summary. */
  readonly spend?: SpendSnapshot;
  readonly reason?: string;
  readonly instanceIds: readonly string[];
}

/** One IAE of a job. */
export interface IaePlan {
  /** Position in the certificate's monitoring block. */
  readonly index: number;
  /** Dataset key in the input bucket (placeholder 2). */
  readonly dataset: string;
  /** Config key in the input bucket (placeholder 4). */
  readonly configKey: string;
  readonly command: string;
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

/**
 * The job manager (SPEC §4): four steps, each logged to the certificate. Protocols subclass it
 * and override the step hooks (`checkConfig`, `iaeCount`, `planIaes`, …).
 */
export class Submission {
  readonly protocol: ProtocolName = "default";
  protected readonly limits: ProtocolLimits;
  protected readonly cert: CertificateLog;
  protected readonly startedAt: Date;
  protected group?: string;
  protected submitText?: string;
  protected submitDigest?: string;
  protected submit?: SubmitFile;
  protected location?: JobLocation;
  protected recordEtag?: string;
  protected configKey?: string;
  protected config?: JobConfig;
  protected instanceType: string;
  protected hourlyPrice = 0;
  protected volumeSizeGb = 0;
  protected spot = false;
  protected plans: IaePlan[] = [];
  protected spend?: SpendSnapshot;
  protected launched: { plan: IaePlan; iae: LaunchedIae }[] = [];
  private activeLogsWritten: string[] = [];
  /** Whether this attempt may write in `location` (its own claim, or the invalid-submit folder). */
  private ownsLocation = false;

  constructor(
    protected readonly deps: ProtocolDeps,
    protected readonly target: SubmitTarget,
  ) {
    this.limits = limitsOf(deps);
    this.startedAt = deps.clock.now();
    this.cert = new CertificateLog(this.startedAt, () => deps.clock.now());
    this.instanceType = deps.config.instanceType;
  }

  protected get bucket(): string {
    return this.deps.config.bucketName;
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
      await this.updateRecord("started", 0);
      return this.outcome(0);
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
      this.submit = parseSubmitFile(this.submitText, this.group);
    } catch (err) {
      parseError = err;
    }
    const timestamp = this.submit?.timestamp ?? lenientTimestamp(this.submitText);
    if (timestamp === undefined) {
      // No usable job folder: report in a folder named after the submit file.
      this.location = this.locate(`invalid-submit-${basename(key).replace(/\.json$/, "")}`, undefined);
      this.ownsLocation = true;
      throw parseError ?? new JobError("The submit file has no usable timestamp.");
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
    return { jobName, outputBucket: this.bucket, jobFolder: `${group}/results/${jobName}`, inputBucket: this.bucket, resultFolderArgument: `results/${jobName}`, recordKey };
  }

  /**
   * Create the job record with If-None-Match. A record of the same submission means a repeated
   * or concurrent delivery (do nothing); one of another submission means the timestamp is taken.
   */
  protected async claim(): Promise<JobOutcome | undefined> {
    const loc = this.location as JobLocation;
    const now = this.deps.clock.now().toISOString();
    const record: JobRecord = {
      version: 1,
      submission: { bucket: this.target.bucket, key: this.target.key, sha256: this.submitDigest as string },
      group: this.group as string,
      jobName: loc.jobName,
      outputBucket: loc.outputBucket,
      jobFolder: loc.jobFolder,
      state: "claimed",
      instances: [],
      created: now,
      updated: now,
    };
    try {
      const { etag } = await this.deps.store.put(this.bucket, loc.recordKey, JSON.stringify(record), { ifNoneMatch: "*" });
      this.recordEtag = etag;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      const existing = await this.deps.store.get(this.bucket, loc.recordKey);
      const other = existing ? parseRecord(existing.body) : undefined;
      if (existing && other && sameSubmission(other, this.target.bucket, this.target.key, this.submitDigest as string)) {
        if (await this.takeOverStaleClaim(other, existing.etag, record)) return undefined;
        this.deps.log?.(`duplicate delivery of ${this.target.key}: job ${loc.jobName} is ${other.state}; nothing to do`);
        return { exitCode: other.exitCode ?? 0, submitKey: this.target.key, protocol: this.protocol, outputBucket: loc.outputBucket, jobFolder: loc.jobFolder, duplicate: true, instanceIds: other.instances.map((i) => i.instanceId) };
      }
      return this.rejectTakenTimestamp(`another submission (${other?.submission.key ?? "unknown"}) already uses it`);
    }
    // A job folder made before this record existed (e.g. by the original deployment) is not ours either.
    if (await this.deps.store.exists(loc.outputBucket, certificateKey(loc.jobFolder))) {
      await this.deps.store.delete(this.bucket, loc.recordKey);
      return this.rejectTakenTimestamp("its job folder already holds a certificate");
    }
    this.ownsLocation = true;
    return undefined;
  }

  /** Resume a job whose earlier attempt died before launching anything (same submission). */
  private async takeOverStaleClaim(other: JobRecord, etag: string, fresh: JobRecord): Promise<boolean> {
    const age = this.deps.clock.now().getTime() - Date.parse(other.updated);
    if (other.state !== "claimed" || other.instances.length > 0 || !(age > this.limits.staleClaimMs)) return false;
    try {
      const { etag: next } = await this.deps.store.put(this.bucket, (this.location as JobLocation).recordKey, JSON.stringify(fresh), { ifMatch: etag });
      this.recordEtag = next;
    } catch (err) {
      if (err instanceof PreconditionFailedError) return false; // another redelivery took it first
      throw err;
    }
    this.cert.append("[Job Manager] An earlier attempt at this job stopped before launching anything; starting it again.");
    this.ownsLocation = true;
    return true;
  }

  /** Report a taken timestamp in a sibling folder: the existing job's files are never touched. */
  private async rejectTakenTimestamp(why: string): Promise<JobOutcome> {
    const loc = this.location as JobLocation;
    const reason = `The timestamp of this submission is already used by job ${loc.jobName}: ${why}. Choose a new, unique timestamp.`;
    const folder = rejectedJobFolder(loc.jobFolder, this.submitDigest as string);
    this.cert.append(stepErrorLine(1, "INTERNAL", reason));
    this.cert.append(SHUTDOWN_LINE);
    await this.deps.store.put(loc.outputBucket, certificateKey(folder), this.cert.render());
    this.location = undefined;
    return { exitCode: 99, submitKey: this.target.key, protocol: this.protocol, outputBucket: loc.outputBucket, jobFolder: folder, reason, instanceIds: [] };
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
    const running = await this.deps.compute.countRunning({ instanceType: this.instanceType });
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
    return nameOrUri.startsWith("s3://") ? nameOrUri.replace(/^s3:\/\/[^/]+\//, "") : nameOrUri;
  }

  protected async checkExistence(datasets: readonly string[], configKey: string): Promise<void> {
    const bucket = (this.location as JobLocation).inputBucket;
    const missing: string[] = [];
    const found = await inParallel(datasets, 16, (key) => (key.endsWith("/") ? this.deps.store.prefixExists(bucket, key) : this.deps.store.exists(bucket, key)));
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
    const running = await runningBound({ compute, prices }, { imageId: config.ami, group, region: config.region, knownPrices: new Map([[this.instanceType, this.hourlyPrice]]) });
    const decision = decideBudget({ budget, spent: ledger.total, projected: projectedCost(this.hourlyPrice, count, duration), runningBound: running.usd });
    this.spend = {
      group,
      budget: { usd: budget, origin: override !== undefined ? "group" : "analysis-default" },
      ledger: { total: ledger.total, entries: Object.keys(ledger.entries).length },
      running: { upTo: running.usd, iaes: running.iaes },
      job: { iaes: count, upTo: decision.projected },
    };
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

  /** Request every IAE (all or nothing) and record their cost logs. Never waits for boot. */
  protected async launch(): Promise<void> {
    if (!this.deps.config.launch) {
      this.cert.append("LAUNCH is off for this analysis: no IAE was started.");
      return;
    }
    const queue = this.launchBatches().map((plans, number) => ({ plans, number }));
    const failures: unknown[] = [];
    const worker = async (): Promise<void> => {
      for (let batch = queue.shift(); batch !== undefined && failures.length === 0; batch = queue.shift()) {
        const { plans, number } = batch;
        try {
          const iaes = await this.deps.compute.launch(this.launchRequest(plans, number));
          if (iaes.length !== plans.length) {
            await this.deps.compute.terminate(iaes.map((i) => i.instanceId));
            throw new LaunchError("service", `the compute backend started ${iaes.length} IAE(s) for ${plans.length} requested`);
          }
          // By contract the backend answers in request order: IAE i carries instanceTags[i], so
          // it runs plan i (its dataset, config and command). Match by index, never by arrival.
          iaes.forEach((iae, i) => this.launched.push({ plan: plans[i], iae }));
        } catch (err) {
          failures.push(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.limits.launchConcurrency, queue.length) }, worker));
    if (failures.length > 0) throw launchFailure(failures[0]);
    this.launched.sort((a, b) => a.plan.index - b.plan.index);
    await inParallel(this.launched, 16, ({ plan, iae }) => this.writeActiveLog(plan, iae));
    await this.updateRecord("claimed", undefined);
    this.cert.append(`Requested ${this.launched.length} IAE(s): ${this.launched.map((l) => l.iae.instanceId).join(", ")}.`);
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
      clientToken: sha256(`${loc.recordKey}#${this.submitDigest}#${batch[0].index}#${batch.length}`).slice(0, 64),
    };
  }

  private async writeActiveLog(plan: IaePlan, iae: LaunchedIae): Promise<void> {
    const loc = this.location as JobLocation;
    const log: CostLog = {
      "instance-id": iae.instanceId,
      "instance-type": iae.instanceType,
      spot: iae.spot,
      price: this.hourlyPrice,
      databucket: loc.inputBucket,
      datapath: [plan.dataset],
      jobpath: loc.jobFolder,
      configpath: plan.configKey,
      start: null,
      end: null,
      group: this.group,
      analysis: this.bucket,
      resultbucket: loc.outputBucket,
      jobrecord: loc.recordKey,
      datasetindex: plan.index,
      command: plan.command,
      workingdirectory: this.deps.config.workingDirectory,
      ssmtimeout: this.deps.config.ssmTimeoutSeconds,
      timeout: (this.config as JobConfig).durationMinutes,
      launched: formatLogTime(this.deps.clock.now()),
      commandid: null,
    };
    await this.deps.store.put(this.bucket, activeCostLogKey(iae.instanceId), JSON.stringify(log, null, 2));
    this.activeLogsWritten.push(iae.instanceId);
  }

  /**
   * The command reaches each IAE when the monitor sees it running (its cost log carries the
   * command). Here: the per-dataset status files, INITIALIZING.
   */
  protected async deliverCommands(): Promise<void> {
    const loc = this.location as JobLocation;
    const byIndex = new Map(this.launched.map((l) => [l.plan.index, l.iae.instanceId]));
    const files = new Map<string, string>();
    for (const plan of this.plans) {
      const statusKey = datasetStatusKey(loc.jobFolder, plan.dataset);
      if (files.has(statusKey)) continue; // ensemble members share one dataset file
      const status = { status: "INITIALIZING" as const, reason: [], input: plan.dataset, instance: byIndex.get(plan.index) ?? null, command: null, job: loc.jobName };
      files.set(statusKey, renderDatasetStatus(status));
    }
    await inParallel([...files], 16, ([key, body]) => this.deps.store.put(loc.outputBucket, key, body));
    if (this.launched.length > 0) this.cert.append("Each IAE receives its command as soon as it is running.");
  }

  protected async finishCertificate(): Promise<void> {
    const byIndex = new Map(this.launched.map((l) => [l.plan.index, l.iae.instanceId]));
    const time = formatTime(this.deps.clock.now());
    this.cert.setDatasets(
      this.plans.map((p) => ({ dataname: p.dataset, status: "INITIALIZING", time, lastCommand: byIndex.has(p.index) ? `waiting for IAE ${byIndex.get(p.index)}` : "None" })),
    );
  }

  // ---------------------------------------------------------------- failure handling

  protected async fail(step: StepNumber, err: unknown): Promise<JobOutcome> {
    const kind = err instanceof JobError ? err.kind : isAwsError(err) ? "AWS" : "INTERNAL";
    const message = err instanceof JobError ? err.message : errorMessage(err);
    this.deps.log?.(`job manager: step ${step} failed for ${this.target.key}: ${message}`);
    // Not yet owning the job folder (e.g. S3 failed while claiming): writing there could clobber
    // another submission's job. Rethrow so the invocation is retried (S3/Lambda redelivery).
    if (this.location && !this.ownsLocation) throw err;
    if (!this.location) return { exitCode: 99, submitKey: this.target.key, protocol: this.protocol, reason: message, instanceIds: [] };
    try {
      for (const d of err instanceof JobError ? err.details : []) this.cert.append(d);
      this.cert.append(stepErrorLine(step, kind, message));
      if (this.launched.length > 0) await this.rollback();
      this.cert.append(SHUTDOWN_LINE);
      await this.writeCertificate();
      await this.updateRecord(step === 4 ? "failed" : "rejected", 99);
    } catch (writeErr) {
      this.deps.log?.(`job manager: could not record the failure of ${this.target.key}: ${errorMessage(writeErr)}`);
    }
    const loc = this.location;
    return { exitCode: 99, submitKey: this.target.key, protocol: this.protocol, outputBucket: loc.outputBucket, jobFolder: loc.jobFolder, reason: message, instanceIds: [], ...(this.spend ? { spend: this.spend } : {}) };
  }

  /** Terminate everything this job launched, drop their active cost logs, write end.txt. */
  protected async rollback(): Promise<void> {
    const ids = this.launched.map((l) => l.iae.instanceId);
    await this.deps.compute.terminate(ids);
    await Promise.all(this.activeLogsWritten.map((id) => this.deps.store.delete(this.bucket, activeCostLogKey(id))));
    const loc = this.location as JobLocation;
    await this.deps.store.put(loc.outputBucket, endMarkerKey(loc.jobFolder), END_MARKER_BODY);
    this.cert.append(`Terminated the ${ids.length} IAE(s) already started for this job (${ids.join(", ")}); nothing is left running.`);
    this.launched = [];
  }

  // ---------------------------------------------------------------- helpers

  protected async stepDone(step: StepNumber): Promise<void> {
    this.cert.append(stepDoneLine(step));
    await this.writeCertificate();
  }

  protected async writeCertificate(): Promise<void> {
    const loc = this.location as JobLocation;
    await this.deps.store.put(loc.outputBucket, certificateKey(loc.jobFolder), this.cert.render());
  }

  protected async updateRecord(state: JobRecord["state"], exitCode: 0 | 99 | undefined): Promise<void> {
    const loc = this.location as JobLocation;
    if (this.recordEtag === undefined) return;
    const existing = await this.deps.store.get(this.bucket, loc.recordKey);
    if (!existing) return;
    const record = JSON.parse(existing.body) as JobRecord;
    const next: JobRecord = {
      ...record,
      state,
      ...(exitCode !== undefined ? { exitCode } : {}),
      ...(this.configKey !== undefined ? { configKey: this.configKey, inputBucket: loc.inputBucket } : {}),
      instances: this.launched.map((l) => ({ instanceId: l.iae.instanceId, dataset: l.plan.dataset, index: l.plan.index })),
      updated: this.deps.clock.now().toISOString(),
    };
    const { etag } = await this.deps.store.put(this.bucket, loc.recordKey, JSON.stringify(next, null, 2));
    this.recordEtag = etag;
  }

  protected outcome(exitCode: 0 | 99): JobOutcome {
    const loc = this.location as JobLocation;
    return { exitCode, submitKey: this.target.key, protocol: this.protocol, outputBucket: loc.outputBucket, jobFolder: loc.jobFolder, instanceIds: this.launched.map((l) => l.iae.instanceId), ...(this.spend ? { spend: this.spend } : {}) };
  }
}

function parseRecord(body: string): JobRecord | undefined {
  try {
    const r = JSON.parse(body) as JobRecord;
    return typeof r === "object" && r !== null && typeof r.submission === "object" && r.submission !== null && Array.isArray(r.instances) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Map with at most `limit` calls in flight; results in input order. */
async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
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

/** EC2 tag values are at most 256 characters. */
function tagValue(v: string): string {
  return v.length <= 256 ? v : `${v.slice(0, 120)}…${v.slice(-135)}`;
}

function launchFailure(err: unknown): JobError {
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
