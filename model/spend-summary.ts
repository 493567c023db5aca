/**
 * The group-readable spend summary `logs/_spend/{group}.json` of an analysis bucket.
 *
 * Users may not read `logs/` (cost logs, the ledger), so the platform publishes what a lab may
 * know about its own spending in one file per group: spent so far (the ledger total the budget
 * check uses), the budget and where it comes from, what running IAEs may still cost, the
 * remaining budget, and the cost of each recent job. Users get read access to exactly their
 * group's file (`affiliateGroupPolicy`, statement `ReadSpendSummary`); nobody but the platform can
 * write under `logs/` (users have no put outside their folders, IAEs may not write `logs/`), so
 * the summary cannot be forged.
 *
 * Writers: the job manager after every submission (it reads the budget, the ledger and the running
 * IAEs, like its budget check) and the monitor after every finished IAE (it adds that IAE's cost to
 * its job; it carries the budget forward). Updates are conditional read-modify-writes (If-Match,
 * retried on 412) that merge per instance id, so repeated and concurrent events count once and
 * never lose a job's cost; `spent` only moves forward to a ledger with more entries.
 *
 * Pure parts (`mergeSpendSummary`, `parseSpendSummary`) have no Node or SDK imports: the dashboard
 * parses the file with them.
 */
import type { CostLog } from "./cost-log";
import { costOfLog } from "./cost-log";

export const SPEND_SUMMARY_PREFIX = "logs/_spend/";
/** Jobs listed individually; older ones are left out (their cost stays in `spent`). */
export const SPEND_SUMMARY_MAX_JOBS = 200;

export function spendSummaryKey(group: string): string {
  return `${SPEND_SUMMARY_PREFIX}${group}.json`;
}

type BudgetOrigin = "group" | "analysis-default";

interface JobSpend {
  /** USD of the job's finished IAEs. */
  readonly cost: number;
  /** instance id → USD, so a repeated completion counts once. */
  readonly instances: Readonly<Record<string, number>>;
  readonly updated: string;
}

export interface SpendSummary {
  readonly version: 1;
  readonly analysis: string;
  readonly group: string;
  readonly currency: "USD";
  /** null until the job manager has looked the budget up (first submission, or local-mode start). */
  readonly budget: number | null;
  readonly budgetOrigin: BudgetOrigin | null;
  readonly budgetCheckedAt: string | null;
  /** Finished IAEs (the ledger total the budget check uses). */
  readonly spent: number;
  /** Entries of the ledger `spent` was read from (it only grows; a summary never goes back to fewer). */
  readonly ledgerEntries: number;
  /** Upper bound of what the group's running IAEs may still cost (price × Timeout), as the budget check counts it. */
  readonly runningUpTo: number;
  readonly runningIaes: number;
  /** budget − spent − runningUpTo; null while the budget is unknown. */
  readonly remaining: number | null;
  /** job folder name (`job__{analysis}_{timestamp}`) → finished cost. */
  readonly jobs: Readonly<Record<string, JobSpend>>;
  readonly updated: string;
}

/** What one writer knows; absent fields keep the summary's current values. */
export interface SpendUpdate {
  readonly analysis: string;
  readonly group: string;
  readonly now: Date;
  readonly budget?: { readonly usd: number; readonly origin: BudgetOrigin };
  readonly ledger?: { readonly total: number; readonly entries: number };
  readonly running?: { readonly upTo: number; readonly iaes: number };
  /**
   * One finished IAE; `bound` (price × Timeout, what the budget check counted while it ran) leaves
   * the running figures when no fresh `running` comes with the update.
   */
  readonly finished?: {
    readonly job: string;
    readonly instanceId: string;
    readonly cost: number;
    readonly bound?: number;
  };
}

/** What the job manager's budget check saw (the spend update of a submission). */
export interface SpendSnapshot {
  readonly group: string;
  readonly budget: NonNullable<SpendUpdate["budget"]>;
  readonly ledger: NonNullable<SpendUpdate["ledger"]>;
  /** Running IAEs of the group before this job. */
  readonly running: NonNullable<SpendUpdate["running"]>;
  /** This job: its IAEs and what they may cost (price × IAEs × duration). */
  readonly job: { readonly iaes: number; readonly upTo: number };
}

/** The summary update of a submission: a started job's IAEs now run and count against the budget. */
export function submissionUpdate(analysis: string, now: Date, snapshot: SpendSnapshot, started: boolean): SpendUpdate {
  const running = started
    ? { upTo: snapshot.running.upTo + snapshot.job.upTo, iaes: snapshot.running.iaes + snapshot.job.iaes }
    : snapshot.running;
  return { analysis, group: snapshot.group, now, budget: snapshot.budget, ledger: snapshot.ledger, running };
}

export function emptySpendSummary(analysis: string, group: string, now: Date): SpendSummary {
  return {
    version: 1,
    analysis,
    group,
    currency: "USD",
    budget: null,
    budgetOrigin: null,
    budgetCheckedAt: null,
    spent: 0,
    ledgerEntries: 0,
    runningUpTo: 0,
    runningIaes: 0,
    remaining: null,
    jobs: {},
    updated: now.toISOString(),
  };
}

