import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseBlueprint } from "../../model/blueprint/parse";
import {
  LAMBDA_ENV_LIMIT_BYTES,
  packageRuntimeConfig,
  RUNTIME_CONFIG_FILE,
  runtimeConfigFromBlueprint,
} from "../../model/runtime-config-build";
import { loadRuntimeConfig } from "../../model/runtime-config";
import { rawBlueprint, withPaths } from "./fixtures";

const UTILS = {
  iaeInstanceProfileArn: "arn:aws:iam::123456789012:instance-profile/x-iae",
  iaeRoleArn: "arn:aws:iam::123456789012:role/x-iae",
  keyName: "neurocaas-dev-key",
  securityGroupIds: ["sg-0aaaaaaaaaaaaaaaa"],
};

function manyAffiliates(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    AffiliateName: `affiliate-group-number-${i}`,
    UserNames: [`user${i}`],
    UserInput: i % 100 !== 7,
  }));
}

describe("runtimeConfigFromBlueprint", () => {
  it("maps every blueprint setting and the utils values", () => {
    const bp = parseBlueprint(
      withPaths({
        "Lambda.LambdaConfig.ALLOWED_INSTANCE_TYPES": ["p3.2xlarge"],
        "Lambda.LambdaConfig.LAUNCH": false,
        "Lambda.LambdaConfig.MAXCOST": "150",
        "Lambda.LambdaConfig.MAX_QUEUE_LENGTH": "0",
        "Lambda.LambdaConfig.MAX_QUEUE_WAIT": 30,
        "Lambda.LambdaConfig.MAX_ATTEMPTS": 2,
        "Lambda.PostProcessing": { StepName: "prediction" },
      }),
    );
    const c = runtimeConfigFromBlueprint(bp, { ...UTILS, subnetIds: ["subnet-0123abcd"] });
    expect(c).toEqual({
      bucketName: "test-analysis",
      analysisName: "test-analysis",
      region: "us-east-1",
      stage: "webdev",
      protocol: "default",
      ami: "ami-0123456789abcdef0",
      instanceType: "m5.xlarge",
      allowedInstanceTypes: ["p3.2xlarge"],
      command: 'run.sh "{}" "{}" "{}" "{}"',
      workingDirectory: "~/bin",
      shutdownBehavior: "terminate",
      ssmTimeoutSeconds: 172000,
      launch: false,
      deployLimit: 100,
      maxCost: 150,
      maxQueueLength: 0,
      maxQueueWaitMinutes: 30,
      maxAttempts: 2,
      monitor: true,
      allowSpot: true,
      imageVolumeSizeGb: 100,
      affiliates: [
        { AffiliateName: "labone", UserInput: true },
        { AffiliateName: "labtwo", UserInput: false },
      ],
      ...UTILS,
      subnetIds: ["subnet-0123abcd"],
      budgetParameterPrefix: "/neurocaas/budgets",
      postProcessing: { StepName: "prediction", PostTrigger: "end.txt" },
    });
  });

  it("omits empty subnets and carries the input-checking schema", () => {
    const schema = { type: "object", required: ["n"] };
    const bp = parseBlueprint(withPaths({ "Lambda.Protocol": "input-checking", "Lambda.ConfigSchema": schema }));
    const c = runtimeConfigFromBlueprint(bp, { ...UTILS, subnetIds: [], budgetParameterPrefix: "/custom/budgets" });
    expect(c).not.toHaveProperty("subnetIds");
    expect(c.configSchema).toEqual(schema);
    expect(c.protocol).toBe("input-checking");
    expect(c.budgetParameterPrefix).toBe("/custom/budgets");
  });
});

describe("packageRuntimeConfig and loadRuntimeConfig", () => {
  it("keeps a small config inline in NEUROCAAS_CONFIG", () => {
    const config = runtimeConfigFromBlueprint(parseBlueprint(rawBlueprint()), UTILS);
    const p = packageRuntimeConfig(config);
    expect(p.files).toEqual({});
    // An analysis in its own-named bucket ships without analysisName (read back as the bucket's).
    const { analysisName: _, ...shipped } = config;
    expect(JSON.parse(p.variables.NEUROCAAS_CONFIG)).toEqual(shipped);
    expect(loadRuntimeConfig(p.variables)).toEqual(config);
  });

  it("moves a 300-affiliate config into the archive and keeps a valid summary inline", () => {
    const config = runtimeConfigFromBlueprint(
      parseBlueprint(rawBlueprint({ STAGE: "websubstack", UXData: { Affiliates: manyAffiliates(300) } })),
      UTILS,
    );
    expect(JSON.stringify(config).length).toBeGreaterThan(LAMBDA_ENV_LIMIT_BYTES);
    const p = packageRuntimeConfig(config);
    const size = Object.entries(p.variables).reduce((n, [k, v]) => n + k.length + v.length, 0);
    expect(size).toBeLessThanOrEqual(LAMBDA_ENV_LIMIT_BYTES);
    const summary = JSON.parse(p.variables.NEUROCAAS_CONFIG);
    expect(summary.bucketName).toBe("test-analysis");
    expect(summary.affiliates.map((a: { AffiliateName: string }) => a.AffiliateName)).toEqual([
      "affiliate-group-number-7",
      "affiliate-group-number-107",
      "affiliate-group-number-207",
    ]);
    expect(p.variables.NEUROCAAS_CONFIG_PATH).toBe(RUNTIME_CONFIG_FILE);

    const root = fs.mkdtempSync(path.join(os.tmpdir(), "task-root-"));
    fs.writeFileSync(path.join(root, RUNTIME_CONFIG_FILE), p.files[RUNTIME_CONFIG_FILE]);
    const loaded = loadRuntimeConfig({ ...p.variables, LAMBDA_TASK_ROOT: root });
    expect(loaded.affiliates).toHaveLength(300);
    expect(loaded).toEqual(config);
  });

  it("fails clearly when even the summary cannot fit", () => {
    const config = runtimeConfigFromBlueprint(
      parseBlueprint(withPaths({ "Lambda.LambdaConfig.COMMAND": "x".repeat(5000) })),
      UTILS,
    );
    expect(() => packageRuntimeConfig(config)).toThrow(/test-analysis does not fit Lambda's 4096-byte environment/);
  });

  it("rejects a missing or malformed config naming its source", () => {
    expect(() => loadRuntimeConfig({})).toThrow(/NEUROCAAS_CONFIG/);
    expect(() => loadRuntimeConfig({ NEUROCAAS_CONFIG: "{oops" })).toThrow(
      /environment variable NEUROCAAS_CONFIG is not valid JSON/,
    );
    expect(() => loadRuntimeConfig({ NEUROCAAS_CONFIG: "[]" })).toThrow(/bucketName/);
  });
});
