import * as aws from "@pulumi/aws";
// The ec2 module only: the package root also loads ECS, ECR and docker support (~0.6 s).
import { DefaultVpc } from "@pulumi/awsx/ec2";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { partitionOf, trustPolicyJson } from "./iam/document";
import { NAME_LIMITS, fitName } from "./names";
import { neurocaasTags, SHARED_ANALYSIS, SHARED_STAGE } from "./tags";

/** AWS managed policy that lets the SSM agent register and run commands (no S3, no admin). */
export const SSM_CORE_POLICY = "AmazonSSMManagedInstanceCore";
export const PRIVATE_KEY_PARAMETER_PREFIX = "/neurocaas/keys";

export interface UtilsStackArgs {
  readonly region: string;
  /** Prefix of the physical names (several utils stacks may share an account). */
  readonly namePrefix: string;
  /** CIDR allowed to SSH into development instances. */
  readonly sshCidr: string;
  readonly keyName: string;
  /** VPC of the security groups; the region's default VPC (awsx `DefaultVpc`) when omitted. */
  readonly vpcId?: string;
  readonly subnetIds: readonly string[];
}

/**
 * The plain outputs of the utils stack (the equivalent of the original
 * `global_params_initialized.json`), consumed by analysis stacks through a StackReference.
 */
export interface UtilsOutputs {
  readonly region: string;
  /** Development-instance role and profile (analysis IAEs get their own, per analysis). */
  readonly iaeRoleName: string;
  readonly iaeRoleArn: string;
  readonly iaeInstanceProfileName: string;
  readonly iaeInstanceProfileArn: string;
  /** Security group without ingress, for IAEs. */
  readonly iaeSecurityGroupId: string;
  /** Security group with SSH from the configured CIDR, for development instances. */
  readonly devSecurityGroupId: string;
  readonly keyName: string;
  /** SecureString parameter holding the key pair's private key (the only copy in AWS). */
  readonly privateKeyParameterName: string;
  readonly subnetIds: readonly string[];
  /** Original key names: `securitygroupdeployname`, `securitygroupdevname`, `keyname`, `iamrole`, `instanceprofile`. */
  readonly globalParams: Readonly<Record<string, string>>;
}

/**
 * The role's name once every given policy resource exists (pulumi-eks's resolved role): an
 * instance profile built on it, and anything launched with that profile, only ever sees the role
 * with its permissions attached, never the bare role IAM creates first.
 */
export function resolvedRoleName(
  role: aws.iam.Role,
  policies: readonly pulumi.CustomResource[],
): pulumi.Output<string> {
  return pulumi.all([role.name, ...policies.map((p) => p.id)]).apply(([roleName]) => roleName);
}

/** Utils resources shared by every analysis of an account and region. */
export class UtilsStack extends pulumi.ComponentResource {
  readonly iaeRole: aws.iam.Role;
  readonly iaeInstanceProfile: aws.iam.InstanceProfile;
  readonly iaeSecurityGroup: aws.ec2.SecurityGroup;
  readonly devSecurityGroup: aws.ec2.SecurityGroup;
  readonly keyPair: aws.ec2.KeyPair;
  readonly privateKeyParameter: aws.ssm.Parameter;
  /** VPC of the security groups: `vpcId`, else the default VPC. */
  readonly vpcId: pulumi.Output<string>;
  readonly outputs: pulumi.Output<UtilsOutputs>;

