/**
 * The job record as a claim (protocols/README.md "Idempotency"): `logs/_jobs/{group}/{jobName}.json`
 * is created with `If-None-Match: *` and a lease to this invocation before anything else is
 * written, so one submission starts exactly one job; it is taken over once its holder is provably
 * gone, and every later change is a conditional read-modify-write made only while the lease is ours.
 */
import { updateJson } from "./conditional-update";
import type { Clock } from "./deps";
import { parseJobRecord, sameSubmission, type JobRecord } from "./job-record";
import { leaseLive, leaseOf, type Invocation, type Lease } from "./lease";
import { PreconditionFailedError, type ObjectStore } from "./storage";

/** Another attempt took the job over: this one must stop writing. */
export class LeaseLostError extends Error {
  constructor(recordKey: string) {
    super(`another attempt of the job manager took over ${recordKey}; this attempt stops`);
    this.name = "LeaseLostError";
  }
}

export interface JobClaimArgs {
  readonly store: ObjectStore;
  /** The analysis bucket: records live under its `logs/_jobs/`. */
  readonly bucket: string;
  readonly recordKey: string;
  readonly invocation: Invocation;
  readonly clock: Clock;
  /** Attempts of a conditional write before a persistent conflict is reported. */
  readonly attempts: number;
  /** Records without a lease (older versions) count as abandoned this long after their last update. */
  readonly staleClaimMs: number;
}

export type ClaimResult =
  /** This attempt holds the record; `resumedFrom` is the record of an earlier attempt it took over. */
  | { readonly kind: "claimed"; readonly resumedFrom?: JobRecord }
  /** The same submission is handled, or was, by another attempt: nothing to do. */
  | { readonly kind: "duplicate"; readonly record: JobRecord }
  /** Another submission (or an unreadable record) holds the name. */
  | { readonly kind: "taken"; readonly other?: JobRecord };

export class JobClaim {
  constructor(private readonly a: JobClaimArgs) {}

  get recordKey(): string {
    return this.a.recordKey;
  }

  /**
   * Create `record` (this attempt's lease in it). A record of the same submission means a repeated
   * or concurrent delivery: nothing to do while its holder may still work, taken over once the
   * holder is provably gone.
   */
  async claim(record: JobRecord): Promise<ClaimResult> {
    const existing = await createRecord(this.a.store, this.a.bucket, this.a.recordKey, record);
    if (!existing) return { kind: "claimed" };
    const { other, etag } = existing;
    if (!other || !sameSubmission(other, record.submission)) return { kind: "taken", other };
    if (await this.takeOver(other, etag)) return { kind: "claimed", resumedFrom: other };
    return { kind: "duplicate", record: other };
  }

  /** Give a fresh claim up (its name turned out to be unusable). */
  async release(): Promise<void> {
    await this.a.store.delete(this.a.bucket, this.a.recordKey);
  }

  /** Conditional read-modify-write of the record, only while this attempt holds its lease. */
  async update(change: (record: JobRecord) => JobRecord): Promise<JobRecord> {
    const { store, bucket, recordKey, attempts, clock, invocation } = this.a;
    const out = await updateJson<JobRecord>(
      { store, bucket, key: recordKey, attempts, sleep: clock.sleep },
      (current) => {
        if (!current || current.lease?.holder !== invocation.id) throw new LeaseLostError(recordKey);
        return { ...change(current), updated: clock.now().toISOString() };
      },
    );
    return out.value as JobRecord;
  }

  /**
   * Take over a record of the same submission whose holder is gone (its lease expired, it was this
   * very invocation's earlier attempt, or the environment knows it ended). Only claims still being
   * worked on (claimed, launching) are taken over.
   */
  private async takeOver(other: JobRecord, etag: string): Promise<boolean> {
    if (other.state !== "claimed" && other.state !== "launching") return false;
    const now = this.a.clock.now();
    const lease: Lease = other.lease ?? {
      holder: "",
      expires: new Date(Date.parse(other.updated) + this.a.staleClaimMs).toISOString(),
    };
    if (leaseLive(lease, this.a.invocation, now)) return false;
    const mine: JobRecord = { ...other, lease: leaseOf(this.a.invocation), updated: now.toISOString() };
    try {
      await this.a.store.put(this.a.bucket, this.a.recordKey, JSON.stringify(mine), { ifMatch: etag });
      return true;
    } catch (err) {
      if (err instanceof PreconditionFailedError) return false; // another redelivery took it first
      throw err;
    }
  }
}

/** Create a job record (If-None-Match); when the name is taken, the record there (undefined if unreadable) and its ETag. */
export async function createRecord(
  store: ObjectStore,
  bucket: string,
  key: string,
  record: JobRecord,
): Promise<{ other?: JobRecord; etag: string } | undefined> {
  try {
    await store.put(bucket, key, JSON.stringify(record), { ifNoneMatch: "*" });
    return undefined;
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    const existing = await store.get(bucket, key);
    return { other: existing ? parseJobRecord(existing.body) : undefined, etag: existing?.etag ?? "" };
  }
}
