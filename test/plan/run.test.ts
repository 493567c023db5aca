import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { engineConfig, loadSettings, OFFLINE_SECRET_VALUE } from "../../cli/plan/run";
import { stackFileFor } from "../../cli/commands/plan";

describe("engineConfig", () => {
  it("hands the program strings, objects as JSON, and placeholders for encrypted values", () => {
    const { values, secretKeys } = engineConfig({
      "aws:region": "us-east-1",
      "neurocaas:deployUtils": true,
      "neurocaas:blueprint": { PipelineName: "x" },
      "neurocaas:token": { secure: "v1:abc" },
    });
    expect(values).toEqual({
      "aws:region": "us-east-1",
      "neurocaas:deployUtils": "true",
      "neurocaas:blueprint": '{"PipelineName":"x"}',
      "neurocaas:token": OFFLINE_SECRET_VALUE,
    });
    expect(secretKeys).toEqual(["neurocaas:token"]);
  });
});

describe("loadSettings", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-run-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };

  it("returns settings for the dev stack", () => {
    const loaded = loadSettings(path.resolve(__dirname, "../../Pulumi.dev.yaml"));
    expect("settings" in loaded && loaded.settings.blueprint?.PipelineName).toBe("neurocaas-demo");
  });

  it("returns blueprint issues with their full config key path", () => {
    const loaded = loadSettings(
      write(
        "bad.yaml",
        "config:\n  aws:region: us-east-1\n  neurocaas:deployUtils: true\n  neurocaas:sshCidr: 203.0.113.0/24\n  neurocaas:blueprint:\n    PipelineName: Bad_Name\n",
      ),
    );
    expect("issues" in loaded).toBe(true);
    const paths = "issues" in loaded ? loaded.issues.map((i) => i.path) : [];
    expect(paths).toEqual(expect.arrayContaining(["neurocaas:blueprint.PipelineName"]));
    expect(paths.every((p) => p.startsWith("neurocaas:blueprint"))).toBe(true);
  });

  it("returns stack config issues outside the blueprint", () => {
    const loaded = loadSettings(
      write("cfg.yaml", "config:\n  aws:region: us-east-1\n  neurocaas:deployUtils: maybe\n"),
    );
    expect("issues" in loaded && loaded.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(["neurocaas:deployUtils"]),
    );
  });

  it("fails on a file that is not YAML, naming the file", () => {
    const f = write("broken.yaml", "config: [\n");
    expect(() => loadSettings(f)).toThrow(/broken\.yaml/);
  });
});

describe("stackFileFor", () => {
  it("finds Pulumi.<stack>.yaml first, then stacks/<stack>.yaml", () => {
    const root = path.resolve(__dirname, "../..");
    expect(path.relative(root, stackFileFor("dev"))).toBe("Pulumi.dev.yaml");
    expect(path.relative(root, stackFileFor("caiman-ncap-web"))).toBe(path.join("stacks", "caiman-ncap-web.yaml"));
    expect(() => stackFileFor("nope")).toThrow(/no stack config for stack "nope"/);
  });
});
