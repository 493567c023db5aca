import { JobError } from "../protocols/errors";
import { FALLBACK_HOURLY_PRICES } from "../model/price-table";
import { runMonitor, runPostProcess, runSubmit } from "../protocols/run";
import type { LocalHandlers } from "./handlers";

/** The real protocol entry points, exactly what the Lambdas run. */
export const protocolHandlers: LocalHandlers = {
  submit: async (event, deps) => (await runSubmit(event, deps)).exitCode,
  monitor: (event, deps) => runMonitor(event, deps),
  postProcess: (event, deps) => runPostProcess(event, deps),
};

/** Local mode has no Pricing API: the bundled on-demand table, with the same error for unknown types. */
export async function fallbackHourlyPrice(instanceType: string, region: string): Promise<number> {
  const price = FALLBACK_HOURLY_PRICES[instanceType];
  if (price === undefined) {
    throw new JobError(
      `No price is known for instance type ${instanceType} in ${region} (local prices.json and bundled table); the job cannot be budgeted. Add it to prices.json in the data dir.`,
      "AWS",
    );
  }
  return price;
}
