import Ajv from "ajv";
import { UnknownValueError } from "@pulumi/policy";
import type {
  EnforcementLevel,
  Policies,
  PolicyPackConfig,
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { RecordedResource } from "./record";

/**
 * Offline CrossGuard: evaluates a list of policies over recorded resources the way the Pulumi
 * policy analyzer does (resource policies on each resource's inputs, stack policies on all
 * resources' outputs; enforcement level from config, then policy, then pack; per-policy config
 * from the policy's schema defaults plus the operator's config).
 */

export interface Violation {
  readonly policy: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly urn?: string;
  readonly name?: string;
  readonly message: string;
}

export interface PolicyResult {
  readonly policy: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly kind: "resource" | "stack";
  readonly violations: number;
}

export interface EvaluateArgs {
  readonly resources: readonly RecordedResource[];
  readonly policies: Policies;
  readonly packEnforcementLevel: EnforcementLevel;
  /** Same shape as `pulumi preview --policy-pack-config` files. */
  readonly policyConfig?: PolicyPackConfig;
  /** Region of the default provider (the engine passes provider props to policies). */
  readonly region?: string;
  readonly stackTags?: ReadonlyMap<string, string>;
}

class PolicyConfigError extends Error {}

class NotApplicable extends Error {}

function isStackPolicy(p: Policies[number]): p is StackValidationPolicy {
  return typeof (p as StackValidationPolicy).validateStack === "function";
}

function getPulumiType(resourceClass: unknown): string | undefined {
  const t = (resourceClass as { __pulumiType?: unknown } | undefined)?.__pulumiType;
  return typeof t === "string" && t !== "" ? t : undefined;
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
  const token = getPulumiType(resourceClass);
  if (token) return type === token;
  const isInstance = (resourceClass as { isInstance?: (o: unknown) => boolean }).isInstance;
  return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

/** Each policy's effective config: schema defaults, then the operator's values (validated). */
export function resolvePolicyConfigs(
  policies: Policies,
  config: PolicyPackConfig = {},
): Map<string, { level?: EnforcementLevel; values: Record<string, unknown> }> {
  const names = new Set(policies.map((p) => p.name));
  const unknown = Object.keys(config).filter((k) => k !== "all" && !names.has(k));
  if (unknown.length > 0) throw new PolicyConfigError(`policy config names unknown policies: ${unknown.join(", ")}`);
  const ajv = new Ajv({ allErrors: true, strict: false });
  const out = new Map<string, { level?: EnforcementLevel; values: Record<string, unknown> }>();
  const allLevel =
    typeof config.all === "string"
      ? config.all
      : (config.all as { enforcementLevel?: EnforcementLevel } | undefined)?.enforcementLevel;
  for (const p of policies) {
    const raw = config[p.name];
    const given: Record<string, unknown> = typeof raw === "string" ? { enforcementLevel: raw } : { ...(raw ?? {}) };
    const level = (given.enforcementLevel as EnforcementLevel | undefined) ?? allLevel;
    delete given.enforcementLevel;
    const values: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(p.configSchema?.properties ?? {})) {
      if (typeof schema === "object" && schema.default !== undefined) values[key] = structuredClone(schema.default);
    }
    Object.assign(values, given);
    if (p.configSchema) {
      const validate = ajv.compile({
        type: "object",
        properties: p.configSchema.properties,
        required: p.configSchema.required ?? [],
        additionalProperties: false,
      });
      if (!validate(values)) {
        throw new PolicyConfigError(
          `config of policy ${p.name}: ${(validate.errors ?? []).map((e) => `${e.instancePath || "(root)"} ${e.message}`).join("; ")}`,
        );
      }
    } else if (Object.keys(given).length > 0) {
      throw new PolicyConfigError(
        `policy ${p.name} takes no config besides enforcementLevel (got ${Object.keys(given).join(", ")})`,
      );
    }
    out.set(p.name, { ...(level ? { level } : {}), values });
  }
  return out;
}

function optionsOf(r: RecordedResource): PolicyResourceOptions {
  return {
    protect: r.protect,
    ignoreChanges: [...r.ignoreChanges],
    ...(r.deleteBeforeReplace !== undefined ? { deleteBeforeReplace: r.deleteBeforeReplace } : {}),
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [...r.additionalSecretOutputs],
    ...(r.parent ? { parent: r.parent } : {}),
  };
}

function providerOf(
  r: RecordedResource,
  byUrn: Map<string, RecordedResource>,
  region?: string,
): PolicyProviderResource | undefined {
  if (r.provider) {
    const urn = r.provider.split("::").slice(0, -1).join("::");
    const p = byUrn.get(urn);
    if (p) return { type: p.type, props: p.inputs, urn: p.urn, name: p.name };
  }
  if (!r.custom) return undefined;
  const pkg = r.type.split(":")[0];
  // The engine's default provider for the package, configured from stack config.
  return {
    type: `pulumi:providers:${pkg}`,
    props: pkg === "aws" && region ? { region } : {},
    urn: `default_${pkg}`,
    name: "default",
  };
}

export async function evaluatePolicies(
  args: EvaluateArgs,
): Promise<{ violations: Violation[]; results: PolicyResult[] }> {
  const configs = resolvePolicyConfigs(args.policies, args.policyConfig);
  const stackTags = args.stackTags ?? new Map<string, string>();
  const byUrn = new Map(args.resources.map((r) => [r.urn, r]));
  const violations: Violation[] = [];
  const results: PolicyResult[] = [];
  const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
  };
  // As the engine does: a policy that reads a value unknown until deployment is reported, advisory.
  const previewGap = (policy: string, r: RecordedResource | undefined, err: Error) => {
    violations.push({
      policy,
      enforcementLevel: "advisory",
      ...(r ? { urn: r.urn, name: r.name } : {}),
      message: `can't run policy ${policy} during preview: ${err.message}`,
    });
  };

  for (const policy of args.policies) {
    const cfg = configs.get(policy.name)!;
    let level: EnforcementLevel = cfg.level ?? policy.enforcementLevel ?? args.packEnforcementLevel;
    if (level === "disabled") {
      results.push({
        policy: policy.name,
        enforcementLevel: level,
        kind: isStackPolicy(policy) ? "stack" : "resource",
        violations: 0,
      });
      continue;
    }
    if (level === "remediate") level = "mandatory";
    const getConfig = <T extends object>() => structuredClone(cfg.values) as T;
    const before = violations.length;
    const report = (fallback: RecordedResource | undefined) => (message: string, urn?: string) => {
      const target = urn !== undefined ? byUrn.get(urn) : fallback;
      violations.push({
        policy: policy.name,
        enforcementLevel: level,
        ...((urn ?? target?.urn) ? { urn: urn ?? target?.urn } : {}),
        ...(target ? { name: target.name } : {}),
        message,
      });
    };

    if (isStackPolicy(policy)) {
      const view = new Map<string, PolicyResource>();
      for (const r of args.resources) {
        const props = r.outputs;
        view.set(r.urn, {
          type: r.type,
          props,
          urn: r.urn,
          name: r.name,
          opts: optionsOf(r),
          dependencies: [],
          propertyDependencies: {},
          ...(providerOf(r, byUrn, args.region) ? { provider: providerOf(r, byUrn, args.region) } : {}),
          isType: (cls) => isTypeOf(r.type, cls),
          asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
        });
      }
      for (const r of args.resources) {
        const v = view.get(r.urn)!;
        if (r.parent && view.has(r.parent)) v.parent = view.get(r.parent);
        v.dependencies = r.dependencies.map((d) => view.get(d)).filter((d): d is PolicyResource => !!d);
        for (const [k, urns] of Object.entries(r.propertyDependencies)) {
          v.propertyDependencies[k] = urns.map((d) => view.get(d)).filter((d): d is PolicyResource => !!d);
        }
      }
      try {
        await policy.validateStack(
          { resources: [...view.values()], getConfig, stackTags, notApplicable },
          report(undefined),
        );
      } catch (err) {
        if (err instanceof UnknownValueError) previewGap(policy.name, undefined, err as Error);
        else if (!(err instanceof NotApplicable))
          throw new Error(`policy ${policy.name} failed: ${(err as Error).message}`, { cause: err });
      }
    } else {
      const validations = [(policy as ResourceValidationPolicy).validateResource ?? []].flat();
      for (const r of args.resources) {
        for (const validate of validations) {
          const provider = providerOf(r, byUrn, args.region);
          const vargs: ResourceValidationArgs = {
            type: r.type,
            props: r.inputs,
            urn: r.urn,
            name: r.name,
            opts: optionsOf(r),
            stackTags,
            ...(provider ? { provider } : {}),
            isType: (cls) => isTypeOf(r.type, cls),
            asType: ((cls: unknown) =>
              isTypeOf(r.type, cls) ? r.inputs : undefined) as ResourceValidationArgs["asType"],
            getConfig,
            notApplicable,
          };
          try {
            await validate(vargs, report(r));
          } catch (err) {
            if (err instanceof UnknownValueError) previewGap(policy.name, r, err as Error);
            else if (!(err instanceof NotApplicable))
              throw new Error(`policy ${policy.name} failed on ${r.urn}: ${(err as Error).message}`, { cause: err });
          }
        }
      }
    }
    results.push({
      policy: policy.name,
      enforcementLevel: level,
      kind: isStackPolicy(policy) ? "stack" : "resource",
      violations: violations.length - before,
    });
  }
  return { violations, results };
}
