import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { PolicyPackConfig } from "@pulumi/policy";
import { BlueprintError, BLUEPRINT_CONFIG_KEY, loadStackFile } from "../../model/blueprint/parse";
import { defineStack } from "../../components/program";
import {
  DEFAULT_IDENTITY,
  StackConfigError,
  stackSettingsFromConfig,
  type StackIdentity,
  type StackSettings,
} from "../../components/settings";
import { PACK_ENFORCEMENT_LEVEL, allPolicies } from "../../policies/all";
import { evaluatePolicies } from "./evaluate";
import { createMocks } from "./mocks";
import { recordResources, waitForProgram, type RecordedResource } from "./record";
import { iamDocuments } from "./iam-documents";
import { plannedResources, type InvalidReport, type PlanReport } from "./report";
import { utilsStackOutputs } from "./stack-reference";

/** Runs one stack's Pulumi program under mocks and evaluates the policy pack on what it creates. */

export interface PlanArgs {
  /** Stack config file (`Pulumi.dev.yaml`, `stacks/x.yaml`). */
  readonly file: string;
  readonly stack: string;
  readonly policyConfig?: PolicyPackConfig;
  /** Account id the mocks put into ARNs. */
  readonly accountId?: string;
}

export interface PlanRun extends PlanReport {
  /** Everything recorded, components included (the report lists custom resources only). */
  readonly recorded: readonly RecordedResource[];
}

export const PLAN_ACCOUNT_ID = "123456789012";
export const PROJECT_NAME = DEFAULT_IDENTITY.project;
/** The offline plan runs as a self-managed backend would (organization `organization`). */
export const PLAN_ORGANIZATION = DEFAULT_IDENTITY.organization;

/** The stack a config file belongs to: `Pulumi.<stack>.yaml` or `stacks/<stack>.yaml`. */
export function stackNameOfFile(file: string): string {
  return path
    .basename(file)
    .replace(/^Pulumi\./, "")
    .replace(/\.ya?ml$/, "");
}

type Issue = InvalidReport["issues"][number];

/** Reads a stack file into settings, or the list of everything wrong with it. */
export function loadSettings(
  file: string,
  stack = stackNameOfFile(file),
): { settings: StackSettings; config: Record<string, unknown> } | { issues: Issue[] } {
  let config: Record<string, unknown>;
  try {
    config = loadStackFile(file).config;
  } catch (err) {
    if (err instanceof BlueprintError) {
      return {
        issues: err.issues.map((i) => ({
          ...i,
          path: i.path === "(root)" ? BLUEPRINT_CONFIG_KEY : `${BLUEPRINT_CONFIG_KEY}.${i.path}`,
        })),
      };
    }
    throw err;
  }
  try {
    const self: StackIdentity = { organization: PLAN_ORGANIZATION, project: PROJECT_NAME, stack };
    return { settings: stackSettingsFromConfig((key) => config[key], self), config };
  } catch (err) {
    if (err instanceof StackConfigError) return { issues: [...err.issues] };
    throw err;
  }
}

/**
 * Config as the Pulumi engine hands it to the program: strings (objects as JSON). Encrypted
 * (`secure:`) values cannot be decrypted offline; they become `OFFLINE_SECRET_VALUE`, marked secret.
 */
/** What an encrypted config value reads as in the offline plan. */
export const OFFLINE_SECRET_VALUE = "[secret: not decrypted by the offline plan]";

export function engineConfig(config: Record<string, unknown>): {
  values: Record<string, string>;
  secretKeys: string[];
} {
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    const secure = typeof value === "object" && value !== null && "secure" in value;
    if (secure) secretKeys.push(key);
    values[key] = secure ? OFFLINE_SECRET_VALUE : typeof value === "string" ? value : JSON.stringify(value);
  }
  return { values, secretKeys };
}

/** Collects errors the program raises asynchronously (inside applies), which would otherwise be lost. */
function collectAsyncErrors(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const onError = (err: unknown) => errors.push(err);
  process.on("unhandledRejection", onError);
  process.on("uncaughtException", onError);
  return {
    errors,
    stop: () => {
      process.off("unhandledRejection", onError);
      process.off("uncaughtException", onError);
    },
  };
}

export async function planStack(args: PlanArgs): Promise<PlanRun | InvalidReport> {
  const file = path.relative(process.cwd(), args.file) || args.file;
  const loaded = loadSettings(args.file, args.stack);
  if ("issues" in loaded) return { stack: args.stack, file, error: "invalid-blueprint", issues: loaded.issues };
  const { settings, config } = loaded;
  const region = settings.region ?? "us-east-1";
  const accountId = args.accountId ?? PLAN_ACCOUNT_ID;

  const recorded = await recordResources(
    createMocks({ accountId, region, stackReferenceOutputs: (name) => utilsStackOutputs(name, { accountId, region }) }),
    PROJECT_NAME,
    args.stack,
    PLAN_ORGANIZATION,
  );
  const { values, secretKeys } = engineConfig(config);
  pulumi.runtime.setAllConfig(values, secretKeys);

  const asyncErrors = collectAsyncErrors();
  try {
    defineStack(settings);
    await waitForProgram();
    // Let rejections raised in the last turn reach the collector.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    asyncErrors.stop();
  }
  if (asyncErrors.errors.length > 0) {
    // One failing Output fails every resource that depends on it: report each cause once.
    const messages = [
      ...new Set(
        asyncErrors.errors.map((e) =>
          (e instanceof Error ? e.message : String(e)).replace(/^(error serializing property "[^"]*": )+/, ""),
        ),
      ),
    ];
    throw new Error(`the Pulumi program failed for stack ${args.stack}:\n  ${messages.join("\n  ")}`);
  }

  const { violations, results } = await evaluatePolicies({
    resources: recorded,
    policies: allPolicies,
    packEnforcementLevel: PACK_ENFORCEMENT_LEVEL,
    region,
    ...(args.policyConfig ? { policyConfig: args.policyConfig } : {}),
  });
  return {
    stack: args.stack,
    file,
    resources: plannedResources(recorded),
    iamPolicies: iamDocuments(recorded),
    policies: results,
    violations,
    recorded,
  };
}

export function isInvalid(r: PlanRun | InvalidReport): r is InvalidReport {
  return (r as InvalidReport).error === "invalid-blueprint";
}
