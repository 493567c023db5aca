/**
 * Stack config of the program-scale benchmark: one analysis with `affiliates` affiliates of
 * `usersPerAffiliate` users each, every user with a user profile in its affiliate's group, on a
 * dev stack (utils and account guard in-program, which adds a constant number of resources).
 */
export interface ScaleConfigArgs {
  readonly affiliates: number;
  readonly usersPerAffiliate: number;
}

export const SCALE_PIPELINE = "benchscale";

export function affiliateName(i: number): string {
  return `lab${String(i).padStart(4, "0")}`;
}

function userName(affiliate: number, user: number): string {
  return `u${String(affiliate).padStart(4, "0")}x${user}`;
}

/** Fully qualified config keys → values, as `stackSettingsFromConfig` reads them. */
export function scaleStackConfig(args: ScaleConfigArgs): Record<string, unknown> {
  if (!Number.isInteger(args.affiliates) || args.affiliates < 1)
    throw new Error(`affiliates must be a positive integer, got ${args.affiliates}`);
  if (!Number.isInteger(args.usersPerAffiliate) || args.usersPerAffiliate < 1)
    throw new Error(`usersPerAffiliate must be a positive integer, got ${args.usersPerAffiliate}`);
  const affiliates = Array.from({ length: args.affiliates }, (_, a) => ({
    AffiliateName: affiliateName(a),
    UserNames: Array.from({ length: args.usersPerAffiliate }, (_, u) => userName(a, u)),
    UserInput: true,
  }));
  const profiles = affiliates.flatMap((a) =>
    a.UserNames.map((UserName) => ({ UserName, Groups: [{ Analysis: SCALE_PIPELINE, Affiliate: a.AffiliateName }] })),
  );
  return {
    "aws:region": "us-east-1",
    "neurocaas:deployUtils": true,
    "neurocaas:sshCidr": "203.0.113.0/24",
    "neurocaas:userProfiles": profiles,
    "neurocaas:blueprint": {
      PipelineName: SCALE_PIPELINE,
      REGION: "us-east-1",
      STAGE: "websubstack",
      Lambda: {
        Protocol: "default",
        LambdaConfig: {
          AMI: "ami-0123456789abcdef0",
          INSTANCE_TYPE: "m5.xlarge",
          COMMAND: "cd ~/bin && bash run.sh {} {} {} {}",
          DEPLOY_LIMIT: 100,
          MAXCOST: 300,
        },
      },
      UXData: { Affiliates: affiliates },
    },
  };
}

/** Resources added per affiliate between two sizes; undefined when the sizes are equal. */
export function perAffiliate(
  a: { affiliates: number; resources: number },
  b: { affiliates: number; resources: number },
): number | undefined {
  if (a.affiliates === b.affiliates) return undefined;
  return (b.resources - a.resources) / (b.affiliates - a.affiliates);
}
