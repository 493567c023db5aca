import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BlueprintError, loadStackFile, parseBlueprint, validateBlueprint } from "../../model/blueprint/parse";
import {
  LAMBDA_CONFIG_DEFAULTS,
  type Affiliate,
  type Blueprint,
  type LambdaConfig,
  type LambdaSettings,
  type PostProcessing,
} from "../../model/blueprint/types";
import { BLUEPRINT_SCHEMA } from "../../model/blueprint/schema";
import { LEGACY_BLUEPRINTS, REPO, rawBlueprint, withPaths } from "./fixtures";

function issuesOf(raw: unknown) {
  const r = validateBlueprint(raw);
  if (r.ok) throw new Error("expected the blueprint to be invalid");
  return r.issues;
}

describe("parseBlueprint: normalization", () => {
  it("applies every default by key presence when keys are absent", () => {
    const bp = parseBlueprint(rawBlueprint());
    const cfg = bp.Lambda.LambdaConfig;
    for (const [k, v] of Object.entries(LAMBDA_CONFIG_DEFAULTS)) expect(cfg[k as keyof typeof cfg]).toEqual(v);
    expect(bp.Lambda.Protocol).toBe("default");
  });

  it("keeps explicit false and 0 (no truthiness defaults)", () => {
    const bp = parseBlueprint(
      withPaths({
        "Lambda.LambdaConfig.LAUNCH": false,
        "Lambda.LambdaConfig.MONITOR": false,
        "Lambda.LambdaConfig.DEPLOY_LIMIT": 0,
        "Lambda.LambdaConfig.MAXCOST": 0,
        "Lambda.LambdaConfig.ALLOW_SPOT": false,
        "Lambda.LambdaConfig.ALLOWED_INSTANCE_TYPES": [],
      }),
    );
    const cfg = bp.Lambda.LambdaConfig;
    expect([cfg.LAUNCH, cfg.MONITOR, cfg.DEPLOY_LIMIT, cfg.MAXCOST, cfg.ALLOW_SPOT]).toEqual([
      false,
      false,
      0,
      0,
      false,
    ]);
    // The queue keys: defaults, and an explicit 0 (no queue) kept.
    expect([cfg.MAX_QUEUE_LENGTH, cfg.MAX_QUEUE_WAIT]).toEqual([100, 1440]);
    // MAX_ATTEMPTS: by default a failed analysis is never run again; a numeric string is accepted.
    expect(cfg.MAX_ATTEMPTS).toBe(1);
    expect(
      parseBlueprint(withPaths({ "Lambda.LambdaConfig.MAX_ATTEMPTS": "3" })).Lambda.LambdaConfig.MAX_ATTEMPTS,
    ).toBe(3);
    expect(
      parseBlueprint(withPaths({ "Lambda.LambdaConfig.MAX_QUEUE_LENGTH": 0 })).Lambda.LambdaConfig.MAX_QUEUE_LENGTH,
    ).toBe(0);
    expect(bp.UXData.Affiliates[1].UserInput).toBe(false);
  });

  it("converts numeric strings and maps develop to webdev", () => {
    const bp = parseBlueprint(
      withPaths({
        STAGE: "develop",
        "Lambda.LambdaConfig.MAXCOST": "300",
        "Lambda.LambdaConfig.DEPLOY_LIMIT": "20",
        "Lambda.LambdaConfig.EXECUTION_TIMEOUT": "180",
      }),
    );
    expect(bp.STAGE).toBe("webdev");
    expect(bp.Lambda.LambdaConfig.MAXCOST).toBe(300);
    expect(bp.Lambda.LambdaConfig.DEPLOY_LIMIT).toBe(20);
    expect(bp.Lambda.LambdaConfig.EXECUTION_TIMEOUT).toBe(180);
  });

  it("maps legacy handlers to protocols and drops legacy keys from the result", () => {
    const legacy = withPaths({
      "Lambda.Protocol": undefined,
      "Lambda.Handler": "submit_start.handler_ensemble",
      "Lambda.CodeUri": "../../protocols",
      "Lambda.LambdaConfig.IAM_ROLE": "SSMRole",
      "Lambda.LambdaConfig.LOGFILE": "lambda_log.txt",
    });
    const bp = parseBlueprint(legacy);
    expect(bp.Lambda.Protocol).toBe("ensemble");
    expect(bp.Lambda).not.toHaveProperty("Handler");
    expect(bp.Lambda.LambdaConfig).not.toHaveProperty("IAM_ROLE");
    expect(bp.Lambda.LambdaConfig).not.toHaveProperty("LOGFILE");
  });

  it("applies the PostTrigger default and accepts an input-checking schema", () => {
    const bp = parseBlueprint(
      withPaths({
        "Lambda.Protocol": "input-checking",
        "Lambda.ConfigSchema": {
          type: "object",
          required: ["n_components"],
          properties: { n_components: { type: "integer", minimum: 1 } },
        },
        "Lambda.PostProcessing": { StepName: "prediction" },
      }),
    );
    expect(bp.Lambda.PostProcessing).toEqual({ StepName: "prediction", PostTrigger: "end.txt" });
    expect(bp.Lambda.ConfigSchema).toHaveProperty("required", ["n_components"]);
  });

  it("accepts the JSON text Pulumi config delivers and does not modify its input", () => {
    const raw = rawBlueprint();
    const before = JSON.stringify(raw);
    expect(parseBlueprint(JSON.stringify(raw)).PipelineName).toBe("test-analysis");
    parseBlueprint(raw);
    expect(JSON.stringify(raw)).toBe(before);
  });
});

