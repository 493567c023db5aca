import { EC2Client } from "@aws-sdk/client-ec2";
import { PricingClient } from "@aws-sdk/client-pricing";
import { SSMClient } from "@aws-sdk/client-ssm";
import { Ec2ComputeBackend } from "../../protocols/aws/ec2-compute";
import { PricingApiPriceSource } from "../../protocols/aws/pricing";
import { ParameterStoreBudgets } from "../../protocols/aws/ssm-parameters";
import type { Clock, ProtocolDeps, ProtocolLimits } from "../../protocols/deps";
import type { AnalysisRuntimeConfig } from "../../model/runtime-config";
import type { ObjectStore } from "../../protocols/storage";
import { AwsWorld } from "./aws-world";

/** A clock whose sleep advances time instantly; records the sleeps. */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(private t = Date.parse("2026-01-05T12:00:00Z")) {}
  now = (): Date => new Date(this.t);
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.t += ms;
  };
  advance(ms: number): void {
    this.t += ms;
  }
}

export const BUCKET = "cianalysispermastack";
export const GROUP = "traviscipermagroup";
export const AMI = "ami-061f98a1f90c0d6fd";
/** COMMAND of the condition-matrix analysis (fixtures main_func_env_vars.json). */
export const COMMAND =
  'cd /home/ubuntu; neurocaas_remote/run_main.sh "{}" "{}" "{}" "{}"; . neurocaas_remote/ncap_utils/workflow.sh; cleanup';

export function runtimeConfig(overrides: Partial<AnalysisRuntimeConfig> = {}): AnalysisRuntimeConfig {
  return {
    bucketName: BUCKET,
    analysisName: overrides.analysisName ?? overrides.bucketName ?? BUCKET,
    region: "us-east-1",
    stage: "websubstack",
    protocol: "default",
    ami: AMI,
    instanceType: "t2.micro",
    allowedInstanceTypes: ["m5.xlarge"],
    command: COMMAND,
    workingDirectory: "/home/ubuntu",
    shutdownBehavior: "terminate",
    ssmTimeoutSeconds: 172000,
    launch: true,
    deployLimit: 100,
    maxCost: 300,
    monitor: true,
    allowSpot: true,
    imageVolumeSizeGb: 100,
    affiliates: [{ AffiliateName: GROUP, UserInput: true }],
    iaeInstanceProfileArn: "arn:aws:iam::123456789012:instance-profile/neurocaas-iae",
    iaeRoleArn: "arn:aws:iam::123456789012:role/neurocaas-iae",
    keyName: "neurocaas-key",
    securityGroupIds: ["sg-0123456789abcdef0"],
    budgetParameterPrefix: "/neurocaas/budgets",
    ...overrides,
  };
}

/** Protocol deps over the mocked AWS world and a (local S3) object store. */
export function protocolDeps(args: {
  world: AwsWorld;
  store: ObjectStore;
  clock?: FakeClock;
  config?: Partial<AnalysisRuntimeConfig>;
  limits?: Partial<ProtocolLimits>;
}): ProtocolDeps & { clock: FakeClock } {
  const clock = args.clock ?? new FakeClock();
  const ssm = new SSMClient({ region: "us-east-1" });
  return {
    config: runtimeConfig(args.config),
    store: args.store,
    compute: new Ec2ComputeBackend({
      ec2: new EC2Client({ region: "us-east-1" }),
      ssm,
      sleep: clock.sleep,
      launchRetryMs: args.limits?.launchRetryMs ?? 60_000,
    }),
    budgets: new ParameterStoreBudgets(ssm, "/neurocaas/budgets"),
    prices: new PricingApiPriceSource(new PricingClient({ region: "us-east-1" })),
    clock,
    limits: args.limits,
  };
}

/** An S3 put notification as Lambda receives it (key URL-encoded); `sequencer` identifies the upload as S3's does. */
export function putEvent(
  bucket: string,
  encodedKey: string,
  sequencer?: string,
): { Records: { eventName: string; s3: { bucket: { name: string }; object: { key: string; sequencer?: string } } }[] } {
  return {
    Records: [
      {
        eventName: "ObjectCreated:Put",
        s3: {
          bucket: { name: bucket },
          object: { key: encodedKey, ...(sequencer !== undefined ? { sequencer } : {}) },
        },
      },
    ],
  };
}

export function stateEvent(instanceId: string, state: string, time = "2026-01-05T12:10:00Z") {
  return {
    version: "0",
    id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    source: "aws.ec2",
    account: "111122223333",
    time,
    region: "us-east-1",
    resources: [`arn:aws:ec2:us-east-1:111122223333:instance/${instanceId}`],
    detail: { "instance-id": instanceId, state },
  };
}
