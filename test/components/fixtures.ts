import * as path from "node:path";

/** Real data of the original deployment (read-only), beside the repository as `shared/`. */
export const FIXTURES = path.resolve(__dirname, "../../../shared/fixtures");
export const LEGACY_BLUEPRINTS = path.join(FIXTURES, "legacy-blueprints");
export const REPO = path.resolve(__dirname, "../..");

/** A minimal valid blueprint in stack-config form; override parts per test. */
export function rawBlueprint(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    PipelineName: "test-analysis",
    REGION: "us-east-1",
    STAGE: "webdev",
    Lambda: {
      Protocol: "default",
      LambdaConfig: {
        AMI: "ami-0123456789abcdef0",
        INSTANCE_TYPE: "m5.xlarge",
        COMMAND: 'run.sh "{}" "{}" "{}" "{}"',
      },
    },
    UXData: {
      Affiliates: [
        { AffiliateName: "labone", UserNames: ["alice", "bob"], UserInput: true },
        { AffiliateName: "labtwo", UserNames: ["carol"], UserInput: false },
      ],
    },
    ...overrides,
  };
}

/** `rawBlueprint` with fields set at dot paths (`Lambda.LambdaConfig.AMI`); `undefined` deletes. */
export function withPaths(
  changes: Record<string, unknown>,
  base: Record<string, unknown> = rawBlueprint(),
): Record<string, unknown> {
  const bp = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  for (const [p, value] of Object.entries(changes)) {
    const parts = p.split(".");
    let cur = bp as Record<string, unknown>;
    for (const k of parts.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
    const last = parts[parts.length - 1];
    if (value === undefined) delete cur[last];
    else cur[last] = value;
  }
  return bp;
}
