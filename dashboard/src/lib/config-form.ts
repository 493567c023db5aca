/**
 * A form for an analysis' config, generated from its JSON Schema (top-level properties of simple
 * types), plus the reserved keys every NeuroCAAS config may carry (SPEC §3). Pure.
 */
import { stringify } from "yaml";
import { MAX_DATASET_SIZE_GB, MAX_DURATION_MINUTES, parseJobConfig } from "../../../protocols/job-config";
import { errorMessage, JobError } from "../../../protocols/errors";

export interface FormField {
  readonly name: string;
  readonly type: "number" | "integer" | "string" | "boolean" | "enum";
  readonly required: boolean;
  readonly description?: string;
  readonly options?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly default?: unknown;
}

/** The reserved keys: maximum run time and extra disk. */
export const RESERVED_FIELDS: readonly FormField[] = [
  {
    name: "__duration__",
    type: "integer",
    required: false,
    minimum: 1,
    maximum: MAX_DURATION_MINUTES,
    description:
      "maximum run time in minutes (default 60); setting it makes the job a NeuroCAAS Save (spot) job where the analysis allows",
  },
  {
    name: "__dataset_size__",
    type: "integer",
    required: false,
    minimum: 0,
    maximum: MAX_DATASET_SIZE_GB,
    description: "extra disk in GB (default 0)",
  },
];

type SchemaNode = {
  type?: unknown;
  enum?: unknown;
  description?: unknown;
  minimum?: unknown;
  maximum?: unknown;
  default?: unknown;
};

/** Fields for the schema's top-level properties (nested objects and arrays are edited as text). */
export function fieldsOfSchema(schema: Record<string, unknown> | undefined): FormField[] {
  const props = (schema?.properties ?? {}) as Record<string, SchemaNode>;
  const required = new Set(Array.isArray(schema?.required) ? (schema!.required as string[]) : []);
  const out: FormField[] = [];
  for (const [name, node] of Object.entries(props)) {
    if (name.startsWith("__") && name.endsWith("__")) continue;
    const base = {
      name,
      required: required.has(name),
      ...(typeof node.description === "string" ? { description: node.description } : {}),
      ...(typeof node.minimum === "number" ? { minimum: node.minimum } : {}),
      ...(typeof node.maximum === "number" ? { maximum: node.maximum } : {}),
      ...(node.default !== undefined ? { default: node.default } : {}),
    };
    if (Array.isArray(node.enum)) out.push({ ...base, type: "enum", options: node.enum });
    else if (node.type === "integer" || node.type === "number" || node.type === "string" || node.type === "boolean")
      out.push({ ...base, type: node.type });
  }
  return out;
}

/** Form input (strings from text fields, booleans from checkboxes) → config values and every problem. */
export function valuesFromForm(
  fields: readonly FormField[],
  raw: Readonly<Record<string, string | boolean | undefined>>,
): { values: Record<string, unknown>; problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const f of fields) {
    const v = raw[f.name];
    if (v === undefined || v === "") {
      if (f.required && f.type !== "boolean") problems.push(`${f.name} is required.`);
      continue;
    }
    switch (f.type) {
      case "boolean":
        values[f.name] = v === true || v === "true";
        break;
      case "integer":
      case "number": {
        const n = Number(v);
        if (
          typeof v !== "string" ||
          v.trim() === "" ||
          !Number.isFinite(n) ||
          (f.type === "integer" && !Number.isInteger(n))
        ) {
          problems.push(
            `${f.name} must be ${f.type === "integer" ? "a whole number" : "a number"}; got "${String(v)}".`,
          );
          break;
        }
        if ((f.minimum !== undefined && n < f.minimum) || (f.maximum !== undefined && n > f.maximum)) {
          problems.push(`${f.name} must be between ${f.minimum ?? "-∞"} and ${f.maximum ?? "∞"}; got ${n}.`);
          break;
        }
        values[f.name] = n;
        break;
      }
      case "enum": {
        const match = f.options?.find((o) => String(o) === String(v));
        if (match === undefined)
          problems.push(`${f.name} must be one of ${f.options?.map((o) => JSON.stringify(o)).join(", ")}.`);
        else values[f.name] = match;
        break;
      }
      default:
        values[f.name] = String(v);
    }
  }
  return { values, problems };
}

/** The config file text for a key's extension (JSON or YAML). */
export function configText(key: string, values: Readonly<Record<string, unknown>>): string {
  return key.toLowerCase().endsWith(".json") ? `${JSON.stringify(values, null, 2)}\n` : stringify(values);
}

export interface ConfigCheck {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly durationMinutes?: number;
  readonly datasetSizeGb?: number;
  readonly values?: Readonly<Record<string, unknown>>;
}

/** Check a config as the job manager will (syntax, reserved keys), before it is saved or submitted. */
export function checkConfig(key: string, text: string): ConfigCheck {
  try {
    const c = parseJobConfig(text, key);
    return {
      ok: true,
      problems: [],
      durationMinutes: c.durationMinutes,
      datasetSizeGb: c.datasetSizeGb,
      values: c.values,
    };
  } catch (err) {
    const problems = err instanceof JobError && err.details.length > 0 ? [...err.details] : [errorMessage(err)];
    return { ok: false, problems };
  }
}
