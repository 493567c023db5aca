/**
 * Every AWS call the Lambda handlers make, with inputs shaped like the adapters' (protocols/aws/),
 * sent to one endpoint. Run twice by test/components/lambda-bundle.test.ts: as the tests run the
 * SDK (its CommonJS build) and bundled with the Lambda build settings (ES build, schema keys
 * inlined); the requests on the wire and the parsed answers must be the same.
 */
import { GetMetricStatisticsCommand, CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { GetProductsCommand, PricingClient } from "@aws-sdk/client-pricing";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  GetCommandInvocationCommand,
  GetParameterCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { createS3Client } from "../../protocols/s3-client";

/** What one call returned (without `$metadata`), or how it failed. */
export type ProbeResult = { readonly call: string; readonly output?: unknown; readonly error?: string };

export async function probe(endpoint: string): Promise<ProbeResult[]> {
  const common = {
    region: "us-east-1",
    endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId: "AKIDPROBE", secretAccessKey: "probe-secret" },
  };
  const ec2 = new EC2Client(common);
  const ssm = new SSMClient(common);
  const cloudwatch = new CloudWatchClient(common);
  const pricing = new PricingClient(common);
  const s3 = createS3Client({ endpoint, region: "us-east-1", maxAttempts: 1, credentials: common.credentials });
  const tags = [
    { Key: "neurocaas:job", Value: "job__b_t" },
    { Key: "Timeout", Value: "60" },
  ];
  const calls: [string, () => Promise<unknown>][] = [
    ["DescribeImages", () => ec2.send(new DescribeImagesCommand({ ImageIds: ["ami-1"] }))],
    [
      "RunInstances",
      () =>
        ec2.send(
          new RunInstancesCommand({
            ImageId: "ami-1",
            InstanceType: "m5.xlarge",
            MinCount: 2,
            MaxCount: 2,
            ClientToken: "token-od",
            IamInstanceProfile: { Arn: "arn:aws:iam::1:instance-profile/p" },
            SecurityGroupIds: ["sg-1", "sg-2"],
            SubnetId: "subnet-1",
            KeyName: "key",
            InstanceInitiatedShutdownBehavior: "terminate",
            InstanceMarketOptions: {
              MarketType: "spot",
              SpotOptions: { SpotInstanceType: "one-time", InstanceInterruptionBehavior: "terminate" },
            },
            BlockDeviceMappings: [
              {
                DeviceName: "/dev/sda1",
                Ebs: { VolumeSize: 30, VolumeType: "gp3", Encrypted: true, DeleteOnTermination: true },
              },
            ],
            TagSpecifications: [
              { ResourceType: "instance", Tags: tags },
              { ResourceType: "volume", Tags: tags },
            ],
            MetadataOptions: { HttpTokens: "required" },
          }),
        ),
    ],
    [
      "CreateTags",
      () =>
        ec2.send(
          new CreateTagsCommand({
            Resources: ["i-1", "vol-1"],
            Tags: [{ Key: "neurocaas:dataset", Value: "g/inputs/a b.csv" }],
          }),
        ),
    ],
    [
      "DescribeInstances",
      () =>
        ec2.send(
          new DescribeInstancesCommand({
            Filters: [
              { Name: "tag:neurocaas:job", Values: ["job__b_t"] },
              { Name: "instance-state-name", Values: ["pending", "running"] },
            ],
            MaxResults: 1000,
          }),
        ),
    ],
    ["TerminateInstances", () => ec2.send(new TerminateInstancesCommand({ InstanceIds: ["i-1", "i-2"] }))],
    ["StopInstances", () => ec2.send(new StopInstancesCommand({ InstanceIds: ["i-3"] }))],
    [
      "SendCommand",
      () =>
        ssm.send(
          new SendCommandCommand({
            InstanceIds: ["i-1"],
            DocumentName: "AWS-RunShellScript",
            Parameters: {
              commands: ["cd ~ && bash run.sh"],
              workingDirectory: ["/home/ubuntu"],
              executionTimeout: ["3600"],
            },
            OutputS3BucketName: "b",
            OutputS3KeyPrefix: "g/results/job__b_t/internal_ec2_logs",
            Comment: "neurocaas delivery d-1",
            TimeoutSeconds: 600,
          }),
        ),
    ],
    ["GetCommandInvocation", () => ssm.send(new GetCommandInvocationCommand({ CommandId: "c-1", InstanceId: "i-1" }))],
    [
      "ListCommandInvocations",
      () => ssm.send(new ListCommandInvocationsCommand({ InstanceId: "i-1", MaxResults: 50 })),
    ],
    ["ListCommands", () => ssm.send(new ListCommandsCommand({ InstanceId: "i-1", MaxResults: 50 }))],
    ["GetParameter", () => ssm.send(new GetParameterCommand({ Name: "/neurocaas/budgets/g/b", WithDecryption: true }))],
    [
      "GetMetricStatistics",
      () =>
        cloudwatch.send(
          new GetMetricStatisticsCommand({
            Namespace: "AWS/EC2",
            MetricName: "CPUUtilization",
            Dimensions: [{ Name: "InstanceId", Value: "i-1" }],
            StartTime: new Date("2026-01-01T00:00:00Z"),
            EndTime: new Date("2026-01-01T00:30:00Z"),
            Period: 300,
            Statistics: ["Average"],
          }),
        ),
    ],
    [
      "GetProducts",
      () =>
        pricing.send(
          new GetProductsCommand({
            ServiceCode: "AmazonEC2",
            Filters: [{ Type: "TERM_MATCH", Field: "instanceType", Value: "m5.xlarge" }],
            MaxResults: 10,
          }),
        ),
    ],
    [
      "PutObject",
      () =>
        s3.send(
          new PutObjectCommand({
            Bucket: "b",
            Key: "g/results/job__b_t/logs/certificate.txt",
            Body: "text",
            IfNoneMatch: "*",
            ContentType: "text/plain",
          }),
        ),
    ],
    [
      "GetObject",
      async () =>
        (
          (await s3.send(new GetObjectCommand({ Bucket: "b", Key: "logs/active/i-1.json" }))).Body as {
            transformToString(): Promise<string>;
          }
        ).transformToString(),
    ],
    ["HeadObject", () => s3.send(new HeadObjectCommand({ Bucket: "b", Key: "g/inputs/a b.csv" }))],
    ["ListObjectsV2", () => s3.send(new ListObjectsV2Command({ Bucket: "b", Prefix: "g/results/", MaxKeys: 1 }))],
    ["DeleteObject", () => s3.send(new DeleteObjectCommand({ Bucket: "b", Key: "logs/active/i-1.json" }))],
    [
      "CopyObject",
      () =>
        s3.send(
          new CopyObjectCommand({
            Bucket: "b",
            Key: "g/results/x/logs_pre_s/certificate.txt",
            CopySource: "b/g/results/x/logs/certificate.txt",
          }),
        ),
    ],
  ];
  const results: ProbeResult[] = [];
  for (const [call, send] of calls) {
    try {
      results.push({ call, output: withoutMetadata(await send()) });
    } catch (err) {
      const e = err as { name?: string; message?: string };
      results.push({ call, error: `${e.name}: ${e.message}` });
    }
  }
  for (const c of [ec2, ssm, cloudwatch, pricing, s3]) c.destroy();
  return results;
}

function withoutMetadata(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const { $metadata: _metadata, ...rest } = value as Record<string, unknown>;
  return JSON.parse(JSON.stringify(rest));
}

/** Entry of the bundled probe: prints the results of `probe(PROBE_ENDPOINT)` as JSON. */
export async function handler(): Promise<void> {
  process.stdout.write(JSON.stringify(await probe(process.env.PROBE_ENDPOINT as string)));
}
