/**
 * The job-manager benchmark's model and bookkeeping: the simulated EC2 account, the modeled
 * clients behind the real compute adapter, budget-request classification, the checks, and one
 * real submission at the smallest size (counts only; no time is asserted).
 */
import * as path from "node:path";
import { Ec2ComputeBackend } from "../../protocols/aws/ec2-compute";
import { PricingApiPriceSource } from "../../protocols/aws/pricing";
import { ParameterStoreBudgets } from "../../protocols/aws/ssm-parameters";
import { modeledAws } from "../../bench/aws-mocks";
import { BusyTime, RequestCounter } from "../../bench/counters";
import { SimulatedEc2 } from "../../bench/ec2-model";
import {
  benchJobManager,
  isBudgetRequest,
  jobManagerSection,
  S3_BUDGET,
  type SubmissionRun,
} from "../../bench/job-manager";
import { fixtureCostLogs, historyLogs } from "../../bench/s3-seed";

const FIXTURES = path.resolve(__dirname, "../../../shared/fixtures");

describe("SimulatedEc2", () => {
  it("launches tagged instances, answers the adapter's filters, terminates, and honours client tokens", () => {
    const ec2 = new SimulatedEc2();
    const tags = [{ Key: "neurocaas:group", Value: "g" }];
    const a = ec2.runInstances({
      ImageId: "ami-1",
      InstanceType: "m5.large",
      MinCount: 2,
      MaxCount: 2,
      ClientToken: "t1",
      TagSpecifications: [{ ResourceType: "instance", Tags: tags }],
    });
    expect(a).toHaveLength(2);
    expect(
      ec2
        .runInstances({ ImageId: "ami-1", InstanceType: "m5.large", MinCount: 2, MaxCount: 2, ClientToken: "t1" })
        .map((i) => i.InstanceId),
    ).toEqual(a.map((i) => i.InstanceId));
    ec2.runInstances({ ImageId: "ami-2", InstanceType: "t3.micro", MinCount: 1, MaxCount: 1 });
    const running = [{ Name: "instance-state-name", Values: ["pending", "running"] }];
    expect(ec2.describe([...running, { Name: "image-id", Values: ["ami-1"] }])).toHaveLength(2);
    expect(ec2.describe([{ Name: "tag-key", Values: ["neurocaas:group"] }])).toHaveLength(2);
    expect(ec2.describe([{ Name: "tag:neurocaas:group", Values: ["g"] }])).toHaveLength(2);
    ec2.terminate([a[0].InstanceId as string]);
    expect(ec2.describe(running)).toHaveLength(2);
    ec2.terminateAll();
    expect(ec2.describe(running)).toHaveLength(0);
    expect(ec2.size).toBe(3);
    expect(() => ec2.describe([{ Name: "vpc-id", Values: ["x"] }])).toThrow(/unsupported filter "vpc-id"/);
    expect(() => ec2.runInstances({ MinCount: 1, MaxCount: 2 })).toThrow(/MinCount must equal MaxCount/);
  });
});

describe("modeledAws behind the real adapters", () => {
  it("counts each call per service and keeps the modeled latency as busy time", async () => {
    const counter = new RequestCounter();
    const busy = new BusyTime();
    const aws = modeledAws({ latencyMs: 5, counter, busy: [busy], budgetParameter: "250", hourlyPrice: 0.5 });
    try {
      const compute = new Ec2ComputeBackend({
        ec2: aws.ec2,
        ssm: aws.ssm,
        sleep: async () => undefined,
        launchRetryMs: 0,
      });
      const launched = await compute.launch({
        imageId: "ami-1",
        instanceType: "m5.large",
        count: 3,
        volumeSizeGb: 10,
        spot: false,
        tags: { a: "b" },
        securityGroupIds: [],
        shutdownBehavior: "terminate",
        clientToken: "tok",
      });
      expect(launched).toHaveLength(3);
      expect(await compute.countRunning({ instanceType: "m5.large" })).toBe(3);
      await compute.terminate(launched.map((l) => l.instanceId));
      expect(await compute.countRunning({ instanceType: "m5.large" })).toBe(0);
      expect(await new ParameterStoreBudgets(aws.ssm, "/p").budgetFor("g", "b")).toBe(250);
      expect(await new PricingApiPriceSource(aws.pricing).hourlyPrice("m5.large", "us-east-1")).toBe(0.5);
      expect(counter.snapshot()).toEqual({
        EC2: { DescribeImages: 1, RunInstances: 1, DescribeInstances: 2, TerminateInstances: 1 },
        SSM: { GetParameter: 1 },
        Pricing: { GetProducts: 1 },
      });
      expect(busy.ms()).toBeGreaterThan(0);
      await expect(compute.activeCommands("i-1")).rejects.toThrow(/does not model/);
    } finally {
      aws.restore();
    }
  });
});