const round = (usd: number): number => Math.round(usd * 1e6) / 1e6;

/** Apply one update to a summary (pure; idempotent per finished instance). */
export function mergeSpendSummary(current: SpendSummary | undefined, u: SpendUpdate): SpendSummary {
  const base = current ?? emptySpendSummary(u.analysis, u.group, u.now);
  const at = u.now.toISOString();
  const budget = u.budget ? round(u.budget.usd) : base.budget;
  const useLedger = u.ledger !== undefined && u.ledger.entries >= base.ledgerEntries;
  const spent = useLedger ? round(u.ledger!.total) : base.spent;
  let runningUpTo = u.running ? round(u.running.upTo) : base.runningUpTo;
  let runningIaes = u.running ? u.running.iaes : base.runningIaes;
  let jobs: Record<string, JobSpend> = { ...base.jobs };
  if (u.finished) {
    const prev = jobs[u.finished.job];
    if (!prev || !Object.prototype.hasOwnProperty.call(prev.instances, u.finished.instanceId)) {
      if (!u.running && u.finished.bound !== undefined) {
        runningUpTo = round(Math.max(0, runningUpTo - u.finished.bound));
        runningIaes = Math.max(0, runningIaes - 1);
      }
      const instances = { ...(prev?.instances ?? {}), [u.finished.instanceId]: round(u.finished.cost) };
      const cost = round(
        Object.keys(instances)
          .sort()
          .reduce((s, k) => s + instances[k], 0),
      );
      jobs[u.finished.job] = { cost, instances, updated: at };
    }
    const names = Object.keys(jobs);
    if (names.length > SPEND_SUMMARY_MAX_JOBS) {
      const keep = names
        .sort((a, b) => jobs[b].updated.localeCompare(jobs[a].updated) || a.localeCompare(b))
        .slice(0, SPEND_SUMMARY_MAX_JOBS);
      jobs = Object.fromEntries(keep.map((k) => [k, jobs[k]]));
    }
  }
  return {
    ...base,
    analysis: u.analysis,
    group: u.group,
    budget,
    budgetOrigin: u.budget ? u.budget.origin : base.budgetOrigin,
    budgetCheckedAt: u.budget ? at : base.budgetCheckedAt,
    spent,
    ledgerEntries: useLedger ? u.ledger!.entries : base.ledgerEntries,
    runningUpTo,
    runningIaes,
    remaining: budget === null ? null : round(budget - spent - runningUpTo),
    jobs,
    updated: at,
  };
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** Parse a summary file; undefined when it is not one (the caller then starts afresh). */
export function parseSpendSummary(text: string): SpendSummary | undefined {
  let raw: Record<string, unknown>;
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
    raw = v as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (raw.version !== 1 || typeof raw.group !== "string" || typeof raw.analysis !== "string") return undefined;
  const jobs: Record<string, JobSpend> = {};
  if (raw.jobs && typeof raw.jobs === "object" && !Array.isArray(raw.jobs)) {
    for (const [name, j] of Object.entries(raw.jobs as Record<string, unknown>)) {
      const job = j as Partial<JobSpend> | null;
      if (!job || typeof job !== "object" || num(job.cost) === undefined) continue;
      const instances: Record<string, number> = {};
      for (const [id, c] of Object.entries((job.instances ?? {}) as Record<string, unknown>))
        if (num(c) !== undefined) instances[id] = c as number;
      jobs[name] = { cost: job.cost as number, instances, updated: typeof job.updated === "string" ? job.updated : "" };
    }
  }
  const budget = num(raw.budget) ?? null;
  return {
    version: 1,
    analysis: raw.analysis,
    group: raw.group,
    currency: "USD",
    budget,
    budgetOrigin: raw.budgetOrigin === "group" || raw.budgetOrigin === "analysis-default" ? raw.budgetOrigin : null,
    budgetCheckedAt: typeof raw.budgetCheckedAt === "string" ? raw.budgetCheckedAt : null,
    spent: num(raw.spent) ?? 0,
    ledgerEntries: num(raw.ledgerEntries) ?? 0,
    runningUpTo: num(raw.runningUpTo) ?? 0,
    runningIaes: num(raw.runningIaes) ?? 0,
    remaining: num(raw.remaining) ?? null,
    jobs,
    updated: typeof raw.updated === "string" ? raw.updated : "",
  };
}

/** The job folder name of a cost log's `jobpath` (`{group}/results/job__…` or a bypass prefix). */
function jobNameOfCostLog(log: Pick<CostLog, "jobpath">): string {
  const parts = log.jobpath.replace(/\/+$/, "").split("/");
  return parts[parts.length - 1];
}

/** The finished-IAE update of a closed cost log (its bound as the budget check counted it: price × Timeout). */
export function finishedUpdate(log: CostLog): NonNullable<SpendUpdate["finished"]> {
  const price = Number(log.price);
  const minutes = typeof log.timeout === "number" && log.timeout > 0 ? log.timeout : 60;
  return {
    job: jobNameOfCostLog(log),
    instanceId: log["instance-id"],
    cost: costOfLog(log),
    ...(Number.isFinite(price) ? { bound: (price * minutes) / 60 } : {}),
  };
}
