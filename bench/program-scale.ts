import * as path from "node:path";
import { PROJECT_ROOT } from "../components/project-root";
import type { ProgramChildResult } from "./program-child";
import { perAffiliate } from "./program-config";
import { run } from "./proc";
import type { BenchCheck, BenchSection } from "./report";
import { elapsedMs, round } from "./stats";

export interface ProgramScaleArgs {
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

const USERS_PER_AFFILIATE = 5;

function programSizes(quick: boolean): number[] {
  return quick ? [1] : [1, 50, 500];
}

/** The child's result: the last stdout line, JSON. */
export function parseChildResult(stdout: string): ProgramChildResult {
  const line = stdout.trim().split("\n").pop() ?? "";
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(
      `program-scale: the child printed no JSON result (last line ${JSON.stringify(line.slice(0, 200))})`,
    );
  }
  const r = parsed as Partial<ProgramChildResult>;
  if (typeof r.resources !== "number" || typeof r.affiliates !== "number" || typeof r.programMs !== "number") {
    throw new Error(`program-scale: child result lacks resources/affiliates/programMs: ${line.slice(0, 200)}`);
  }
  return r as ProgramChildResult;
}

export async function benchProgramScale(args: ProgramScaleArgs): Promise<BenchSection> {
  const started = process.hrtime.bigint();
  const results: (ProgramChildResult & { processMs: number })[] = [];
  const tsx = path.join(PROJECT_ROOT, "node_modules", "tsx", "dist", "cli.mjs");
  for (const affiliates of programSizes(args.quick)) {
    const r = await run(
      process.execPath,
      [tsx, path.join(PROJECT_ROOT, "bench", "program-child.ts"), String(affiliates), String(USERS_PER_AFFILIATE)],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, NODE_NO_WARNINGS: "1" },
        timeoutMs: 30 * 60_000,
      },
    );
    if (r.code !== 0)
      throw new Error(
        `program-scale: ${affiliates} affiliates failed (exit ${r.code ?? r.signal}): ${r.stderr.slice(-1500)}`,
      );
    const result = { ...parseChildResult(r.stdout), processMs: r.ms };
    results.push(result);
    args.log(
      `program-scale: ${affiliates} affiliates: ${result.resources} resources, program ${result.programMs.toFixed(0)} ms`,
    );
  }
  return programScaleSection(results, { quick: args.quick, ms: elapsedMs(started) });
}

function programScaleSection(
  results: readonly (ProgramChildResult & { processMs: number })[],
  meta: { quick: boolean; ms: number },
): BenchSection {
  const rows = results.map((r, i) => {
    const per = i > 0 ? perAffiliate(results[i - 1], r) : undefined;
    const msPer =
      i > 0 ? (r.programMs - results[i - 1].programMs) / (r.affiliates - results[i - 1].affiliates) : undefined;
    return [
      r.affiliates,
      r.affiliates * r.usersPerAffiliate,
      r.resources,
      r.components,
      per ?? null,
      round(r.programMs, 0),
      msPer === undefined ? null : round(msPer, 1),
      round(r.processMs, 0),
      r.peakRssKb === undefined ? null : round(r.peakRssKb / 1024, 0),
    ];
  });
  const pers = results
    .slice(1)
    .map((r, i) => perAffiliate(results[i], r))
    .filter((x): x is number => x !== undefined);
  const constant = pers.length > 0 && pers.every((p) => p === pers[0] && Number.isInteger(p));
  const checks: BenchCheck[] = [
    {
      name: "resources per affiliate (5 users each) between successive sizes",
      value: pers.length > 0 ? pers.join(", ") : "one size only",
      target: "constant",
      ...(!meta.quick && pers.length > 0 ? { met: constant } : {}),
    },
  ];
  const largest = results[results.length - 1];
  if (largest && largest.byType) {
    const top = Object.entries(largest.byType)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6);
    checks.push({
      name: `largest types at ${largest.affiliates} affiliates`,
      value: top.map(([t, n]) => `${t.split(":").pop()}×${n}`).join(", "),
      target: "-",
    });
  }
  return {
    id: "program-scale",
    title: "3. Program scale",
    status: "ok",
    notes: [
      "defineStack(settings) of a dev stack (utils + account guard in-program) under the plan mocks, one child process per size; program ms = defineStack until every registration finished (includes bundling the Lambda handlers once per process).",
    ],
    tables: [
      {
        title: `Pulumi program under mocks, ${USERS_PER_AFFILIATE} users (with user profiles) per affiliate`,
        columns: [
          "affiliates",
          "users",
          "resources",
          "components",
          "resources/affiliate",
          "program ms",
          "ms/affiliate",
          "process ms",
          "peak RSS MB",
        ],
        rows,
      },
    ],
    checks,
    ms: meta.ms,
    data: { results },
  };
}
