import { decodeEventKey } from "../../model/layout";
import type { AnalysisRuntimeConfig } from "../../model/runtime-config";
import * as path from "node:path";
import { ec2StateChangeEvent, routeLocalS3Event, routeObjectCreated } from "../../local/events";
import { loadLocalAnalyses } from "../../local/stack";
import { loadStackFile } from "../../model/blueprint/parse";
import { notificationFilters } from "../../components/analysis-pipeline";

function config(overrides: Partial<AnalysisRuntimeConfig> = {}): AnalysisRuntimeConfig {
  return {
    bucketName: "demo",
    analysisName: overrides.analysisName ?? overrides.bucketName ?? "demo",
    region: "us-east-1",
    stage: "webdev",
    protocol: "default",
    ami: "ami-local",
    instanceType: "t3.micro",
    allowedInstanceTypes: [],
    command: "true",
    workingDirectory: "~/bin",
    shutdownBehavior: "terminate",
    ssmTimeoutSeconds: 100,
    launch: true,
    deployLimit: 100,
    maxCost: 300,
    monitor: true,
    allowSpot: false,
    imageVolumeSizeGb: 10,
    affiliates: [
      { AffiliateName: "lab", UserInput: true },
      { AffiliateName: "chained", UserInput: false },
    ],
    iaeInstanceProfileArn: "",
    iaeRoleArn: "",
    keyName: "",
    securityGroupIds: [],
    budgetParameterPrefix: "/neurocaas/budgets",
    ...overrides,
  };
}

describe("routeObjectCreated", () => {
  it("routes submit files under a group's submissions folder to the job manager", () => {
    expect(routeObjectCreated(config(), "lab/submissions/submit.json")).toBe("submit");
    expect(routeObjectCreated(config(), "lab/submissions/pred_submit.json")).toBe("submit");
    expect(routeObjectCreated(config(), "lab/submissions/notes.json")).toBeUndefined();
    expect(routeObjectCreated(config(), "lab/inputs/submit.json")).toBeUndefined();
  });

  it("routes results-folder submit files only for affiliates with UserInput false", () => {
    expect(routeObjectCreated(config(), "chained/results/next_submit.json")).toBe("submit");
    expect(routeObjectCreated(config(), "chained/submissions/submit.json")).toBeUndefined();
    expect(routeObjectCreated(config(), "lab/results/job__demo_1/submit.json")).toBeUndefined();
  });

  it("routes the post-processing trigger only when the analysis has a post step", () => {
    const key = "lab/results/job__demo_1/process_results/end.txt";
    expect(routeObjectCreated(config(), key)).toBeUndefined();
    expect(routeObjectCreated(config({ postProcessing: { PostTrigger: "end.txt", StepName: "next" } }), key)).toBe(
      "postprocess",
    );
    expect(
      routeObjectCreated(config({ postProcessing: { PostTrigger: "done.json", StepName: "next" } }), key),
    ).toBeUndefined();
  });
});

describe("routeObjectCreated follows the deployed notification filters exactly", () => {
  it("webdev: only listed affiliates start jobs (AWS has no trigger for any other group)", () => {
    expect(routeObjectCreated(config(), "debugger/submissions/submit.json")).toBeUndefined();
    expect(routeObjectCreated(config(), "LAB/submissions/submit.json")).toBeUndefined();
    expect(routeObjectCreated(config(), "lab/submissions/x/submit.json")).toBe("submit");
    expect(routeObjectCreated(config(), "submit.json")).toBeUndefined();
  });

  it("websubstack: every key ending in submit.json goes to the job manager, which decides", () => {
    const web = config({ stage: "websubstack" });
    expect(routeObjectCreated(web, "debugger/submissions/submit.json")).toBe("submit");
    expect(routeObjectCreated(web, "lab/inputs/submit.json")).toBe("submit");
    expect(routeObjectCreated(web, "submit.json")).toBe("submit");
    expect(routeObjectCreated(web, "lab/submissions/submit.json.bak")).toBeUndefined();
  });

  it("post-processing: the key must end in process_results/{PostTrigger}", () => {
    const post = config({ postProcessing: { PostTrigger: "end.txt", StepName: "next" } });
    expect(routeObjectCreated(post, "lab/results/job__demo_1/process_results/sub/end.txt")).toBeUndefined();
    expect(routeObjectCreated(post, "lab/results/job__demo_1/process_results/end.txt")).toBe("postprocess");
  });

  it("matches the filters the analysis stack deploys for the same blueprint", () => {
    const bp = loadStackFile(path.join(__dirname, "../../Pulumi.dev.yaml")).blueprint!;
    const runtime = loadLocalAnalyses([path.join(__dirname, "../../Pulumi.dev.yaml")]).get(bp.PipelineName)!;
    const deployed = notificationFilters(bp);
    const keys = [
      ...bp.UXData.Affiliates.map((a) => `${a.AffiliateName}/submissions/t_submit.json`),
      "stranger/submissions/t_submit.json",
      "debuggers/results/job__x_1/process_results/end.txt",
      "debuggers/inputs/submit.json",
    ];
    for (const key of keys) {
      const s3 = deployed.find(
        (f) => (f.filterPrefix === undefined || key.startsWith(f.filterPrefix)) && key.endsWith(f.filterSuffix),
      )?.target;
      expect([key, routeObjectCreated(runtime, key)]).toEqual([key, s3 === "job-manager" ? "submit" : s3]);
    }
  });
});

describe("routeLocalS3Event", () => {
  it("URL-encodes keys as S3 does so handlers decode exactly once", () => {
    const raw = "lab/submissions/my job: 1+2_submit.json";
    const routed = routeLocalS3Event(new Map([["demo", config()]]), {
      Records: [{ eventName: "ObjectCreated:Put", s3: { bucket: { name: "demo" }, object: { key: raw, size: 10 } } }],
    });
    expect(routed).toHaveLength(1);
    const key = routed[0].event.Records[0].s3.object.key;
    expect(key).toBe("lab/submissions/my+job%3A+1%2B2_submit.json");
    expect(decodeEventKey(key)).toBe(raw);
  });

  it("ignores deletions and unknown buckets", () => {
    const configs = new Map([["demo", config()]]);
    const rec = (eventName: string, bucket: string) => ({
      eventName,
      s3: { bucket: { name: bucket }, object: { key: "lab/submissions/submit.json" } },
    });
    expect(
      routeLocalS3Event(configs, { Records: [rec("ObjectRemoved:Delete", "demo"), rec("ObjectCreated:Put", "other")] }),
    ).toEqual([]);
    expect(routeLocalS3Event(configs, { Records: [rec("ObjectCreated:Post", "demo")] })).toHaveLength(1);
  });
});

describe("ec2StateChangeEvent", () => {
  it("has the shape EventBridge delivers", () => {
    const e = ec2StateChangeEvent("us-east-1", "i-0123456789abcdef0", "running", new Date("2020-01-01T00:00:00.123Z"));
    expect(e).toMatchObject({
      "detail-type": "EC2 Instance State-change Notification",
      source: "aws.ec2",
      time: "2020-01-01T00:00:00Z",
      resources: ["arn:aws:ec2:us-east-1:000000000000:instance/i-0123456789abcdef0"],
      detail: { "instance-id": "i-0123456789abcdef0", state: "running" },
    });
  });
});
