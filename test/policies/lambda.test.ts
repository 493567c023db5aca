import type { RecordedResource } from "../../cli/plan/record";
import {
  RUNTIME_DEPRECATION_DATES,
  isDeprecatedRuntime,
  jobManagerDeadLetter,
  lambdaRuntime,
} from "../../policies/lambda";
import { addCopy, devStackConfig, find, mutate, named, recordStack, violationsOf } from "./support";

jest.mock("../../components/lambda-bundle", () => jest.requireActual("./support").bundleMock());

const LAMBDA = "aws:lambda/function:Function";
const jobManager = (r: RecordedResource) => r.type === LAMBDA && r.name.endsWith("-job-manager");

let stack: RecordedResource[];
beforeAll(async () => {
  stack = await recordStack(devStackConfig());
}, 120_000);

describe("neurocaas-lambda-runtime", () => {
  it("passes the components' runtime", async () => {
    expect(find(stack, jobManager).inputs.runtime).toBe("nodejs22.x");
    expect(await violationsOf([lambdaRuntime], stack)).toEqual([]);
  });

  it.each(["nodejs18.x", "nodejs16.x", "python3.8"])("fails %s", async (runtime) => {
    const bad = mutate(stack, jobManager, (p) => {
      p.runtime = runtime;
    });
    expect((await violationsOf([lambdaRuntime], bad))[0].message).toContain(
      `uses runtime ${runtime}, deprecated by AWS since ${RUNTIME_DEPRECATION_DATES[runtime]}`,
    );
  });

  it("dates deprecations", () => {
    expect(isDeprecatedRuntime("nodejs20.x", new Date("2026-01-01T00:00:00Z"))).toBe(false);
    expect(isDeprecatedRuntime("nodejs20.x", new Date("2026-05-01T00:00:00Z"))).toBe(true);
    expect(isDeprecatedRuntime("nodejs22.x", new Date("2026-05-01T00:00:00Z"))).toBe(false);
  });
});

describe("neurocaas-job-manager-dead-letter", () => {
  it("passes the job manager's dead-letter queue", async () => {
    expect(await violationsOf([jobManagerDeadLetter], stack)).toEqual([]);
  });

  it("fails a job manager without dead-letter handling", async () => {
    const bad = mutate(stack, jobManager, (p) => {
      delete p.deadLetterConfig;
    });
    expect((await violationsOf([jobManagerDeadLetter], bad)).map((v) => v.name)).toEqual([
      "neurocaas-demo-job-manager",
    ]);
  });

  it("accepts an on-failure destination instead of a queue", async () => {
    const noDlq = mutate(stack, jobManager, (p) => {
      delete p.deadLetterConfig;
    });
    const jm = find(stack, jobManager);
    const withDestination = addCopy(
      noDlq,
      { ...jm, type: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", inputs: {}, outputs: {} },
      "jm-invoke-config",
      (p) => {
        p.functionName = jm.outputs.name;
        p.destinationConfig = { onFailure: { destination: "arn:aws:sqs:us-east-1:123456789012:failed" } };
      },
    );
    expect(await violationsOf([jobManagerDeadLetter], withDestination)).toEqual([]);
  });

  it("does not demand a queue of the monitor", async () => {
    const bad = mutate(stack, named("neurocaas-demo-monitor"), (p) => {
      delete p.deadLetterConfig;
    });
    expect(await violationsOf([jobManagerDeadLetter], bad)).toEqual([]);
  });
});
