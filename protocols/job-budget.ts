/** The budget check of step 2 (SPEC 4.4): one ledger read, the running IAEs, the job's projection. */
import { countsAgainstGroup, decideBudget, formatUsd, projectedCost, timeoutMinutes } from "./budget";
import { BUDGET_REJECTION } from "./certificate";
import type { IaeDescription } from "./compute";
import type { ProtocolDeps } from "./deps";
import { JobError } from "./errors";
import { readLedger } from "./ledger";

export interface BudgetRequest {
  readonly group: string;
  readonly instanceType: string;
  readonly iaeCount: number;
  readonly durationMinutes: number;
  /** IAEs of this very job (started by an earlier attempt) do not count against it. */
  readonly isOwnIae: (iae: IaeDescription) => boolean;
  /** Attempts of the ledger's conditional writes. */
  readonly attempts: number;
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
  const override = await budgets.budgetFor(req.group, config.bucketName);
  const budget = override ?? config.maxCost;
  const hourlyPrice = await prices.hourlyPrice(req.instanceType, config.region);
  const ledger = await readLedger({ store, bucket: config.bucketName, group: req.group, now: () => clock.now(), sleep: clock.sleep, maxAttempts: req.attempts });
  const running = (await compute.listRunning({ imageId: config.ami })).filter((i) => countsAgainstGroup(i, config.ami, req.group) && !req.isOwnIae(i));
  let runningBound = 0;
  const priceCache = new Map<string, number>([[req.instanceType, hourlyPrice]]);
  for (const iae of running) {
    if (!priceCache.has(iae.instanceType)) priceCache.set(iae.instanceType, await prices.hourlyPrice(iae.instanceType, config.region));
    runningBound += ((priceCache.get(iae.instanceType) as number) * timeoutMinutes(iae.tags)) / 60;
  }
  const decision = decideBudget({ budget, spent: ledger.total, projected: projectedCost(hourlyPrice, req.iaeCount, req.durationMinutes), runningBound });
  const lines = [
    `Budget ${formatUsd(budget)} (${override !== undefined ? "set for your group" : "analysis default MAXCOST"}).`,
    `Incurred cost so far: ${formatUsd(decision.spent)}. Running IAEs may still cost up to ${formatUsd(decision.runningBound)}. This job may cost up to ${formatUsd(decision.projected)} (${req.iaeCount} IAE(s) × ${req.durationMinutes} min at $${hourlyPrice}/h).`,
    `Remaining budget: ${formatUsd(budget - decision.spent - decision.runningBound)}.`,
  ];
  if (!decision.covered) throw new JobError(BUDGET_REJECTION, "INTERNAL", lines);
  return { hourlyPrice, lines };
}
