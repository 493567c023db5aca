import * as fs from "node:fs";
import * as path from "node:path";

const PACKAGE_NAME = "neurocaas";

/**
 * The checkout a module runs from: the nearest folder at or above `from` whose package.json is
 * this project's. Modules run from their source folder (tsx, jest) or from the CLI bundle in
 * `node_modules/.cache/neurocaas/` (bin/neurocaas), so a fixed `..` count would be wrong in one of them.
 */
export function findProjectRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (isProjectPackage(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error(`no package.json named "${PACKAGE_NAME}" in ${from} or any folder above it`);
    }
  }
}

function isProjectPackage(file: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/** This checkout. */
export const PROJECT_ROOT = findProjectRoot(__dirname);
