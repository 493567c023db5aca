import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";

/**
 * Repeated mapping keys in a parsed YAML document (parsed with `uniqueKeys: false`). PyYAML, which
 * the original NeuroCAAS used for configs, accepts them and keeps the last value; this project
 * does the same and says so, since a repeated key is usually a mistake.
 */
export function duplicateKeyNotes(doc: Document, lines: LineCounter, fileLabel: string): string[] {
  const notes: string[] = [];
  const seen = new Set<unknown>();
  const walk = (node: unknown, path: string): void => {
    if (node === null || typeof node !== "object" || seen.has(node) || isAlias(node)) return;
    seen.add(node);
    if (isSeq(node)) node.items.forEach((item, i) => walk(item, `${path}[${i}]`));
    if (!isMap(node)) return;
    const byKey = new Map<string, number[]>();
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      const name = isScalar(key) ? String(key.value) : undefined;
      if (name !== undefined) {
        const line = key?.range ? lines.linePos(key.range[0]).line : 0;
        byKey.set(name, [...(byKey.get(name) ?? []), line]);
      }
      walk(pair.value, name === undefined ? path : path ? `${path}.${name}` : name);
    }
    for (const [name, at] of byKey) {
      if (at.length > 1) {
        const where = path ? `${path}.${name}` : name;
        notes.push(
          `${fileLabel}: the key "${where}" is given ${at.length} times (lines ${at.join(", ")}); the last value is used, as PyYAML does`,
        );
      }
    }
  };
  walk(doc.contents, "");
  return notes;
}
