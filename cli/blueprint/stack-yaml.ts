import YAML from "yaml";
import { BLUEPRINT_CONFIG_KEY } from "../../model/blueprint/parse";

export interface StackYamlArgs {
  /** Comment lines written above the config (without `#`). */
  readonly header: readonly string[];
  /** The blueprint object stored under `neurocaas:blueprint`. */
  readonly blueprint: Record<string, unknown>;
  /** The utils stack the analysis reads its roles, key pair and security groups from. */
  readonly utilsStack: string;
}

/**
 * The utils stack name the example stacks in stacks/ use: a bare stack name, which the program
 * qualifies with the stack's own organization and project (right for both backends).
 */
export const DEFAULT_UTILS_STACK = "utils";

/**
 * Render a Pulumi stack config file holding one analysis blueprint, as `pulumi up --config-file`
 * and `neurocaas plan --stack-file` read it; `aws:region` follows the blueprint's REGION.
 */
export function renderStackYaml(args: StackYamlArgs): string {
  const config: Record<string, unknown> = {};
  if (typeof args.blueprint.REGION === "string") config["aws:region"] = args.blueprint.REGION;
  config["neurocaas:utilsStack"] = args.utilsStack;
  config[BLUEPRINT_CONFIG_KEY] = args.blueprint;
  const body = YAML.stringify({ config }, { lineWidth: 0 });
  const header = args.header.map((l) => (l === "" ? "#" : `# ${l}`)).join("\n");
  return header ? `${header}\n${body}` : body;
}