describe("parseBlueprint: invalid blueprints name the key", () => {
  const cases: [string, Record<string, unknown> | unknown, string][] = [
    ["missing AMI", withPaths({ "Lambda.LambdaConfig.AMI": undefined }), "Lambda.LambdaConfig.AMI"],
    ["malformed AMI", withPaths({ "Lambda.LambdaConfig.AMI": "your ami here" }), "Lambda.LambdaConfig.AMI"],
    ["bad bucket name (uppercase)", withPaths({ PipelineName: "My_Analysis" }), "PipelineName"],
    ["bad bucket name (too short)", withPaths({ PipelineName: "ab" }), "PipelineName"],
    ["bad bucket name (trailing dash)", withPaths({ PipelineName: "analysis-" }), "PipelineName"],
    [
      "5 placeholders in COMMAND",
      withPaths({ "Lambda.LambdaConfig.COMMAND": "run {} {} {} {} {}" }),
      "Lambda.LambdaConfig.COMMAND",
    ],
    ["empty COMMAND", withPaths({ "Lambda.LambdaConfig.COMMAND": "" }), "Lambda.LambdaConfig.COMMAND"],
    ["unknown stage", withPaths({ STAGE: "production" }), "STAGE"],
    ["missing stage", withPaths({ STAGE: undefined }), "STAGE"],
    [
      "duplicate affiliate",
      withPaths({ "UXData.Affiliates.1.AffiliateName": "LabOne" }),
      "UXData.Affiliates[1].AffiliateName",
    ],
    ["non-boolean UserInput", withPaths({ "UXData.Affiliates.0.UserInput": "true" }), "UXData.Affiliates[0].UserInput"],
    [
      "negative DEPLOY_LIMIT",
      withPaths({ "Lambda.LambdaConfig.DEPLOY_LIMIT": -1 }),
      "Lambda.LambdaConfig.DEPLOY_LIMIT",
    ],
    [
      "negative MAX_QUEUE_LENGTH",
      withPaths({ "Lambda.LambdaConfig.MAX_QUEUE_LENGTH": -1 }),
      "Lambda.LambdaConfig.MAX_QUEUE_LENGTH",
    ],
    [
      "MAX_QUEUE_WAIT of 0 minutes",
      withPaths({ "Lambda.LambdaConfig.MAX_QUEUE_WAIT": 0 }),
      "Lambda.LambdaConfig.MAX_QUEUE_WAIT",
    ],
    [
      "MAX_QUEUE_WAIT in words",
      withPaths({ "Lambda.LambdaConfig.MAX_QUEUE_WAIT": "one day" }),
      "Lambda.LambdaConfig.MAX_QUEUE_WAIT",
    ],
    ["MAX_ATTEMPTS of 0", withPaths({ "Lambda.LambdaConfig.MAX_ATTEMPTS": 0 }), "Lambda.LambdaConfig.MAX_ATTEMPTS"],
    ["MAX_ATTEMPTS over 5", withPaths({ "Lambda.LambdaConfig.MAX_ATTEMPTS": 6 }), "Lambda.LambdaConfig.MAX_ATTEMPTS"],
    [
      "fractional MAX_ATTEMPTS",
      withPaths({ "Lambda.LambdaConfig.MAX_ATTEMPTS": 1.5 }),
      "Lambda.LambdaConfig.MAX_ATTEMPTS",
    ],
    [
      "non-numeric MAXCOST",
      withPaths({ "Lambda.LambdaConfig.MAXCOST": "maximum per user allowed cost" }),
      "Lambda.LambdaConfig.MAXCOST",
    ],
    ["bad instance type", withPaths({ "Lambda.LambdaConfig.INSTANCE_TYPE": "" }), "Lambda.LambdaConfig.INSTANCE_TYPE"],
    ["bad region", withPaths({ REGION: "AWS region code (example us-east-1)" }), "REGION"],
    ["unknown protocol", withPaths({ "Lambda.Protocol": "turbo" }), "Lambda.Protocol"],
    [
      "unknown legacy handler",
      withPaths({ "Lambda.Protocol": undefined, "Lambda.Handler": "submit_start.mystery" }),
      "Lambda.Handler",
    ],
    [
      "EXECUTION_TIMEOUT over Lambda's 900 s",
      withPaths({ "Lambda.LambdaConfig.EXECUTION_TIMEOUT": 1200 }),
      "Lambda.LambdaConfig.EXECUTION_TIMEOUT",
    ],
    [
      "bad SHUTDOWN_BEHAVIOR",
      withPaths({ "Lambda.LambdaConfig.SHUTDOWN_BEHAVIOR": "hibernate" }),
      "Lambda.LambdaConfig.SHUTDOWN_BEHAVIOR",
    ],
    [
      "affiliate named like the platform's logs/ folder",
      withPaths({ "UXData.Affiliates.0.AffiliateName": "logs" }),
      "UXData.Affiliates[0].AffiliateName",
    ],
    [
      "affiliate named like a group folder",
      withPaths({ "UXData.Affiliates.0.AffiliateName": "configs" }),
      "UXData.Affiliates[0].AffiliateName",
    ],
    [
      "affiliate named like a job folder",
      withPaths({ "UXData.Affiliates.0.AffiliateName": "job__x_1" }),
      "UXData.Affiliates[0].AffiliateName",
    ],
    [
      "affiliate name with a space",
      withPaths({ "UXData.Affiliates.0.AffiliateName": "Developer Group 1" }),
      "UXData.Affiliates[0].AffiliateName",
    ],
    [
      "UserNames not a list",
      withPaths({ "UXData.Affiliates.0.UserNames": "[list of strings describing user names]" }),
      "UXData.Affiliates[0].UserNames",
    ],
    ["no affiliates", withPaths({ "UXData.Affiliates": [] }), "UXData.Affiliates"],
    [
      "misspelled key",
      withPaths({ "Lambda.LambdaConfig.INSTANCETYPE": "m5.xlarge" }),
      "Lambda.LambdaConfig.INSTANCETYPE",
    ],
    ["input-checking without a schema", withPaths({ "Lambda.Protocol": "input-checking" }), "Lambda.ConfigSchema"],
    ["invalid config schema", withPaths({ "Lambda.ConfigSchema": { type: "no-such-type" } }), "Lambda.ConfigSchema"],
    [
      "PostTrigger overlapping the submit trigger",
      withPaths({ "Lambda.PostProcessing": { StepName: "x", PostTrigger: "next_submit.json" } }),
      "Lambda.PostProcessing.PostTrigger",
    ],
    [
      "PostProcessing without StepName",
      withPaths({ "Lambda.PostProcessing": { PostTrigger: "end.txt" } }),
      "Lambda.PostProcessing.StepName",
    ],
    [
      "user name too long with region",
      withPaths({ "UXData.Affiliates.0.UserNames": ["a".repeat(60)] }),
      "UXData.Affiliates[0].UserNames[0]",
    ],
    ["not an object", "[1, 2]", "(root)"],
  ];

  it.each(cases)("%s", (_label, raw, key) => {
    const issues = issuesOf(raw);
    const issue = issues.find((i) => i.path === key);
    expect(issue).toBeDefined();
    expect(issue?.expected.length).toBeGreaterThan(5);
    expect(() => parseBlueprint(raw)).toThrow(BlueprintError);
    expect(() => parseBlueprint(raw)).toThrow(key);
  });

  it("reports every problem at once, with value and expectation", () => {
    const raw = withPaths({
      PipelineName: "Bad Name",
      "Lambda.LambdaConfig.AMI": "nope",
      "Lambda.LambdaConfig.COMMAND": "{}{}{}{}{}",
      "UXData.Affiliates.0.UserInput": "yes",
      "Lambda.LambdaConfig.DEPLOY_LIMIT": -5,
    });
    let error: BlueprintError | undefined;
    try {
      parseBlueprint(raw, "stacks/x.yaml");
    } catch (e) {
      error = e as BlueprintError;
    }
    expect(error).toBeInstanceOf(BlueprintError);
    const paths = error!.issues.map((i) => i.path).sort();
    expect(paths).toEqual([
      "Lambda.LambdaConfig.AMI",
      "Lambda.LambdaConfig.COMMAND",
      "Lambda.LambdaConfig.DEPLOY_LIMIT",
      "PipelineName",
      "UXData.Affiliates[0].UserInput",
    ]);
    expect(error!.message).toContain("stacks/x.yaml");
    expect(error!.message).toContain('PipelineName: got "Bad Name"');
    expect(error!.message).toContain("Lambda.LambdaConfig.DEPLOY_LIMIT: got -5, expected a non-negative integer");
    expect(error!.issues.find((i) => i.path === "UXData.Affiliates[0].UserInput")?.value).toBe("yes");
  });
});

