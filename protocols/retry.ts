/** Bounded retry with exponential backoff and an injectable sleep (tests run instantly). */

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RetryArgs {
  /** Whether an error is worth another attempt. */
  readonly retryable: (err: unknown) => boolean;
  /** Give up when the next wait would pass this total (ms, summed waits). */
  readonly maxTotalWaitMs: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly maxAttempts?: number;
  readonly sleep: Sleep;
  /** Called before each wait. */
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export async function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, args: RetryArgs): Promise<T> {
  const initial = args.initialDelayMs ?? 200;
  const cap = args.maxDelayMs ?? 20_000;
  const maxAttempts = args.maxAttempts ?? Number.POSITIVE_INFINITY;
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const delay = Math.min(cap, initial * 2 ** (attempt - 1));
      if (!args.retryable(err) || attempt >= maxAttempts || waited + delay > args.maxTotalWaitMs) throw err;
      args.onRetry?.(err, attempt, delay);
      await args.sleep(delay);
      waited += delay;
    }
  }
}

/** AWS SDK v3 error name/code, or undefined. */
export function awsErrorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { name?: unknown; Code?: unknown; code?: unknown };
  for (const v of [e.Code, e.code, e.name]) if (typeof v === "string" && v !== "Error") return v;
  return undefined;
}

/** HTTP status of an AWS SDK v3 error, or undefined. */
export function awsHttpStatus(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const meta = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof meta?.httpStatusCode === "number" ? meta.httpStatusCode : undefined;
}
