import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { bundleHandler, HANDLER_ENTRIES, type HandlerName } from "../components/lambda-bundle";
import { PROJECT_ROOT } from "../components/project-root";
import { EXEMPT_PARAMETER_ENV } from "../components/account-guard";
import { RUNTIME_CONFIG_ENV } from "../model/runtime-config";
import { bundleComposition } from "./bundle-composition";
import { benchRuntimeConfig } from "./job-manager";
import { run } from "./proc";
import type { BenchCheck, BenchSection } from "./report";
import { elapsedMs, median, round } from "./stats";

/** Issue targets: each bundle under 1 MB (gzip), loaded in under 200 ms. */
const BUNDLE_LIMIT_BYTES = 1_000_000;
const LOAD_LIMIT_MS = 200;

export interface ColdStartArgs {
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

interface BundleMeasure {
  readonly handler: HandlerName;
  readonly entry: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly bundleMs: number;
  /** require() of the bundle in a fresh node process, per run. */
  readonly loadMs: readonly number[];
  /** spawn-to-exit of that process, per run. */
  readonly processMs: readonly number[];
  /** Largest packages in the bundle: [package, bytes]. */
  readonly largest: readonly [string, number][];
}

interface LoadTimes {
  readonly loadMs: readonly number[];
  readonly processMs: readonly number[];
}

/** The reference module for the machine's noise floor. */
const EMPTY_HANDLER = "exports.handler = async () => 0;\n";

/** Script run by `node -e`: time require() of the bundle and check it exports `handler`. */
const LOAD_SCRIPT = `const t=process.hrtime.bigint();const m=require(process.env.BENCH_BUNDLE);const ms=Number(process.hrtime.bigint()-t)/1e6;if(typeof m.handler!=="function"){console.error("no handler export");process.exit(3)}process.stdout.write(String(ms));`;

/** Parse the child's output: one number of milliseconds. */
export function parseLoadMs(stdout: string): number {
  const ms = Number(stdout.trim());
  if (stdout.trim() === "" || !Number.isFinite(ms) || ms < 0)
    throw new Error(
      `cold start: expected a load time in ms from the child, got ${JSON.stringify(stdout.slice(0, 200))}`,
    );
  return ms;
}

export async function benchColdStart(args: ColdStartArgs): Promise<BenchSection> {
  const started = process.hrtime.bigint();
  const runs = args.quick ? 3 : 9;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "neurocaas-bench-bundles-"));
  const measures: BundleMeasure[] = [];
  const missing: string[] = [];
  let baseline: LoadTimes | undefined;
  const env = {
    ...process.env,
    AWS_REGION: "us-east-1",
    [RUNTIME_CONFIG_ENV]: JSON.stringify(benchRuntimeConfig(100, "default", ["benchgroup"])),
    [EXEMPT_PARAMETER_ENV]: "exempt_instances",
  };
  const measureLoads = async (file: string, name: string): Promise<LoadTimes> => {
    const loadMs: number[] = [];
    const processMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await run(process.execPath, ["-e", LOAD_SCRIPT], {
        env: { ...env, BENCH_BUNDLE: file },
        cwd: dir,
        timeoutMs: 60_000,
      });
      if (r.code !== 0)
        throw new Error(`cold start: loading the ${name} bundle failed (exit ${r.code}): ${r.stderr.slice(-500)}`);
      loadMs.push(parseLoadMs(r.stdout));
      processMs.push(r.ms);
    }
    return { loadMs, processMs };
  };
  try {
    for (const [handler, entry] of Object.entries(HANDLER_ENTRIES) as [HandlerName, string][]) {
      if (!fs.existsSync(path.join(PROJECT_ROOT, entry))) {
        missing.push(entry);
        continue;
      }
      const t = process.hrtime.bigint();
      const code = await bundleHandler(entry);
      const bundleMs = elapsedMs(t);
      const file = path.join(dir, handler, "index.js");
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, code);
      const { loadMs, processMs } = await measureLoads(file, handler);
      const bytes = Buffer.byteLength(code);
      const gzipBytes = zlib.gzipSync(code, { level: 9 }).length;
      measures.push({
        handler,
        entry,
        bytes,
        gzipBytes,
        bundleMs,
        loadMs,
        processMs,
        largest: (await bundleComposition(entry)).slice(0, 4),
      });
      args.log(`cold-start: ${handler}: ${bytes} B (${gzipBytes} B gzip), load median ${median(loadMs).toFixed(1)} ms`);
    }
    // Noise floor of this machine: the same measurement of a module that only exports a handler.
    const empty = path.join(dir, "empty", "index.js");
    fs.mkdirSync(path.dirname(empty), { recursive: true });
    fs.writeFileSync(empty, EMPTY_HANDLER);
    baseline = await measureLoads(empty, "empty");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return coldStartSection(measures, missing, { quick: args.quick, runs, ms: elapsedMs(started), baseline });
}

function coldStartSection(
  measures: readonly BundleMeasure[],
  missing: readonly string[],
  meta: { quick: boolean; runs: number; ms: number; baseline?: LoadTimes },
): BenchSection {
  const judged = !meta.quick;
  const checks: BenchCheck[] = measures.flatMap((m) => [
    {
      name: `${m.handler} bundle size (uncompressed; gzip shown)`,
      value: `${m.bytes} B (${m.gzipBytes} B gzip)`,
      target: `< ${BUNDLE_LIMIT_BYTES} B`,
      ...(judged ? { met: m.bytes < BUNDLE_LIMIT_BYTES } : {}),
    },
    {
      name: `${m.handler} load (median of ${m.loadMs.length})`,
      value: `${round(median(m.loadMs), 1)} ms`,
      target: `< ${LOAD_LIMIT_MS} ms`,
      ...(judged ? { met: median(m.loadMs) < LOAD_LIMIT_MS } : {}),
    },
  ]);
  const notes = [
    "load = require() of the minified bundle in a fresh `node` process (timed inside it with hrtime), median of runs; process = spawn to exit of that process, node start-up included.",
    ...(missing.length > 0 ? [`handler entries not present (not measured): ${missing.join(", ")}`] : []),
  ];
  return {
    id: "cold-start",
    title: "2. Lambda cold start",
    status: measures.length === 0 ? "unavailable" : "ok",
    notes,
    tables: [
      {
        title: `Lambda bundles (esbuild, node22, minified; ${meta.runs} loads each)`,
        columns: [
          "handler",
          "bytes",
          "gzip bytes",
          "bundle ms",
          "load ms (median)",
          "load ms (min)",
          "process ms (median)",
          "largest packages (KB)",
        ],
        rows: [
          ...measures.map((m) => [
            m.handler,
            m.bytes,
            m.gzipBytes,
            round(m.bundleMs, 0),
            round(median(m.loadMs), 1),
            round(Math.min(...m.loadMs), 1),
            round(median(m.processMs), 0),
            m.largest.map(([p, b]) => `${p} ${Math.round(b / 1024)}`).join(", "),
          ]),
          ...(meta.baseline
            ? [
                [
                  "(empty module)",
                  Buffer.byteLength(EMPTY_HANDLER),
                  null,
                  null,
                  round(median(meta.baseline.loadMs), 1),
                  round(Math.min(...meta.baseline.loadMs), 1),
                  round(median(meta.baseline.processMs), 0),
                  "noise floor: node start-up and require() of nothing",
                ],
              ]
            : []),
        ],
      },
    ],
    checks,
    ms: meta.ms,
    data: { measures, missing, baseline: meta.baseline ?? null },
  };
}
