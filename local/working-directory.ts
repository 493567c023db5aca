import * as path from "node:path";

export interface WorkingDirectoryArgs {
  /** Blueprint WORKING_DIRECTORY, e.g. `~/neurocaas` or `~/bin`. */
  readonly workingDirectory: string;
  /** The IAE's sandbox HOME. */
  readonly home: string;
  /** This repository's checkout: what `~/neurocaas` is on a local IAE. */
  readonly repoRoot: string;
}

/**
 * Where a local IAE runs its command. On a real IAE the analysis image holds the NeuroCAAS checkout
 * at `~/neurocaas`; locally `~/neurocaas` (and anything below it) maps to this repository's checkout
 * so the same COMMAND (e.g. `neurocaas workflow run-main ... examples/pca/run_pca.sh`) runs
 * unchanged. Any other `~/...` resolves inside the IAE's own sandbox HOME; absolute paths are used
 * as they are (in a bubblewrap sandbox, one the IAE cannot see, e.g. `/home/ubuntu`, becomes a
 * private directory of the IAE: see planSandbox).
 */
export function resolveWorkingDirectory(args: WorkingDirectoryArgs): string {
  const wd = args.workingDirectory.trim();
  const checkout = /^~\/neurocaas(\/.*)?$/.exec(wd);
  if (checkout) return path.join(args.repoRoot, checkout[1] ?? "");
  if (wd === "~") return args.home;
  if (wd.startsWith("~/")) return path.join(args.home, wd.slice(2));
  if (path.isAbsolute(wd)) return wd;
  return path.join(args.home, wd);
}
