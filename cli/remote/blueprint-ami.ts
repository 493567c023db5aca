import { isScalar, parseDocument } from "yaml";

/** The stack-config key that holds the blueprint object. */
const BLUEPRINT_CONFIG_KEY = "neurocaas:blueprint";
const AMI_PATH = ["config", BLUEPRINT_CONFIG_KEY, "Lambda", "LambdaConfig", "AMI"] as const;

export interface AmiEdit {
  readonly text: string;
  readonly previous: string;
}

/**
 * Replace `Lambda.LambdaConfig.AMI` of the blueprint in a stack file's text. Only the bytes of
 * that one scalar change (comments, order and formatting of everything else are kept): the
 * scalar's source range is spliced, keeping its quoting style.
 */
export function replaceBlueprintAmi(source: string, ami: string, file: string): AmiEdit {
  const doc = parseDocument(source);
  if (doc.errors.length > 0) throw new Error(`${file}: not valid YAML (${doc.errors[0].message})`);
  const node = doc.getIn(AMI_PATH, true);
  if (!isScalar(node) || typeof node.value !== "string" || !node.range) {
    throw new Error(`${file}: no string at ${AMI_PATH.join(".")} to update`);
  }
  const [start, end] = node.range;
  const quote = source[start] === '"' || source[start] === "'" ? source[start] : "";
  const text = `${source.slice(0, start)}${quote}${ami}${quote}${source.slice(end)}`;
  return { text, previous: node.value };
}
