import { runningBound } from "./budget";
import type { CostLog } from "../model/cost-log";
import { limitsOf, type ProtocolDeps } from "./deps";
import { errorMessage } from "./errors";
import { readLedger } from "./ledger";
import {
  finishedUpdate,
  mergeSpendSummary,
  parseSpendSummary,
  spendSummaryKey,
  submissionUpdate,
  type SpendSnapshot,
  type SpendSummary,
  type SpendUpdate,
} from "../model/spend-summary";
import { PreconditionFailedError } from "./storage";

/** What writing the summary needs (the monitor has no budgets or prices). */
type SummaryDeps = Pick<ProtocolDeps, "config" | "store" | "clock" | "limits" | "log">;

/** Write one update (conditional read-modify-write, retried on a concurrent change). */
export async function applySpendUpdate(deps: SummaryDeps, update: SpendUpdate): Promise<SpendSummary> {
  const { config, store, clock } = deps;
  const attempts = limitsOf(deps).conditionalWriteAttempts;
  const key = spendSummaryKey(update.group);
  for (let attempt = 1; ; attempt++) {
    const existing = await store.get(config.bucketName, key);
    const next = mergeSpendSummary(existing ? parseSpendSummary(existing.body) : undefined, update);
    try {
      await store.put(config.bucketName, key, `${JSON.stringify(next, null, 2)}\n`, {
        ...(existing ? { ifMatch: existing.etag } : { ifNoneMatch: "*" }),
        contentType: "application/json",
      });
      return next;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= attempts) throw err;
      await clock.sleep(Math.floor(Math.random() * 20 * attempt));
    }
  }
}

/** The job manager's update: what its budget check saw (no request beyond the summary's GET and PUT). */
export async function recordSubmissionSpend(
  deps: SummaryDeps,
  snapshot: SpendSnapshot,
  started: boolean,
): Promise<void> {
  await quietly(deps, snapshot.group, () =>
    applySpendUpdate(deps, submissionUpdate(deps.config.analysisName, deps.clock.now(), snapshot, started)),
  );
}

/**
 * The monitor's update after it recorded a finished IAE's spend: the ledger total, the IAE's cost
 * added to its job (once per instance), and its bound taken off the running figures. The group is
 * the cost log's (bypass jobs too: the submitting group pays).
 */
export async function recordCompletionSpend(deps: SummaryDeps, log: CostLog): Promise<void> {
  const group = log.group ?? log.jobpath.split("/")[0];
  await quietly(deps, group, async () => {
    const ledger = await readLedger({
      store: deps.store,
      bucket: deps.config.bucketName,
      group,
      now: () => deps.clock.now(),
      sleep: deps.clock.sleep,
      maxAttempts: limitsOf(deps).conditionalWriteAttempts,
    });
    return applySpendUpdate(deps, {
      analysis: deps.config.analysisName,
      group,
      now: deps.clock.now(),
      ledger: { total: ledger.total, entries: Object.keys(ledger.entries).length },
      finished: finishedUpdate(log),
    });
  });
}

/**
 * Recompute a group's summary from scratch but for per-job costs: budget, ledger, running IAEs
 * (local mode at start; it has the budget and price sources).
 */
export async function refreshSpendSummary(deps: ProtocolDeps, group: string): Promise<SpendSummary> {
  const { config, store, clock } = deps;
  const bucket = config.bucketName;
  const override = await deps.budgets.budgetFor(group, config.analysisName);
  const ledger = await readLedger({
    store,
    bucket,
    group,
    now: () => clock.now(),
    sleep: clock.sleep,
    maxAttempts: limitsOf(deps).conditionalWriteAttempts,
  });
  const running = await runningBound(deps, { imageId: config.ami, group, region: config.region });
  return applySpendUpdate(deps, {
    analysis: config.analysisName,
    group,
    now: clock.now(),
    budget:
      override !== undefined ? { usd: override, origin: "group" } : { usd: config.maxCost, origin: "analysis-default" },
    ledger: { total: ledger.total, entries: Object.keys(ledger.entries).length },
    running: { upTo: running.usd, iaes: running.iaes },
  });
}

/** `refreshSpendSummary` that logs instead of failing (see `quietly`). */
export async function refreshSpendSummaryQuietly(deps: ProtocolDeps, group: string): Promise<void> {
  await quietly(deps, group, () => refreshSpendSummary(deps, group));
}

/**
 * The summary is a view for users: failing to write it must never fail a job or an IAE's
 * accounting (the next submission or completion brings it up to date). Logs and carries on.
 */
async function quietly(deps: Pick<ProtocolDeps, "log">, group: string, write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (err) {
    deps.log?.(`spend summary of group ${group} not updated: ${errorMessage(err)}`);
  }
}
