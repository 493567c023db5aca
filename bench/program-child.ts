/**
 * Child process of the program-scale benchmark (Pulumi runtime state is per process): evaluates
 * `defineStack` under the plan mocks for one size and prints one JSON line on stdout.
 * Usage: tsx bench/program-child.ts AFFILIATES USERS_PER_AFFILIATE
 */
import * as pulumi from "@pulumi/pulumi";
import { createMocks } from "../cli/plan/mocks";
import { recordResources, waitForProgram } from "../cli/plan/record";
import { defineStack } from "../components/program";
import { stackSettingsFromConfig } from "../components/settings";
import { scaleStackConfig } from "./program-config";
import { peakRssKb } from "../local/procfs";

export interface ProgramChildResult {
  readonly affiliates: number;
  readonly usersPerAffiliate: number;
  /** Custom (physical) resources registered. */
  readonly resources: number;
  /** Component resources registered (the stack itself included). */
  readonly components: number;
  readonly byType: Record<string, number>;
  /** defineStack until every registration finished. */
  readonly programMs: number;
  readonly peakRssKb?: number;
}

async function main(): Promise<void> {
  const [affiliates, users] = process.argv.slice(2).map(Number);
  const config = scaleStackConfig({ affiliates, usersPerAffiliate: users });
  const settings = stackSettingsFromConfig((key) => config[key]);
  const recorded = await recordResources(
    createMocks({ accountId: "123456789012", region: "us-east-1" }),
    "neurocaas",
    "bench",
  );
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
    [],
  );
  const t = process.hrtime.bigint();
  defineStack(settings);
  await waitForProgram();
  const programMs = Number(process.hrtime.bigint() - t) / 1e6;
  const byType: Record<string, number> = {};
  for (const r of recorded.filter((x) => x.custom)) byType[r.type] = (byType[r.type] ?? 0) + 1;
  const result: ProgramChildResult = {
    affiliates,
    usersPerAffiliate: users,
    resources: recorded.filter((r) => r.custom).length,
    components: recorded.filter((r) => !r.custom).length,
    byType,
    programMs,
    peakRssKb: peakRssKb(process.pid),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`program-child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
