/**
 * Development-instance lifetime (SPEC 5.1): the `Timeout` tag holds the instance's allowed
 * lifetime in minutes, measured from its launch time (EC2 resets `LaunchTime` when a stopped
 * instance is started, and `start-devinstance` resets the tag). Pure functions; the clock is
 * always passed in.
 */

/** Returns the current time; injected so lifetime arithmetic is testable. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

export const DEFAULT_LIFETIME_MINUTES = 60;

/** Parse a CLI value that must be a positive whole number; `what` names it in the error. */
export function parsePositiveInteger(value: string | number, what: string): number {
  const text = String(value).trim();
  if (!/^[0-9]+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) {
    throw new Error(`${what} must be a positive integer, got "${value}"`);
  }
  return Number(text);
}

/** Minutes left before the instance passes its Timeout (negative when already past it). */
export function remainingMinutes(launchTime: Date, timeoutMinutes: number, now: Date): number {
  const deadline = launchTime.getTime() + timeoutMinutes * 60_000;
  return (deadline - now.getTime()) / 60_000;
}

/** The Timeout tag value after extending the lifetime by `addMinutes`. */
export function extendedTimeout(currentTimeoutMinutes: number, addMinutes: number): number {
  return currentTimeoutMinutes + addMinutes;
}

/** Parse the `Timeout` tag of an instance; it must be a positive integer. */
export function timeoutFromTag(value: string | undefined, instanceId: string): number {
  if (value === undefined)
    throw new Error(
      `instance ${instanceId} has no Timeout tag (it was not launched by neurocaas); "remote extend-lifetime -m MIN" gives it one`,
    );
  return parsePositiveInteger(value, `Timeout tag of instance ${instanceId}`);
}

/** Human text for a remaining lifetime, e.g. `1 h 5 min left` or `expired 12 min ago`. */
export function formatRemaining(minutes: number): string {
  const whole = Math.floor(Math.abs(minutes));
  const text = whole >= 60 ? `${Math.floor(whole / 60)} h ${whole % 60} min` : `${whole} min`;
  return minutes >= 0 ? `${text} left` : `expired ${text} ago`;
}
