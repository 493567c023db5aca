/**
 * The budget check of step 2 (SPEC 4.4): one ledger read, the running IAEs, the job's projection;
 * and the reservation a queued job holds against its group's budget while it waits (SPEC §11).
 */
import { decideBudget, formatUsd, projectedCost, runningBound, type BudgetDecision } from "./budget";
import { BUDGET_REJECTION } from "./certificate";
import type { IaeDescription } from "./compute";
import type { ProtocolDeps } from "./deps";
import { JobError } from "./errors";
import { readLedger, releaseReservation, reserve, reservedTotal, type Ledger, type LedgerArgs } from "./ledger";
import type { SpendSnapshot } from "../model/spend-summary";

export interface BudgetRequest {
  readonly group: string;
  /** The job's record key: its own reservation (an earlier attempt's) does not count against it. */
  readonly recordKey: string;
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
  /** The figures approved: what a reservation re-checks against the ledger as it is then. */
  readonly budget: number;
  readonly budgetSource: string;
  readonly projected: number;
  readonly runningBound: number;
}

type LedgerDeps = Pick<ProtocolDeps, "config" | "store" | "clock">;

function ledgerArgs(deps: LedgerDeps, group: string, attempts: number): LedgerArgs {
  return {
    store: deps.store,
    bucket: deps.config.bucketName,
    group,
    now: () => deps.clock.now(),
    sleep: deps.clock.sleep,
    maxAttempts: attempts,
  };
}

/** Approve the job or throw a JobError (BUDGET_REJECTION) whose details say the figures. */
export async function checkJobBudget(
  deps: Pick<ProtocolDeps, "config" | "budgets" | "prices" | "compute" | "store" | "clock">,
  req: BudgetRequest,
): Promise<BudgetApproval> {
  const { config, budgets, prices, compute } = deps;
  const override = await budgets.budgetFor(req.group, config.analysisName);
  const budget = override ?? config.maxCost;
  const hourlyPrice = await prices.hourlyPrice(req.instanceType, config.region);
  const ledger = await readLedger(ledgerArgs(deps, req.group, req.attempts));
  const running = await runningBound(
    { compute, prices },
    {
      imageId: config.ami,
      group: req.group,
      region: config.region,
      knownPrices: new Map([[req.instanceType, hourlyPrice]]),
      exclude: req.isOwnIae,
    },
  );
  const approval = {
    hourlyPrice,
    budget,
    budgetSource: override !== undefined ? "set for your group" : "analysis default MAXCOST",
    projected: projectedCost(hourlyPrice, req.iaeCount, req.durationMinutes),
    runningBound: running.usd,
  };
  const { decision, lines } = judge(
    approval,
    ledger,
    req.recordKey,
    `${req.iaeCount} IAE(s) × ${req.durationMinutes} min at $${hourlyPrice}/h`,
  );
  // What users see of it: the group's spend summary (written after the submission, accepted or not).
  req.onChecked?.({
    group: req.group,
    budget: { usd: budget, origin: override !== undefined ? "group" : "analysis-default" },
    ledger: { total: ledger.total, entries: Object.keys(ledger.entries).length },
    running: { upTo: running.usd, iaes: running.iaes },
    job: { iaes: req.iaeCount, upTo: decision.projected },
  });
  if (!decision.covered) throw new JobError(BUDGET_REJECTION, "INTERNAL", lines);
  return { ...approval, lines };
}

/**
 * Reserve a queued job's projected cost in its group's ledger, re-checking the budget against the
 * ledger as it is then (other jobs may have been queued since step 2): throws the budget rejection
 * when it no longer fits. Idempotent for the same job.
 */
export async function reserveJobBudget(
  deps: LedgerDeps,
  group: string,
  recordKey: string,
  approval: Omit<BudgetApproval, "lines">,
  attempts: number,
): Promise<void> {
  await reserve(ledgerArgs(deps, group, attempts), recordKey, approval.projected, (ledger) => {
    const { decision, lines } = judge(approval, ledger, recordKey, "while it waits in the queue");
    if (!decision.covered) throw new JobError(BUDGET_REJECTION, "INTERNAL", lines);
  });
}

/** Drop a job's reservation (it started: its IAEs now count; or it never will). Idempotent. */
export async function releaseJobBudget(
  deps: LedgerDeps,
  group: string,
  recordKey: string,
  attempts: number,
): Promise<void> {
  await releaseReservation(ledgerArgs(deps, group, attempts), recordKey);
}

function judge(
  a: Omit<BudgetApproval, "lines">,
  ledger: Ledger,
  recordKey: string,
  projection: string,
): { decision: BudgetDecision; lines: string[] } {
  const reserved = reservedTotal(ledger, recordKey);
  const decision = decideBudget({
    budget: a.budget,
    spent: ledger.total,
    reserved,
    projected: a.projected,
    runningBound: a.runningBound,
  });
  const lines = [
    `Budget ${formatUsd(a.budget)} (${a.budgetSource}).`,
    `Incurred cost so far: ${formatUsd(decision.spent)}. Running IAEs may still cost up to ${formatUsd(decision.runningBound)}.${reserved > 0 ? ` Reserved for queued jobs: ${formatUsd(reserved)}.` : ""} This job may cost up to ${formatUsd(decision.projected)} (${projection}).`,
    `Remaining budget: ${formatUsd(a.budget - decision.spent - reserved - decision.runningBound)}.`,
  ];
  return { decision, lines };
}
