import { UTILS_OUTPUT, SHARED_NAME_PREFIX } from "../../components/program";
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
  readonly keyName: string;
}

const id = (prefix: string, seed: string) => `${prefix}-${createHash("sha256").update(seed).digest("hex").slice(0, 17)}`;

export function mockUtilsOutputs(args: UtilsReferenceArgs): UtilsOutputs {
  const role = fitName(SHARED_NAME_PREFIX, "dev-iae", NAME_LIMITS.iamRole);
  const profile = fitName(SHARED_NAME_PREFIX, "dev-iae", NAME_LIMITS.instanceProfile);
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
    keyName: args.keyName,
    privateKeyParameterName: `${PRIVATE_KEY_PARAMETER_PREFIX}/${args.keyName}`,
    subnetIds: [],
    globalParams: {
      securitygroupdeployname: iaeSg,
      securitygroupdevname: devSg,
      keyname: args.keyName,
      iamrole: role,
      instanceprofile: profile,
      region: args.region,
    },
  };
}

/** Outputs of a referenced stack, keyed like the real utils stack's exports. */
export function utilsStackOutputs(_stackName: string, args: UtilsReferenceArgs): Record<string, unknown> {
  return { [UTILS_OUTPUT]: mockUtilsOutputs(args) };
}
