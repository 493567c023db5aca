import { recordRegistrations, addresses, urnOf, type Registration } from "./registrations";
import { FAKE_UTILS } from "./mocks";
import { withPaths } from "./fixtures";
import { waitForProgram } from "../../cli/plan/record";
import { parseBlueprint } from "../../model/blueprint/parse";
import { AnalysisPipeline } from "../../components/analysis-pipeline";
import { AccountGuard } from "../../components/account-guard";
import { UtilsStack } from "../../components/utils-stack";
import deployedUrns from "./deployed-urns.json";

const T = {
  component: "neurocaas:components:LambdaFunction",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  profile: "aws:iam/instanceProfile:InstanceProfile",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  fn: "aws:lambda/function:Function",
};

// IAM answers the IAE role's policy resources slowly: the instance profile must still wait for them.
const slowPolicies = new Set(["webdev-iae-ssm", "webdev-iae-s3", "utils-iae-ssm"]);
const registrations = recordRegistrations((type, name) => (slowPolicies.has(name) ? 20 : 0));

beforeAll(async () => {
  const blueprint = parseBlueprint(
    withPaths({ PipelineName: "webdev-analysis", "Lambda.PostProcessing": { StepName: "prediction" } }),
  );
  new AnalysisPipeline("webdev", {
    blueprint,
    utils: FAKE_UTILS,
    forceDestroy: false,
    logRetentionDays: 30,
    budgetParameterPrefix: "/neurocaas/budgets",
    bypassBuckets: [],
  });
  new AccountGuard("guard", {
    region: "us-east-1",
    namePrefix: "neurocaas",
    schedule: "rate(15 minutes)",
    exemptInstancesParameter: "/neurocaas/exempt",
    logRetentionDays: 30,
  });
  new UtilsStack("utils", {
    region: "us-east-1",
    namePrefix: "neurocaas",
    sshCidr: "10.0.0.0/8",
    keyName: "k",
    subnetIds: [],
  });
  await waitForProgram();
}, 60_000);

function one(type: string, name: string): Registration {
  const found = registrations.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} ${name}, found ${found.length}`);
  return found[0];
}

describe("deployed stacks keep their resources", () => {
  it("answers every URN deployed before LambdaFunction existed, by its URN or an alias, once", () => {
    const byAddress = addresses(registrations);
    const missing = (deployedUrns as string[]).filter((urn) => !byAddress.has(urn));
    expect(missing).toEqual([]);
    const claimed = (deployedUrns as string[]).map((urn) => byAddress.get(urn));
    expect(new Set(claimed).size).toBe(deployedUrns.length);
  });

  it("moves the Lambdas' roles, policies, log groups and functions under a LambdaFunction with aliases to the old parent", () => {
    const pipeline = urnOf("neurocaas:components:AnalysisPipeline", "webdev");
    const jm = one(T.component, "webdev-job-manager");
    expect(jm.parent).toBe(pipeline);
    for (const [type, name] of [
      [T.role, "webdev-job-manager-role"],
      [T.rolePolicy, "webdev-job-manager-policy"],
      [T.logGroup, "webdev-job-manager-logs"],
      [T.fn, "webdev-job-manager"],
    ]) {
      const child = one(type, name);
      expect(child.parent).toBe(jm.urn);
      expect(child.aliasUrns).toEqual([urnOf(type, name, pipeline)]);
    }
    expect(
      registrations
        .filter((r) => r.type === T.component)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["guard-fn", "webdev-job-manager", "webdev-monitor", "webdev-postprocess"]);
  });

  it("keeps the guard's role and policy names through aliases although the component names them after itself", () => {
    const guard = urnOf("neurocaas:components:AccountGuard", "guard");
    expect(one(T.role, "guard-fn-role").aliasUrns).toEqual([urnOf(T.role, "guard-role", guard)]);
    expect(one(T.rolePolicy, "guard-fn-policy").aliasUrns).toEqual([urnOf(T.rolePolicy, "guard-policy", guard)]);
    expect(one(T.role, "guard-fn-role").inputs.name).toBe("neurocaas-account-guard");
  });

  it("keeps every physical name", () => {
    expect(one(T.role, "webdev-job-manager-role").inputs.name).toBe("webdev-analysis-job-manager");
    expect(one(T.rolePolicy, "webdev-monitor-policy").inputs.name).toBe("monitor");
    expect(one(T.logGroup, "webdev-postprocess-logs").inputs.name).toBe("/aws/lambda/webdev-analysis-postprocess");
    expect(one(T.fn, "guard-fn").inputs.name).toBe("neurocaas-account-guard");
  });
});

describe("LambdaFunction", () => {
  it("creates the function only after its policy and log group", () => {
    const fn = one(T.fn, "webdev-monitor");
    expect(fn.dependencies).toEqual(
      expect.arrayContaining([
        one(T.rolePolicy, "webdev-monitor-policy").monitorUrn,
        one(T.logGroup, "webdev-monitor-logs").monitorUrn,
      ]),
    );
    expect(fn.inputs.role).toBe("arn:aws:iam::123456789012:role/webdev-analysis-monitor");
    expect(fn.inputs.loggingConfig).toEqual({ logFormat: "Text", logGroup: "/aws/lambda/webdev-analysis-monitor" });
  });

  it("checks the policy size and trusts only Lambda", () => {
    const trust = JSON.parse(one(T.role, "webdev-postprocess-role").inputs.assumeRolePolicy as string) as {
      Statement: { Principal: unknown }[];
    };
    expect(trust.Statement.map((s) => s.Principal)).toEqual([{ Service: "lambda.amazonaws.com" }]);
    const doc = JSON.parse(one(T.rolePolicy, "webdev-postprocess-policy").inputs.policy as string) as {
      Statement: unknown[];
    };
    expect(doc.Statement.length).toBeGreaterThan(0);
  });
});

describe("the IAE instance profile (pulumi-eks resolved role)", () => {
  it.each([
    ["webdev-iae-profile", ["webdev-iae-ssm", "webdev-iae-s3"]],
    ["utils-iae-profile", ["utils-iae-ssm"]],
  ])("%s is registered only after IAM answered for its role's policies", (profile, policies) => {
    const started = registrations.events.indexOf(`start ${T.profile}::${profile}`);
    expect(started).toBeGreaterThan(-1);
    for (const policy of policies) {
      const type = policy.endsWith("-ssm") ? T.attachment : T.rolePolicy;
      const done = registrations.events.indexOf(`done ${type}::${policy}`);
      expect(done).toBeGreaterThan(-1);
      expect(done).toBeLessThan(started);
      expect(one(T.profile, profile).dependencies).toContain(one(type, policy).monitorUrn);
    }
  });

  it("reaches the job manager only through the profile, so IAEs launch with the policies attached", () => {
    const jm = one(T.fn, "webdev-job-manager");
    const env = (jm.inputs.environment as { variables: Record<string, string> }).variables;
    expect(JSON.parse(env.NEUROCAAS_CONFIG).iaeInstanceProfileArn).toBe(
      "arn:aws:iam::123456789012:instance-profile/webdev-analysis-iae",
    );
    const started = registrations.events.indexOf(`start ${T.fn}::webdev-job-manager`);
    expect(registrations.events.indexOf(`done ${T.profile}::webdev-iae-profile`)).toBeLessThan(started);
  });
});
