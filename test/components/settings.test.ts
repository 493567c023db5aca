import {
  stackSettingsFromConfig,
  StackConfigError,
  DEFAULTS,
  defaultNamePrefix,
  qualifiedStackName,
  validSchedule,
} from "../../components/settings";
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
    const s = settingsOf({
      "aws:region": "us-east-1",
      "neurocaas:utilsStack": "org/neurocaas/utils",
      "neurocaas:blueprint": rawBlueprint(),
    });
    expect(s.deployUtils).toBe(false);
    expect(s.utilsStack).toBe("org/neurocaas/utils");
    expect(s.forceDestroy).toBe(false);
    expect(s.logRetentionDays).toBe(DEFAULTS.logRetentionDays);
    expect(s.corsOrigins).toBeUndefined();
    expect(s.guard).toEqual({
      enabled: false,
      schedule: "rate(15 minutes)",
      exemptInstancesParameter: "exempt_instances",
    });
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
      "neurocaas:userProfiles": [
        { UserName: "alice", Groups: [{ Analysis: "test-analysis", Affiliate: "labone" }], AccessKey: false },
      ],
    });
    expect(s.userProfiles).toEqual([
      {
        UserName: "alice",
        Groups: [{ Analysis: "test-analysis", Affiliate: "labone" }],
        Console: true,
        AccessKey: false,
      },
    ]);
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
    ]);
  });

  it("requires the SSH CIDR when deploying utils, and rejects malformed CIDRs", () => {
    expect(issuePaths({ "aws:region": "us-east-1", "neurocaas:deployUtils": true })).toEqual(["neurocaas:sshCidr"]);
    expect(
      issuePaths({ "aws:region": "us-east-1", "neurocaas:deployUtils": true, "neurocaas:sshCidr": "0.0.0.300/8" }),
    ).toEqual(["neurocaas:sshCidr"]);
  });

  it("rejects a blueprint REGION that differs from aws:region", () => {
    expect(
      issuePaths({ "aws:region": "eu-west-1", "neurocaas:utilsStack": "utils", "neurocaas:blueprint": rawBlueprint() }),
    ).toEqual(["neurocaas:blueprint.REGION"]);
  });

  it("formats the error message with every issue", () => {
    expect(() => settingsOf({ "neurocaas:deployUtils": true, "aws:region": "us-east-1" })).toThrow(
      /Invalid stack config[\s\S]*neurocaas:sshCidr: got \(missing\)/,
    );
  });
});

describe("stack identity: names and the utils reference", () => {
  const utils = { "aws:region": "us-east-1", "neurocaas:deployUtils": true, "neurocaas:sshCidr": "203.0.113.0/24" };
  const self = (stack: string, organization = "organization") => ({ organization, project: "neurocaas", stack });

  it("derives an account-level name prefix and key pair from the stack, so dev and utils differ", () => {
    const dev = stackSettingsFromConfig((k) => (utils as Record<string, unknown>)[k], self("dev"));
    const shared = stackSettingsFromConfig((k) => (utils as Record<string, unknown>)[k], self("utils"));
    expect([dev.namePrefix, dev.utils.keyName]).toEqual(["neurocaas-dev", "neurocaas-dev-key"]);
    expect([shared.namePrefix, shared.utils.keyName]).toEqual(["neurocaas-utils", "neurocaas-utils-key"]);
    expect(defaultNamePrefix("My_Lab.Stack")).toBe("neurocaas-my-lab-stack");
  });

  it("takes neurocaas:namePrefix and rejects one that cannot start a resource name", () => {
    const s = stackSettingsFromConfig(
      (k) => (({ ...utils, "neurocaas:namePrefix": "lab-a" }) as Record<string, unknown>)[k],
      self("dev"),
    );
    expect([s.namePrefix, s.utils.keyName]).toEqual(["lab-a", "lab-a-key"]);
    expect(issuePaths({ ...utils, "neurocaas:namePrefix": "Lab_A" })).toEqual(["neurocaas:namePrefix"]);
  });

  it("qualifies the utils stack with the analysis stack's own organization and project (both backends)", () => {
    const analysis = (ref?: string) => ({
      "aws:region": "us-east-1",
      "neurocaas:blueprint": rawBlueprint(),
      ...(ref ? { "neurocaas:utilsStack": ref } : {}),
    });
    expect(stackSettingsFromConfig((k) => (analysis() as Record<string, unknown>)[k], self("x")).utilsStack).toBe(
      "organization/neurocaas/utils",
    );
    expect(
      stackSettingsFromConfig((k) => (analysis("shared") as Record<string, unknown>)[k], self("x", "acme")).utilsStack,
    ).toBe("acme/neurocaas/shared");
    expect(
      stackSettingsFromConfig(
        (k) => (analysis("acme/neurocaas/utils") as Record<string, unknown>)[k],
        self("x", "other"),
      ).utilsStack,
    ).toBe("acme/neurocaas/utils");
    expect(issuePaths(analysis("neurocaas/utils"))).toEqual(["neurocaas:utilsStack"]);
    expect(qualifiedStackName("utils", self("x", "acme"))).toBe("acme/neurocaas/utils");
  });
});

describe("network and schedule settings AWS would reject", () => {
  const utils = { "aws:region": "us-east-1", "neurocaas:deployUtils": true, "neurocaas:sshCidr": "203.0.113.0/24" };

  it("requires vpcId and subnetIds together (accounts without a default VPC)", () => {
    expect(issuePaths({ ...utils, "neurocaas:vpcId": "vpc-0123abcd" })).toEqual(["neurocaas:subnetIds"]);
    expect(issuePaths({ ...utils, "neurocaas:subnetIds": ["subnet-0123abcd"] })).toEqual(["neurocaas:vpcId"]);
    const both = settingsOf({
      ...utils,
      "neurocaas:vpcId": "vpc-0123abcd",
      "neurocaas:subnetIds": ["subnet-0123abcd"],
    });
    expect([both.utils.vpcId, both.utils.subnetIds]).toEqual(["vpc-0123abcd", ["subnet-0123abcd"]]);
  });

  it.each([
    "rate(1 minutes)",
    "rate(5 minute)",
    "rate(0 minutes)",
    "rate(15 mins)",
    "cron(0 12 * * *)",
    "cron(0 12 * * MON *)",
    "every 15 minutes",
  ])("rejects the guard schedule %s, which EventBridge rejects", (schedule) => {
    expect(issuePaths({ ...utils, "neurocaas:guardSchedule": schedule })).toEqual(["neurocaas:guardSchedule"]);
  });

  it.each([
    "rate(1 minute)",
    "rate(15 minutes)",
    "rate(2 hours)",
    "rate(1 day)",
    "cron(0/15 * * * ? *)",
    "cron(0 12 ? * MON-FRI *)",
  ])("accepts %s", (schedule) => {
    expect(settingsOf({ ...utils, "neurocaas:guardSchedule": schedule }).guard.schedule).toBe(schedule);
    expect(validSchedule(schedule)).toBe(true);
  });
});
