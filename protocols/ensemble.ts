import { mapBounded } from "./concurrency";
import { JobError } from "./errors";
import type { JobConfig } from "./job-config";
import { ensembleConfigKey } from "../model/layout";
import { Submission, type ConfiguredJob, type IaePlan } from "./submission";

const MAX_ENSEMBLE_SIZE = 100;

/**
 * Ensemble protocol (SPEC 4.8): one dataset, `ensemble_size` IAEs on it, each with its own config
 * copy carrying `"jobnb": i` (1-based) at `{group}/configs/{jobname}inst{i}config.json`. A config
 * whose `mode` is set to anything but `train` runs as the default protocol.
 */
export class EnsembleSubmission extends Submission {
  override readonly protocol = "ensemble" as const;

  protected override async checkConfig(job: ConfiguredJob): Promise<string[]> {
    if (!trainsEnsemble(job.config)) {
      this.note(
        `Config mode is ${JSON.stringify(job.config.values.mode)}, not "train": running a single analysis per dataset.`,
      );
      return [];
    }
    const problems: string[] = [];
    const size = job.config.values.ensemble_size;
    if (ensembleSize(job.config) === undefined)
      problems.push(
        `ensemble_size must be an integer from 1 to ${MAX_ENSEMBLE_SIZE}; got ${JSON.stringify(size) ?? "nothing"}.`,
      );
    if (job.datasets.length !== 1)
      problems.push(`An ensemble job trains on exactly one dataset; the submit file lists ${job.datasets.length}.`);
    if (problems.length === 0) this.note(`Ensemble of ${size} member(s) requested.`);
    return problems;
  }

  protected override iaeCount(job: ConfiguredJob): number {
    return ensembleSize(job.config) ?? super.iaeCount(job);
  }

  protected override async planIaes(job: ConfiguredJob): Promise<IaePlan[]> {
    const size = ensembleSize(job.config);
    if (size === undefined) return super.planIaes(job);
    const loc = job.location;
    const dataset = job.datasets[0];
    const folder = loc.inputBucket === this.bucket ? `${job.group}/configs` : dirname(job.configKey);
    const plans: IaePlan[] = [];
    // Each member has its own config copy, status file and certificate line (named by its jobnb).
    for (let i = 1; i <= size; i++) {
      const configKey = ensembleConfigKey(folder, loc.jobName, i);
      plans.push({ index: i - 1, dataset, configKey, command: this.commandFor(job, dataset, configKey), member: i });
    }
    await mapBounded(plans, 16, (p) =>
      this.deps.store.put(
        loc.inputBucket,
        p.configKey,
        JSON.stringify({ ...job.config.values, jobnb: p.member }, null, 2),
      ),
    );
    this.note(`Wrote ${plans.length} member config(s) to ${folder}/${loc.jobName}inst{1..${plans.length}}config.json.`);
    return plans;
  }
}

/** A config in `train` mode (the default) asks for an ensemble. */
function trainsEnsemble(config: JobConfig): boolean {
  return config.values.mode === undefined || config.values.mode === "train";
}

/** The members an ensemble config asks for; undefined when it asks for none or for an invalid number. */
function ensembleSize(config: JobConfig): number | undefined {
  const size = config.values.ensemble_size;
  if (
    !trainsEnsemble(config) ||
    typeof size !== "number" ||
    !Number.isInteger(size) ||
    size < 1 ||
    size > MAX_ENSEMBLE_SIZE
  )
    return undefined;
  return size;
}

function dirname(key: string): string {
  const i = key.lastIndexOf("/");
  if (i <= 0) throw new JobError(`Config ${key} has no folder to hold the ensemble member configs.`);
  return key.slice(0, i);
}
