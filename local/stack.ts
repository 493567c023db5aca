import * as path from "node:path";
import { loadStackFile } from "../model/blueprint/parse";
import { runtimeConfigFromBlueprint, type UtilsRuntimeValues } from "../model/runtime-config-build";
import { stackBucketName } from "../components/settings";
import type { AnalysisRuntimeConfig } from "../model/runtime-config";
import type { Blueprint } from "../model/blueprint/types";

/** Stand-ins for the utils stack outputs: local IAEs need no instance profile, key or security group. */
const LOCAL_UTILS: UtilsRuntimeValues = {
  iaeInstanceProfileArn: "arn:aws:iam::000000000000:instance-profile/neurocaas-local-iae",
  iaeRoleArn: "arn:aws:iam::000000000000:role/neurocaas-local-iae",
  keyName: "neurocaas-local",
  securityGroupIds: ["sg-local"],
};

export const DEFAULT_STACK_FILE = "Pulumi.dev.yaml";

/** The runtime config of every analysis in the given stack files, by bucket name. */
export function loadLocalAnalyses(stackFiles: readonly string[]): Map<string, AnalysisRuntimeConfig> {
  const configs = new Map<string, AnalysisRuntimeConfig>();
  for (const file of stackFiles) {
    const { blueprint, config } = loadStackFile(file);
    if (!blueprint) {
      throw new Error(
        `stack file ${path.resolve(file)} has no "neurocaas:blueprint": nothing to run locally (pass an analysis stack with --stack-file)`,
      );
    }
    if (analysisNamed(configs, blueprint.PipelineName)) {
      throw new Error(
        `stack file ${path.resolve(file)}: analysis "${blueprint.PipelineName}" appears in two stack files; analysis names (PipelineName) must be unique`,
      );
    }
    const bucketName = bucketNameOf(config, blueprint, file);
    if (configs.has(bucketName)) {
      throw new Error(
        `stack file ${path.resolve(file)}: bucket "${bucketName}" is already served by another stack file; bucket names must be unique`,
      );
    }
    configs.set(
      bucketName,
      runtimeConfigFromBlueprint(blueprint, LOCAL_UTILS, { bypassBuckets: bypassBucketsOf(config, file), bucketName }),
    );
  }
  return configs;
}

/** The analysis with this name (PipelineName; the IAEs' `neurocaas:analysis` tag), if served. */
export function analysisNamed(
  configs: ReadonlyMap<string, AnalysisRuntimeConfig>,
  analysis: string | undefined,
): AnalysisRuntimeConfig | undefined {
  return [...configs.values()].find((c) => c.analysisName === analysis);
}

/** `neurocaas:bucketName` of a stack file (as the Pulumi program reads it), else the PipelineName. */
export function bucketNameOf(config: Readonly<Record<string, unknown>>, blueprint: Blueprint, file: string): string {
  try {
    return stackBucketName(config, blueprint);
  } catch (err) {
    throw new Error(`stack file ${path.resolve(file)}: ${(err as Error).message}`, { cause: err });
  }
}

/** `neurocaas:bypassBuckets` of a stack file (as the Pulumi program reads it): a list of bucket names. */
function bypassBucketsOf(config: Readonly<Record<string, unknown>>, file: string): string[] {
  const raw = config["neurocaas:bypassBuckets"];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.some((b) => typeof b !== "string")) {
    throw new Error(`stack file ${path.resolve(file)}: "neurocaas:bypassBuckets" must be a list of bucket names`);
  }
  return raw as string[];
}
