/** The budget check of step 2 (SPEC 4.4): one ledger read, the running IAEs, the job's projection. */
import { decideBudget, formatUsd, projectedCost, runningBound } from "./budget";
import { BUDGET_REJECTION } from "./certificate";
import type { IaeDescription } from "./compute";
import type { ProtocolDeps } from "./deps";
import { JobError } from "./errors";
import { readLedger } from "./ledger";
import type { SpendSnapshot } from "../model/spend-summary";

export interface BudgetRequest {
  readonly group: string;
  readonly instanceType: string;
  readonly iaeCount: number;
  readonly durationMinutes: number;
  /** IAEs of this very job (started by an earlier attempt) do not count against it. */
  readonly isOwnIae: (iae: IaeDescription) => boolean;
  /** Attempts of the ledger's conditional writes. */
  readonly attempts: number;
  /** Told what the check saw (before it decides), for the group's spend summary. */
  readonly onChecked?: (snapshot: SpendSnapshot) => void;
}

export interface BudgetApproval {
  /** On-demand USD per hour of the job's instance type. */
  readonly hourlyPrice: number;
  /** What the certificate says about the budget. */
  readonly lines: readonly string[];
}

/** Approve the job or throw a JobError (BUDGET_REJECTION) whose details say the figures. */
export async function checkJobBudget(deps: Pick<ProtocolDeps, "config" | "budgets" | "prices" | "compute" | "store" | "clock">, req: BudgetRequest): Promise<BudgetApproval> {
  const { config, budgets, prices, compute, store, clock } = deps;
  const override = await budgets.budgetFor(req.group, config.analysisName);
  const budget = override ?? config.maxCost;
  const hourlyPrice = await prices.hourlyPrice(req.instanceType, config.region);
  const ledger = await readLedger({ store, bucket: config.bucketName, group: req.group, now: () => clock.now(), sleep: clock.sleep, maxAttempts: req.attempts });
  const running = await runningBound({ compute, prices }, { imageId: config.ami, group: req.group, region: config.region, knownPrices: new Map([[req.instanceType, hourlyPrice]]), exclude: req.isOwnIae });
  const decision = decideBudget({ budget, spent: ledger.total, projected: projectedCost(hourlyPrice, req.iaeCount, req.durationMinutes), runningBound: running.usd });
  // What users see of it: the group's spend summary (written after the submission, accepted or not).
  req.onChecked?.({
    group: req.group,
    budget: { usd: budget, origin: override !== undefined ? "group" : "analysis-default" },
    ledger: { total: ledger.total, entries: Object.keys(ledger.entries).length },
    running: { upTo: running.usd, iaes: running.iaes },
    job: { iaes: req.iaeCount, upTo: decision.projected },
  });
  const lines = [
    `Budget ${formatUsd(budget)} (${override !== undefined ? "set for your group" : "analysis default MAXCOST"}).`,
    `Incurred cost so far: ${formatUsd(decision.spent)}. Running IAEs may still cost up to ${formatUsd(decision.runningBound)}. This job may cost up to ${formatUsd(decision.projected)} (${req.iaeCount} IAE(s) × ${req.durationMinutes} min at $${hourlyPrice}/h).`,
    `Remaining budget: ${formatUsd(budget - decision.spent - decision.runningBound)}.`,
  ];
  if (!decision.covered) throw new JobError(BUDGET_REJECTION, "INTERNAL", lines);
  return { hourlyPrice, lines };
}
