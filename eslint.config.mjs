import { readFileSync } from "node:fs";
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

/**
 * Layers that run one way (docs/architecture.md): for each top folder, a no-restricted-imports
 * rule forbidding the folders above it (relative specifiers that climb to them) and the packages it
 * must not load. The table lives in scripts/layers.json, shared with test/architecture/layers.test.ts.
 */
const { layers } = JSON.parse(readFileSync(new URL("./scripts/layers.json", import.meta.url), "utf8"));
const folders = Object.keys(layers).filter((name) => name !== "(root)");
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function layerRule(name, layer) {
  const allowed = `${name} may import only ${layer.may.length > 0 ? layer.may.join(", ") : "its own folder"} (docs/architecture.md: ${layer.why})`;
  const patterns = [];
  for (const folder of folders) {
    if (folder === name) continue;
    const modules = layer.may.filter((m) => m.startsWith(`${folder}/`)).map((m) => escape(m.slice(folder.length + 1)));
    if (layer.may.includes(folder)) continue;
    // `./` from the root (index.ts), `../` (one or more) from inside a folder.
    const climb = name === "(root)" ? "^\\./" : "^(\\.\\./)+";
    const regex = modules.length > 0 ? `${climb}${folder}(/(?!(${modules.join("|")})$)|$)` : `${climb}${folder}(/|$)`;
    patterns.push({ regex, message: allowed });
  }
  for (const pkg of layer.packages ?? []) {
    patterns.push({
      regex: `^${escape(pkg)}`,
      message: `${name} must not load ${pkg}* (docs/architecture.md: ${layer.why})`,
    });
  }
  return {
    files: name === "(root)" ? ["*.ts"] : [`${name}/**/*.ts`, `${name}/**/*.tsx`],
    rules: { "no-restricted-imports": ["error", { patterns }] },
  };
}

const PULUMI_FILES = [
  "*.ts",
  "components/**/*.ts",
  "policies/**/*.ts",
  "cli/plan/**/*.ts",
  "cli/commands/plan.ts",
  "bench/**/*.ts",
  "test/components/**/*.ts",
  "test/policies/**/*.ts",
  "test/plan/**/*.ts",
  "test/support/**/*.ts",
  "test/architecture/**/*.ts",
];

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      "dist/**",
      ".neurocaas/**",
      "policies/node_modules/**",
      "coverage/**",
      "**/*.js",
      "**/*.mjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  // Pulumi Outputs exist only where @pulumi/pulumi may be loaded (scripts/layers.json forbids it in
  // model, protocols and dashboard): the Pulumi rules need type information, which costs most of a
  // cold lint, so they run on the Pulumi program, the policy pack, the plan and their tests.
  {
    files: PULUMI_FILES,
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
    },
  },
  ...Object.entries(layers).map(([name, layer]) => layerRule(name, layer)),
);
