import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { affectedStacks, allStackTargets } from "../../cli/plan/affected";

describe("affected stacks", () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "affected-"));
    fs.mkdirSync(path.join(root, "stacks"));
    for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "stacks/caiman-ncap-web.yaml", "stacks/ensemble-dgp.yaml", "stacks/README.md"]) {
      fs.writeFileSync(path.join(root, f), "");
    }
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it("lists the dev stack and every stacks/*.yaml", () => {
    expect(allStackTargets(root)).toEqual([
      { stack: "dev", file: "Pulumi.dev.yaml" },
      { stack: "caiman-ncap-web", file: "stacks/caiman-ncap-web.yaml" },
      { stack: "ensemble-dgp", file: "stacks/ensemble-dgp.yaml" },
    ]);
  });

  it("previews only the stack whose config changed", () => {
    expect(affectedStacks(["stacks/ensemble-dgp.yaml", "README.md"], allStackTargets(root)).map((t) => t.stack)).toEqual(["ensemble-dgp"]);
  });

  it.each(["components/analysis-pipeline.ts", "protocols/handlers/submit.ts", "policies/iam.ts", "index.ts", "package-lock.json"])(
    "previews every stack when shared code changes (%s)",
    (file) => {
      expect(affectedStacks([file], allStackTargets(root))).toHaveLength(3);
    },
  );

  it("previews nothing for unrelated changes", () => {
    expect(affectedStacks(["README.md", "cli/commands/submit.ts", ""], allStackTargets(root))).toEqual([]);
  });
});
