import * as path from "node:path";

/** Benchmarks `npm run bench` knows, in the order they run. */
export const BENCH_IDS = ["job-manager", "cold-start", "program-scale", "local-throughput", "transfers"] as const;
export type BenchId = (typeof BENCH_IDS)[number];

export interface BenchArgs {
  /** Every benchmark at its smallest size (CI smoke; no thresholds). */
  readonly quick: boolean;
  /** Benchmarks to run, in BENCH_IDS order. */
  readonly only: readonly BenchId[];
  /** Where the results JSON is written (default bench/results.json, bench/results-quick.json with --quick). */
  readonly out: string;
  /** Keep the other sections of an existing results file (re-run some benchmarks only). */
  readonly merge: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--only ${BENCH_IDS.join(",")}] [--out FILE] [--merge]`;

/** Parse `npm run bench -- …` arguments; unknown flags and names are errors naming the value. */
export function parseBenchArgs(argv: readonly string[], repoRoot: string): BenchArgs {
  let quick = false;
  let merge = false;
  let only: BenchId[] = [...BENCH_IDS];
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === "--quick") quick = true;
    else if (flag === "--merge") merge = true;
    else if (flag === "--only") {
      const names = value().split(",").map((s) => s.trim()).filter((s) => s !== "");
      const unknown = names.filter((n) => !(BENCH_IDS as readonly string[]).includes(n));
      if (unknown.length > 0) throw new Error(`--only: unknown benchmark ${unknown.map((u) => JSON.stringify(u)).join(", ")}; expected one of ${BENCH_IDS.join(", ")}`);
      only = BENCH_IDS.filter((b) => names.includes(b));
    } else if (flag === "--out") out = path.resolve(value());
    else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  // A quick (smoke) run never replaces the committed full results.
  return { quick, only, out: out ?? path.join(repoRoot, "bench", quick ? "results-quick.json" : "results.json"), merge };
}
