import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { folderGraph } from "../../scripts/import-graph";
import layersFile from "../../scripts/layers.json";

const root = path.resolve(__dirname, "../..");
const layers: Record<string, { may: string[]; packages?: string[] }> = layersFile.layers;

/**
 * Lints in-memory files with the repository's eslint.config.mjs, reporting only the layer rule.
 * ESLint loads its ESM config with a dynamic import jest's VM cannot run, so one node child lints
 * every snippet of this file.
 */
const LINTER = `
import { ESLint } from "eslint";
const cases = JSON.parse(process.argv[1]);
const eslint = new ESLint({
  cwd: process.cwd(),
  // The snippets are not in the TypeScript project: parse them without type information.
  overrideConfig: [{ files: ["**/*.ts", "**/*.tsx"], languageOptions: { parserOptions: { projectService: false } } }],
  ruleFilter: ({ ruleId }) => ruleId === "no-restricted-imports",
});
const out = [];
for (const { file, code } of cases) {
  const [result] = await eslint.lintText(code, { filePath: file });
  out.push(result.messages.map((m) => m.ruleId + ": " + m.message));
}
console.log(JSON.stringify(out));
`;

function lintSnippets(cases: readonly { file: string; code: string }[]): string[][] {
  const stdout = execFileSync(process.execPath, ["--input-type=module", "-e", LINTER, JSON.stringify(cases)], {
    cwd: root,
    encoding: "utf8",
  });
  return JSON.parse(stdout.trim().split("\n").pop() as string) as string[][];
}

/** [file, snippet, the message the layer rule must report]. */
const FORBIDDEN: readonly [string, string, string][] = [
  [
    "model/probe.ts",
    `import { AnalysisPipeline } from "../components/analysis-pipeline";`,
    "model may import only its own folder",
  ],
  [
    "model/blueprint/probe.ts",
    `import type { Deps } from "../../protocols/deps";`,
    "model may import only its own folder",
  ],
  ["model/probe.ts", `import * as pulumi from "@pulumi/pulumi";`, "model must not load @pulumi/"],
  ["model/probe.ts", `import { S3Client } from "@aws-sdk/client-s3";`, "model must not load @aws-sdk/"],
  ["protocols/probe.ts", `import * as pulumi from "@pulumi/pulumi";`, "protocols must not load @pulumi/"],
  [
    "protocols/handlers/probe.ts",
    `import { AnalysisPipeline } from "../../components/analysis-pipeline";`,
    "protocols may import only model",
  ],
  ["protocols/probe.ts", `import { allPolicies } from "../policies/all";`, "protocols may import only model"],
  ["protocols/probe.ts", `export { main } from "../cli/main";`, "protocols may import only model"],
  ["protocols/aws/probe.ts", `import type { LocalStack } from "../../local/stack";`, "protocols may import only model"],
  [
    "local/probe.ts",
    `import { submitJob } from "../cli/user/submit-job";`,
    "local may import only model, protocols, components",
  ],
  ["components/probe.ts", `import { startLocal } from "../local/server";`, "components may import only model"],
  ["components/iam/probe.ts", `import { main } from "../../cli/main";`, "components may import only model"],
  [
    "components/probe.ts",
    `import { runSubmission } from "../protocols/submission";`,
    "components may import only model",
  ],
  [
    "dashboard/src/views/Probe.tsx",
    `import { buildDashboard } from "../../../components/dashboard-bundle";`,
    "dashboard may import only model",
  ],
  [
    "dashboard/src/api/probe.ts",
    `import { S3Store } from "../../../protocols/aws/s3-store";`,
    "dashboard may import only model",
  ],
  [
    "dashboard/src/api/probe.ts",
    `import { newJobId } from "../../../cli/user/submit-job";`,
    "dashboard may import only model",
  ],
  [
    "policies/probe.ts",
    `import { iaePolicy } from "../components/iam/policies";`,
    "policies may import only its own folder",
  ],
  ["index.ts", `import { startLocal } from "./local/server";`, "(root) may import only model, components"],
];
/** [file, snippet] of imports downwards (or within the layer) that must pass. */
const ALLOWED: readonly [string, string][] = [
  [
    "protocols/handlers/probe.ts",
    `import { loadRuntimeConfig } from "../../model/runtime-config";\nimport { runSubmission } from "../submission";`,
  ],
  [
    "components/probe.ts",
    `import { parseBlueprint } from "../model/blueprint/parse";\nimport { iaePolicy } from "./iam/policies";`,
  ],
  [
    "dashboard/src/api/probe.ts",
    `import { parseCertificate } from "../../../protocols/certificate";\nimport { jobFolderName } from "../../../model/layout";`,
  ],
  [
    "local/probe.ts",
    `import { iaePolicy } from "../components/iam/policies";\nimport { runSubmission } from "../protocols/submission";`,
  ],
  ["cli/commands/probe.ts", `import { startLocal } from "../../local/server";`],
];

