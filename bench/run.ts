/**
 * `npm run bench [-- --quick] [-- --only a,b]`: runs the benchmarks of issue 7, prints one table
 * per benchmark with its checks against the targets, and writes bench/results.json.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BENCH_IDS, parseBenchArgs, type BenchId } from "./args";
import { benchCliStart } from "./cli-start";
import { benchColdStart } from "./cold-start";
import { benchJobManager, DEFAULT_FIXTURES_DIR } from "./job-manager";
import { benchLocalThroughput } from "./local-throughput";
import { benchProgramScale } from "./program-scale";
import { benchQueue } from "./queue-drain";
import { benchTransfers } from "./transfers";
import { formatSection, mergeSections, type BenchResults, type BenchSection } from "./report";
import { elapsedMs } from "./stats";

const REPO_ROOT = path.resolve(__dirname, "..");

type Runner = (ctx: { quick: boolean; log: (line: string) => void }) => Promise<BenchSection>;

const TITLES: Record<BenchId, string> = {
  "job-manager": "1. Job-manager overhead",
  "cold-start": "2. Lambda cold start",
  "program-scale": "3. Program scale",
  "local-throughput": "4. Local throughput",
  transfers: "5. Transfers",
  queue: "6. Queue",
  "cli-start": "7. CLI start",
};

const RUNNERS: Partial<Record<BenchId, Runner>> = {
  "job-manager": ({ quick, log }) => benchJobManager({ quick, fixturesDir: DEFAULT_FIXTURES_DIR, log }),
  "cold-start": ({ quick, log }) => benchColdStart({ quick, log }),
  "program-scale": ({ quick, log }) => benchProgramScale({ quick, log }),
  "local-throughput": ({ quick, log }) => benchLocalThroughput({ quick, log }),
  transfers: ({ quick, log }) => benchTransfers({ quick, log }),
  queue: ({ quick, log }) => benchQueue({ quick, log }),
  "cli-start": ({ quick, log }) => benchCliStart({ quick, log }),
};

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), REPO_ROOT);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  const sections: BenchSection[] = [];
  for (const id of args.only) {
    const runner = RUNNERS[id];
    const started = process.hrtime.bigint();
    const loadBefore = os.loadavg()[0];
    log(`running ${id}${args.quick ? " (quick)" : ""}`);
    let section: BenchSection;
    if (!runner) {
      section = { id, title: TITLES[id], status: "unavailable", notes: ["no runner"], tables: [], checks: [], ms: 0 };
    } else {
      try {
        section = await runner({ quick: args.quick, log });
      } catch (err) {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        section = {
          id,
          title: TITLES[id],
          status: "error",
          notes: [message],
          tables: [],
          checks: [],
          ms: elapsedMs(started),
        };
      }
    }
    section = {
      ...section,
      date: new Date().toISOString(),
      quick: args.quick,
      loadAverage: [loadBefore, os.loadavg()[0]],
    };
    sections.push(section);
    process.stdout.write(`\n${formatSection(section)}\n`);
  }
  const previous = args.merge ? previousSections(args.out) : [];
  const all = args.merge ? mergeSections(previous, sections, BENCH_IDS) : sections;
  const cpus = os.cpus();
  const results: BenchResults = {
    version: 1,
    date: new Date().toISOString(),
    // Any section measured at its smallest size makes the whole file a quick one.
    quick: all.some((s) => s.quick !== false),
    machine: {
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? "unknown",
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
    },
    sections: all,
  };
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), args.out) || args.out}\n`);
  if (sections.some((s) => s.status === "error")) process.exitCode = 1;
}

/** Sections of an earlier results file, each stamped with that file's date and mode when it has none. */
function previousSections(file: string): BenchSection[] {
  if (!fs.existsSync(file)) return [];
  const prev = JSON.parse(fs.readFileSync(file, "utf8")) as BenchResults;
  return prev.sections.map((s) => ({ ...s, date: s.date ?? prev.date, quick: s.quick ?? prev.quick }));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
