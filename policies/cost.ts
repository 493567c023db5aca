import type {
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
  ReportViolation,
} from "@pulumi/policy";
import { configSchemaFor, resolveConfig } from "./config";
import { wildcardMatch } from "./iam-document";
import {
  COST_TAG_KEYS,
  TAGGABLE_TYPES,
  costLimitsOf,
  isJobManagerLambda,
  isKind,
  knownOrUndefined,
  record,
  runtimeConfigOf,
  str,
  tagsOf,
  type CostLimits,
} from "./resources";
import { P } from "./props";

/**
 * Runs `check` with the cost limits of each job-manager Lambda (the one that launches IAEs; the
 * monitor and post-processor carry the same config, checking them too would repeat every
 * finding), read from its cost tags and its runtime config. On a stack's first preview the
 * runtime config is unknown but the tags are not; a limit no source knows is a violation
 * ("cannot verify"), never a silent pass.
 */
function withCostLimits(
  check: (limits: CostLimits, args: ResourceValidationArgs, report: ReportViolation) => void,
): (args: ResourceValidationArgs, report: ReportViolation) => void {
  return (args, report) => {
    if (!isKind(args.type, "lambda") || !isJobManagerLambda(args.name, args.props)) return;
    const limits = costLimitsOf(args.name, args.props);
    if (limits.configError) report(`Lambda '${args.name}': ${limits.configError.message}`);
    check(limits, args, report);
  };
}

const cannotVerify = (limits: CostLimits, what: string) =>
  `Analysis '${limits.analysis}': cannot verify ${what}: neither the job manager's cost tags nor its runtime config give it (components/cost-tags.ts writes the tags).`;

export const allowedRegions: ResourceValidationPolicy = {
  name: "neurocaas-allowed-regions",
  description: "Analyses run only in the regions the operators budget for.",
  enforcementLevel: "mandatory",
  configSchema: configSchemaFor("allowedRegions"),
  validateResource: (args, report) => {
    const { allowedRegions: allowed } = resolveConfig(args);
    const seen = new Set<string>();
    const own = str(args.props, "region");
    if (own) seen.add(own);
    const providerRegion = args.provider ? str(args.provider.props, "region") : undefined;
    if (providerRegion) seen.add(providerRegion);
    if (isKind(args.type, "lambda")) {
      // Unknown on a first preview; the blueprint REGION equals aws:region (stack config validation).
      const rc = knownOrUndefined(() => runtimeConfigOf(args.props));
      if (rc && !(rc instanceof Error) && typeof rc.region === "string") seen.add(rc.region);
    }
    for (const region of seen) {
      if (!allowed.includes(region)) {
        report(`Region '${region}' is not allowed (allowedRegions: ${allowed.join(", ")}).`);
      }
    }
  },
};

function instanceTypeAllowed(type: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => wildcardMatch(p, type));
}

export const instanceTypes: ResourceValidationPolicy = {
  name: "neurocaas-instance-types",
  description:
    "IAEs and instances use only instance types from the allow-list (INSTANCE_TYPE and ALLOWED_INSTANCE_TYPES).",
  enforcementLevel: "mandatory",
  configSchema: configSchemaFor("allowedInstanceTypes"),
  validateResource: [
    withCostLimits((limits, args, report) => {
      const { allowedInstanceTypes: allowed } = resolveConfig(args);
      if (limits.instanceTypes === undefined) {
        report(cannotVerify(limits, "INSTANCE_TYPE and ALLOWED_INSTANCE_TYPES"));
        return;
      }
      for (const type of limits.instanceTypes) {
        if (!instanceTypeAllowed(type, allowed)) {
          report(
            `Analysis '${limits.analysis}' may launch instance type '${type}', which is outside the allow-list (${allowed.join(", ")}).`,
          );
        }
      }
    }),
    (args, report) => {
      if (!isKind(args.type, "ec2Instance") && !isKind(args.type, "launchTemplate")) return;
      const type = str(args.props, P.instanceType);
      const { allowedInstanceTypes: allowed } = resolveConfig(args);
      if (type !== undefined && !instanceTypeAllowed(type, allowed)) {
        report(`Instance type '${type}' is outside the allow-list (${allowed.join(", ")}).`);
      }
    },
  ],
};

export const deployLimit: ResourceValidationPolicy = {
  name: "neurocaas-deploy-limit",
  description: "A blueprint's DEPLOY_LIMIT (running IAEs per instance type) stays under the configured maximum.",
  enforcementLevel: "mandatory",
  configSchema: configSchemaFor("maxDeployLimit"),
  validateResource: withCostLimits((limits, args, report) => {
    const { maxDeployLimit } = resolveConfig(args);
    if (limits.deployLimit === undefined) report(cannotVerify(limits, "DEPLOY_LIMIT"));
    for (const value of limits.deployLimit ?? []) {
      if (value > maxDeployLimit)
        report(`Analysis '${limits.analysis}' sets DEPLOY_LIMIT ${value}, over the maximum ${maxDeployLimit}.`);
    }
  }),
};

