import { UnknownValueError } from "@pulumi/policy";
import { P } from "./props";

/**
 * Resource type tokens and readers for the properties the policies look at. Policies see
 * resource inputs (validateResource) or outputs (validateStack) as plain objects; the readers
 * here never throw on a missing property, so a policy decides what "missing" means.
 */

export const T = {
  bucket: ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
  publicAccessBlock: ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
  encryption: [
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  ],
  ownershipControls: ["aws:s3/bucketOwnershipControls:BucketOwnershipControls"],
  bucketAcl: ["aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"],
  cors: [
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
    "aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2",
  ],
  notification: ["aws:s3/bucketNotification:BucketNotification"],
  bucketPolicy: ["aws:s3/bucketPolicy:BucketPolicy"],
  lambda: ["aws:lambda/function:Function"],
  eventInvokeConfig: ["aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"],
  logGroup: ["aws:cloudwatch/logGroup:LogGroup"],
  role: ["aws:iam/role:Role"],
  managedPolicy: ["aws:iam/policy:Policy"],
  rolePolicy: ["aws:iam/rolePolicy:RolePolicy"],
  groupPolicy: ["aws:iam/groupPolicy:GroupPolicy"],
  userPolicy: ["aws:iam/userPolicy:UserPolicy"],
  rolePolicyAttachment: ["aws:iam/rolePolicyAttachment:RolePolicyAttachment"],
  groupPolicyAttachment: ["aws:iam/groupPolicyAttachment:GroupPolicyAttachment"],
  userPolicyAttachment: ["aws:iam/userPolicyAttachment:UserPolicyAttachment"],
  policyAttachment: ["aws:iam/policyAttachment:PolicyAttachment"],
  instanceProfile: ["aws:iam/instanceProfile:InstanceProfile"],
  group: ["aws:iam/group:Group"],
  user: ["aws:iam/user:User"],
  userGroupMembership: ["aws:iam/userGroupMembership:UserGroupMembership"],
  groupMembership: ["aws:iam/groupMembership:GroupMembership"],
  distribution: ["aws:cloudfront/distribution:Distribution"],
  identityPool: ["aws:cognito/identityPool:IdentityPool"],
  cognitoUserGroup: ["aws:cognito/userGroup:UserGroup"],
  ec2Instance: ["aws:ec2/instance:Instance"],
  launchTemplate: ["aws:ec2/launchTemplate:LaunchTemplate"],
} as const;

export type Kind = keyof typeof T;

export function isKind(type: string, kind: Kind): boolean {
  return (T[kind] as readonly string[]).includes(type);
}

/**
 * Resource types that accept `tags` and that this project creates; they must carry cost tags.
 * (Attachments, memberships, bucket sub-resources and notifications take no tags in AWS.)
 */
export const TAGGABLE_TYPES: readonly string[] = [
  ...T.bucket,
  ...T.lambda,
  ...T.logGroup,
  ...T.role,
  ...T.managedPolicy,
  ...T.instanceProfile,
  ...T.user,
  ...T.ec2Instance,
  ...T.launchTemplate,
  "aws:sqs/queue:Queue",
  "aws:sns/topic:Topic",
  "aws:cloudwatch/eventRule:EventRule",
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:ec2/keyPair:KeyPair",
  "aws:ssm/parameter:Parameter",
];

export const COST_TAG_KEYS = ["neurocaas:analysis", "neurocaas:stage"] as const;
export const COMPONENT_TAG = "neurocaas:component";

/** The environment variable carrying the analysis runtime config (model/runtime-config.ts). */
export const RUNTIME_CONFIG_ENV = "NEUROCAAS_CONFIG";

type Props = Record<string, unknown>;

export function str(props: Props, key: string): string | undefined {
  const v = props[key];
  return typeof v === "string" ? v : undefined;
}

export function record(value: unknown): Props | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Props) : undefined;
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Tags of a resource, including its provider's default tags. */
export function tagsOf(props: Props, providerProps?: Props): Record<string, string> {
  const defaults = record(record(providerProps?.defaultTags)?.tags) ?? {};
  return {
    ...(defaults as Record<string, string>),
    ...((record(props.tagsAll) ?? {}) as Record<string, string>),
    ...((record(props.tags) ?? {}) as Record<string, string>),
  };
}

/** The subset of the analysis runtime config the policies read. */
export interface RuntimeConfigView {
  readonly bucketName?: string;
  /** The analysis name (PipelineName); absent in configs older than `neurocaas:bucketName`: the bucket's. */
  readonly analysisName?: string;
  readonly region?: string;
  readonly stage?: string;
  readonly instanceType?: string;
  readonly allowedInstanceTypes?: readonly string[];
  readonly deployLimit?: number;
  readonly maxCost?: number;
  readonly iaeRoleArn?: string;
  readonly affiliates?: readonly { readonly AffiliateName: string }[];
}

/**
 * The runtime config a Lambda carries in its environment: undefined when it has none, an Error
 * when the value is not a JSON object.
 */
