/** A folder tree from object keys under a prefix (pure). */
import type { ObjectInfo } from "../api/s3";

export interface TreeNode {
  readonly name: string;
  /** Full key (files) or prefix ending in `/` (folders). */
  readonly path: string;
  readonly object?: ObjectInfo;
  readonly children: TreeNode[];
}

export function buildTree(prefix: string, objects: readonly ObjectInfo[]): TreeNode {
  const root: TreeNode = { name: "", path: prefix, children: [] };
  for (const o of objects) {
    if (!o.key.startsWith(prefix)) continue;
    const rest = o.key.slice(prefix.length);
    if (rest === "") continue;
    const parts = rest.split("/");
    let node = root;
    let path = prefix;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      if (last && part === "") return; // a folder placeholder
      path += last ? part : `${part}/`;
      let child = node.children.find(
        (c) => c.name === part && (last ? c.object !== undefined : c.object === undefined),
      );
      if (!child) {
        child = { name: part, path, children: [], ...(last ? { object: o } : {}) };
        node.children.push(child);
      }
      node = child;
    });
  }
  const sort = (n: TreeNode): void => {
    n.children.sort(
      (a, b) => Number(a.object !== undefined) - Number(b.object !== undefined) || a.name.localeCompare(b.name),
    );
    n.children.forEach(sort);
  };
  sort(root);
  return root;
}

/** Every file under a node. */
export function filesOf(node: TreeNode): ObjectInfo[] {
  return node.object ? [node.object] : node.children.flatMap(filesOf);
}
