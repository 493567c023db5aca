import type { AnalysisRuntimeConfig } from "../model/runtime-config";
import type { ComputeBackend } from "./compute";
import type { ObjectStore } from "./storage";
import { realSleep, type Sleep } from "./retry";
import type { Invocation } from "./lease";

/** Time, injectable so tests control it. */
export interface Clock {
  now(): Date;
  sleep: Sleep;
}

export const systemClock: Clock = { now: () => new Date(), sleep: realSleep };

/**
 * Per-(group, analysis) budget overrides (AWS: parameter store `{prefix}/{group}/{analysis}`, the
 * analysis being the blueprint's PipelineName — the bucket's name unless `neurocaas:bucketName` says otherwise).
 */
export interface BudgetSource {
  /** The override in USD, or undefined when none is set. Throws on a malformed value. */
  budgetFor(group: string, analysis: string): Promise<number | undefined>;
}

/** On-demand Linux hourly prices in USD. */
export interface PriceSource {
  hourlyPrice(instanceType: string, region: string): Promise<number>;
}

/** Instance ids the account guard must never stop (AWS: parameter `exempt_instances`). */
export interface ExemptionSource {
  exemptInstances(): Promise<readonly string[]>;
}

/** Bounds the protocols work within; defaults in `DEFAULT_LIMITS`. */
export interface ProtocolLimits {
  /** How long the monitor keeps retrying to deliver a command to a booting IAE. */
  readonly commandDeliveryMs: number;
  /** Total backoff allowed for launch retries (capacity, throttling, 5xx). */
  readonly launchRetryMs: number;
  /** Attempts of a conditional read-modify-write before giving up. */
  readonly conditionalWriteAttempts: number;
  /**
   * The same for objects every job of an analysis writes (its queue, a group's ledger reservations):
   * hundreds of jobs submitted at once take turns on them, so they get more attempts (with growing
   * jittered backoff) before a conflict fails a job.
   */
  readonly sharedWriteAttempts: number;
  /** Concurrent RunInstances calls of one job. */
  readonly launchConcurrency: number;
  /**
   * Most IAEs one launch call starts: a job's IAEs go out in batches of this size (one
   * RunInstances each, per-dataset tags applied per instance), so N datasets make
   * ceil(N / launchBatchSize) RunInstances calls.
   */
  readonly launchBatchSize: number;
  /**
   * Lease of a job record written by a version that recorded no lease: after this long since its
   * last update its holder is gone. Longer than the 15-minute Lambda maximum.
   */
  readonly staleClaimMs: number;
}

export const DEFAULT_LIMITS: ProtocolLimits = {
  commandDeliveryMs: 300_000,
  launchRetryMs: 60_000,
  conditionalWriteAttempts: 20,
  sharedWriteAttempts: 200,
  launchConcurrency: 10,
  launchBatchSize: 100,
  staleClaimMs: 16 * 60_000,
};

/**
 * Everything `runSubmit`, `runMonitor` and `runPostProcess` need. The Lambda handlers build it
 * from AWS adapters; local mode builds it from a local S3 endpoint and a local ComputeBackend.
 */
export interface ProtocolDeps {
  readonly config: AnalysisRuntimeConfig;
  readonly store: ObjectStore;
  readonly compute: ComputeBackend;
  readonly budgets: BudgetSource;
  readonly prices: PriceSource;
  readonly clock: Clock;
  readonly limits?: Partial<ProtocolLimits>;
  /**
   * This handler invocation (Lambda: request id and deadline; local mode: its server run). Claims
   * are leased to it; absent: a fresh id with the Lambda maximum run time.
   */
  readonly invocation?: Invocation;
  /** Operator log (Lambda: CloudWatch via console). */
  readonly log?: (message: string) => void;
}

/** What the monitor works with: no budgets or prices (its Lambda builds no Pricing client). */
export type MonitorDeps = Omit<ProtocolDeps, "budgets" | "prices">;

/** What post-processing works with: storage and the analysis config (no EC2, SSM or Pricing). */
export type PostProcessDeps = Pick<ProtocolDeps, "config" | "store" | "clock" | "log">;

export function limitsOf(deps: Pick<ProtocolDeps, "limits">): ProtocolLimits {
  return { ...DEFAULT_LIMITS, ...deps.limits };
}

/** The account guard runs per account/region, not per analysis. */
export interface GuardDeps {
  readonly compute: ComputeBackend;
  readonly exemptions: ExemptionSource;
  readonly clock: Clock;
  readonly log?: (message: string) => void;
}
