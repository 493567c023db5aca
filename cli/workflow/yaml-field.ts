import { isMap, isScalar, isSeq, parseDocument, type Node } from "yaml";

/**
 * `scripting read-yaml`: one field of a YAML (or JSON) file as shell-friendly text. A mapping
 * prints as compact JSON, a list as space-separated items, a plain scalar as written in the file
 * (`True` stays `True`, `1.50` stays `1.50`), a quoted string as its value.
 */

export class FieldNotFoundError extends Error {}

function scalarText(node: Node): string {
  if (isScalar(node)) {
    if (node.type === "PLAIN" && typeof node.source === "string") return node.source;
    return node.value === null || node.value === undefined ? "" : String(node.value);
  }
  return JSON.stringify(node.toJSON());
}

export function formatYamlNode(node: Node | null | undefined): string {
  if (node === null || node === undefined) return "";
  if (isMap(node)) return JSON.stringify(node.toJSON());
  if (isSeq(node)) return node.items.map((item) => (isMap(item) || isSeq(item) ? JSON.stringify((item as Node).toJSON()) : scalarText(item as Node))).join(" ");
  return scalarText(node);
}

/**
 * The text of `field` in `source`; a dotted path (`a.b`) reaches into nested mappings when no
 * top-level key has that exact name. Throws FieldNotFoundError when absent.
 */
export function readYamlField(source: string, field: string, fileLabel = "the file"): string {
  const doc = parseDocument(source);
  if (doc.errors.length) throw new Error(`${fileLabel} is not valid YAML: ${doc.errors[0].message}`);
  const root = doc.contents;
  if (!isMap(root)) throw new Error(`${fileLabel} must contain a mapping of fields at the top level`);
  if (root.has(field)) return formatYamlNode(root.get(field, true) as Node | undefined);
  const parts = field.split(".");
  if (parts.length > 1 && doc.hasIn(parts)) return formatYamlNode(doc.getIn(parts, true) as Node | undefined);
  throw new FieldNotFoundError(`no field "${field}" in ${fileLabel}`);
}
