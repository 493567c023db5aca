import * as path from "node:path";
import { parseArgs } from "node:util";

/** Benchmarks `npm run bench` knows, in the order they run. */
export const BENCH_IDS = [
  "job-manager",
  "cold-start",
  "program-scale",
  "local-throughput",
  "transfers",
  "queue",
  "cli-start",
] as const;
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

const USAGE = `usage: npm run bench -- [--quick] [--only ${BENCH_IDS.join(",")}] [--out FILE] [--merge]`;

/** Parse `npm run bench -- …` arguments; unknown flags and names are errors naming the value. */
export function parseBenchArgs(argv: readonly string[], repoRoot: string): BenchArgs {
  // strict: false so that every problem is reported in our words (with USAGE), from the tokens.
  const { values, tokens } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: "boolean" },
      merge: { type: "boolean" },
      only: { type: "string" },
      out: { type: "string" },
    },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const t of tokens) {
    if (t.kind === "positional" || (t.kind === "option" && !(t.name in OPTIONS)))
      throw new Error(`unknown argument ${JSON.stringify(t.kind === "positional" ? t.value : t.rawName)}\n${USAGE}`);
    if (t.kind !== "option") continue;
    const missing = t.value === undefined || t.value === "" || (!t.inlineValue && t.value.startsWith("--"));
    if (OPTIONS[t.name] === "string" && missing) throw new Error(`${t.rawName} needs a value\n${USAGE}`);
    if (OPTIONS[t.name] === "boolean" && t.value !== undefined)
      throw new Error(`${t.rawName} takes no value\n${USAGE}`);
  }
  let only: BenchId[] = [...BENCH_IDS];
  if (typeof values.only === "string") {
    const names = values.only
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const unknown = names.filter((n) => !(BENCH_IDS as readonly string[]).includes(n));
    if (unknown.length > 0)
      throw new Error(
        `--only: unknown benchmark ${unknown.map((u) => JSON.stringify(u)).join(", ")}; expected one of ${BENCH_IDS.join(", ")}`,
      );
    only = BENCH_IDS.filter((b) => names.includes(b));
  }
  const quick = values.quick === true;
  const out = typeof values.out === "string" ? path.resolve(values.out) : undefined;
  // A quick (smoke) run never replaces the committed full results.
  return {
    quick,
    only,
    out: out ?? path.join(repoRoot, "bench", quick ? "results-quick.json" : "results.json"),
    merge: values.merge === true,
  };
}

const OPTIONS: Readonly<Record<string, "boolean" | "string">> = {
  quick: "boolean",
  merge: "boolean",
  only: "string",
  out: "string",
};
