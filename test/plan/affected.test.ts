import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { affectedStacks, allStackTargets } from "../../cli/plan/affected";

describe("affected stacks", () => {
  let root: string;
  const write = (f: string, config?: Record<string, unknown>) =>
    fs.writeFileSync(path.join(root, f), config ? YAML.stringify({ config }) : "");
  const blueprint = { PipelineName: "x" };
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "affected-"));
    fs.mkdirSync(path.join(root, "stacks"));
    write("Pulumi.yaml");
    write("Pulumi.dev.yaml", { "neurocaas:deployUtils": true, "neurocaas:blueprint": blueprint });
    write("stacks/utils.yaml", { "neurocaas:deployUtils": true });
    write("stacks/caiman-ncap-web.yaml", { "neurocaas:utilsStack": "utils", "neurocaas:blueprint": blueprint });
    write("stacks/ensemble-dgp.yaml", {
      "neurocaas:utilsStack": "organization/neurocaas/utils",
      "neurocaas:blueprint": blueprint,
    });
    write("stacks/lab-only.yaml", { "neurocaas:utilsStack": "lab-utils", "neurocaas:blueprint": blueprint });
    write("stacks/README.md");
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const affected = (...files: string[]) => affectedStacks(files, allStackTargets(root), root).map((t) => t.stack);

  it("lists the dev stack and every stacks/*.yaml", () => {
    expect(allStackTargets(root).map((t) => t.file)).toEqual([
      "Pulumi.dev.yaml",
      "stacks/caiman-ncap-web.yaml",
      "stacks/ensemble-dgp.yaml",
      "stacks/lab-only.yaml",
      "stacks/utils.yaml",
    ]);
  });

  it("previews only the stack whose config changed", () => {
    expect(affected("stacks/ensemble-dgp.yaml", "README.md")).toEqual(["ensemble-dgp"]);
  });

  it("previews every analysis stack that reads the utils stack when its config changes", () => {
    expect(affected("stacks/utils.yaml")).toEqual(["caiman-ncap-web", "ensemble-dgp", "utils"]);
  });

  it.each([
    "model/blueprint/parse.ts",
    "components/analysis-pipeline.ts",
    "protocols/handlers/submit.ts",
    "policies/iam.ts",
    "policies/package-lock.json",
    "index.ts",
    "package.json",
    "package-lock.json",
    "Pulumi.yaml",
    "tsconfig.json",
    ".github/workflows/preview.yml",
  ])("previews every deployed stack, not dev, when shared code changes (%s)", (file) => {
    expect(affected(file)).toEqual(["caiman-ncap-web", "ensemble-dgp", "lab-only", "utils"]);
  });

  it("previews dev only when its own file changes", () => {
    expect(affected("Pulumi.dev.yaml")).toEqual(["dev"]);
  });

  it("previews nothing for unrelated changes", () => {
    expect(affected("README.md", "cli/commands/submit.ts", "")).toEqual([]);
  });
});
