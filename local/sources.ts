import { promises as fsp } from "node:fs";
import type { BudgetSource, PriceSource } from "../protocols/deps";

/**
 * Budgets and prices in local mode. There is no parameter store: a budget override for a
 * (group, analysis) lives in `{dataDir}/budgets.json` as `{"{group}/{analysis}": USD}` (the same
 * path shape as the parameter `/neurocaas/budgets/{group}/{analysis}`); without it the blueprint's
 * MAXCOST applies. Prices come from `{dataDir}/prices.json` (`{"instance type": USD per hour}`),
 * else from the fallback table the caller passes. Both files are re-read on every lookup so an
 * operator can edit them while the server runs.
 */

async function readJsonObject(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new Error(`${file}: expected a JSON object`);
  return parsed as Record<string, unknown>;
}

function nonNegative(file: string, key: string, value: unknown): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    throw new Error(`${file}: "${key}" must be a non-negative number of USD, got ${JSON.stringify(value)}`);
  }
  return n;
}

export class LocalBudgetSource implements BudgetSource {
  constructor(private readonly file: string) {}

  async budgetFor(group: string, analysis: string): Promise<number | undefined> {
    const budgets = await readJsonObject(this.file);
    const key = `${group}/${analysis}`;
    if (!budgets || !(key in budgets)) return undefined;
    return nonNegative(this.file, key, budgets[key]);
  }
}

export class LocalPriceSource implements PriceSource {
  constructor(
    private readonly file: string,
    private readonly fallback: (instanceType: string, region: string) => Promise<number>,
  ) {}

  async hourlyPrice(instanceType: string, region: string): Promise<number> {
    const prices = await readJsonObject(this.file);
    if (prices && instanceType in prices) return nonNegative(this.file, instanceType, prices[instanceType]);
    return this.fallback(instanceType, region);
  }
}
