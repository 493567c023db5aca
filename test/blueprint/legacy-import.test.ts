import { convertLegacyBlueprint, summarize } from "../../cli/blueprint/legacy-import";
import { blueprintNameProblem } from "../../cli/blueprint/name";
import { validateBlueprint } from "../../model/blueprint/parse";

function legacy(
  overrides: Record<string, unknown> = {},
  lambdaConfig: Record<string, unknown> = {},
  lambda: Record<string, unknown> = {},
) {
  return {
    PipelineName: "my-analysis",
    REGION: "us-east-1",
    STAGE: "websubstack",
    Lambda: {
      CodeUri: "../../protocols",
      Handler: "submit_start.handler_develop",
      Launch: true,
      ...lambda,
      LambdaConfig: {
        AMI: "ami-0123456789abcdef0",
        INSTANCE_TYPE: "p3.2xlarge",
        REGION: "us-east-1",
        IAM_ROLE: "SSMRole",
        KEY_NAME: "key",
        COMMAND: 'run.sh "{}" "{}" "{}" "{}"',
        ...lambdaConfig,
      },
    },
    UXData: {
      Affiliates: [
        { AffiliateName: "lab", UserNames: ["u1"], UserInput: true, ContactEmail: "lab@example.org", PipelineDir: "x" },
      ],
    },
    ...overrides,
  };
}

describe("convertLegacyBlueprint", () => {
  it("maps handlers, stages and numeric strings, drops legacy keys with notes, and validates", () => {
    const out = convertLegacyBlueprint(
      legacy(
        { STAGE: "develop" },
        { MAXCOST: "250", EXECUTION_TIMEOUT: "300", MONITOR: false, DEPLOY_LIMIT: 0 },
        { Handler: "submit_start.handler_ensemble" },
      ),
    );
    expect(out.kind).toBe("converted");
    expect(out.blueprint).toEqual({
      PipelineName: "my-analysis",
      REGION: "us-east-1",
      STAGE: "webdev",
      Lambda: {
        Protocol: "ensemble",
        LambdaConfig: {
          AMI: "ami-0123456789abcdef0",
          INSTANCE_TYPE: "p3.2xlarge",
          COMMAND: 'run.sh "{}" "{}" "{}" "{}"',
          MAXCOST: 250,
          EXECUTION_TIMEOUT: 300,
          MONITOR: false,
          DEPLOY_LIMIT: 0,
        },
      },
      UXData: {
        Affiliates: [{ AffiliateName: "lab", UserNames: ["u1"], UserInput: true, ContactEmail: "lab@example.org" }],
      },
    });
    const texts = out.notes.map((n) => n.text);
    expect(texts).toContain('STAGE "develop" → webdev');
    expect(texts).toContain('Lambda.Handler "submit_start.handler_ensemble" → Protocol ensemble');
    expect(texts).toContain('Lambda.LambdaConfig.MAXCOST "250" → 250');
    expect(texts.find((t) => t.startsWith("legacy keys dropped"))).toContain(
      "Lambda.LambdaConfig.REGION, Lambda.LambdaConfig.IAM_ROLE, Lambda.LambdaConfig.KEY_NAME, Lambda.CodeUri, Lambda.Launch, UXData.Affiliates[].{PipelinePath,PipelineDir} (1x)",
    );
    // Explicit false and 0 survive normalization (no truthiness defaults).
    const parsed = validateBlueprint(out.blueprint);
    expect(parsed.ok && parsed.blueprint.Lambda.LambdaConfig.MONITOR).toBe(false);
    expect(parsed.ok && parsed.blueprint.Lambda.LambdaConfig.DEPLOY_LIMIT).toBe(0);
  });

  it("gives a stage-less blueprint webdev and drops prose ContactEmail and post handlers with a note", () => {
    const raw = legacy(
      {},
      {},
      { PostHandler: "postprocess.epipostprocess", PostCodeUri: "../../protocols", PostTrigger: "x.json" },
    ) as Record<string, unknown>;
    delete raw.STAGE;
    (raw.UXData as { Affiliates: Record<string, unknown>[] }).Affiliates[0].ContactEmail =
      "The email we should notify regarding processing status.";
    const out = convertLegacyBlueprint(raw);
    expect(out.kind).toBe("converted");
    expect(out.blueprint?.STAGE).toBe("webdev");
    expect((out.blueprint?.UXData as { Affiliates: object[] }).Affiliates[0]).not.toHaveProperty("ContactEmail");
    expect(summarize(out)).toBe(
      "no STAGE→webdev; submit_start.handler_develop→default; PostHandler postprocess.epipostprocess not carried (add PostProcessing); " +
        "1 non-e-mail ContactEmail dropped; 9 legacy keys dropped",
    );
    expect(out.notes.map((n) => n.text).join("\n")).toContain('PostTrigger (was "x.json")');
  });

  it("rejects templates naming every placeholder key", () => {
    const out = convertLegacyBlueprint(
      legacy({ PipelineName: "bucket name here" }, { AMI: "instance id", INSTANCE_TYPE: "", MAXCOST: "maximum cost" }),
    );
    expect(out.kind).toBe("template");
    expect(summarize(out)).toBe(
      "template with placeholder values: PipelineName, Lambda.LambdaConfig.AMI, Lambda.LambdaConfig.INSTANCE_TYPE, Lambda.LambdaConfig.MAXCOST",
    );
    expect(out.problems[0]).toBe('PipelineName = "bucket name here" is a placeholder');
  });

  it("rejects what needs a protocol this project does not carry", () => {
    const eight = convertLegacyBlueprint(legacy({}, { COMMAND: "run.sh {} {} {} {} {} {} {} {}" }));
    expect(eight.kind).toBe("protocol");
    expect(eight.problems).toEqual([
      'Lambda.LambdaConfig.COMMAND has 8 "{}" placeholders: the protocols here fill at most 4 (bucket, dataset key, result folder, config key)',
    ]);
    const handler = convertLegacyBlueprint(legacy({}, {}, { Handler: "submit_start.handler_multisession" }));
    expect(handler.kind).toBe("protocol");
    expect(handler.problems[0]).toMatch(/^Lambda\.Handler = "submit_start\.handler_multisession": no protocol/);
    const post = convertLegacyBlueprint(legacy({}, {}, { PostHandler: "custom.step" }));
    expect(post.kind).toBe("protocol");
  });

  it("reports other invalid values with their key paths", () => {
    const out = convertLegacyBlueprint(legacy({}, { SSM_TIMEOUT: 999999 }));
    expect(out.kind).toBe("invalid");
    expect(out.problems).toEqual([
      "Lambda.LambdaConfig.SSM_TIMEOUT = 999999 (expected an integer number of seconds, 30..172800 (SSM limit))",
    ]);
    expect(convertLegacyBlueprint([1]).kind).toBe("invalid");
  });
});

describe("blueprint names", () => {
  it("allows lowercase letters, digits and -, 3-63 chars", () => {
    expect(blueprintNameProblem("pca-v2")).toBeUndefined();
    expect(blueprintNameProblem("ab")).toMatch(/has 2 characters/);
    expect(blueprintNameProblem("a".repeat(64))).toMatch(/has 64 characters/);
    expect(blueprintNameProblem("My_Analysis")).toBe(
      '"My_Analysis" contains "M" "_" "A"; use lowercase letters, digits and "-" only',
    );
    expect(blueprintNameProblem("-pca")).toMatch(/must start and end with a letter or digit/);
  });
});
