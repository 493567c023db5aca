import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

/**
 * Which stacks a change set affects (the CI preview matrix). A change to what every stack runs (the
 * program, components, protocols, policies, dependencies, the workflow) affects every deployed
 * stack; a change to one stack config affects that stack, and a utils stack's change also every
 * analysis stack that reads its outputs. The `dev` stack (`Pulumi.dev.yaml`) is a developer's own
 * stack: it is previewed when its file changes, not for every shared change (`.ci/run` plans it
 * offline on every run).
 */

export interface StackTarget {
  /** Stack name (`dev`, or the file name of `stacks/<name>.yaml`). */
  readonly stack: string;
  /** Config file relative to the repository root. */
  readonly file: string;
}

const SHARED_PREFIXES = ["model/", "components/", "protocols/", "policies/"];
/** Files every stack's preview depends on (what runs, with which dependencies, and how CI runs it). */
export const SHARED_FILES = [
  "index.ts",
  "Pulumi.yaml",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  ".github/workflows/preview.yml",
];
export const DEV_STACK = "dev";

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

/** The config of a stack file; empty when it cannot be read (a deleted or broken file). */
function configOf(root: string, t: StackTarget): Record<string, unknown> {
  try {
    const doc = YAML.parse(fs.readFileSync(path.join(root, t.file), "utf8")) as {
      config?: Record<string, unknown>;
    } | null;
    return doc?.config ?? {};
  } catch {
    return {};
  }
}

/** The utils stack an analysis stack reads (last part of `neurocaas:utilsStack`, default `utils`). */
function utilsStackOf(config: Record<string, unknown>): string | undefined {
  if (
    config["neurocaas:blueprint"] === undefined ||
    config["neurocaas:deployUtils"] === true ||
    config["neurocaas:deployUtils"] === "true"
  )
    return undefined;
  const ref = typeof config["neurocaas:utilsStack"] === "string" ? config["neurocaas:utilsStack"] : "utils";
  return ref.split("/").pop();
}

export function affectedStacks(
  changed: readonly string[],
  targets: readonly StackTarget[],
  root?: string,
): StackTarget[] {
  const files = changed.map((f) => f.trim().replace(/^\.\//, "")).filter(Boolean);
  const shared = files.some((f) => SHARED_FILES.includes(f) || SHARED_PREFIXES.some((p) => f.startsWith(p)));
  const touched = new Set(
    files.filter((f) => targets.some((t) => t.file === f)).map((f) => targets.find((t) => t.file === f)!.stack),
  );
  const readers = new Set<string>();
  if (root !== undefined) {
    for (const t of targets) {
      const utils = utilsStackOf(configOf(root, t));
      if (utils !== undefined && touched.has(utils)) readers.add(t.stack);
    }
  }
  return targets.filter((t) => touched.has(t.stack) || readers.has(t.stack) || (shared && t.stack !== DEV_STACK));
}

/** CLI: changed file names on stdin → `{"include":[{stack,file}...]}` for a GitHub matrix. */
if (require.main === module) {
  const root = path.resolve(process.argv[2] ?? ".");
  const changed = fs.readFileSync(0, "utf8").split("\n");
  process.stdout.write(`${JSON.stringify({ include: affectedStacks(changed, allStackTargets(root), root) })}\n`);
}