describe("budget requests and history seeding", () => {
  it("classifies ledger and finished logs as budget requests, not active logs or job records", () => {
    expect(isBudgetRequest("GetObject", { Key: "logs/_ledger/g.json" })).toBe(true);
    expect(isBudgetRequest("GetObject", { Key: "logs/g/i-1.json" })).toBe(true);
    expect(isBudgetRequest("ListObjectsV2", { Prefix: "logs/g/" })).toBe(true);
    expect(isBudgetRequest("PutObject", { Key: "logs/active/i-1.json" })).toBe(false);
    expect(isBudgetRequest("PutObject", { Key: "logs/_jobs/g/j.json" })).toBe(false);
    expect(isBudgetRequest("HeadObject", { Key: "g/inputs/d.txt" })).toBe(false);
  });
  it("builds a history of unique finished logs: the real ones first, then copies under new ids", () => {
    const fixtures = fixtureCostLogs(FIXTURES);
    expect(fixtures).toHaveLength(132);
    const logs = [...historyLogs("g", 400, fixtures)];
    expect(new Set(logs.map(([k]) => k)).size).toBe(400);
    expect(logs[0][0]).toBe(`logs/g/${fixtures[0][0]}.json`);
    for (const [key, text] of logs)
      expect(key).toBe(`logs/g/${(JSON.parse(text) as { "instance-id": string })["instance-id"]}.json`);
  });
});

describe("jobManagerSection", () => {
  const run = (history: number, budget: number, extra: Partial<SubmissionRun> = {}): SubmissionRun => ({
    label: "steady",
    protocol: "default",
    datasets: 10,
    history,
    iaes: 10,
    exitCode: 0,
    handlerMs: 100,
    modeledMs: 60,
    s3Ms: 30,
    ownMs: 10,
    requests: { S3: { GetObject: budget + 5 }, [S3_BUDGET]: { GetObject: budget }, EC2: { RunInstances: 10 } },
    ...extra,
  });
  it("meets the history target only when budget requests do not change with H", () => {
    const same = jobManagerSection([run(0, 1), run(132, 1), run(10_000, 1)], { quick: false, latencyMs: 50, ms: 1 });
    expect(same.checks[0].met).toBe(true);
    const grows = jobManagerSection([run(0, 1), run(132, 133)], { quick: false, latencyMs: 50, ms: 1 });
    expect(grows.checks[0].met).toBe(false);
    const quick = jobManagerSection([run(0, 1)], { quick: true, latencyMs: 50, ms: 1 });
    expect(quick.checks[0].met).toBeUndefined();
  });
  it("judges the N=100, H=10,000 handler time against 2 s plus the modeled time, and lists rejections", () => {
    const s = jobManagerSection(
      [
        run(10_000, 1, { datasets: 100, iaes: 100, handlerMs: 2500, modeledMs: 1000 }),
        run(0, 1, { exitCode: 99, reason: "no budget", iaes: 0 }),
      ],
      { quick: false, latencyMs: 50, ms: 1 },
    );
    expect(s.checks.find((c) => c.name.startsWith("handler time"))?.met).toBe(true);
    expect(s.notes.join("\n")).toMatch(/REJECTED steady N=10 H=0: no budget/);
    expect(s.checks.find((c) => c.name.startsWith("every benchmark submission"))?.met).toBe(false);
  });
});

describe("benchJobManager at the smallest size", () => {
  it("runs real submissions and counts one budget request in steady state", async () => {
    const section = await benchJobManager({
      quick: true,
      fixturesDir: FIXTURES,
      latencyMs: 1,
      sizes: { datasets: [2], histories: [132], ensemble: [] },
      log: () => undefined,
    });
    const runs = (section.data as { runs: SubmissionRun[] }).runs;
    expect(runs.map((r) => [r.label, r.exitCode, r.iaes])).toEqual([
      ["first", 0, 1],
      ["steady", 0, 2],
    ]);
    // The first submission backfills the ledger from 132 finished logs; later ones read only the ledger.
    expect(runs[0].requests[S3_BUDGET].GetObject).toBeGreaterThanOrEqual(132);
    expect(runs[1].requests[S3_BUDGET]).toEqual({ GetObject: 1 });
    // Both datasets in one RunInstances call; each IAE then gets its dataset tag (instance + volume).
    expect(runs[1].requests.EC2.RunInstances).toBe(1);
    expect(runs[1].requests.EC2.CreateTags).toBe(2);
  });
});
