import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";

/**
 * Pulumi mocks that answer like AWS would: every resource gets a plausible physical name, id and
 * ARN (so dependent inputs such as policy documents and notification targets are realistic), and
 * the few invokes the program needs are answered; any other invoke fails loudly so a new data
 * source cannot silently return nothing in the plan.
 */

export interface MockAccountArgs {
  readonly accountId: string;
  readonly region: string;
  /** Outputs served for every `pulumi:pulumi:StackReference` (e.g. the utils stack). */
  readonly stackReferenceOutputs?: (stackName: string) => Record<string, unknown>;
}

type State = Record<string, unknown>;

function hex(seed: string, length: number): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

/** Pulumi auto-naming: `{logical name}-{7 hex}`. */
function autoName(name: string): string {
  return `${name}-${hex(name, 7)}`;
}

/** Physical-name property per resource type, and whether AWS auto-names it when absent. */
const NAME_PROPERTY: Record<string, string> = {
  "aws:s3/bucket:Bucket": "bucket",
  "aws:s3/bucketV2:BucketV2": "bucket",
  "aws:ec2/keyPair:KeyPair": "keyName",
};

const NAMED_TYPES = [
  "aws:iam/role:Role",
  "aws:iam/policy:Policy",
  "aws:iam/group:Group",
  "aws:iam/user:User",
  "aws:iam/instanceProfile:InstanceProfile",
  "aws:iam/rolePolicy:RolePolicy",
  "aws:iam/groupPolicy:GroupPolicy",
  "aws:iam/userPolicy:UserPolicy",
  "aws:lambda/function:Function",
  "aws:cloudwatch/logGroup:LogGroup",
  "aws:cloudwatch/eventRule:EventRule",
  "aws:sqs/queue:Queue",
  "aws:sns/topic:Topic",
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:ssm/parameter:Parameter",
  "aws:scheduler/schedule:Schedule",
  "aws:iam/groupMembership:GroupMembership",
  "aws:iam/policyAttachment:PolicyAttachment",
];

export function physicalName(type: string, name: string, inputs: State): string {
  const key = NAME_PROPERTY[type] ?? "name";
  const given = inputs[key];
  if (typeof given === "string" && given !== "") return given;
  const prefix = inputs[`${key}Prefix`] ?? inputs.namePrefix;
  if (typeof prefix === "string") return `${prefix}${hex(name, 26)}`;
  return autoName(name);
}

