import { GetParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";

/**
 * AMI aliases for development instances, resolved at run time through the public SSM
 * parameters AWS and Canonical publish in every commercial region (never hard-coded image ids).
 */
export const AMI_ALIAS_PARAMETERS: Readonly<Record<string, string>> = {
  ubuntu22: "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
  ubuntu24: "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
  // AWS Deep Learning Base OSS Nvidia Driver AMI (Ubuntu 22.04): CUDA drivers preinstalled.
  dlami: "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-ubuntu-22.04/latest/ami-id",
};

const AMI_ID = /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/;

export function isAmiId(value: string): boolean {
  return AMI_ID.test(value);
}

/** The SSM parameter of an alias, undefined for an image id; throws on anything else. */
export function aliasParameter(value: string): string | undefined {
  if (isAmiId(value)) return undefined;
  const param = AMI_ALIAS_PARAMETERS[value];
  if (!param) {
    throw new Error(
      `AMI "${value}" is neither an image id (ami-xxxxxxxx) nor an alias (${Object.keys(AMI_ALIAS_PARAMETERS).join(", ")})`,
    );
  }
  return param;
}

/** Resolve an image id or alias to an image id. */
export async function resolveAmi(ssm: SSMClient, value: string): Promise<string> {
  const param = aliasParameter(value);
  if (!param) return value;
  const res = await ssm.send(new GetParameterCommand({ Name: param }));
  const id = res.Parameter?.Value;
  if (!id || !isAmiId(id))
    throw new Error(`SSM parameter ${param} (alias ${value}) did not hold an image id (got ${JSON.stringify(id)})`);
  return id;
}
