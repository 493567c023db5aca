import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Which stacks a change set affects (the CI preview matrix). A change to shared code (the
 * program, components, protocols, policies, dependencies) affects every stack; a change to one
 * stack config affects that stack only.
 */

export interface StackTarget {
  /** Stack name (`dev`, or the file name of `stacks/<name>.yaml`). */
  readonly stack: string;
  /** Config file relative to the repository root. */
  readonly file: string;
}

const SHARED_PREFIXES = ["components/", "protocols/", "policies/"];
const SHARED_FILES = ["index.ts", "Pulumi.yaml", "package.json", "package-lock.json", "tsconfig.json"];

/** `Pulumi.<stack>.yaml` at the root and every `stacks/*.yaml`. */
export function allStackTargets(root: string): StackTarget[] {
  const targets: StackTarget[] = [];
  for (const f of fs.readdirSync(root).sort()) {
    const m = /^Pulumi\.(.+)\.ya?ml$/.exec(f);
    if (m) targets.push({ stack: m[1], file: f });
  }
  const stacksDir = path.join(root, "stacks");
  if (fs.existsSync(stacksDir)) {
    for (const f of fs.readdirSync(stacksDir).sort()) {
      const m = /^(.+)\.ya?ml$/.exec(f);
      if (m) targets.push({ stack: m[1], file: `stacks/${f}` });
    }
  }
  return targets;
}

export function affectedStacks(changed: readonly string[], targets: readonly StackTarget[]): StackTarget[] {
  const files = changed.map((f) => f.trim().replace(/^\.\//, "")).filter(Boolean);
  const shared = files.some((f) => SHARED_FILES.includes(f) || SHARED_PREFIXES.some((p) => f.startsWith(p)));
  if (shared) return [...targets];
  const touched = new Set(files);
  return targets.filter((t) => touched.has(t.file));
}

/** CLI: changed file names on stdin → `{"include":[{stack,file}...]}` for a GitHub matrix. */
if (require.main === module) {
  const root = path.resolve(process.argv[2] ?? ".");
  const changed = fs.readFileSync(0, "utf8").split("\n");
  process.stdout.write(`${JSON.stringify({ include: affectedStacks(changed, allStackTargets(root)) })}\n`);
}