/** Outputs AWS computes for a resource, on top of its inputs. */
export function computedOutputs(
  type: string,
  name: string,
  inputs: State,
  acct: MockAccountArgs,
): { id: string; state: State } {
  const { accountId: a, region: r } = acct;
  const phys = physicalName(type, name, inputs);
  const named = (key: string) => ({ [key]: phys });
  switch (type) {
    case "aws:s3/bucket:Bucket":
    case "aws:s3/bucketV2:BucketV2":
      return {
        id: phys,
        state: {
          ...named("bucket"),
          arn: `arn:aws:s3:::${phys}`,
          bucketDomainName: `${phys}.s3.amazonaws.com`,
          bucketRegionalDomainName: `${phys}.s3.${r}.amazonaws.com`,
          region: inputs.region ?? r,
        },
      };
    case "aws:iam/role:Role":
      return {
        id: phys,
        state: {
          ...named("name"),
          arn: `arn:aws:iam::${a}:role${inputs.path ?? "/"}${phys}`,
          uniqueId: `AROA${hex(phys, 17).toUpperCase()}`,
        },
      };
    case "aws:iam/policy:Policy": {
      const arn = `arn:aws:iam::${a}:policy${inputs.path ?? "/"}${phys}`;
      return {
        id: arn,
        state: { ...named("name"), arn, policyId: `ANPA${hex(phys, 17).toUpperCase()}`, attachmentCount: 0 },
      };
    }
    case "aws:iam/group:Group":
      return {
        id: phys,
        state: {
          ...named("name"),
          arn: `arn:aws:iam::${a}:group${inputs.path ?? "/"}${phys}`,
          uniqueId: `AGPA${hex(phys, 17).toUpperCase()}`,
        },
      };
    case "aws:iam/user:User":
      return {
        id: phys,
        state: {
          ...named("name"),
          arn: `arn:aws:iam::${a}:user${inputs.path ?? "/"}${phys}`,
          uniqueId: `AIDA${hex(phys, 17).toUpperCase()}`,
        },
      };
    case "aws:iam/instanceProfile:InstanceProfile":
      return {
        id: phys,
        state: {
          ...named("name"),
          arn: `arn:aws:iam::${a}:instance-profile${inputs.path ?? "/"}${phys}`,
          uniqueId: `AIPA${hex(phys, 17).toUpperCase()}`,
        },
      };
    case "aws:iam/accessKey:AccessKey":
      return {
        id: `AKIA${hex(name, 16).toUpperCase()}`,
        state: { secret: `mock-secret-${hex(name, 20)}`, status: "Active" },
      };
    case "aws:iam/userLoginProfile:UserLoginProfile":
      return { id: String(inputs.user ?? name), state: { password: `mock-password-${hex(name, 12)}` } };
    case "aws:lambda/function:Function": {
      const arn = `arn:aws:lambda:${r}:${a}:function:${phys}`;
      return {
        id: phys,
        state: {
          ...named("name"),
          arn,
          qualifiedArn: `${arn}:$LATEST`,
          version: "$LATEST",
          invokeArn: `arn:aws:apigateway:${r}:lambda:path/2015-03-31/functions/${arn}/invocations`,
        },
      };
    }
    case "aws:cloudfront/distribution:Distribution": {
      const id = `E${hex(name, 13).toUpperCase()}`;
      return {
        id,
        state: {
          arn: `arn:aws:cloudfront::${a}:distribution/${id}`,
          domainName: `d${hex(name, 13)}.cloudfront.net`,
          hostedZoneId: "Z2FDTNDATAQYW2",
          status: "Deployed",
        },
      };
    }
    case "aws:cognito/userPool:UserPool": {
      const id = `${r}_${hex(name, 9)}`;
      return {
        id,
        state: {
          arn: `arn:aws:cognito-idp:${r}:${a}:userpool/${id}`,
          endpoint: `cognito-idp.${r}.amazonaws.com/${id}`,
        },
      };
    }
    case "aws:cognito/userPoolClient:UserPoolClient":
      return { id: hex(name, 26), state: {} };
    case "aws:cognito/identityPool:IdentityPool": {
      const h = hex(name, 32);
      const id = `${r}:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
      return { id, state: { arn: `arn:aws:cognito-identity:${r}:${a}:identitypool/${id}` } };
    }
    case "aws:lambda/permission:Permission":
      return { id: String(inputs.statementId ?? autoName(name)), state: {} };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { id: phys, state: { ...named("name"), arn: `arn:aws:logs:${r}:${a}:log-group:${phys}` } };
    case "aws:cloudwatch/eventRule:EventRule":
      return { id: phys, state: { ...named("name"), arn: `arn:aws:events:${r}:${a}:rule/${phys}` } };
    case "aws:cloudwatch/eventTarget:EventTarget":
      return {
        id: `${inputs.rule}-${inputs.targetId ?? hex(name, 8)}`,
        state: { targetId: inputs.targetId ?? hex(name, 8) },
      };
    case "aws:sqs/queue:Queue":
      return {
        id: `https://sqs.${r}.amazonaws.com/${a}/${phys}`,
        state: {
          ...named("name"),
          arn: `arn:aws:sqs:${r}:${a}:${phys}`,
          url: `https://sqs.${r}.amazonaws.com/${a}/${phys}`,
        },
      };
    case "aws:sns/topic:Topic":
      return { id: `arn:aws:sns:${r}:${a}:${phys}`, state: { ...named("name"), arn: `arn:aws:sns:${r}:${a}:${phys}` } };
    case "aws:ec2/securityGroup:SecurityGroup": {
      const id = `sg-${hex(name, 17)}`;
      return {
        id,
        state: {
          ...named("name"),
          arn: `arn:aws:ec2:${r}:${a}:security-group/${id}`,
          ownerId: a,
          vpcId: inputs.vpcId ?? `vpc-${hex("default-vpc", 17)}`,
        },
      };
    }
    case "aws:ec2/keyPair:KeyPair":
      return {
        id: phys,
        state: {
          ...named("keyName"),
          arn: `arn:aws:ec2:${r}:${a}:key-pair/${phys}`,
          keyPairId: `key-${hex(name, 17)}`,
          fingerprint: hex(name, 32),
        },
      };
    case "aws:ssm/parameter:Parameter":
      return {
        id: phys,
        state: { ...named("name"), arn: `arn:aws:ssm:${r}:${a}:parameter/${phys.replace(/^\//, "")}`, version: 1 },
      };
    case "aws:scheduler/schedule:Schedule":
      return {
        id: `default/${phys}`,
        state: { ...named("name"), arn: `arn:aws:scheduler:${r}:${a}:schedule/default/${phys}` },
      };
    case "awsx:ec2:DefaultVpc": {
      // The remote component's outputs: the account's default VPC and its (public) default subnets.
      const vpcId = `vpc-${hex("default-vpc", 17)}`;
      return {
        id: "",
        state: {
          vpcId,
          publicSubnetIds: ["a", "b", "c"].map((az) => `subnet-${hex(`default-${r}${az}`, 17)}`),
          privateSubnetIds: [],
        },
      };
    }
    case "tls:index/privateKey:PrivateKey":
      // Recognisably fake key material: the plan never creates real secrets.
      return {
        id: hex(name, 40),
        state: {
          privateKeyOpenssh: "-----BEGIN OPENSSH PRIVATE KEY-----\nbW9jaw==\n-----END OPENSSH PRIVATE KEY-----\n",
          privateKeyPem: "-----BEGIN PRIVATE KEY-----\nbW9jaw==\n-----END PRIVATE KEY-----\n",
          publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${hex(name, 43)} plan-mock\n`,
          publicKeyPem: "-----BEGIN PUBLIC KEY-----\nbW9jaw==\n-----END PUBLIC KEY-----\n",
          publicKeyFingerprintMd5: hex(name, 32).replace(/(..)(?!$)/g, "$1:"),
        },
      };
    default: {
      const state: State = {};
      if (NAMED_TYPES.includes(type)) state.name = phys;
      return { id: NAMED_TYPES.includes(type) ? phys : `${hex(`${type}::${name}`, 12)}`, state };
    }
  }
}

interface PolicyDocumentStatementInput {
  sid?: string;
  effect?: string;
  actions?: string[];
  notActions?: string[];
  resources?: string[];
  notResources?: string[];
  principals?: { type: string; identifiers: string[] }[];
  notPrincipals?: { type: string; identifiers: string[] }[];
  conditions?: { test: string; variable: string; values: string[] }[];
}

const one = (xs: string[]) => (xs.length === 1 ? xs[0] : xs);

function principalBlock(ps: { type: string; identifiers: string[] }[]): unknown {
  if (ps.length === 1 && ps[0].type === "*") return "*";
  const out: Record<string, string | string[]> = {};
  for (const p of ps)
    out[p.type] = one([
      ...(Array.isArray(out[p.type]) ? (out[p.type] as string[]) : out[p.type] ? [out[p.type] as string] : []),
      ...p.identifiers,
    ]);
  return out;
}

/** `aws.iam.getPolicyDocument` rendered the way the provider renders it. */
export function renderPolicyDocument(inputs: {
  version?: string;
  statements?: PolicyDocumentStatementInput[];
}): string {
  const statements = (inputs.statements ?? []).map((s) => {
    const st: Record<string, unknown> = {};
    if (s.sid) st.Sid = s.sid;
    st.Effect = s.effect ?? "Allow";
    if (s.principals?.length) st.Principal = principalBlock(s.principals);
    if (s.notPrincipals?.length) st.NotPrincipal = principalBlock(s.notPrincipals);
    if (s.actions?.length) st.Action = one(s.actions);
    if (s.notActions?.length) st.NotAction = one(s.notActions);
    if (s.resources?.length) st.Resource = one(s.resources);
    if (s.notResources?.length) st.NotResource = one(s.notResources);
    if (s.conditions?.length) {
      const c: Record<string, Record<string, string | string[]>> = {};
      for (const cond of s.conditions) (c[cond.test] ??= {})[cond.variable] = one(cond.values);
      st.Condition = c;
    }
    return st;
  });
  return JSON.stringify({ Version: inputs.version ?? "2012-10-17", Statement: statements }, null, 2);
}

export function mockCall(
  token: string,
  inputs: Record<string, unknown>,
  acct: MockAccountArgs,
): Record<string, unknown> {
  const { accountId, region } = acct;
  switch (token) {
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId, arn: `arn:aws:iam::${accountId}:user/plan`, userId: "AIDAPLANMOCK", id: accountId };
    case "aws:index/getRegion:getRegion":
      return { name: region, region, id: region, description: region, endpoint: `ec2.${region}.amazonaws.com` };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" };
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return {
        names: ["a", "b", "c"].map((z) => `${region}${z}`),
        zoneIds: [1, 2, 3].map((i) => `use1-az${i}`),
        id: region,
      };
    case "aws:iam/getPolicyDocument:getPolicyDocument": {
      const json = renderPolicyDocument(inputs as Parameters<typeof renderPolicyDocument>[0]);
      return { json, minifiedJson: JSON.stringify(JSON.parse(json)), id: hex(json, 10) };
    }
    case "aws:ec2/getVpc:getVpc":
      return {
        id: `vpc-${hex("default-vpc", 17)}`,
        cidrBlock: "172.31.0.0/16",
        default: true,
        arn: `arn:aws:ec2:${region}:${accountId}:vpc/vpc-${hex("default-vpc", 17)}`,
      };
    case "aws:ec2/getSubnets:getSubnets":
      return { ids: [1, 2, 3].map((i) => `subnet-${hex(`subnet${i}`, 17)}`), id: region };
    default:
      throw new Error(
        `neurocaas plan: the program calls data source ${token}, which the offline plan does not answer; add it to cli/plan/mocks.ts with a realistic response`,
      );
  }
}

export function createMocks(acct: MockAccountArgs): pulumi.runtime.Mocks {
  return {
    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
      if (args.type === "pulumi:pulumi:StackReference") {
        const stack = String(args.inputs.name ?? args.name);
        return {
          id: stack,
          state: { name: stack, outputs: acct.stackReferenceOutputs?.(stack) ?? {}, secretOutputNames: [] },
        };
      }
      const { id, state } = computedOutputs(args.type, args.name, args.inputs as State, acct);
      return { id, state: { ...args.inputs, ...state } };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
      return mockCall(args.token, args.inputs as Record<string, unknown>, acct);
    },
  };
}
