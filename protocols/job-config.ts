import { LineCounter, parseDocument } from "yaml";
import { JobError, problemsError } from "./errors";
import { describe } from "./submit-file";
import { duplicateKeyNotes } from "./yaml-keys";

/** Reserved config keys (SPEC §3) and the parsed config. */
export interface JobConfig {
  readonly values: Readonly<Record<string, unknown>>;
  /** Maximum expected run time in minutes. */
  readonly durationMinutes: number;
  /** Whether `__duration__` was given (makes the job eligible for spot). */
  readonly durationExplicit: boolean;
  /** GB added to the image's root volume. */
  readonly datasetSizeGb: number;
  /** Notes for the certificate that do not reject the config (e.g. a repeated YAML key). */
  readonly notes: readonly string[];
}

const DEFAULT_DURATION_MINUTES = 60;
export const MAX_DURATION_MINUTES = 7 * 24 * 60;
export const MAX_DATASET_SIZE_GB = 16 * 1024;
/** Configs are small parameter files; anything bigger is refused before parsing. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Parse config text by the key's extension and read the reserved keys. Throws JobError. */
export function parseJobConfig(text: string, key: string): JobConfig {
  const notes: string[] = [];
  const values = parseConfigObject(text, key, notes);
  const problems: string[] = [];
  const duration = reservedInteger(
    values,
    "__duration__",
    1,
    MAX_DURATION_MINUTES,
    "minutes (at most 7 days)",
    problems,
  );
  const size = reservedInteger(values, "__dataset_size__", 0, MAX_DATASET_SIZE_GB, "GB (at most 16 TB)", problems);
  if (problems.length > 0) throw problemsError(problems);
  return {
    values,
    durationMinutes: duration ?? DEFAULT_DURATION_MINUTES,
    durationExplicit: duration !== undefined,
    datasetSizeGb: size ?? 0,
    notes,
  };
}

/** Parse a config by extension; a repeated YAML key keeps its last value, as PyYAML did (noted in `notes`). */
export function parseConfigObject(text: string, key: string, notes: string[] = []): Record<string, unknown> {
  // TextEncoder, not Buffer: the web dashboard checks configs with this code in the browser.
  if (new TextEncoder().encode(text).length > MAX_CONFIG_BYTES) {
    throw new JobError(`Config ${key} is larger than ${MAX_CONFIG_BYTES} bytes; configs hold parameters, not data.`);
  }
  const lower = key.toLowerCase();
  let parsed: unknown;
  if (lower.endsWith(".json")) {
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new JobError(`Config ${key} is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
    }
  } else if (lower.endsWith(".yaml") || lower.endsWith(".yml")) {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, lineCounter });
    try {
      if (doc.errors.length > 0) throw doc.errors[0];
      // maxAliasCount guards against alias ("billion laughs") expansion.
      parsed = doc.toJS({ maxAliasCount: 50 });
    } catch (err) {
      throw new JobError(
        `Config ${key} is not valid YAML (${(err instanceof Error ? err.message : String(err)).split("\n")[0]}).`,
      );
    }
    notes.push(...duplicateKeyNotes(doc, lineCounter, `Config ${key}`));
  } else {
    throw new JobError(`Config ${key} must end in .json, .yaml or .yml.`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new JobError(`Config ${key} must be a mapping of parameter names to values; got ${describe(parsed)}.`);
  }
  return parsed as Record<string, unknown>;
}

function reservedInteger(
  values: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  unit: string,
  problems: string[],
): number | undefined {
  if (!(name in values)) return undefined;
  const v = values[name];
  if (typeof v !== "number" || !Number.isInteger(v)) {
    problems.push(`Config key ${name} must be an integer number of ${unit.split(" ")[0]}; got ${describe(v)}.`);
    return undefined;
  }
  if (v < min || v > max) {
    problems.push(`Config key ${name} must be between ${min} and ${max} ${unit}; got ${v}.`);
    return undefined;
  }
  return v;
}
