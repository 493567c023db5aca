/**
 * `node:crypto` in the browser bundle. Shared pure modules (model/layout.ts) hash over-long
 * file names with it; the dashboard never derives such names, and esbuild drops the code that
 * would. Should that change, this says so instead of failing obscurely.
 */
interface Hash {
  update(data: string, encoding?: string): Hash;
  digest(encoding: "hex"): string;
}

export function createHash(_algorithm: string): Hash {
  throw new Error(
    "node:crypto is not available in the web dashboard (a protocols/ helper that hashes was bundled into it)",
  );
}
