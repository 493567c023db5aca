import { parse as parseYaml } from "yaml";

/** The PCA config: `n_components` plus the platform's reserved keys (ignored here). */
export interface PcaConfig {
  /** Undefined: all components (min of samples and features). */
  readonly nComponents?: number;
  /** Keys the analysis does not know (reported, not fatal). */
  readonly unknownKeys: string[];
}

const RESERVED_KEYS = ["__duration__", "__dataset_size__"];

export function parseConfigText(text: string, fileName: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = fileName.toLowerCase().endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Error(
      `${fileName} is not valid ${fileName.toLowerCase().endsWith(".json") ? "JSON" : "YAML"}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value))
    throw new Error(`${fileName} must be a mapping of parameters (key: value)`);
  return value as Record<string, unknown>;
}

export function pcaConfig(raw: Record<string, unknown>, fileName: string): PcaConfig {
  const n = raw.n_components;
  if (n !== undefined && n !== null && (typeof n !== "number" || !Number.isInteger(n) || n < 1)) {
    throw new Error(`${fileName}: n_components must be a positive integer; got ${JSON.stringify(n)}`);
  }
  const unknownKeys = Object.keys(raw).filter((k) => k !== "n_components" && !RESERVED_KEYS.includes(k));
  return { nComponents: typeof n === "number" ? n : undefined, unknownKeys };
}
