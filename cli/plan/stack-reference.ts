import { UTILS_OUTPUT } from "../../components/program";
import { defaultKeyName, defaultNamePrefix } from "../../components/settings";
import { NAME_LIMITS, fitName } from "../../components/names";
import { PRIVATE_KEY_PARAMETER_PREFIX, type UtilsOutputs } from "../../components/utils-stack";
import { createHash } from "node:crypto";

/**
 * What an analysis stack's StackReference to the utils stack returns in the offline plan: the
 * outputs a utils stack deployed with the same naming rules would have in the mocked account.
 */
export interface UtilsReferenceArgs {
  readonly accountId: string;
  readonly region: string;
  /** Fully qualified name of the referenced utils stack: its default name prefix follows from it. */
  readonly utilsStack: string;
}

const id = (prefix: string, seed: string) =>
  `${prefix}-${createHash("sha256").update(seed).digest("hex").slice(0, 17)}`;

function mockUtilsOutputs(args: UtilsReferenceArgs): UtilsOutputs {
  const prefix = defaultNamePrefix(args.utilsStack.split("/").pop() ?? args.utilsStack);
  const keyName = defaultKeyName(prefix);
  const role = fitName(prefix, "dev-iae", NAME_LIMITS.iamRole);
  const profile = fitName(prefix, "dev-iae", NAME_LIMITS.instanceProfile);
  const iaeSg = id("sg", "utils-iae-sg");
  const devSg = id("sg", "utils-dev-sg");
  return {
    region: args.region,
    iaeRoleName: role,
    iaeRoleArn: `arn:aws:iam::${args.accountId}:role/${role}`,
    iaeInstanceProfileName: profile,
    iaeInstanceProfileArn: `arn:aws:iam::${args.accountId}:instance-profile/${profile}`,
    iaeSecurityGroupId: iaeSg,
    devSecurityGroupId: devSg,
    keyName,
    privateKeyParameterName: `${PRIVATE_KEY_PARAMETER_PREFIX}/${keyName}`,
    subnetIds: [],
    globalParams: {
      securitygroupdeployname: iaeSg,
      securitygroupdevname: devSg,
      keyname: keyName,
      iamrole: role,
      instanceprofile: profile,
      region: args.region,
    },
  };
}

/** Outputs of a referenced stack, keyed like the real utils stack's exports. */
export function utilsStackOutputs(
  stackName: string,
  args: Omit<UtilsReferenceArgs, "utilsStack">,
): Record<string, unknown> {
  return { [UTILS_OUTPUT]: mockUtilsOutputs({ ...args, utilsStack: stackName }) };
}