export function runtimeConfigOf(lambdaProps: Props): RuntimeConfigView | Error | undefined {
  const vars = record(record(lambdaProps[P.lambdaEnvironment])?.variables);
  const raw = vars?.[RUNTIME_CONFIG_ENV];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string") return new Error(`${RUNTIME_CONFIG_ENV} must be a JSON string`);
  try {
    const parsed: unknown = JSON.parse(raw);
    if (record(parsed) === undefined) return new Error(`${RUNTIME_CONFIG_ENV} must be a JSON object`);
    return parsed as RuntimeConfigView;
  } catch (err) {
    return new Error(`${RUNTIME_CONFIG_ENV} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The job-manager Lambda is the one started by the S3 submit trigger. The components tag it
 * `neurocaas:component=job-manager`; the logical name is the fallback for stacks that predate the tag.
 */
export function isJobManagerLambda(name: string, props: Props): boolean {
  const component = knownTagsOf(props)[COMPONENT_TAG];
  if (component !== undefined) return /job-?manager|submit/i.test(component);
  return /job-?manager|submit/i.test(name);
}

/** `arn:aws:iam::123:role/path/name` → `name`; a bare name stays as is. */
export function nameFromArn(arnOrName: string): string {
  const i = arnOrName.lastIndexOf("/");
  return arnOrName.startsWith("arn:") && i >= 0 ? arnOrName.slice(i + 1) : arnOrName;
}

/** The bucket name an S3 resource ARN points at (`arn:aws:s3:::b/k` → `b`); undefined for non-S3 ARNs. */
export function bucketOfArn(arn: string): string | undefined {
  const m = /^arn:aws[a-z-]*:s3:::([^/]*)/.exec(arn);
  return m ? m[1] : undefined;
}

/**
 * Reads a value that only links resources together (e.g. which bucket a sub-resource belongs to):
 * during a real preview such a reference may be unknown (the id of a bucket not yet created),
 * and the caller falls back to the dependency graph. Never use it for the value a policy checks:
 * an unknown checked value must surface as the engine's "can't run during preview".
 */
export function knownOrUndefined<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (err instanceof UnknownValueError) return undefined;
    throw err;
  }
}

/**
 * The blueprint cost limits the components write as tags on the job-manager Lambda (and the IAE
 * role): known on a stack's first preview, unlike the runtime config. Same keys as
 * components/cost-tags.ts (test/policies/pack.test.ts checks the contract).
 */
export const COST_LIMIT_TAGS = {
  instanceType: "neurocaas:instance-type",
  allowedInstanceTypes: "neurocaas:allowed-instance-types",
  deployLimit: "neurocaas:deploy-limit",
  maxCost: "neurocaas:max-cost",
  allowSpot: "neurocaas:allow-spot",
} as const;

/** Tags of a resource as far as they are known: an unknown map or value (preview) is left out. */
function knownTagsOf(props: Props): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ["tagsAll", "tags"]) {
    const map = knownOrUndefined(() => record(props[key]));
    if (!map) continue;
    for (const k of Object.keys(map)) {
      const v = knownOrUndefined(() => map[k]);
      if (typeof v === "string") out[k] = v;
    }
  }
  return out;
}

/** One cost limit of an analysis: its values from every source that knows it (tags, runtime config). */
export interface CostLimits {
  readonly analysis: string;
  /** A runtime config that is there but unreadable (the Lambda would fail on it). */
  readonly configError?: Error;
  readonly instanceTypes: readonly string[] | undefined;
  readonly deployLimit: readonly number[] | undefined;
  readonly maxCost: readonly number[] | undefined;
}

const numberOf = (s: string | undefined) =>
  s !== undefined && s.trim() !== "" && Number.isFinite(Number(s)) ? Number(s) : undefined;

/**
 * The cost limits a job-manager Lambda carries: its cost tags (known at preview) and, when known,
 * its runtime config (what it will really run with). A limit neither source knows is undefined:
 * the policies report it as "cannot verify", never as a pass.
 */
export function costLimitsOf(name: string, props: Props): CostLimits {
  const tags = knownTagsOf(props);
  const rc = knownOrUndefined(() => runtimeConfigOf(props));
  const config = rc instanceof Error ? undefined : rc;
  const allowedTagKeys = Object.keys(tags)
    .filter(
      (k) => k === COST_LIMIT_TAGS.allowedInstanceTypes || k.startsWith(`${COST_LIMIT_TAGS.allowedInstanceTypes}-`),
    )
    .sort();
  const fromTags =
    tags[COST_LIMIT_TAGS.instanceType] !== undefined
      ? [tags[COST_LIMIT_TAGS.instanceType], ...allowedTagKeys.flatMap((k) => tags[k].split(" "))].filter(
          (t) => t !== "",
        )
      : undefined;
  const fromConfig =
    config && typeof config.instanceType === "string"
      ? [config.instanceType, ...list(config.allowedInstanceTypes).filter((t): t is string => typeof t === "string")]
      : undefined;
  const merge = <T>(...sources: (readonly T[] | undefined)[]) =>
    sources.every((x) => x === undefined) ? undefined : [...new Set(sources.flatMap((x) => x ?? []))];
  const one = (tag: string, value: unknown): number[] | undefined => {
    const t = numberOf(tags[tag]);
    const c = typeof value === "number" ? value : undefined;
    return merge(t === undefined ? undefined : [t], c === undefined ? undefined : [c]);
  };
  return {
    analysis: config?.analysisName ?? config?.bucketName ?? tags["neurocaas:analysis"] ?? name,
    ...(rc instanceof Error ? { configError: rc } : {}),
    instanceTypes: merge(fromTags, fromConfig),
    deployLimit: one(COST_LIMIT_TAGS.deployLimit, config?.deployLimit),
    maxCost: one(COST_LIMIT_TAGS.maxCost, config?.maxCost),
  };
}
