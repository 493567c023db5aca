import type { ComputeBackend, IaeDescription } from "./compute";
import { IAE_TAGS } from "./compute";

/** Inputs of the budget rule (SPEC 4.4), all in USD. */
export interface BudgetInputs {
  readonly budget: number;
  /** Finished spend of the group (the ledger total). */
  readonly spent: number;
  /** price × datasets × duration / 60 */
  readonly projected: number;
  /** Σ price × Timeout/60 over running IAEs of the same image. */
  readonly runningBound: number;
  /** Reserved for the group's queued jobs (the ledger's reservations). */
  readonly reserved?: number;
}

export interface BudgetDecision extends BudgetInputs {
  readonly total: number;
  readonly covered: boolean;
}

/** The job is rejected when spend ≥ budget. */
export function decideBudget(inputs: BudgetInputs): BudgetDecision {
  const total = inputs.spent + (inputs.reserved ?? 0) + inputs.projected + inputs.runningBound;
  return { ...inputs, total, covered: total < inputs.budget };
}

export function projectedCost(hourlyPrice: number, iaeCount: number, durationMinutes: number): number {
  return (hourlyPrice * iaeCount * durationMinutes) / 60;
}

/** Minutes from a `Timeout` tag; 60 when missing or malformed. */
export function timeoutMinutes(tags: Readonly<Record<string, string>>): number {
  const v = Number(tags[IAE_TAGS.timeout]);
  return Number.isFinite(v) && v > 0 ? v : 60;
}

/**
 * Running IAEs that count against a group: same image, and either tagged for this group or
 * untagged (an untagged instance of the image cannot be attributed, so it counts).
 */
function countsAgainstGroup(iae: IaeDescription, imageId: string, group: string): boolean {
  if (iae.imageId !== imageId) return false;
  const owner = iae.tags[IAE_TAGS.group];
  return owner === undefined || owner === group;
}

export function formatUsd(v: number): string {
  return `$${v.toFixed(2)}`;
}

/** Budget from a parameter value, MAXCOST-style number or numeric string; undefined if not numeric. */
export function parseBudgetValue(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/**
 * What the group's running IAEs of the analysis image may still cost: Σ price × Timeout/60 over
 * the IAEs that count against the group (`countsAgainstGroup`). `knownPrices` seeds the price
 * lookups (e.g. the job's own instance type).
 */
export async function runningBound(
  // Structural (not deps.ts's PriceSource): this module also runs in the browser (web dashboard).
  deps: {
    readonly compute: Pick<ComputeBackend, "listRunning">;
    readonly prices: { hourlyPrice(instanceType: string, region: string): Promise<number> };
  },
  args: {
    readonly imageId: string;
    readonly group: string;
    readonly region: string;
    readonly knownPrices?: ReadonlyMap<string, number>;
    readonly exclude?: (iae: IaeDescription) => boolean;
  },
): Promise<{ readonly usd: number; readonly iaes: number }> {
  const running = (await deps.compute.listRunning({ imageId: args.imageId })).filter(
    (i) => countsAgainstGroup(i, args.imageId, args.group) && !args.exclude?.(i),
  );
  const prices = new Map<string, number>(args.knownPrices ?? []);
  let usd = 0;
  for (const iae of running) {
    if (!prices.has(iae.instanceType))
      prices.set(iae.instanceType, await deps.prices.hourlyPrice(iae.instanceType, args.region));
    usd += ((prices.get(iae.instanceType) as number) * timeoutMinutes(iae.tags)) / 60;
  }
  return { usd, iaes: running.length };
}
