import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * esbuild results (Lambda bundles, the dashboard) kept across processes in the temp dir, each valid
 * as long as every input file of its build has the size and mtime it had when it was built.
 */
const CACHE_DIR = path.join(os.tmpdir(), "neurocaas-build-cache");

interface Entry {
  readonly inputs: Record<string, [number, number]>;
  readonly value: string;
}

function stamp(file: string): [number, number] | undefined {
  try {
    const st = fs.statSync(file);
    return [st.size, st.mtimeMs];
  } catch {
    return undefined;
  }
}

/** The cache file of a build: what is built, with which settings and tools, hashed. */
function cacheFile(key: readonly string[]): string {
  const hash = createHash("sha256");
  for (const part of key) hash.update(part).update("\0");
  return path.join(CACHE_DIR, `${hash.digest("hex").slice(0, 24)}.json`);
}

export function readBuildCache(key: readonly string[]): string | undefined {
  try {
    const entry = JSON.parse(fs.readFileSync(cacheFile(key), "utf8")) as Entry;
    for (const [file, [size, mtime]] of Object.entries(entry.inputs)) {
      const now = stamp(file);
      if (now === undefined || now[0] !== size || now[1] !== mtime) return undefined;
    }
    return entry.value;
  } catch {
    return undefined;
  }
}

/** Records a build's result; `inputs` are absolute paths (an input that vanished: nothing is kept). */
export function writeBuildCache(key: readonly string[], inputs: readonly string[], value: string): void {
  const stamped: Record<string, [number, number]> = {};
  for (const file of inputs) {
    const s = stamp(file);
    if (s === undefined) return;
    stamped[file] = s;
  }
  try {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const target = cacheFile(key);
    const tmp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ inputs: stamped, value } satisfies Entry));
    fs.renameSync(tmp, target);
  } catch {
    // The cache only saves time; a read-only temp dir must not fail a build.
  }
}
