import { promises as fsp } from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

export interface TestAnalysisArgs {
  readonly name: string;
  readonly command: string;
  readonly workingDirectory?: string;
  readonly group?: string;
  readonly maxCost?: number;
  /** Post-processing step (SPEC 4.8). */
  readonly postProcessing?: {
    readonly StepName: string;
    readonly TargetBucket?: string;
    readonly PostTrigger?: string;
  };
  /** Affiliates (default: group `group` ?? "lab" with user alice). */
  readonly affiliates?: readonly {
    readonly AffiliateName: string;
    readonly UserNames: readonly string[];
    readonly UserInput?: boolean;
  }[];
  /** `neurocaas:bypassBuckets` (e.g. the analysis whose results a post-processing step reads). */
  readonly bypassBuckets?: readonly string[];
  /** `neurocaas:bucketName`: the bucket, when it is not named after the analysis (`name`). */
  readonly bucketName?: string;
  /** Blueprint protocol (default "default"). */
  readonly protocol?: "default" | "ensemble" | "input-checking";
  /** Extra `Lambda.LambdaConfig` keys (e.g. ALLOWED_INSTANCE_TYPES). */
  readonly lambdaConfig?: Readonly<Record<string, unknown>>;
  /** Extra `Lambda` keys (e.g. ConfigSchema). */
  readonly lambda?: Readonly<Record<string, unknown>>;
}

/** Write a one-analysis stack file (`neurocaas:blueprint`) for local mode and return its path. */
export async function writeStackFile(dir: string, args: TestAnalysisArgs): Promise<string> {
  const blueprint = {
    PipelineName: args.name,
    REGION: "us-east-1",
    STAGE: "webdev",
    Lambda: {
      Protocol: args.protocol ?? "default",
      LambdaConfig: {
        AMI: "ami-0123456789abcdef0",
        INSTANCE_TYPE: "t3.micro",
        COMMAND: args.command,
        WORKING_DIRECTORY: args.workingDirectory ?? "~/neurocaas",
        ...(args.maxCost !== undefined ? { MAXCOST: args.maxCost } : {}),
        ...args.lambdaConfig,
      },
      ...(args.postProcessing ? { PostProcessing: args.postProcessing } : {}),
      ...args.lambda,
    },
    UXData: {
      Affiliates: args.affiliates
        ? args.affiliates.map((a) => ({ UserInput: true, ...a }))
        : [{ AffiliateName: args.group ?? "lab", UserNames: ["alice"], UserInput: true }],
    },
  };
  const file = path.join(dir, `${args.name}.yaml`);
  await fsp.writeFile(
    file,
    YAML.stringify({
      config: {
        "neurocaas:blueprint": blueprint,
        ...(args.bypassBuckets ? { "neurocaas:bypassBuckets": [...args.bypassBuckets] } : {}),
        ...(args.bucketName ? { "neurocaas:bucketName": args.bucketName } : {}),
      },
    }),
  );
  return file;
}