describe("legacy blueprints and stack files", () => {
  it("accepts the deployable legacy blueprints and rejects the templates naming their keys", () => {
    const results = fs
      .readdirSync(LEGACY_BLUEPRINTS)
      .map((f) => ({ f, r: validateBlueprint(JSON.parse(fs.readFileSync(path.join(LEGACY_BLUEPRINTS, f), "utf8"))) }));
    const ok = results.filter((x) => x.r.ok).map((x) => x.f);
    expect(ok).toEqual(
      expect.arrayContaining([
        "caiman_web_stack.json",
        "ensemble_dgp_web_stack.json",
        "cianalysispermastack.json",
        "epi_dev_stack.json",
      ]),
    );
    const template = results.find((x) => x.f === "sam_abstraction_stack.json")!.r;
    expect(template.ok).toBe(false);
    if (!template.ok) {
      expect(template.issues.map((i) => i.path)).toEqual(
        expect.arrayContaining(["PipelineName", "Lambda.LambdaConfig.AMI", "UXData.Affiliates[0].UserInput"]),
      );
    }
  });

  it("loads every stack file of the repository", () => {
    const files = ["Pulumi.dev.yaml", ...fs.readdirSync(path.join(REPO, "stacks")).map((f) => `stacks/${f}`)];
    const analyses = files.map((f) => loadStackFile(path.join(REPO, f)).blueprint?.PipelineName).filter(Boolean);
    expect(analyses).toEqual(expect.arrayContaining(["neurocaas-demo", "caiman-ncap-web", "ensemble-dgp"]));
    const dev = loadStackFile(path.join(REPO, "Pulumi.dev.yaml"));
    expect(dev.blueprint?.STAGE).toBe("webdev");
    expect(dev.blueprint?.UXData.Affiliates.map((a) => a.AffiliateName)).toEqual(["debuggers"]);
    expect(dev.config["neurocaas:deployUtils"]).toBe(true);
  });

  it("names the file when a stack file is invalid or unreadable", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bp-"));
    const bad = path.join(dir, "bad.yaml");
    fs.writeFileSync(bad, "config:\n  neurocaas:blueprint:\n    PipelineName: Bad\n");
    expect(() => loadStackFile(bad)).toThrow(/bad\.yaml[\s\S]*PipelineName/);
    expect(() => loadStackFile(path.join(dir, "missing.yaml"))).toThrow(/missing\.yaml/);
    fs.writeFileSync(path.join(dir, "broken.yaml"), "config: [unclosed");
    expect(() => loadStackFile(path.join(dir, "broken.yaml"))).toThrow(/broken\.yaml/);
    fs.writeFileSync(path.join(dir, "utils.yaml"), "config:\n  neurocaas:deployUtils: true\n");
    expect(loadStackFile(path.join(dir, "utils.yaml"))).toEqual({ config: { "neurocaas:deployUtils": true } });
  });
});

