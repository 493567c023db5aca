import * as fs from "node:fs";

/**
 * What a development instance is launched with, from the utils stack: the IAE instance profile,
 * the SSH key pair and the development security group (SSH from the configured CIDR).
 * Given as options, or read from the utils stack outputs
 * (`pulumi stack output --json -s utils > utils-outputs.json`); options win.
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

/** Output names read from the utils outputs file, per field. */
export const UTILS_OUTPUT_KEYS = {
  instanceProfile: "iaeInstanceProfileArn",
  keyName: "keyName",
  securityGroupId: "devSecurityGroupId",
  subnetId: "subnetId",
} as const;

function readOutputs(file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`--utils-outputs ${file}: cannot read JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error(`--utils-outputs ${file}: expected a JSON object of stack outputs`);
  return raw as Record<string, unknown>;
}

export function resolveDevInfrastructure(args: DevInfrastructureArgs): DevInfrastructure {
  const outputs = args.utilsOutputs ? readOutputs(args.utilsOutputs) : {};
  const pick = (option: string | undefined, field: keyof typeof UTILS_OUTPUT_KEYS, flag: string): string | undefined => {
    if (option) return option;
    const v = outputs[UTILS_OUTPUT_KEYS[field]];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v === "") throw new Error(`--utils-outputs ${args.utilsOutputs}: output "${UTILS_OUTPUT_KEYS[field]}" must be a non-empty string (or pass ${flag})`);
    return v;
  };
  const missing: string[] = [];
  const need = (v: string | undefined, field: keyof typeof UTILS_OUTPUT_KEYS, flag: string): string => {
    if (!v) missing.push(`${flag} (utils output "${UTILS_OUTPUT_KEYS[field]}")`);
    return v ?? "";
  };
  const instanceProfile = need(pick(args.instanceProfile, "instanceProfile", "--instance-profile"), "instanceProfile", "--instance-profile");
  const keyName = need(pick(args.keyName, "keyName", "--key-name"), "keyName", "--key-name");
  const securityGroupId = need(pick(args.securityGroup, "securityGroupId", "--security-group"), "securityGroupId", "--security-group");
  if (missing.length > 0) {
    throw new Error(`launching a development instance needs ${missing.join(", ")}: pass the options or --utils-outputs FILE`);
  }
  const subnetId = pick(args.subnet, "subnetId", "--subnet");
  return { instanceProfile, keyName, securityGroupId, ...(subnetId ? { subnetId } : {}) };
}