export const maxCost: ResourceValidationPolicy = {
  name: "neurocaas-max-cost",
  description: "A blueprint's MAXCOST (default budget per group) stays under the configured maximum.",
  enforcementLevel: "mandatory",
  configSchema: configSchemaFor("maxMaxCost"),
  validateResource: withCostLimits((limits, args, report) => {
    const { maxMaxCost } = resolveConfig(args);
    if (limits.maxCost === undefined) report(cannotVerify(limits, "MAXCOST"));
    for (const value of limits.maxCost ?? []) {
      if (value > maxMaxCost)
        report(`Analysis '${limits.analysis}' sets MAXCOST ${value} USD, over the maximum ${maxMaxCost} USD.`);
    }
  }),
};

export const jobManagerTimeout: ResourceValidationPolicy = {
  name: "neurocaas-job-manager-timeout",
  description: "The job-manager Lambda timeout (EXECUTION_TIMEOUT) lies within sensible bounds.",
  enforcementLevel: "mandatory",
  configSchema: configSchemaFor("minJobManagerTimeoutSeconds", "maxJobManagerTimeoutSeconds"),
  validateResource: (args, report) => {
    if (!isKind(args.type, "lambda") || !isJobManagerLambda(args.name, args.props)) return;
    const { minJobManagerTimeoutSeconds: min, maxJobManagerTimeoutSeconds: max } = resolveConfig(args);
    const timeout = args.props[P.lambdaTimeout];
    // Lambda's default timeout is 3 s, far too short for a job manager.
    const effective = typeof timeout === "number" ? timeout : 3;
    if (effective < min || effective > max) {
      report(
        `Job-manager Lambda '${args.name}' has timeout ${effective} s${typeof timeout === "number" ? "" : " (Lambda default)"}; expected ${min}..${max} s.`,
      );
    }
  },
};

export const logRetention: ResourceValidationPolicy = {
  name: "neurocaas-log-retention",
  description: "Log groups expire their logs (retention set, at least the configured minimum).",
  enforcementLevel: "mandatory",
  configSchema: configSchemaFor("minLogRetentionDays"),
  validateResource: (args, report) => {
    if (!isKind(args.type, "logGroup")) return;
    const { minLogRetentionDays } = resolveConfig(args);
    const days = args.props[P.logRetention];
    if (typeof days !== "number" || days === 0) {
      report(
        `Log group '${str(args.props, "name") ?? args.name}' has no retention; its logs would be kept (and billed) forever.`,
      );
    } else if (days < minLogRetentionDays) {
      report(
        `Log group '${str(args.props, "name") ?? args.name}' keeps logs ${days} days, less than the minimum ${minLogRetentionDays}.`,
      );
    }
  },
};

/**
 * Lambda creates `/aws/lambda/{name}` without retention on first invocation unless the stack
 * declares it (or points the function at a declared group through `loggingConfig`).
 */
export const lambdaLogGroups: StackValidationPolicy = {
  name: "neurocaas-lambda-log-groups",
  description: "Every Lambda writes to a log group the stack declares (and so has retention).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const declared = new Set(
      args.resources
        .filter((r) => isKind(r.type, "logGroup"))
        .map((r) => str(r.props, "name"))
        .filter(Boolean),
    );
    for (const fn of args.resources.filter((r) => isKind(r.type, "lambda"))) {
      const explicit = str(record(fn.props[P.lambdaLogging]) ?? {}, "logGroup");
      const fnName = str(fn.props, "name");
      const target = explicit ?? (fnName ? `/aws/lambda/${fnName}` : undefined);
      if (target === undefined || !declared.has(target)) {
        report(
          `Lambda '${fn.name}' logs to ${target ? `'${target}'` : "an unnamed group"}, which the stack does not declare; it would have no retention.`,
          fn.urn,
        );
      }
    }
  },
};

export const costTags: ResourceValidationPolicy = {
  name: "neurocaas-cost-tags",
  description: "Taggable resources carry the cost-allocation tags neurocaas:analysis and neurocaas:stage.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (!TAGGABLE_TYPES.includes(args.type)) return;
    const tags = tagsOf(args.props, args.provider?.props);
    const missing = COST_TAG_KEYS.filter((k) => typeof tags[k] !== "string" || tags[k] === "");
    if (missing.length > 0) {
      report(`Resource '${args.name}' (${args.type}) lacks cost tag(s) ${missing.join(", ")}.`);
    }
  },
};

export const costPolicies = [
  allowedRegions,
  instanceTypes,
  deployLimit,
  maxCost,
  jobManagerTimeout,
  logRetention,
  lambdaLogGroups,
  costTags,
];