describe("schema and TypeScript types stay in sync", () => {
  type Node = { properties: Record<string, Node & { expected?: string }>; required?: string[] };
  const typed = (node: Node) =>
    Object.keys(node.properties)
      .filter((k) => !/^legacy key/.test(node.properties[k].expected ?? ""))
      .sort();
  const root = BLUEPRINT_SCHEMA as unknown as Node;
  const lambda = root.properties.Lambda;

  it("has exactly the keys of the types (legacy keys aside)", () => {
    const cfg: Required<LambdaConfig> = parseBlueprint(rawBlueprint()).Lambda.LambdaConfig as Required<LambdaConfig>;
    const keysOf = <T extends object>(o: Record<keyof T, unknown>) => Object.keys(o).sort();
    expect(typed(root)).toEqual(keysOf<Blueprint>({ PipelineName: 0, REGION: 0, STAGE: 0, Lambda: 0, UXData: 0 }));
    expect(typed(lambda)).toEqual(
      keysOf<Required<LambdaSettings>>({ Protocol: 0, LambdaConfig: 0, PostProcessing: 0, ConfigSchema: 0 }),
    );
    expect(typed(lambda.properties.LambdaConfig)).toEqual(Object.keys(cfg).sort());
    expect(typed(lambda.properties.PostProcessing)).toEqual(
      keysOf<Required<PostProcessing>>({ PostTrigger: 0, StepName: 0, TargetBucket: 0 }),
    );
    const affiliate = (root.properties.UXData.properties.Affiliates as unknown as { items: Node }).items;
    expect(typed(affiliate)).toEqual(
      keysOf<Required<Affiliate>>({ AffiliateName: 0, UserNames: 0, UserInput: 0, ContactEmail: 0 }),
    );
  });

  it("has a default for every optional LambdaConfig key and none for the required ones", () => {
    const cfgNode = lambda.properties.LambdaConfig;
    const optional = typed(cfgNode).filter((k) => !(cfgNode.required ?? []).includes(k));
    expect(optional).toEqual(Object.keys(LAMBDA_CONFIG_DEFAULTS).sort());
  });
});
