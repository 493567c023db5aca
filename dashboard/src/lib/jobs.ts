/** Job folders and what a re-run needs, from listings and the certificate (pure). */
import { certificateDatasetLines } from "../../../protocols/job-view";
import { jobFolderName } from "../../../model/layout";

/** Job folder names (`job__{analysis}_{timestamp}`, and `…_rejected-…` siblings) from the common prefixes of `{group}/results/`. */
export function jobFolders(analysis: string, prefixes: readonly string[]): string[] {
  const head = jobFolderName(analysis, "");
  return prefixes
    .map((p) => p.replace(/\/$/, "").slice(p.replace(/\/$/, "").lastIndexOf("/") + 1))
    .filter((name) => name.startsWith(head) && name.length > head.length)
    .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/** The submit timestamp (job id) of a job folder name. */
export function jobIdOf(analysis: string, folder: string): string {
  return folder.slice(jobFolderName(analysis, "").length);
}

export interface RerunPlan {
  readonly datasets: readonly string[];
  readonly config?: string;
  readonly instanceType?: string;
}

/** The datasets, config and instance type a job ran with, as its certificate records them. */
export function rerunPlan(certificate: string | undefined): RerunPlan {
  const datasets = [
    ...new Set(
      certificateDatasetLines(certificate)
        .map((l) => l.dataname)
        .filter((d) => d !== ""),
    ),
  ];
  const lines = certificate?.split("\n") ?? [];
  const config = lines
    .map((l) => /Found \d+ dataset\(s\) and the config (.+?)\.(?:\t|$)/.exec(l)?.[1])
    .find((x) => x !== undefined);
  const requested = lines
    .map((l) => /Using requested instance type (\S+?)\.(?:\t|$)/.exec(l)?.[1])
    .find((x) => x !== undefined);
  return { datasets, ...(config ? { config } : {}), ...(requested ? { instanceType: requested } : {}) };
}

/**
 * IAEs a submission starts: one per dataset; an ensemble analysis trains `ensemble_size` IAEs
 * on its one dataset when the config's mode is `train` (protocols/ensemble.ts).
 */
export function iaeCountOf(protocol: string, datasets: number, values: Readonly<Record<string, unknown>>): number {
  if (
    protocol === "ensemble" &&
    (values.mode === undefined || values.mode === "train") &&
    typeof values.ensemble_size === "number" &&
    Number.isInteger(values.ensemble_size) &&
    values.ensemble_size > 0
  ) {
    return values.ensemble_size;
  }
  return datasets;
}
