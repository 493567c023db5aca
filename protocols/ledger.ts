import { costOfLog, type CostLog } from "../model/cost-log";
import { mapBounded } from "./concurrency";
import { UNCHANGED, updateObject } from "./conditional-update";
import type { ObjectStore } from "./storage";
import type { Sleep } from "./retry";

/**
 * Per-group spend ledger `logs/_ledger/{group}.json` in the analysis bucket.
 *
 * Why: the original summed every finished cost log on every submission (requests grow with the
 * group's history). The ledger makes a budget check one GET. Completions add their spend with a
 * conditional read-modify-write (`If-Match` on the ETag, retried on 412), entries keyed by
 * instance id so a repeated completion counts once and concurrent completions never lose spend.
 * Finished `logs/{group}/{id}.json` files are still written for compatibility; a group that has
 * only those (deployed by the original) is backfilled once from them, idempotently.
 *
 * `reservations` hold the projected cost of the group's queued jobs (job record key → USD): a
 * queued job is reserved against the budget when it is queued, and the reservation is dropped when
 * it starts (its running IAEs then count, and their spend lands in `entries`) or never will.
 */
export interface Ledger {
  readonly version: 1;
  readonly group: string;
  /** Σ entries, USD. */
  readonly total: number;
  /** instance id → USD */
  readonly entries: Readonly<Record<string, number>>;
  /** Job record key → USD reserved for a queued job. */
  readonly reservations: Readonly<Record<string, number>>;
  readonly updated: string;
}

/** USD reserved for queued jobs, except `exceptKey`'s own. */
export function reservedTotal(ledger: Ledger, exceptKey?: string): number {
  return Object.keys(ledger.reservations)
    .sort()
    .reduce((s, k) => (k === exceptKey ? s : s + ledger.reservations[k]), 0);
}

export function ledgerKey(group: string): string {
  return `logs/_ledger/${group}.json`;
}

export interface LedgerArgs {
  readonly store: ObjectStore;
  readonly bucket: string;
  readonly group: string;
  readonly now: () => Date;
  readonly sleep: Sleep;
  readonly maxAttempts: number;
}

/** The group's ledger, backfilling it from legacy finished logs the first time. */
export async function readLedger(args: LedgerArgs): Promise<Ledger> {
  return loadOrBackfill(args);
}

/** Add one finished IAE's spend (idempotent per instance id). Returns the ledger written. */
export async function recordSpend(args: LedgerArgs, instanceId: string, usd: number): Promise<Ledger> {
  await loadOrBackfill(args);
  return updateLedger(args, (current) => {
    const ledger = current ?? makeLedger(args.group, {}, args.now());
    if (Object.prototype.hasOwnProperty.call(ledger.entries, instanceId)) return UNCHANGED;
    return { entries: { ...ledger.entries, [instanceId]: usd }, reservations: ledger.reservations };
  });
}

/**
 * Reserve `usd` for the queued job `jobKey` (idempotent per job), after `check` approved the
 * ledger as it is at that moment (it throws to refuse): a conditional read-modify-write, so two
 * jobs queued at once never both fit where only one does.
 */
export async function reserve(
  args: LedgerArgs,
  jobKey: string,
  usd: number,
  check: (ledger: Ledger) => void,
): Promise<Ledger> {
  await loadOrBackfill(args);
  return updateLedger(args, (current) => {
    const ledger = current ?? makeLedger(args.group, {}, args.now());
    if (ledger.reservations[jobKey] === usd) return UNCHANGED;
    check(ledger);
    return { entries: ledger.entries, reservations: { ...ledger.reservations, [jobKey]: usd } };
  });
}

/** Drop the reservation of `jobKey` (the job started, or never will); idempotent. */
export async function releaseReservation(args: LedgerArgs, jobKey: string): Promise<void> {
  await updateLedger(args, (current) => {
    if (!current || !Object.prototype.hasOwnProperty.call(current.reservations, jobKey)) return UNCHANGED;
    const { [jobKey]: _dropped, ...rest } = current.reservations;
    return { entries: current.entries, reservations: rest };
  });
}

/**
 * One conditional read-modify-write of the group's ledger: `change` sees the ledger (undefined when
 * there is none) and returns its new entries and reservations, or UNCHANGED. Returns the ledger stored.
 */
async function updateLedger(
  args: LedgerArgs,
  change: (current: Ledger | undefined) => Pick<Ledger, "entries" | "reservations"> | typeof UNCHANGED,
): Promise<Ledger> {
  const out = await updateObject(
    {
      store: args.store,
      bucket: args.bucket,
      key: ledgerKey(args.group),
      attempts: args.maxAttempts,
      sleep: args.sleep,
    },
    (current) => {
      const next = change(current ? parseLedger(current.body, args.group) : undefined);
      if (next === UNCHANGED) return UNCHANGED;
      return JSON.stringify(makeLedger(args.group, { ...next.entries }, args.now(), next.reservations));
    },
  );
  return out.body === undefined ? makeLedger(args.group, {}, args.now()) : parseLedger(out.body, args.group);
}

export function makeLedger(
  group: string,
  entries: Record<string, number>,
  now: Date,
  reservations: Readonly<Record<string, number>> = {},
): Ledger {
  // Sum in key order so every writer computes the same total for the same entries.
  const total = Object.keys(entries)
    .sort()
    .reduce((s, k) => s + entries[k], 0);
  return { version: 1, group, total, entries, reservations, updated: now.toISOString() };
}

/** The ledger, created from the legacy finished logs when there is none (create-only: one backfill wins). */
async function loadOrBackfill(args: LedgerArgs): Promise<Ledger> {
  const out = await updateObject(
    { store: args.store, bucket: args.bucket, key: ledgerKey(args.group), attempts: args.maxAttempts },
    async (current) =>
      current ? UNCHANGED : JSON.stringify(makeLedger(args.group, await legacyEntries(args), args.now())),
  );
  return parseLedger(out.body as string, args.group);
}

/** Spend of every finished `logs/{group}/i-*.json` (the one-time backfill). */
export async function legacyEntries(
  args: Pick<LedgerArgs, "store" | "bucket" | "group">,
): Promise<Record<string, number>> {
  const prefix = `logs/${args.group}/`;
  const keys = (await args.store.list(args.bucket, prefix)).filter((k) => /^[^/]+\.json$/.test(k.slice(prefix.length)));
  const entries: Record<string, number> = {};
  await mapBounded(keys, 32, async (key) => {
    const obj = await args.store.get(args.bucket, key);
    if (!obj) return;
    let log: CostLog;
    try {
      log = JSON.parse(obj.body) as CostLog;
    } catch {
      return; // not a cost log
    }
    // Keyed by file name (= instance id), the key the monitor uses for new completions.
    entries[key.slice(prefix.length, -".json".length)] = costOfLog(log);
  });
  return entries;
}

function parseLedger(body: string, group: string): Ledger {
  const raw = JSON.parse(body) as Partial<Ledger>;
  const entries = raw.entries && typeof raw.entries === "object" ? (raw.entries as Record<string, number>) : {};
  const reservations =
    raw.reservations && typeof raw.reservations === "object" ? (raw.reservations as Record<string, number>) : {};
  return {
    version: 1,
    group,
    total: typeof raw.total === "number" ? raw.total : 0,
    entries,
    reservations,
    updated: raw.updated ?? "",
  };
}
