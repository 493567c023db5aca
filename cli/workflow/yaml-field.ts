import { loadPyYaml, type PyDict, type PyValue } from "./pyyaml";
import { jsonDumps, pyStr } from "./python-text";

/**
 * `scripting read-yaml`: one field of a YAML (or JSON) file as the original neurocaas-contrib
 * printed it, since analysis scripts compare the text: a mapping as Python's `json.dumps`
 * (`{"a": 1, "b": [1, 2]}`), a list as each item's `str()` followed by a space (`1 2 3 `), any
 * other value as Python's `str()` (`True`, `None`, `2.5`). Values are loaded as PyYAML loads them.
 */

export class FieldNotFoundError extends Error {}

export interface YamlField {
  readonly text: string;
  /** Notes for stderr (e.g. a repeated key). */
  readonly notes: readonly string[];
}

function isDict(v: PyValue): v is PyDict {
  return v !== null && typeof v === "object" && !Array.isArray(v) && (v as PyDict).kind === "dict";
}

/** The original's `get_yaml_field` output for a value. */
function formatField(value: PyValue): string {
  if (isDict(value)) return jsonDumps(value);
  if (Array.isArray(value)) return value.map((item) => `${pyStr(item)} `).join("");
  return pyStr(value);
}

function lookup(dict: PyDict, key: string): PyValue | undefined {
  return dict.entries.find(([k]) => k === key)?.[1];
}

/**
 * `field` of the file's top-level mapping; a dotted path (`a.b`) reaches into nested mappings
 * when no top-level key has that exact name. Throws FieldNotFoundError when absent.
 */
export function readYamlField(source: string, field: string, fileLabel = "the file"): YamlField {
  const { value: root, notes } = loadPyYaml(source, fileLabel);
  if (!isDict(root)) throw new Error(`${fileLabel} must contain a mapping of fields at the top level`);
  let found = lookup(root, field);
  if (found === undefined && field.includes(".")) {
    let cur: PyValue | undefined = root;
    for (const part of field.split(".")) cur = cur !== undefined && isDict(cur) ? lookup(cur, part) : undefined;
    found = cur;
  }
  if (found === undefined)
    throw new FieldNotFoundError(`No field "${field}" exists in ${fileLabel} (-d DEFAULT prints a default instead)`);
  return { text: formatField(found), notes };
}
