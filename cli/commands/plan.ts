import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import type { PolicyPackConfig } from "@pulumi/policy";
import { PROJECT_ROOT } from "../../components/project-root";
import { checkBucketAvailability, hasAwsCredentials, type BucketAvailability } from "../plan/bucket-availability";
import { formatHuman, formatInvalid } from "../plan/report";
import type * as PlanRunModule from "../plan/run";

/**
 * `neurocaas plan`: what a stack would create and what the policy pack says about it, without
 * cloud credentials. Exit status: 0 clean (advisory findings allowed), 1 a mandatory policy is
 * violated (or, with AWS credentials, a bucket name is taken), 2 the stack config / blueprint is
 * invalid, 3 the plan itself could not run.
 */

export const PLAN_EXIT = { ok: 0, mandatoryViolation: 1, invalidBlueprint: 2, failed: 3 } as const;

/** `dev` → `Pulumi.dev.yaml`; other names → `Pulumi.{name}.yaml`, else `stacks/{name}.yaml`. */
export function stackFileFor(stack: string, root = PROJECT_ROOT): string {
  const candidates = [path.join(root, `Pulumi.${stack}.yaml`), path.join(root, "stacks", `${stack}.yaml`)];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found)
    throw new Error(
      `no stack config for stack "${stack}" (looked for ${candidates.map((c) => path.relative(process.cwd(), c)).join(" and ")})`,
    );
  return found;
}

function readPolicyConfig(file: string): PolicyPackConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read policy config ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new Error("expected a JSON object of policy name → config");
    return value as PolicyPackConfig;
  } catch (err) {
    throw new Error(`policy config ${file}: ${(err as Error).message}`, { cause: err });
  }
}

interface PlanOptions {
  readonly stack?: string;
  readonly stackFile?: string;
  readonly json?: boolean;
  readonly policyConfig?: string;
  /** commander's `--no-aws`: never call AWS, even with credentials. */
  readonly aws?: boolean;
}

/** With explicit AWS credentials: are the bucket names of the stack free (bucket names are global)? */
async function bucketChecks(
  resources: readonly { type: string; name: string; physicalName?: string; properties: Record<string, unknown> }[],
): Promise<BucketAvailability[]> {
  const buckets = resources.filter((r) => r.type === "aws:s3/bucket:Bucket" && r.physicalName !== undefined);
  if (buckets.length === 0) return [];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { S3Client } = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
  const client = new S3Client({ region: process.env.AWS_REGION ?? "us-east-1", followRegionRedirects: true });
  try {
    return await checkBucketAvailability(
      client,
      buckets.map((b) => b.physicalName as string),
      Object.fromEntries(buckets.map((b) => [b.physicalName as string, b.name])),
    );
  } finally {
    client.destroy();
  }
}

async function runPlan(opts: PlanOptions): Promise<number> {
  if (opts.stack && opts.stackFile)
    throw Object.assign(new Error("give either --stack or --stack-file, not both"), { exitCode: PLAN_EXIT.failed });
  const file = opts.stackFile ? path.resolve(opts.stackFile) : stackFileFor(opts.stack ?? "dev");
  const stack =
    opts.stack ??
    (opts.stackFile
      ? path
          .basename(file)
          .replace(/^Pulumi\./, "")
          .replace(/\.ya?ml$/, "")
      : "dev");
  const policyConfig = opts.policyConfig ? readPolicyConfig(opts.policyConfig) : undefined;
  // Loaded lazily: the Pulumi SDK and the program are heavy, other commands should not pay for them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { planStack, isInvalid } = require("../plan/run") as typeof PlanRunModule;
  const result = await planStack({ file, stack, ...(policyConfig ? { policyConfig } : {}) });
  if (isInvalid(result)) {
    process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatInvalid(result));
    return PLAN_EXIT.invalidBlueprint;
  }
  const { recorded: _recorded, ...planned } = result;
  const buckets = opts.aws !== false && hasAwsCredentials() ? await bucketChecks(planned.resources) : undefined;
  const report = { ...planned, ...(buckets ? { buckets } : {}) };
  let text = opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatHuman(report);
  if (!opts.json && buckets) text += buckets.map((b) => `Bucket name: ${b.message}\n`).join("");
  process.stdout.write(text);
  const taken = (buckets ?? []).some((b) => b.status === "taken");
  return report.violations.some((v) => v.enforcementLevel === "mandatory") || taken
    ? PLAN_EXIT.mandatoryViolation
    : PLAN_EXIT.ok;
}

export function register(program: Command): void {
  program
    .command("plan")
    .description(
      "Run a stack's Pulumi program under mocks: list what it would create and evaluate the policy pack (no cloud credentials needed)",
    )
    .option("--stack <name>", "stack name: Pulumi.<name>.yaml or stacks/<name>.yaml (default: dev)")
    .option("--stack-file <file>", "path of a stack config file")
    .option("--json", "print a machine-readable report {resources, violations, ...}")
    .option("--policy-config <file>", "policy pack config JSON (as for pulumi --policy-pack-config)")
    .option(
      "--no-aws",
      "never call AWS (by default, with AWS credentials in the environment, checks that the bucket names are free)",
    )
    .action(async (opts: PlanOptions) => {
      try {
        process.exitCode = await runPlan(opts);
      } catch (err) {
        if (typeof (err as { exitCode?: unknown }).exitCode === "number") throw err;
        throw Object.assign(new Error(`plan failed: ${(err as Error).message}`, { cause: err }), {
          exitCode: PLAN_EXIT.failed,
        });
      }
    });
}
