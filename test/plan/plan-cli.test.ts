import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { allStackTargets } from "../../cli/plan/affected";
import { mapBounded } from "../../protocols/concurrency";

/**
 * `neurocaas plan` end to end, one process per stack (Pulumi's runtime state is per process):
 * every real stack plans clean, a deliberately bad blueprint reports each violation (exit 1),
 * an invalid one reports its schema errors (exit 2).
 */

const root = path.resolve(__dirname, "../..");
const bin = path.join(root, "bin", "neurocaas");

interface Run { code: number; stdout: string; stderr: string }

function plan(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(bin, ["plan", ...args], { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface JsonReport {
  stack: string;
  resources: { type: string; name: string; urn: string; properties: Record<string, unknown> }[];
  policies: { policy: string; enforcementLevel: string; violations: number }[];
  violations: { policy: string; enforcementLevel: string; urn?: string; name?: string; message: string }[];
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-cli-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function stackFile(name: string, config: Record<string, unknown>): string {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(file, YAML.stringify({ config }));
  return file;
}

const devConfig = (YAML.parse(fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
const devBlueprint = devConfig["neurocaas:blueprint"] as { Lambda: { LambdaConfig: Record<string, unknown> } };

describe("plan of every stack in the repository", () => {
  const targets = allStackTargets(root);
  let runs: Run[];
  beforeAll(async () => {
    runs = await mapBounded(targets, 2, (t) => plan("--stack-file", path.join(root, t.file), "--json"));
  }, 600_000);

  it("covers the dev stack and stacks/*.yaml", () => {
    expect(targets.map((t) => t.file)).toEqual(expect.arrayContaining(["Pulumi.dev.yaml", ...fs.readdirSync(path.join(root, "stacks")).filter((f) => f.endsWith(".yaml")).map((f) => `stacks/${f}`)]));
  });

  it("has no mandatory violation and lists what each stack creates", () => {
    targets.forEach((t, i) => {
      const run = runs[i];
      expect({ stack: t.stack, code: run.code, stderr: run.stderr }).toEqual({ stack: t.stack, code: 0, stderr: "" });
      const report = JSON.parse(run.stdout) as JsonReport;
      expect(report.violations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
      expect(report.resources.length).toBeGreaterThan(0);
      expect(report.policies.length).toBeGreaterThanOrEqual(20);
    });
  });

  it("shows the properties that matter", () => {
    const dev = JSON.parse(runs[targets.findIndex((t) => t.stack === "dev")].stdout) as JsonReport;
    const bucket = dev.resources.find((r) => r.type === "aws:s3/bucket:Bucket");
    expect(bucket?.properties).toMatchObject({ bucket: "neurocaas-demo", forceDestroy: false });
    const jm = dev.resources.find((r) => r.type === "aws:lambda/function:Function" && r.name.endsWith("job-manager"));
    expect(jm?.properties).toMatchObject({ runtime: "nodejs22.x", config: { instanceType: "t3.medium", deployLimit: 4 } });
  });
});

describe("plan of a deliberately bad blueprint", () => {
  let run: Run;
  beforeAll(async () => {
    const file = stackFile("bad", {
      ...devConfig,
      "neurocaas:corsOrigins": ["https://evil.example.com"],
      "neurocaas:blueprint": {
        ...devBlueprint,
        Lambda: { ...devBlueprint.Lambda, LambdaConfig: { ...devBlueprint.Lambda.LambdaConfig, INSTANCE_TYPE: "p4d.24xlarge", DEPLOY_LIMIT: 5000 } },
      },
    });
    run = await plan("--stack-file", file, "--json");
  }, 300_000);

  it("exits 1 with each mandatory violation in the JSON report", () => {
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as JsonReport;
    const byPolicy = (p: string) => report.violations.filter((v) => v.policy === p);
    expect(byPolicy("neurocaas-instance-types")[0]).toMatchObject({ enforcementLevel: "mandatory", name: "neurocaas-demo-job-manager", message: expect.stringContaining("'p4d.24xlarge'") });
    expect(byPolicy("neurocaas-instance-types")[0].urn).toMatch(/^urn:pulumi:bad::neurocaas::.*aws:lambda\/function:Function::neurocaas-demo-job-manager$/);
    expect(byPolicy("neurocaas-deploy-limit")[0].message).toMatch(/DEPLOY_LIMIT 5000, over the maximum 300/);
  });

  it("reports CORS origins configured on a webdev analysis", () => {
    const report = JSON.parse(run.stdout) as JsonReport;
    expect(report.resources.some((r) => r.type.startsWith("aws:s3/bucketCorsConfiguration"))).toBe(true);
    const cors = report.violations.filter((v) => v.policy === "neurocaas-s3-webdev-no-cors");
    expect(cors).toHaveLength(1);
    expect(cors[0]).toMatchObject({ enforcementLevel: "mandatory", message: expect.stringContaining("https://evil.example.com") });
  });

});

describe("plan of an invalid blueprint", () => {
  let run: Run;
  beforeAll(async () => {
    const file = stackFile("invalid", {
      ...devConfig,
      "neurocaas:blueprint": { ...devBlueprint, PipelineName: "Bad_Name", Lambda: { ...devBlueprint.Lambda, LambdaConfig: { INSTANCE_TYPE: "t3.micro" } } },
    });
    run = await plan("--stack-file", file, "--json");
  }, 300_000);

  it("exits 2 with every schema issue and its key path", () => {
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout) as { error: string; issues: { path: string; expected: string }[] };
    expect(report.error).toBe("invalid-blueprint");
    const paths = report.issues.map((i) => i.path).join("\n");
    expect(paths).toMatch(/neurocaas:blueprint\.PipelineName/);
    expect(paths).toMatch(/neurocaas:blueprint\.Lambda\.LambdaConfig/);
  });
});

describe("plan arguments", () => {
  it("rejects --stack together with --stack-file", async () => {
    const run = await plan("--stack", "dev", "--stack-file", "Pulumi.dev.yaml");
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/either --stack or --stack-file/);
  }, 120_000);

  it("names the files it looked for when a stack does not exist", async () => {
    const run = await plan("--stack", "no-such-stack");
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/Pulumi\.no-such-stack\.yaml.*stacks\/no-such-stack\.yaml/);
  }, 120_000);
});
