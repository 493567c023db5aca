/**
 * Cost logs: `logs/active/{id}.json` while an IAE runs, `logs/{group}/{id}.json` when it ended.
 * The first ten fields are the original's format (budgets read them); the rest carry what the
 * monitor needs to deliver the command and finish the job.
 */
export interface CostLog {
  readonly "instance-id": string;
  readonly "instance-type": string;
  readonly spot: boolean;
  /** USD per hour. */
  readonly price: number;
  readonly databucket: string;
  readonly datapath: readonly string[] | string;
  readonly jobpath: string;
  readonly configpath?: string;
  readonly start: string | null;
  readonly end: string | null;
  readonly group?: string;
  readonly analysis?: string;
  /** Bucket holding the job folder (differs from the analysis bucket in storage bypass). */
  readonly resultbucket?: string;
  /** Key of the job record (logs/_jobs/...). */
  readonly jobrecord?: string;
  /** Position of this IAE's line in the certificate's monitoring block. */
  readonly datasetindex?: number;
  readonly command?: string;
  readonly workingdirectory?: string;
  readonly ssmtimeout?: number;
  /** `__duration__` in minutes (the Timeout tag). */
  readonly timeout?: number;
  readonly launched?: string;
  readonly commandid?: string | null;
  /** Ensemble member (`jobnb`, 1-based) this IAE runs. */
  readonly member?: number;
  /**
   * The claim on delivering this IAE's command (made before SendCommand): the delivery id SSM
   * carries in its comment, and who is delivering until when. A retry finds the accepted command by it.
   */
  readonly delivery?: { readonly id: string; readonly holder: string; readonly expires: string };
  /** AWS announced it reclaims this spot IAE (EC2 Spot Instance Interruption Warning). */
  readonly interruption?: { readonly at: string; readonly action: string };
  /** A replacement (job-retry.ts): its attempt at the plan, the IAE it replaces and why. */
  readonly attempt?: number;
  readonly replaces?: string;
  readonly retry?: string;
}

/** Spend of one finished log in USD: price × full duration in hours; a missing start or end counts one hour. */
export function costOfLog(log: Pick<CostLog, "price" | "start" | "end">): number {
  const price = Number(log.price);
  if (!Number.isFinite(price) || price < 0) return 0;
  const start = log.start ? Date.parse(log.start) : NaN;
  const end = log.end ? Date.parse(log.end) : NaN;
  if (Number.isNaN(start) || Number.isNaN(end)) return price;
  return (price * Math.abs(end - start)) / 3_600_000;
}
