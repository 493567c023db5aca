/**
 * Prints the import graph between the top folders of the repository (components, protocols, ...),
 * measured from the source: every static import/export, dynamic import() and require() of a
 * relative path. `--files` also lists the file-level edges behind each folder edge.
 *
 *   npx tsx scripts/import-graph.ts [--files] [--json]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

const ROOT = path.resolve(__dirname, "..");
const SKIP = new Set(["node_modules", "dist", "coverage", ".neurocaas", ".git"]);

export interface FolderEdge {
  from: string;
  to: string;
  /** "importer -> imported" file pairs, repository-relative. */
  files: string[];
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|tsx|mts|cts)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

/** Relative module specifiers a file imports (static, type-only, dynamic and require). */
export function importsOf(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => f.fileName).filter((s) => s.startsWith("."));
}

function topFolder(rel: string): string {
  const parts = rel.split(path.sep);
  return parts.length === 1 ? "(root)" : parts[0];
}

/** Folder-level import edges (self edges left out), sorted. */
export function folderGraph(root = ROOT): FolderEdge[] {
  const edges = new Map<string, FolderEdge>();
  for (const file of sourceFiles(root)) {
    const rel = path.relative(root, file);
    const from = topFolder(rel);
    for (const spec of importsOf(fs.readFileSync(file, "utf8"))) {
      const target = path.relative(root, path.resolve(path.dirname(file), spec));
      if (target.startsWith("..")) continue;
      const to = topFolder(target);
      if (to === from) continue;
      const key = `${from} -> ${to}`;
      const edge = edges.get(key) ?? { from, to, files: [] };
      edge.files.push(`${rel} -> ${target}`);
      edges.set(key, edge);
    }
  }
  return [...edges.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
}

if (require.main === module) {
  const graph = folderGraph();
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(graph, null, 2));
  } else {
    for (const edge of graph) {
      console.log(`${edge.from.padEnd(12)} -> ${edge.to.padEnd(12)} ${edge.files.length}`);
      if (process.argv.includes("--files")) for (const f of edge.files) console.log(`    ${f}`);
    }
  }
}
