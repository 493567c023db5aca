/**
 * Request counting per service and operation, and the wall time during which at least one call
 * of a modeled (mocked, fixed-latency) service was in flight.
 */

/** `{ service: { operation: count } }` */
export type RequestCounts = Record<string, Record<string, number>>;

export class RequestCounter {
  private readonly counts: RequestCounts = {};

  add(service: string, operation: string, n = 1): void {
    const s = (this.counts[service] ??= {});
    s[operation] = (s[operation] ?? 0) + n;
  }

  total(service: string): number {
    return Object.values(this.counts[service] ?? {}).reduce((a, b) => a + b, 0);
  }

  of(service: string, operation: string): number {
    return this.counts[service]?.[operation] ?? 0;
  }

  snapshot(): RequestCounts {
    return JSON.parse(JSON.stringify(this.counts)) as RequestCounts;
  }

  reset(): void {
    for (const k of Object.keys(this.counts)) delete this.counts[k];
  }
}

/** The part of an AWS SDK v3 client the counting middleware needs. */
export interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input?: unknown }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input?: unknown }) => Promise<unknown>,
      options: { step: "deserialize"; name: string },
    ): void;
  };
}

/** Puts a request into an extra group (e.g. "S3 budget") besides its service; undefined: none. */
export type RequestClassifier = (operation: string, input: Record<string, unknown>) => string | undefined;

/**
 * Count every HTTP attempt (retries included: the deserialize step runs once per attempt) of a
 * real SDK client under `service`, keyed by command name without the `Command` suffix.
 */
export function countRequests(
  client: MiddlewareClient,
  service: string,
  counter: RequestCounter,
  classify?: RequestClassifier,
  busy: readonly BusyTime[] = [],
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
      counter.add(service, operation);
      const group = classify?.(operation, (args.input ?? {}) as Record<string, unknown>);
      if (group !== undefined) counter.add(group, operation);
      for (const b of busy) b.begin();
      try {
        return await next(args);
      } finally {
        for (const b of busy) b.end();
      }
    },
    { step: "deserialize", name: `benchCount${service}` },
  );
}

/**
 * Wall time with at least one call in flight (the union of call intervals), so concurrent calls
 * count once. The clock is injectable for tests.
 */
export class BusyTime {
  private inFlight = 0;
  private since = 0;
  private busy = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  begin(): void {
    if (this.inFlight++ === 0) this.since = this.now();
  }

  end(): void {
    if (this.inFlight === 0) throw new Error("BusyTime.end without begin");
    if (--this.inFlight === 0) this.busy += this.now() - this.since;
  }

  /** Milliseconds busy so far (an open interval counts up to now). */
  ms(): number {
    return this.busy + (this.inFlight > 0 ? this.now() - this.since : 0);
  }

  reset(): void {
    this.busy = 0;
    if (this.inFlight > 0) this.since = this.now();
  }
}

/** Run `fn` as one modeled call: counted, tracked as busy, and delayed by `latencyMs` first. */
export async function modeledCall<T>(
  args: { counter: RequestCounter; busy: readonly BusyTime[]; service: string; operation: string; latencyMs: number },
  fn: () => T | Promise<T>,
): Promise<T> {
  args.counter.add(args.service, args.operation);
  for (const b of args.busy) b.begin();
  try {
    if (args.latencyMs > 0) await new Promise((r) => setTimeout(r, args.latencyMs));
    return await fn();
  } finally {
    for (const b of args.busy) b.end();
  }
}
