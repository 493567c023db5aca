import type { RecordedResource } from "../../cli/plan/record";
import {
  allowedRegions,
  costTags,
  deployLimit,
  instanceTypes,
  jobManagerTimeout,
  lambdaLogGroups,
  logRetention,
  maxCost,
} from "../../policies/cost";
import {
  devStackConfig,
  editRuntimeConfig,
  find,
  mutate,
  named,
  ofType,
  recordStack,
  violationsOf,
  without,
} from "./support";

jest.mock("../../components/lambda-bundle", () => jest.requireActual("./support").bundleMock());

const LAMBDA = "aws:lambda/function:Function";
const jobManager = (r: RecordedResource) => r.type === LAMBDA && r.name.endsWith("-job-manager");

let stack: RecordedResource[];
beforeAll(async () => {
  stack = await recordStack(devStackConfig());
}, 120_000);

describe("neurocaas-allowed-regions", () => {
  it("passes the component-built stack in us-east-1", async () => {
    expect(await violationsOf([allowedRegions], stack)).toEqual([]);
  });

  it("fails when the operator does not allow the stack's region", async () => {
    const v = await violationsOf([allowedRegions], stack, {
      "neurocaas-allowed-regions": { allowedRegions: ["eu-west-1"] },
    });
    expect(v.length).toBeGreaterThan(0);
    expect(v[0].message).toMatch(/Region 'us-east-1' is not allowed/);
  });

  it("fails when an analysis' runtime config names another region", async () => {
    const bad = mutate(stack, jobManager, (p) =>
      editRuntimeConfig(p, (rc) => {
        rc.region = "ap-south-1";
      }),
    );
    expect((await violationsOf([allowedRegions], bad)).map((v) => v.message)).toEqual([
      expect.stringMatching(/'ap-south-1'/),
    ]);
  });
});

describe("neurocaas-instance-types", () => {
  it("passes t3.micro", async () => {
    expect(await violationsOf([instanceTypes], stack)).toEqual([]);
  });

  it("fails INSTANCE_TYPE and ALLOWED_INSTANCE_TYPES outside the allow-list", async () => {
    const bad = mutate(stack, jobManager, (p) =>
      editRuntimeConfig(p, (rc) => {
        rc.instanceType = "p4d.24xlarge";
        rc.allowedInstanceTypes = ["x2iedn.32xlarge", "t3.large"];
      }),
    );
    const messages = (await violationsOf([instanceTypes], bad)).map((v) => v.message);
    expect(messages).toEqual([expect.stringContaining("'p4d.24xlarge'"), expect.stringContaining("'x2iedn.32xlarge'")]);
  });

  it("follows the configured allow-list", async () => {
    const v = await violationsOf([instanceTypes], stack, {
      "neurocaas-instance-types": { allowedInstanceTypes: ["g5.*"] },
    });
    expect(v.map((x) => x.message)).toEqual(expect.arrayContaining([expect.stringContaining("'t3.micro'")]));
  });

  it("reports a runtime config that is not JSON", async () => {
    const bad = mutate(stack, jobManager, (p) => {
      (p.environment as { variables: Record<string, string> }).variables.NEUROCAAS_CONFIG = "{oops";
    });
    expect((await violationsOf([instanceTypes], bad))[0].message).toMatch(/NEUROCAAS_CONFIG is not valid JSON/);
  });
});