  constructor(name: string, args: UtilsStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neurocaas:components:UtilsStack", name, {}, opts);
    const parent = { parent: this };
    // Security groups, the key pair and the parameter have fixed names that AWS keeps unique:
    // a replacement (e.g. a new description or VPC) must delete the old one before creating the new.
    const fixedName = { parent: this, deleteBeforeReplace: true };
    const tags = (component: string) => neurocaasTags(SHARED_ANALYSIS, SHARED_STAGE, component);
    const partition = partitionOf(args.region);

    this.iaeRole = new aws.iam.Role(
      `${name}-iae-role`,
      {
        name: fitName(args.namePrefix, "dev-iae", NAME_LIMITS.iamRole),
        description:
          "NeuroCAAS development instances: SSM agent only; analysis buckets grant access in their bucket policies",
        assumeRolePolicy: trustPolicyJson("ec2.amazonaws.com"),
        tags: tags("iae-role"),
      },
      parent,
    );
    const iaeSsm = new aws.iam.RolePolicyAttachment(
      `${name}-iae-ssm`,
      {
        role: this.iaeRole.name,
        policyArn: `arn:${partition}:iam::aws:policy/${SSM_CORE_POLICY}`,
      },
      parent,
    );
    this.iaeInstanceProfile = new aws.iam.InstanceProfile(
      `${name}-iae-profile`,
      {
        name: fitName(args.namePrefix, "dev-iae", NAME_LIMITS.instanceProfile),
        role: resolvedRoleName(this.iaeRole, [iaeSsm]),
        tags: tags("iae-role"),
      },
      { parent: this, dependsOn: [iaeSsm] },
    );

    // Named explicitly rather than left to EC2's implicit default: an account or region without a
    // default VPC fails the preview at this lookup instead of half-way through `pulumi up`.
    this.vpcId =
      args.vpcId !== undefined ? pulumi.output(args.vpcId) : new DefaultVpc(`${name}-default-vpc`, {}, parent).vpcId;
    this.iaeSecurityGroup = new aws.ec2.SecurityGroup(
      `${name}-iae-sg`,
      {
        name: `${args.namePrefix}-iae`,
        description: "NeuroCAAS IAEs: no ingress; egress for S3, SSM and package downloads",
        vpcId: this.vpcId,
        egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], description: "all egress" }],
        tags: tags("iae-security-group"),
      },
      fixedName,
    );
    this.devSecurityGroup = new aws.ec2.SecurityGroup(
      `${name}-dev-sg`,
      {
        name: `${args.namePrefix}-dev`,
        description: "NeuroCAAS development instances: SSH from the configured CIDR only",
        vpcId: this.vpcId,
        ingress: [
          {
            protocol: "tcp",
            fromPort: 22,
            toPort: 22,
            cidrBlocks: [args.sshCidr],
            description: "SSH from the configured CIDR",
          },
        ],
        egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], description: "all egress" }],
        tags: tags("dev-security-group"),
      },
      fixedName,
    );

    const key = new tls.PrivateKey(`${name}-ssh-key`, { algorithm: "ED25519" }, parent);
    this.keyPair = new aws.ec2.KeyPair(
      `${name}-key-pair`,
      {
        keyName: args.keyName,
        publicKey: key.publicKeyOpenssh,
        tags: tags("key-pair"),
      },
      fixedName,
    );
    const parameterName = `${PRIVATE_KEY_PARAMETER_PREFIX}/${args.keyName}`;
    this.privateKeyParameter = new aws.ssm.Parameter(
      `${name}-private-key`,
      {
        name: parameterName,
        description: `Private key of the EC2 key pair ${args.keyName} (OpenSSH format)`,
        type: "SecureString",
        value: key.privateKeyOpenssh,
        tags: tags("key-pair"),
      },
      fixedName,
    );

    this.outputs = pulumi
      .all([
        this.iaeRole.name,
        this.iaeRole.arn,
        this.iaeInstanceProfile.name,
        this.iaeInstanceProfile.arn,
        this.iaeSecurityGroup.id,
        this.devSecurityGroup.id,
        this.keyPair.keyName,
      ])
      .apply(([roleName, roleArn, profileName, profileArn, iaeSg, devSg, keyName]): UtilsOutputs => ({
        region: args.region,
        iaeRoleName: roleName,
        iaeRoleArn: roleArn,
        iaeInstanceProfileName: profileName,
        iaeInstanceProfileArn: profileArn,
        iaeSecurityGroupId: iaeSg,
        devSecurityGroupId: devSg,
        keyName,
        privateKeyParameterName: parameterName,
        subnetIds: [...args.subnetIds],
        globalParams: {
          securitygroupdeployname: iaeSg,
          securitygroupdevname: devSg,
          keyname: keyName,
          iamrole: roleName,
          instanceprofile: profileName,
          region: args.region,
        },
      }));
    this.registerOutputs({ outputs: this.outputs });
  }
}
