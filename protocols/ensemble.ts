import { Submission, type IaePlan, type JobLocation } from "./submission";
import { mapBounded } from "./concurrency";
import { JobError } from "./errors";
import type { JobConfig } from "./job-config";
import type { SubmitFile } from "./submit-file";
import { ensembleConfigKey } from "./layout";

export const MAX_ENSEMBLE_SIZE = 100;

/**
 * Ensemble protocol (SPEC 4.8): one dataset, `ensemble_size` IAEs on it, each with its own config
 * copy carrying `"jobnb": i` (1-based) at `{group}/configs/{jobname}inst{i}config.json`. A config
 * whose `mode` is set to anything but `train` runs as the default protocol.
 */
export class EnsembleSubmission extends Submission {
  override readonly protocol = "ensemble" as const;
  private ensembleSize?: number;

  protected override async checkConfig(config: JobConfig): Promise<string[]> {
    const mode = config.values.mode;
    if (mode !== undefined && mode !== "train") {
      this.cert.append(`Config mode is ${JSON.stringify(mode)}, not "train": running a single analysis per dataset.`);
      return [];
    }
    const problems: string[] = [];
    const size = config.values.ensemble_size;
    if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > MAX_ENSEMBLE_SIZE) {
      problems.push(`ensemble_size must be an integer from 1 to ${MAX_ENSEMBLE_SIZE}; got ${JSON.stringify(size) ?? "nothing"}.`);
    }
    const datasets = (this.submit as SubmitFile).datanames.length;
    if (datasets !== 1) problems.push(`An ensemble job trains on exactly one dataset; the submit file lists ${datasets}.`);
    if (problems.length === 0) {
      this.ensembleSize = size as number;
      this.cert.append(`Ensemble of ${this.ensembleSize} member(s) requested.`);
    }
    return problems;
  }

  protected override iaeCount(): number {
    return this.ensembleSize ?? super.iaeCount();
  }

  protected override async planIaes(): Promise<IaePlan[]> {
    if (this.ensembleSize === undefined) return super.planIaes();
    const loc = this.location as JobLocation;
    const dataset = this.datasetKeys()[0];
    const folder = loc.inputBucket === this.bucket ? `${this.group}/configs` : dirname(this.configKey as string);
    const plans: IaePlan[] = [];
    // Each member has its own config copy, status file and certificate line (named by its jobnb).
    for (let i = 1; i <= this.ensembleSize; i++) {
      const configKey = ensembleConfigKey(folder, loc.jobName, i);
      plans.push({ index: i - 1, dataset, configKey, command: this.commandFor(dataset, configKey), member: i });
    }
    const values = (this.config as JobConfig).values;
    await mapBounded(plans, 16, (p) => this.deps.store.put(loc.inputBucket, p.configKey, JSON.stringify({ ...values, jobnb: p.member }, null, 2)));
    this.cert.append(`Wrote ${plans.length} member config(s) to ${folder}/${loc.jobName}inst{1..${plans.length}}config.json.`);
    return plans;
  }
}

function dirname(key: string): string {
  const i = key.lastIndexOf("/");
  if (i <= 0) throw new JobError(`Config ${key} has no folder to hold the ensemble member configs.`);
  return key.slice(0, i);
}
