/**
 * Start-up of `bin/neurocaas` as analysis scripts call it on an IAE (each `neurocaas-contrib`
 * call is a new process): the esbuild bundle against tsx compiling the TypeScript, with tsx's
 * cache warm (a developer's shell) and empty (a fresh IAE, whose TMPDIR is its own).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT } from "../components/project-root";
import { run } from "./proc";
import type { BenchCheck, BenchSection } from "./report";
import { elapsedMs, median, round } from "./stats";

const BIN = path.join(PROJECT_ROOT, "bin", "neurocaas");
/** A command that loads the workflow group an IAE uses, and exits. */
const ARGS = ["workflow", "--help"];
/** Target of issue 15: a spawned CLI must not cost a tsx compile. */
const BUNDLE_TARGET_MS = 300;

interface Variant {
  readonly name: string;
  readonly env: () => NodeJS.ProcessEnv;
}

async function timeStarts(variant: Variant, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await run(BIN, ARGS, { env: variant.env(), timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`${variant.name}: bin/neurocaas ${ARGS.join(" ")} exited ${r.code}: ${r.stderr}`);
    times.push(r.ms);
  }
  return times;
}

export async function benchCliStart(opts: { quick: boolean; log: (line: string) => void }): Promise<BenchSection> {
  const started = process.hrtime.bigint();
  const runs = opts.quick ? 2 : 9;
  const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "neurocaas-bench-cli-"));
  const base = { ...process.env, NEUROCAAS_TSX: "" };
  const variants: Variant[] = [
    { name: "bundle", env: () => base },
    { name: "tsx, warm cache", env: () => ({ ...base, NEUROCAAS_TSX: "1" }) },
    {
      name: "tsx, empty cache (a fresh IAE)",
      env: () => ({ ...base, NEUROCAAS_TSX: "1", TMPDIR: fs.mkdtempSync(path.join(tmpRoot, "iae-")) }),
    },
  ];
  try {
    // One start of each first: builds the bundle if stale, fills tsx's warm cache.
    for (const v of variants) await timeStarts(v, 1);
    const rows: (string | number)[][] = [];
    const medians = new Map<string, number>();
    for (const v of variants) {
      opts.log(`cli-start: ${v.name} × ${runs}`);
      const m = median(await timeStarts(v, runs));
      medians.set(v.name, m);
      rows.push([v.name, round(m, 0)]);
    }
    const bundle = medians.get("bundle") ?? NaN;
    const checks: BenchCheck[] = [
      {
        name: `bin/neurocaas ${ARGS.join(" ")} start, bundle`,
        value: `${round(bundle, 0)} ms`,
        target: `< ${BUNDLE_TARGET_MS} ms`,
        ...(opts.quick ? {} : { met: bundle < BUNDLE_TARGET_MS }),
      },
    ];
    return {
      id: "cli-start",
      title: "7. CLI start",
      status: "ok",
      notes: [`median of ${runs} starts each, wall time`],
      tables: [{ title: `bin/neurocaas ${ARGS.join(" ")}`, columns: ["variant", "median ms"], rows }],
      checks,
      ms: elapsedMs(started),
      data: Object.fromEntries(medians),
    };
  } finally {
    fs.rmSync(tmpRoot, { recursive: true, force: true });
  }
}
