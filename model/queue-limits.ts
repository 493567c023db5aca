/**
 * Defaults of the queue keys (blueprint MAX_QUEUE_LENGTH, MAX_QUEUE_WAIT, MAX_ATTEMPTS;
 * SPEC §11). Pure: the blueprint schema (also bundled into the dashboard) and the protocols share it.
 */
export const QUEUE_DEFAULTS = {
  maxQueueLength: 100,
  maxQueueWaitMinutes: 1440,
  /** Runs of a dataset whose analysis fails (blueprint MAX_ATTEMPTS): 1, a failed analysis is deterministic. */
  maxAttempts: 1,
} as const;

export interface QueueLimits {
  /** Most jobs waiting in the analysis' queue; 0: no queue (jobs over DEPLOY_LIMIT are rejected). */
  readonly maxQueueLength: number;
  /** Longest a job waits in the queue before it is rejected, minutes. */
  readonly maxQueueWaitMinutes: number;
  /** Runs of a dataset whose analysis exits non-zero; 1: never run again. */
  readonly maxAttempts: number;
}

/** The queue limits of an analysis, defaults applied (configs of older deployments lack them). */
export function queueLimitsOf(config: {
  readonly maxQueueLength?: number;
  readonly maxQueueWaitMinutes?: number;
  readonly maxAttempts?: number;
}): QueueLimits {
  return {
    maxQueueLength: config.maxQueueLength ?? QUEUE_DEFAULTS.maxQueueLength,
    maxQueueWaitMinutes: config.maxQueueWaitMinutes ?? QUEUE_DEFAULTS.maxQueueWaitMinutes,
    maxAttempts: config.maxAttempts ?? QUEUE_DEFAULTS.maxAttempts,
  };
}
