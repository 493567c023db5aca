import { PreconditionFailedError, type ObjectStore, type StoredObject } from "./storage";
import type { Sleep } from "./retry";

/** Returned by a change function: leave the object as it is. */
export const UNCHANGED: unique symbol = Symbol("unchanged");
export type Change = string | typeof UNCHANGED;

export interface UpdateArgs {
  readonly store: ObjectStore;
  readonly bucket: string;
  readonly key: string;
  /** Attempts before a persistent conflict is reported (default 20). */
  readonly attempts?: number;
  /** Backoff between conflicting attempts (jittered, growing); default: retry at once. */
  readonly sleep?: Sleep;
}

export interface UpdateResult {
  /** Whether this call wrote the object. */
  readonly written: boolean;
  /** The object's text after the call (undefined: it does not exist). */
  readonly body?: string;
  readonly etag?: string;
}

/**
 * Conditional read-modify-write of one object: read it, compute the new text from what is there
 * (undefined: absent), write it only if nobody wrote in between (`If-Match` on the ETag read, or
 * `If-None-Match: *` when it was absent), and start again from the fresh text on a conflict. Every
 * writer of a shared file (certificate, status file, cost log, job record, ledger) goes through
 * this, so concurrent writers never lose each other's changes.
 */
export async function updateObject(
  args: UpdateArgs,
  change: (current: StoredObject | undefined) => Change | Promise<Change>,
): Promise<UpdateResult> {
  const attempts = args.attempts ?? 20;
  for (let attempt = 1; ; attempt++) {
    const current = await args.store.get(args.bucket, args.key);
    const next = await change(current);
    if (next === UNCHANGED) return { written: false, body: current?.body, etag: current?.etag };
    try {
      const { etag } = await args.store.put(
        args.bucket,
        args.key,
        next,
        current ? { ifMatch: current.etag } : { ifNoneMatch: "*" },
      );
      return { written: true, body: next, etag };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= attempts) throw err;
      if (args.sleep) await args.sleep(Math.floor(Math.random() * 20 * attempt));
    }
  }
}

/** `updateObject` for JSON objects: `change` gets the parsed object (undefined when absent or not a JSON object). */
export async function updateJson<T extends object>(
  args: UpdateArgs,
  change: (current: T | undefined) => T | typeof UNCHANGED,
): Promise<{ written: boolean; value?: T }> {
  const out = await updateObject(args, (current) => {
    const next = change(current ? parseJsonObject<T>(current.body) : undefined);
    return next === UNCHANGED ? UNCHANGED : JSON.stringify(next, null, 2);
  });
  return { written: out.written, value: out.body === undefined ? undefined : parseJsonObject<T>(out.body) };
}

export function parseJsonObject<T extends object>(text: string): T | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}
