import YAML from "yaml";
import { BLUEPRINT_CONFIG_KEY } from "../../components/blueprint/parse";

export interface StackYamlArgs {
  /** Comment lines written above the config (without `#`). */
  readonly header: readonly string[];
  /** The blueprint object stored under `neurocaas:blueprint`. */
  readonly blueprint: Record<string, unknown>;
}

/** Render a Pulumi stack config file holding one blueprint; `aws:region` follows its REGION. */
export function renderStackYaml(args: StackYamlArgs): string {
  const config: Record<string, unknown> = {};
  if (typeof args.blueprint.REGION === "string") config["aws:region"] = args.blueprint.REGION;
  config[BLUEPRINT_CONFIG_KEY] = args.blueprint;
  const body = YAML.stringify({ config }, { lineWidth: 0 });
  const header = args.header.map((l) => (l === "" ? "#" : `# ${l}`)).join("\n");
  return header ? `${header}\n${body}` : body;
}