describe("neurocaas-deploy-limit and neurocaas-max-cost", () => {
  it("pass the defaults (100 IAEs, 300 USD)", async () => {
    expect(await violationsOf([deployLimit, maxCost], stack)).toEqual([]);
  });

  it("fail values over the configured maximum", async () => {
    const bad = mutate(stack, jobManager, (p) =>
      editRuntimeConfig(p, (rc) => {
        rc.deployLimit = 5000;
        rc.maxCost = 25000;
      }),
    );
    const v = await violationsOf([deployLimit, maxCost], bad);
    expect(v.map((x) => [x.policy, x.name])).toEqual([
      ["neurocaas-deploy-limit", "neurocaas-demo-job-manager"],
      ["neurocaas-max-cost", "neurocaas-demo-job-manager"],
    ]);
    expect(v[0].message).toMatch(/DEPLOY_LIMIT 5000, over the maximum 300/);
    expect(v[1].message).toMatch(/MAXCOST 25000 USD, over the maximum 1000 USD/);
  });

  it("use the operator's maximum", async () => {
    const v = await violationsOf([deployLimit], stack, { "neurocaas-deploy-limit": { maxDeployLimit: 50 } });
    expect(v[0].message).toMatch(/DEPLOY_LIMIT 100, over the maximum 50/);
  });
});

describe("neurocaas-job-manager-timeout", () => {
  it("passes the blueprint's EXECUTION_TIMEOUT (900 s)", async () => {
    expect(find(stack, jobManager).inputs.timeout).toBe(900);
    expect(await violationsOf([jobManagerTimeout], stack)).toEqual([]);
  });

  it.each([
    [5, /timeout 5 s/],
    [undefined, /timeout 3 s \(Lambda default\)/],
  ])("fails a timeout of %s", async (timeout, message) => {
    const bad = mutate(stack, jobManager, (p) => {
      if (timeout === undefined) delete p.timeout;
      else p.timeout = timeout;
    });
    expect((await violationsOf([jobManagerTimeout], bad))[0].message).toMatch(message);
  });

  it("leaves the monitor and guard Lambdas alone", async () => {
    const bad = mutate(
      stack,
      (r) => r.type === LAMBDA && !jobManager(r),
      (p) => {
        p.timeout = 1;
      },
    );
    expect(await violationsOf([jobManagerTimeout], bad)).toEqual([]);
  });
});

describe("neurocaas-log-retention", () => {
  it("passes the components' 30-day log groups", async () => {
    expect(await violationsOf([logRetention], stack)).toEqual([]);
  });

  it("fails a log group without retention or below the minimum", async () => {
    const none = mutate(stack, named("-job-manager-logs"), (p) => {
      delete p.retentionInDays;
    });
    expect((await violationsOf([logRetention], none))[0].message).toMatch(/no retention/);
    const short = mutate(stack, named("-job-manager-logs"), (p) => {
      p.retentionInDays = 3;
    });
    expect((await violationsOf([logRetention], short))[0].message).toMatch(/3 days, less than the minimum 14/);
  });
});

describe("neurocaas-lambda-log-groups", () => {
  it("passes when every Lambda logs to a declared group", async () => {
    expect(await violationsOf([lambdaLogGroups], stack)).toEqual([]);
  });

  it("fails a Lambda whose log group the stack does not declare", async () => {
    const bad = without(stack, named("-monitor-logs"));
    const v = await violationsOf([lambdaLogGroups], bad);
    expect(v.map((x) => x.name)).toEqual(["neurocaas-demo-monitor"]);
  });
});

describe("neurocaas-cost-tags", () => {
  it("passes: the components tag every taggable resource", async () => {
    expect(await violationsOf([costTags], stack)).toEqual([]);
  });

  it("fails a resource missing neurocaas:stage", async () => {
    const bad = mutate(stack, ofType("aws:s3/bucket:Bucket"), (p) => {
      delete (p.tags as Record<string, string>)["neurocaas:stage"];
    });
    const v = await violationsOf([costTags], bad);
    expect(v.map((x) => x.message)).toEqual([
      expect.stringMatching(/neurocaas-demo-bucket.*lacks cost tag\(s\) neurocaas:stage/),
    ]);
  });

  it("fails an untagged queue", async () => {
    const untagged = mutate(stack, ofType("aws:sqs/queue:Queue"), (p) => {
      delete p.tags;
    });
    expect((await violationsOf([costTags], untagged)).length).toBeGreaterThan(0);
  });
});
