import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { allStackTargets } from "../../cli/plan/affected";
import { runCliInProcess } from "../support/cli-in-process";
import { withoutStackTraces } from "../support/stack-traces";

/**
 * `neurocaas plan` end to end: every real stack plans clean, a deliberately bad blueprint reports
 * each violation (exit 1), an invalid one reports its schema errors (exit 2). Plans run in the
 * jest process one after the other; the exit statuses of bin/neurocaas are checked in a real
 * process for a violation and for a usage error.
 */

const root = path.resolve(__dirname, "../..");
const bin = path.join(root, "bin", "neurocaas");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `neurocaas plan ARGS --no-aws` in the jest process. */
function plan(...args: string[]): Promise<Run> {
  return withoutStackTraces(() => runCliInProcess(["plan", ...args, "--no-aws"], { cwd: root }));
}

/** `bin/neurocaas plan ARGS --no-aws` in its own process. */
function planProcess(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    // --no-aws: hermetic even where the developer has AWS credentials (the bucket-name check).
    execFile(bin, ["plan", ...args, "--no-aws"], { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === "number"
          ? (err as { code: number }).code
          : -1
        : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface JsonReport {
  stack: string;
  resources: { type: string; name: string; urn: string; physicalName?: string; properties: Record<string, unknown> }[];
  iamPolicies: {
    kind: string;
    resource: { type: string; name: string; urn: string };
    appliesTo: string[];
    document?: { Statement: { Sid?: string; Effect: string; Resource?: unknown }[] };
    policyArn?: string;
  }[];
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

const devConfig = (
  YAML.parse(fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> }
).config;
const devBlueprint = devConfig["neurocaas:blueprint"] as { Lambda: { LambdaConfig: Record<string, unknown> } };

describe("plan of every stack in the repository", () => {
  const targets = allStackTargets(root);
  let runs: Run[];
  beforeAll(async () => {
    runs = [];
    for (const t of targets) runs.push(await plan("--stack-file", path.join(root, t.file), "--json"));
  }, 600_000);

  it("covers the dev stack and stacks/*.yaml", () => {
    expect(targets.map((t) => t.file)).toEqual(
      expect.arrayContaining([
        "Pulumi.dev.yaml",
        ...fs
          .readdirSync(path.join(root, "stacks"))
          .filter((f) => f.endsWith(".yaml"))
          .map((f) => `stacks/${f}`),
      ]),
    );
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

  it("gives every stack its own physical names: dev, utils and the analyses can share one account", () => {
    // IAM names are unique per account regardless of case; the rest per type (and region).
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    targets.forEach((t, i) => {
      const report = JSON.parse(runs[i].stdout) as JsonReport;
      for (const r of report.resources) {
        if (r.physicalName === undefined) continue;
        const key = `${r.type} ${r.type.startsWith("aws:iam/") ? r.physicalName.toLowerCase() : r.physicalName}`;
        const first = owner.get(key);
        if (first !== undefined && first !== t.stack) clashes.push(`${key} in ${first} and ${t.stack}`);
        owner.set(key, t.stack);
      }
    });
    expect(targets.map((t) => t.stack)).toEqual(expect.arrayContaining(["dev", "utils"]));
    expect(owner.size).toBeGreaterThan(100);
    expect(clashes).toEqual([]);
  });

  it("shows the properties that matter", () => {
    const dev = JSON.parse(runs[targets.findIndex((t) => t.stack === "dev")].stdout) as JsonReport;
    const bucket = dev.resources.find((r) => r.type === "aws:s3/bucket:Bucket" && r.name === "neurocaas-demo-bucket");
    expect(bucket?.properties).toMatchObject({ bucket: "neurocaas-demo", forceDestroy: false });
    const jm = dev.resources.find((r) => r.type === "aws:lambda/function:Function" && r.name.endsWith("job-manager"));
    expect(jm?.properties).toMatchObject({
      runtime: "nodejs22.x",
      config: { instanceType: "t3.medium", deployLimit: 4 },
    });
  });
});

describe("IAM documents in the JSON report", () => {
  let report: JsonReport;
  beforeAll(async () => {
    report = JSON.parse((await plan("--stack", "dev", "--json")).stdout) as JsonReport;
  }, 300_000);
  const of = (kind: string) => report.iamPolicies.filter((d) => d.kind === kind);

  it("lists every role inline policy with the RolePolicy that carries it and its role", () => {
    const inline = of("role inline policy");
    // The dev stack's web dashboard adds one role per (analysis, group), named by Pulumi.
    expect(inline.map((d) => d.appliesTo[0]).sort()).toEqual([
      expect.stringMatching(/^role:dashboard-neurocaas-demo-debuggers-role-[0-9a-f]+$/),
      "role:neurocaas-demo-iae",
      "role:neurocaas-demo-job-manager",
      "role:neurocaas-demo-monitor",
      "role:neurocaas-dev-account-guard",
    ]);
    const jm = inline.find((d) => d.appliesTo[0] === "role:neurocaas-demo-job-manager")!;
    expect(jm.resource).toMatchObject({
      type: "aws:iam/rolePolicy:RolePolicy",
      name: "neurocaas-demo-job-manager-policy",
    });
    expect(jm.resource.urn).toMatch(/::neurocaas-demo-job-manager-policy$/);
    expect(jm.document?.Statement.map((s) => s.Sid)).toEqual(
      expect.arrayContaining(["PassOnlyTheIaeRole", "DenyWritesWhereUsersDataAndTriggersLive"]),
    );
  });

  it("lists managed policies with the groups that attach them, the bucket policy, trust policies and AWS managed policies", () => {
    expect(of("managed policy").map((d) => [d.resource.name, d.appliesTo])).toEqual([
      ["neurocaas-demo-debuggers-policy", ["group:neurocaas-demo.debuggers"]],
    ]);
    const bucket = of("bucket policy").filter((d) => d.appliesTo[0] === "bucket:neurocaas-demo");
    expect(bucket.map((d) => [d.resource.type, d.appliesTo])).toEqual([
      ["aws:s3/bucketPolicy:BucketPolicy", ["bucket:neurocaas-demo"]],
    ]);
    // The dashboard's site bucket: read by its CloudFront distribution only.
    expect(
      of("bucket policy")
        .filter((d) => d !== bucket[0])
        .map((d) => d.document?.Statement.map((st) => st.Sid)),
    ).toEqual([["CloudFrontReadsTheSite", "DenyInsecureTransport"]]);
    expect(bucket[0].document?.Statement.map((s) => s.Sid)).toEqual(
      expect.arrayContaining(["DenyInsecureTransport", "DevInstancesNoUserFolderWrites"]),
    );
    const roles = report.resources.filter((r) => r.type === "aws:iam/role:Role");
    expect(
      of("trust policy")
        .map((d) => d.resource.name)
        .sort(),
    ).toEqual(roles.map((r) => r.name).sort());
    expect(
      of("aws managed policy")
        .map((d) => [d.policyArn, d.appliesTo[0]])
        .sort(),
    ).toEqual([
      ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "role:neurocaas-demo-iae"],
      ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "role:neurocaas-dev-dev-iae"],
    ]);
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
        Lambda: {
          ...devBlueprint.Lambda,
          LambdaConfig: { ...devBlueprint.Lambda.LambdaConfig, INSTANCE_TYPE: "p4d.24xlarge", DEPLOY_LIMIT: 5000 },
        },
      },
    });
    run = await planProcess("--stack-file", file, "--json");
  }, 300_000);

  it("exits 1 with each mandatory violation in the JSON report", () => {
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as JsonReport;
    const byPolicy = (p: string) => report.violations.filter((v) => v.policy === p);
    expect(byPolicy("neurocaas-instance-types")[0]).toMatchObject({
      enforcementLevel: "mandatory",
      name: "neurocaas-demo-job-manager",
      message: expect.stringContaining("'p4d.24xlarge'"),
    });
    expect(byPolicy("neurocaas-instance-types")[0].urn).toMatch(
      /^urn:pulumi:bad::neurocaas::.*aws:lambda\/function:Function::neurocaas-demo-job-manager$/,
    );
    expect(byPolicy("neurocaas-deploy-limit")[0].message).toMatch(/DEPLOY_LIMIT 5000, over the maximum 300/);
  });

  it("reports CORS origins configured on a webdev analysis", () => {
    const report = JSON.parse(run.stdout) as JsonReport;
    expect(report.resources.some((r) => r.type.startsWith("aws:s3/bucketCorsConfiguration"))).toBe(true);
    const cors = report.violations.filter((v) => v.policy === "neurocaas-s3-webdev-no-cors");
    expect(cors).toHaveLength(1);
    expect(cors[0]).toMatchObject({
      enforcementLevel: "mandatory",
      message: expect.stringContaining("https://evil.example.com"),
    });
  });
});

describe("plan of an invalid blueprint", () => {
  let run: Run;
  beforeAll(async () => {
    const file = stackFile("invalid", {
      ...devConfig,
      "neurocaas:blueprint": {
        ...devBlueprint,
        PipelineName: "Bad_Name",
        Lambda: { ...devBlueprint.Lambda, LambdaConfig: { INSTANCE_TYPE: "t3.micro" } },
      },
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
    const run = await planProcess("--stack", "dev", "--stack-file", "Pulumi.dev.yaml");
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/either --stack or --stack-file/);
  }, 120_000);

  it("names the files it looked for when a stack does not exist", async () => {
    const run = await plan("--stack", "no-such-stack");
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/Pulumi\.no-such-stack\.yaml.*stacks\/no-such-stack\.yaml/);
  }, 120_000);
});
