import type { PolicyConfigSchema } from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";

/**
 * The configurable limits of the pack. In CrossGuard every policy owns its config, so each policy
 * declares the subset of these keys it reads (`configSchemaFor`), and an operator sets them per
 * policy in a `--policy-pack-config` file, e.g.
 * `{"neurocaas-instance-types": {"allowedInstanceTypes": ["t3.*"]}}`.
 */
export interface NeurocaasPolicyConfig {
  /** AWS regions analyses may be deployed to. */
  readonly allowedRegions: readonly string[];
  /** Instance types (IAM-style wildcards, e.g. `p3.*`) a blueprint may launch. */
  readonly allowedInstanceTypes: readonly string[];
  /** Highest DEPLOY_LIMIT (running IAEs per instance type) a blueprint may set. */
  readonly maxDeployLimit: number;
  /** Highest MAXCOST (default per-group budget, USD) a blueprint may set. */
  readonly maxMaxCost: number;
  /** Smallest CloudWatch log retention, days. */
  readonly minLogRetentionDays: number;
  /** Job-manager Lambda timeout bounds, seconds. */
  readonly minJobManagerTimeoutSeconds: number;
  readonly maxJobManagerTimeoutSeconds: number;
  /** Buckets besides the stack's own analysis buckets that IAE roles may reach (bypass sources). */
  readonly extraAnalysisBuckets: readonly string[];
  /** Origins of web dashboards deployed by other stacks, which webdev buckets may allow by CORS. */
  readonly dashboardOrigins: readonly string[];
}

const DEFAULT_POLICY_CONFIG: NeurocaasPolicyConfig = {
  allowedRegions: ["us-east-1", "us-east-2", "us-west-2", "eu-west-1"],
  // The families the original deployment used (CPU, memory and GPU analyses) and their successors.
  allowedInstanceTypes: [
    "t2.*",
    "t3.*",
    "t3a.*",
    "m5.*",
    "m6i.*",
    "m7i.*",
    "c5.*",
    "c6i.*",
    "c7i.*",
    "r5.*",
    "r6i.*",
    "p2.xlarge",
    "p2.8xlarge",
    "p3.2xlarge",
    "p3.8xlarge",
    "g4dn.*",
    "g5.*",
    "g6.*",
  ],
  maxDeployLimit: 300,
  maxMaxCost: 1000,
  minLogRetentionDays: 14,
  // Lambda allows at most 900 s; below 30 s the job manager cannot finish its S3 validation pass.
  minJobManagerTimeoutSeconds: 30,
  maxJobManagerTimeoutSeconds: 900,
  extraAnalysisBuckets: [],
  dashboardOrigins: [],
};

const CONFIG_PROPERTY_SCHEMAS: { readonly [K in keyof NeurocaasPolicyConfig]: PolicyConfigJSONSchema } = {
  allowedRegions: {
    type: "array",
    items: { type: "string", pattern: "^[a-z]{2}(-gov)?-[a-z]+-\\d$" },
    minItems: 1,
    description: "AWS regions analyses may be deployed to.",
  },
  allowedInstanceTypes: {
    type: "array",
    items: { type: "string", pattern: "^[a-z0-9*?-]+\\.[a-z0-9*?-]+$" },
    minItems: 1,
    description: "EC2 instance types (wildcards allowed, e.g. p3.*) a blueprint may use.",
  },
  maxDeployLimit: { type: "integer", minimum: 1, description: "Largest allowed blueprint DEPLOY_LIMIT." },
  maxMaxCost: { type: "number", minimum: 0, description: "Largest allowed blueprint MAXCOST (USD)." },
  minLogRetentionDays: { type: "integer", minimum: 1, description: "Smallest log retention in days." },
  minJobManagerTimeoutSeconds: {
    type: "integer",
    minimum: 1,
    maximum: 900,
    description: "Smallest job-manager timeout (s).",
  },
  maxJobManagerTimeoutSeconds: {
    type: "integer",
    minimum: 1,
    maximum: 900,
    description: "Largest job-manager timeout (s).",
  },
  extraAnalysisBuckets: {
    type: "array",
    items: { type: "string" },
    description: "Buckets outside this stack that IAE roles may read and write (e.g. bypass buckets).",
  },
  dashboardOrigins: {
    type: "array",
    items: { type: "string", pattern: "^https://[A-Za-z0-9.-]+(:\\d+)?$" },
    description:
      "Origins of web dashboards deployed by other stacks (https://…), the only CORS origins webdev buckets may allow.",
  },
};

/** The config schema of a policy that reads `keys`, with the pack defaults filled in. */
export function configSchemaFor(...keys: (keyof NeurocaasPolicyConfig)[]): PolicyConfigSchema {
  const properties: Record<string, PolicyConfigJSONSchema> = {};
  for (const key of keys) {
    properties[key] = {
      ...CONFIG_PROPERTY_SCHEMAS[key],
      default: DEFAULT_POLICY_CONFIG[key] as PolicyConfigJSONSchema["default"],
    };
  }
  return { properties };
}

/** Config as a policy sees it: the operator's values over the defaults. */
export function resolveConfig(args: { getConfig<T extends object>(): T }): NeurocaasPolicyConfig {
  return { ...DEFAULT_POLICY_CONFIG, ...args.getConfig<Partial<NeurocaasPolicyConfig>>() };
}
