import type { Blueprint } from "../model/blueprint/types";
import type { Tags } from "./tags";

/**
 * The blueprint's cost limits as tags of the job-manager Lambda and the IAE role. Tags are plain
 * strings known when a stack is first previewed, unlike the runtime config (it embeds ARNs of
 * resources not created yet), so the policy pack's cost rules can check a brand-new stack.
 * policies/resources.ts reads the same keys (test/policies/pack.test.ts checks the contract).
 */
export const COST_TAGS = {
  instanceType: "neurocaas:instance-type",
  /** Space-separated; long lists continue in `…-2`, `…-3` (AWS tag values hold 256 characters). */
  allowedInstanceTypes: "neurocaas:allowed-instance-types",
  deployLimit: "neurocaas:deploy-limit",
  maxCost: "neurocaas:max-cost",
  allowSpot: "neurocaas:allow-spot",
} as const;

const TAG_VALUE_MAX = 256;

/** `values` joined by spaces into chunks of at most `TAG_VALUE_MAX` characters (never splitting a value). */
function chunks(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const last = out.length - 1;
    if (last >= 0 && out[last].length + 1 + v.length <= TAG_VALUE_MAX) out[last] = `${out[last]} ${v}`;
    else out.push(v);
  }
  return out;
}

/** Pure: the cost tags of an analysis. An empty allow-list is written as an empty value. */
export function costTagsOf(blueprint: Blueprint): Tags {
  const cfg = blueprint.Lambda.LambdaConfig;
  const allowed = chunks(cfg.ALLOWED_INSTANCE_TYPES);
  const tags: Record<string, string> = {
    [COST_TAGS.instanceType]: cfg.INSTANCE_TYPE,
    [COST_TAGS.allowedInstanceTypes]: allowed[0] ?? "",
    [COST_TAGS.deployLimit]: String(cfg.DEPLOY_LIMIT),
    [COST_TAGS.maxCost]: String(cfg.MAXCOST),
    [COST_TAGS.allowSpot]: String(cfg.ALLOW_SPOT),
  };
  allowed.slice(1).forEach((chunk, i) => {
    tags[`${COST_TAGS.allowedInstanceTypes}-${i + 2}`] = chunk;
  });
  return tags;
}
