import { stackSettingsFromConfig, StackConfigError, DEFAULTS } from "../../components/settings";
import { rawBlueprint } from "./fixtures";

function settingsOf(config: Record<string, unknown>) {
  return stackSettingsFromConfig((k) => config[k]);
}

function issuePaths(config: Record<string, unknown>): string[] {
  try {
    settingsOf(config);
  } catch (e) {
    expect(e).toBeInstanceOf(StackConfigError);
    return (e as StackConfigError).issues.map((i) => i.path);
  }
  throw new Error("expected a StackConfigError");
}

describe("stackSettingsFromConfig", () => {
  it("applies documented defaults for an analysis stack", () => {
    const s = settingsOf({ "aws:region": "us-east-1", "neurocaas:utilsStack": "org/neurocaas/utils", "neurocaas:blueprint": rawBlueprint() });
    expect(s.deployUtils).toBe(false);
    expect(s.utilsStack).toBe("org/neurocaas/utils");
    expect(s.forceDestroy).toBe(false);
    expect(s.logRetentionDays).toBe(DEFAULTS.logRetentionDays);
    expect(s.corsOrigins).toBeUndefined();
    expect(s.guard).toEqual({ enabled: false, schedule: "rate(15 minutes)", exemptInstancesParameter: "exempt_instances" });
    expect(s.budgetParameterPrefix).toBe("/neurocaas/budgets");
    expect(s.blueprint?.PipelineName).toBe("test-analysis");
    expect(s.region).toBe("us-east-1");
  });

  it("reads Pulumi's string forms of booleans, numbers and JSON blueprints", () => {
    const s = settingsOf({
      "neurocaas:deployUtils": "true",
      "neurocaas:sshCidr": "198.51.100.7/32",
      "neurocaas:forceDestroy": "false",
      "neurocaas:logRetentionDays": "90",
      "neurocaas:blueprint": JSON.stringify(rawBlueprint()),
    });
    expect(s.deployUtils).toBe(true);
    expect(s.guard.enabled).toBe(true);
    expect(s.forceDestroy).toBe(false);
    expect(s.logRetentionDays).toBe(90);
    expect(s.utils.sshCidr).toBe("198.51.100.7/32");
  });

  it("reads user profiles with their defaults", () => {
    const s = settingsOf({
      "aws:region": "us-east-1",
      "neurocaas:userProfiles": [{ UserName: "alice", Groups: [{ Analysis: "test-analysis", Affiliate: "labone" }], AccessKey: false }],
    });
    expect(s.userProfiles).toEqual([{ UserName: "alice", Groups: [{ Analysis: "test-analysis", Affiliate: "labone" }], Console: true, AccessKey: false }]);
  });

  it("lists every bad key at once, blueprint keys fully qualified", () => {
    const paths = issuePaths({
      "aws:region": "eu-west-1",
      "neurocaas:deployUtils": "maybe",
      "neurocaas:logRetentionDays": 10,
      "neurocaas:corsOrigins": ["neurocaas.org"],
      "neurocaas:guardSchedule": "every hour",
      "neurocaas:blueprint": { ...rawBlueprint(), PipelineName: "Bad" },
      "neurocaas:userProfiles": [{ UserName: "bad name", Groups: "none" }],
    });
    expect(paths.sort()).toEqual([
      "neurocaas:blueprint.PipelineName",
      "neurocaas:corsOrigins",
      "neurocaas:deployUtils",
      "neurocaas:guardSchedule",
      "neurocaas:logRetentionDays",
      "neurocaas:userProfiles[0].Groups",
      "neurocaas:userProfiles[0].UserName",
      "neurocaas:utilsStack",
    ]);
  });

  it("requires the SSH CIDR when deploying utils, and rejects malformed CIDRs", () => {
    expect(issuePaths({ "aws:region": "us-east-1", "neurocaas:deployUtils": true })).toEqual(["neurocaas:sshCidr"]);
    expect(issuePaths({ "aws:region": "us-east-1", "neurocaas:deployUtils": true, "neurocaas:sshCidr": "0.0.0.300/8" })).toEqual(["neurocaas:sshCidr"]);
  });

  it("rejects a blueprint REGION that differs from aws:region", () => {
    expect(issuePaths({ "aws:region": "eu-west-1", "neurocaas:utilsStack": "utils", "neurocaas:blueprint": rawBlueprint() })).toEqual(["neurocaas:blueprint.REGION"]);
  });

  it("formats the error message with every issue", () => {
    expect(() => settingsOf({ "neurocaas:deployUtils": true, "aws:region": "us-east-1" })).toThrow(/Invalid stack config[\s\S]*neurocaas:sshCidr: got \(missing\)/);
  });
});
