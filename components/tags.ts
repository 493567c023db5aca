/** Cost-allocation tags every taggable resource carries (the policy pack checks them). */
export const TAG_KEYS = {
  analysis: "neurocaas:analysis",
  stage: "neurocaas:stage",
  component: "neurocaas:component",
} as const;

/** Values used for account-wide resources that belong to no single analysis. */
export const SHARED_ANALYSIS = "utils";
export const SHARED_STAGE = "shared";

export type Tags = Readonly<Record<string, string>>;

export function neurocaasTags(analysis: string, stage: string, component: string): Tags {
  return { [TAG_KEYS.analysis]: analysis, [TAG_KEYS.stage]: stage, [TAG_KEYS.component]: component };
}
