import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { SHARED_FILES } from "../../cli/plan/affected";

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
  id?: string;
  name?: string;
}
interface Job {
  needs?: string;
  permissions?: Record<string, string>;
  strategy?: { matrix?: unknown };
  steps: Step[];
}

const root = path.resolve(__dirname, "../..");
const workflow = YAML.parse(fs.readFileSync(path.join(root, ".github/workflows/preview.yml"), "utf8")) as {
  on: { pull_request: { paths: string[] } };
  jobs: Record<string, Job>;
};

describe("PR preview workflow", () => {
  it("runs on pull requests touching stacks, components, protocols or policies", () => {
    expect(workflow.on.pull_request.paths).toEqual(
      expect.arrayContaining(["stacks/**", "model/**", "components/**", "protocols/**", "policies/**"]),
    );
  });

  it("runs for every file the preview matrix treats as shared (dependencies, Pulumi.yaml, tsconfig, itself)", () => {
    const paths = workflow.on.pull_request.paths;
    const covered = (f: string) =>
      paths.some((p) =>
        p.endsWith("/**")
          ? f.startsWith(p.slice(0, -2))
          : p.includes("*")
            ? new RegExp(`^${p.replace(/\./g, "\\.").replace(/\*/g, "[^/]*")}$`).test(f)
            : p === f,
      );
    for (const f of [
      ...SHARED_FILES,
      "Pulumi.dev.yaml",
      "stacks/new.yaml",
      "policies/package-lock.json",
      "cli/plan/affected.ts",
    ])
      expect([f, covered(f)]).toEqual([f, true]);
  });

  it("uses Node 22 (what @pulumi/pulumi requires) and installs the pack from its committed lock file", () => {
    for (const job of Object.values(workflow.jobs)) {
      const node = job.steps.find((s) => s.uses?.startsWith("actions/setup-node@"));
      expect(node?.with?.["node-version"]).toBe(22);
    }
    expect(preview.steps.some((s) => /npm ci --prefix policies/.test(s.run ?? ""))).toBe(true);
    expect(preview.steps.some((s) => /npm install --prefix policies/.test(s.run ?? ""))).toBe(false);
    expect(fs.existsSync(path.join(root, "policies/package-lock.json"))).toBe(true);
  });

  it("previews a stack that does not exist yet only with upsert, else says so in a PR comment", () => {
    const exists = preview.steps.find((s) => s.id === "exists");
    expect(exists?.run).toMatch(/pulumi stack select "\$STACK"/);
    const pulumi =
      step("pulumi/actions@") &&
      preview.steps.find((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === "preview");
    expect(pulumi?.if).toMatch(/steps\.exists\.outputs\.exists == 'true' \|\| vars\.PULUMI_PREVIEW_UPSERT == 'true'/);
    expect(String(pulumi?.with?.upsert)).toMatch(/PULUMI_PREVIEW_UPSERT/);
    const comment = preview.steps.find((s) => s.uses?.startsWith("actions/github-script@"));
    expect(comment?.if).toMatch(/exists != 'true'/);
    expect(String(comment?.with?.script)).toMatch(/offline plan/);
    const plan = preview.steps.findIndex((s) => s.run?.includes("neurocaas plan"));
    expect(preview.steps[plan].run).toMatch(/tee offline-plan\.txt/);
  });

  const preview = workflow.jobs.preview;
  const step = (uses: string) => preview.steps.find((s) => s.uses?.startsWith(uses));

  it("previews each affected stack from a computed matrix", () => {
    expect(preview.needs).toBe("affected");
    expect(JSON.stringify(preview.strategy?.matrix)).toContain("needs.affected.outputs.matrix");
    expect(workflow.jobs.affected.steps.some((s) => s.run?.includes("cli/plan/affected.ts"))).toBe(true);
  });

  it("gets AWS credentials through OIDC only", () => {
    expect(preview.permissions?.["id-token"]).toBe("write");
    expect(step("aws-actions/configure-aws-credentials@")?.with?.["role-to-assume"]).toMatch(/vars\./);
    expect(JSON.stringify(workflow)).not.toMatch(/AWS_SECRET_ACCESS_KEY|aws-secret-access-key/);
  });

  it("runs pulumi preview --diff with the policy pack and comments on the PR", () => {
    const pulumi = preview.steps.find((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === "preview");
    expect(pulumi?.with).toMatchObject({
      command: "preview",
      diff: true,
      policyPacks: "policies",
      "comment-on-pr": true,
    });
    expect(String(pulumi?.with?.["stack-name"])).toContain("matrix.stack");
  });

  it("runs the offline plan before touching the cloud", () => {
    const plan = preview.steps.findIndex((s) => s.run?.includes("neurocaas plan"));
    const creds = preview.steps.findIndex((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
    expect(plan).toBeGreaterThanOrEqual(0);
    expect(plan).toBeLessThan(creds);
  });
});