describe("eslint enforces the layer direction (scripts/layers.json)", () => {
  let results: string[][] = [];
  beforeAll(() => {
    results = lintSnippets([...FORBIDDEN, ...ALLOWED].map(([file, code]) => ({ file: path.join(root, file), code })));
  });

  it.each(FORBIDDEN.map((c, i) => [...c, i] as const))("%s: %s", (_file, _code, message, i) => {
    expect(results[i]).toHaveLength(1);
    expect(results[i][0]).toMatch(/^no-restricted-imports: /);
    expect(results[i][0]).toContain(message);
  });

  it.each(ALLOWED.map((c, i) => [...c, FORBIDDEN.length + i] as const))("allows %s: %s", (_file, _code, i) => {
    expect(results[i]).toEqual([]);
  });
});

describe("the measured import graph (scripts/import-graph.ts)", () => {
  const graph = folderGraph(root);

  it("has only the edges scripts/layers.json allows: no arrow upwards", () => {
    const upward = graph.flatMap((edge) => {
      const may = layers[edge.from]?.may;
      if (may === undefined) return [`${edge.from} is not a layer of scripts/layers.json`];
      return edge.files.filter((pair) => {
        const target = pair.split(" -> ")[1];
        return !may.some((allowed) => target === allowed || target.startsWith(`${allowed}/`));
      });
    });
    expect(upward).toEqual([]);
  });

  it("keeps Pulumi code and Lambda code apart: they meet only in model/", () => {
    const edges = graph.map((e) => `${e.from} -> ${e.to}`);
    expect(edges).toEqual(expect.arrayContaining(["components -> model", "protocols -> model"]));
    expect(edges.filter((e) => /^(components|protocols|model) -> (components|protocols)$/.test(e))).toEqual([]);
  });
});

/** Every .ts file of the repository (node_modules aside), relative to the root. */
function sourceFiles(dir = root): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name.startsWith(".") ? [] : sourceFiles(full);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [path.relative(root, full)] : [];
  });
}

describe("the Pulumi lint rules (they need type information, so they cover only some files)", () => {
  it("cover every file that loads @pulumi/pulumi, @pulumi/aws or @pulumi/awsx", () => {
    const pulumiFiles = sourceFiles().filter((f) =>
      /(from |require\(|import\()"@pulumi\/(pulumi|aws|awsx)[/"]/.test(fs.readFileSync(path.join(root, f), "utf8")),
    );
    expect(pulumiFiles).toEqual(expect.arrayContaining(["components/analysis-pipeline.ts", "cli/plan/run.ts"]));
    const script = `
      import { ESLint } from "eslint";
      const eslint = new ESLint({ cwd: process.cwd() });
      const out = {};
      for (const f of JSON.parse(process.argv[1])) {
        const rules = (await eslint.calculateConfigForFile(f)).rules ?? {};
        out[f] = rules["@pulumi/no-output-in-template-literal"]?.[0] ?? "off";
      }
      console.log(JSON.stringify(out));`;
    const stdout = execFileSync(process.execPath, ["--input-type=module", "-e", script, JSON.stringify(pulumiFiles)], {
      cwd: root,
      encoding: "utf8",
    });
    const levels = JSON.parse(stdout.trim().split("\n").pop() as string) as Record<string, unknown>;
    const uncovered = Object.entries(levels).filter(([, level]) => level !== 2 && level !== "error");
    expect(uncovered).toEqual([]);
  });
});
