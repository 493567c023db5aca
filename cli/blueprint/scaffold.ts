import * as path from "node:path";
import { assertBlueprintName } from "./name";
import { DEFAULT_UTILS_STACK, renderStackYaml } from "./stack-yaml";

/** The affiliate a new blueprint starts with: the developers' own test group. */
const DEFAULT_AFFILIATE = "debuggers";
const DEFAULT_INSTANCE_TYPE = "m5.xlarge";
const DEFAULT_REGION = "us-east-1";

export interface ScaffoldArgs {
  readonly name: string;
  /** Machine image id (aliases are resolved before scaffolding). */
  readonly ami: string;
  readonly instanceType?: string;
  readonly region?: string;
  /** IAM user names (without region suffix) of the `debuggers` affiliate. */
  readonly users?: readonly string[];
  readonly command?: string;
  readonly utilsStack?: string;
}

/** The COMMAND convention: run-main with bucket, dataset, result folder, config and the analysis script. */
function defaultCommand(name: string): string {
  return `neurocaas workflow run-main "{}" "{}" "{}" "{}" "/home/ubuntu/${name}/run_analysis.sh"`;
}

function scaffoldBlueprint(args: ScaffoldArgs): Record<string, unknown> {
  const name = assertBlueprintName(args.name);
  return {
    PipelineName: name,
    REGION: args.region ?? DEFAULT_REGION,
    STAGE: "webdev",
    Lambda: {
      Protocol: "default",
      LambdaConfig: {
        AMI: args.ami,
        INSTANCE_TYPE: args.instanceType ?? DEFAULT_INSTANCE_TYPE,
        COMMAND: args.command ?? defaultCommand(name),
        SSM_TIMEOUT: 172000,
        MAXCOST: 300,
      },
    },
    UXData: {
      Affiliates: [{ AffiliateName: DEFAULT_AFFILIATE, UserNames: [...(args.users ?? [])], UserInput: true }],
    },
  };
}

export interface ScaffoldFile {
  readonly path: string;
  readonly text: string;
}

/** Paths of a scaffolded analysis under `dir`: the stack file and its example folder. */
function scaffoldPaths(dir: string, name: string): { stack: string; examples: string } {
  return { stack: path.join(dir, `${name}.yaml`), examples: path.join(dir, `${name}.examples`) };
}

export function exampleSubmit(): Record<string, string> {
  return {
    dataname: `${DEFAULT_AFFILIATE}/inputs/dataset.zip`,
    configname: `${DEFAULT_AFFILIATE}/configs/config.yaml`,
    timestamp: "debug-001",
  };
}

function exampleConfig(): string {
  return [
    "# Analysis parameters: whatever your analysis script reads (e.g. with",
    '# `neurocaas scripting read-yaml -p "$NEUROCAAS_CONFIG_FILE" -f threshold -d 0.5`).',
    "threshold: 0.5",
    "",
    "# NeuroCAAS parameters",
    "# __duration__: maximum expected run time in minutes (default 60). Setting it makes the job",
    '# eligible for a cheaper spot ("NeuroCAAS Save") run that stops when the time is up.',
    "__duration__: 60",
    "# __dataset_size__: GB added to the machine image's root volume for large datasets (default 0).",
    "__dataset_size__: 0",
    "",
  ].join("\n");
}

/** Every file `blueprint new` writes. */
export function scaffoldFiles(dir: string, args: ScaffoldArgs): ScaffoldFile[] {
  const blueprint = scaffoldBlueprint(args);
  const p = scaffoldPaths(dir, args.name);
  const stack = renderStackYaml({
    header: [
      `NeuroCAAS analysis blueprint "${args.name}" (SPEC §6), created by "neurocaas blueprint new".`,
      `Check it with: neurocaas blueprint validate ${p.stack}`,
      "Develop the machine image with `neurocaas remote ...`, then `remote update-blueprint` sets AMI.",
      `Example submit and config files: ${p.examples}/`,
    ],
    blueprint,
    utilsStack: args.utilsStack ?? DEFAULT_UTILS_STACK,
  });
  return [
    { path: p.stack, text: stack },
    { path: path.join(p.examples, "submit.json"), text: `${JSON.stringify(exampleSubmit(), null, 2)}\n` },
    { path: path.join(p.examples, "config.yaml"), text: exampleConfig() },
  ];
}
