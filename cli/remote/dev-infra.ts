import * as fs from "node:fs";

/**
 * What a development instance is launched with, from the utils stack: the IAE instance profile,
 * the SSH key pair and the development security group (SSH from the configured CIDR).
 * Given as options, or read from the utils stack outputs
 * (`pulumi stack output --json --stack utils > utils-outputs.json`: the `utils` output object of
 * components/utils-stack.ts, or that object itself); options win.
 */
export interface DevInfrastructure {
  /** Instance profile name or ARN. */
  readonly instanceProfile: string;
  readonly keyName: string;
  readonly securityGroupId: string;
  readonly subnetId?: string;
}

export interface DevInfrastructureArgs {
  readonly utilsOutputs?: string;
  readonly instanceProfile?: string;
  readonly keyName?: string;
  readonly securityGroup?: string;
  readonly subnet?: string;
}

/** Keys of the utils outputs object (`UtilsOutputs`) read per field; the subnet is the first of `subnetIds`. */
export const UTILS_OUTPUT_KEYS = {
  instanceProfile: "iaeInstanceProfileArn",
  keyName: "keyName",
  securityGroupId: "devSecurityGroupId",
  subnetId: "subnetIds",
} as const;

function readOutputs(file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`--utils-outputs ${file}: cannot read JSON (${(err as Error).message})`, { cause: err });
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(raw)) throw new Error(`--utils-outputs ${file}: expected a JSON object of stack outputs`);
  const nested = raw.utils;
  const outputs = isObject(nested) ? { ...nested } : { ...raw };
  // The utils stack exports a list of subnets; a development instance goes into the first.
  const subnets = outputs[UTILS_OUTPUT_KEYS.subnetId];
  if (Array.isArray(subnets)) outputs[UTILS_OUTPUT_KEYS.subnetId] = subnets.length > 0 ? subnets[0] : undefined;
  return outputs;
}

export function resolveDevInfrastructure(args: DevInfrastructureArgs): DevInfrastructure {
  const outputs = args.utilsOutputs ? readOutputs(args.utilsOutputs) : {};
  const pick = (
    option: string | undefined,
    field: keyof typeof UTILS_OUTPUT_KEYS,
    flag: string,
  ): string | undefined => {
    if (option) return option;
    const v = outputs[UTILS_OUTPUT_KEYS[field]];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v === "")
      throw new Error(
        `--utils-outputs ${args.utilsOutputs}: output "${UTILS_OUTPUT_KEYS[field]}" must be a non-empty string (or pass ${flag})`,
      );
    return v;
  };
  const missing: string[] = [];
  const need = (v: string | undefined, field: keyof typeof UTILS_OUTPUT_KEYS, flag: string): string => {
    if (!v) missing.push(`${flag} (utils output "${UTILS_OUTPUT_KEYS[field]}")`);
    return v ?? "";
  };
  const instanceProfile = need(
    pick(args.instanceProfile, "instanceProfile", "--instance-profile"),
    "instanceProfile",
    "--instance-profile",
  );
  const keyName = need(pick(args.keyName, "keyName", "--key-name"), "keyName", "--key-name");
  const securityGroupId = need(
    pick(args.securityGroup, "securityGroupId", "--security-group"),
    "securityGroupId",
    "--security-group",
  );
  if (missing.length > 0) {
    throw new Error(
      `launching a development instance needs ${missing.join(", ")}: pass the options or --utils-outputs FILE`,
    );
  }
  const subnetId = pick(args.subnet, "subnetId", "--subnet");
  return { instanceProfile, keyName, securityGroupId, ...(subnetId ? { subnetId } : {}) };
}
