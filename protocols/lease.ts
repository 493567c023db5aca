import { randomUUID } from "node:crypto";

/**
 * Who is running a handler right now, so that claims it leaves behind (a job record, a command
 * delivery) can be recognised as abandoned once this attempt is provably over.
 */
export interface Invocation {
  /**
   * Identifies this attempt. Lambda: the request id, which Lambda keeps for its own retries of a
   * failed or timed-out invocation, so a claim holding our id belongs to an attempt that ended.
   */
  readonly id: string;
  /** By when this attempt has ended at the latest (Lambda: start + function timeout). */
  readonly deadline: Date;
  /** Whether a holder recorded by an earlier attempt is provably gone (local mode: a previous server run). */
  readonly holderGone?: (holder: string) => boolean;
}

/** A claim's lease: the holder, and when it has ended at the latest. */
export interface Lease {
  readonly holder: string;
  readonly expires: string;
}

/** Lambda's maximum run time: the lease of an attempt that did not say otherwise. */
const DEFAULT_INVOCATION_MS = 15 * 60_000;

/** An invocation for callers that did not pass one (tests, scripts): a fresh id and the Lambda maximum. */
export function defaultInvocation(now: Date): Invocation {
  return { id: `anon-${randomUUID()}`, deadline: new Date(now.getTime() + DEFAULT_INVOCATION_MS) };
}

export function leaseOf(invocation: Invocation): Lease {
  return { holder: invocation.id, expires: invocation.deadline.toISOString() };
}

/**
 * Whether the holder of `lease` may still be working: not when it is this very invocation (an
 * earlier attempt of it has ended: Lambda retries only after the attempt failed or timed out),
 * not after its deadline, and not when the environment knows it is gone.
 */
export function leaseLive(lease: Lease | undefined, invocation: Invocation, now: Date): boolean {
  if (!lease || typeof lease.holder !== "string") return false;
  if (lease.holder === invocation.id) return false;
  const expires = Date.parse(lease.expires);
  if (!Number.isFinite(expires) || now.getTime() >= expires) return false;
  return !(invocation.holderGone?.(lease.holder) ?? false);
}
