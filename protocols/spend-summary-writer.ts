import { runningBound } from "./budget";
import type { CostLog } from "./cost-log";
import { limitsOf, type ProtocolDeps } from "./deps";
import { errorMessage } from "./errors";
import { readLedger } from "./ledger";
import { finishedUpdate, mergeSpendSummary, parseSpendSummary, spendSummaryKey, submissionUpdate, type SpendSnapshot, type SpendSummary, type SpendUpdate } from "./spend-summary";
import { PreconditionFailedError } from "./storage";

export interface RefreshSpendArgs {
  readonly group: string;
  /** Look the budget up (its role may read the budget parameters). */
  readonly readBudget: boolean;
  /** A cost log the monitor just closed: its IAE's cost is added to its job. */
  readonly finished?: CostLog;
}

/** Write one update (conditional read-modify-write, retried on a concurrent change). */
export async function applySpendUpdate(deps: ProtocolDeps, update: SpendUpdate): Promise<SpendSummary> {
  const { config, store, clock } = deps;
  const attempts = limitsOf(deps).conditionalWriteAttempts;
  const key = spendSummaryKey(update.group);
  for (let attempt = 1; ; attempt++) {
    const existing = await store.get(config.bucketName, key);
    const next = mergeSpendSummary(existing ? parseSpendSummary(existing.body) : undefined, update);
    try {
      await store.put(config.bucketName, key, `${JSON.stringify(next, null, 2)}\n`, { ...(existing ? { ifMatch: existing.etag } : { ifNoneMatch: "*" }), contentType: "application/json" });
      return next;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= attempts) throw err;
      await clock.sleep(Math.floor(Math.random() * 20 * attempt));
    }
  }
}

/** The job manager's update: what its budget check saw (no request beyond the summary's GET and PUT). */
export async function recordSubmissionSpend(deps: ProtocolDeps, snapshot: SpendSnapshot, started: boolean): Promise<void> {
  await quietly(deps, snapshot.group, () => applySpendUpdate(deps, submissionUpdate(deps.config.bucketName, deps.clock.now(), snapshot, started)));
}

/**
 * Bring `logs/_spend/{group}.json` up to date (see spend-summary.ts): the ledger total, the
 * running IAEs' bound, the budget when asked, and one finished IAE. A conditional write retried on
 * a concurrent change, so no writer's job cost is lost.
 */
export async function refreshSpendSummary(deps: ProtocolDeps, args: RefreshSpendArgs): Promise<SpendSummary> {
  const { config, store, clock } = deps;
  const bucket = config.bucketName;
  const attempts = limitsOf(deps).conditionalWriteAttempts;
  let budget: SpendUpdate["budget"];
  if (args.readBudget) {
    const override = await deps.budgets.budgetFor(args.group, bucket);
    budget = override !== undefined ? { usd: override, origin: "group" } : { usd: config.maxCost, origin: "analysis-default" };
  }
  const ledger = await readLedger({ store, bucket, group: args.group, now: () => clock.now(), sleep: clock.sleep, maxAttempts: attempts });
  const running = await runningBound(deps, { imageId: config.ami, group: args.group, region: config.region });
  const update: SpendUpdate = {
    analysis: bucket,
    group: args.group,
    now: clock.now(),
    ...(budget ? { budget } : {}),
    ledger: { total: ledger.total, entries: Object.keys(ledger.entries).length },
    running: { upTo: running.usd, iaes: running.iaes },
    ...(args.finished ? { finished: finishedUpdate(args.finished) } : {}),
  };
  return applySpendUpdate(deps, update);
}

/**
 * The summary is a view for users: failing to refresh it must never fail a job or an IAE's
 * accounting (the next submission or completion brings it up to date). Logs and carries on.
 */
export async function refreshSpendSummaryQuietly(deps: ProtocolDeps, args: RefreshSpendArgs): Promise<void> {
  await quietly(deps, args.group, () => refreshSpendSummary(deps, args));
}

async function quietly(deps: ProtocolDeps, group: string, write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (err) {
    deps.log?.(`spend summary of group ${group} not updated: ${errorMessage(err)}`);
  }
}
