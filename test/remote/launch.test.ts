import * as fs from "node:fs";
import { mockClient } from "aws-sdk-client-mock";
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  type Instance,
} from "@aws-sdk/client-ec2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import {
  assignInstance,
  extendLifetime,
  getIp,
  getLifetime,
  launchDevInstance,
  listInstances,
  selectDevInstance,
  startDevInstance,
  stopDevInstance,
} from "../../cli/remote/instance-actions";
import { remoteStatePath, type RemoteState } from "../../cli/remote/state";
import { AMI_ALIAS_PARAMETERS } from "../../cli/remote/ami";
import { ANALYSIS, BLUEPRINT_AMI, tempStack, testContext } from "./helpers";

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const sts = mockClient(STSClient);

const INFRA = {
  instanceProfile: "neurocaas-iae-profile",
  keyName: "neurocaas-dev-key",
  securityGroupId: "sg-0dev",
  subnetId: "subnet-1",
};
const OWNER = "arn:aws:iam::123456789012:user/dev1";

function instance(id: string, state: string, extra: Partial<Instance> = {}): Instance {
  return { InstanceId: id, State: { Name: state as never }, ...extra };
}

function describeReturns(...instances: Instance[]): void {
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => ({
    Reservations: [
      { Instances: instances.filter((i) => !input.InstanceIds || input.InstanceIds.includes(i.InstanceId ?? "")) },
    ],
  }));
}

function readStateFile(stackFile: string): RemoteState {
  return JSON.parse(fs.readFileSync(remoteStatePath(stackFile), "utf8")) as RemoteState;
}

beforeEach(() => {
  ec2.reset();
  ssm.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Arn: OWNER, Account: "123456789012" });
  ec2.on(DescribeImagesCommand).resolves({
    Images: [
      {
        ImageId: "ami-any",
        RootDeviceName: "/dev/sda1",
        BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { VolumeSize: 30 } }],
      },
    ],
  });
});

describe("launch-devinstance", () => {
  it("sends the exact RunInstances request and records the instance beside the blueprint", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: "i-0aaa" }] });
    describeReturns(instance("i-0aaa", "running", { PublicIpAddress: "3.3.3.3", LaunchTime: ctx.now }));

    await launchDevInstance(ctx, {
      name: "dev-a",
      description: "first try",
      volumeSize: "100",
      timeout: "90",
      infra: INFRA,
    });

    expect(ec2.commandCalls(DescribeImagesCommand)[0].args[0].input).toEqual({ ImageIds: [BLUEPRINT_AMI] });
    const tags = [
      { Key: "Name", Value: "dev-a" },
      { Key: "PriceTracking", Value: "On" },
      { Key: "Timeout", Value: "90" },
      { Key: "OwnerArn", Value: OWNER },
      { Key: "neurocaas:analysis", Value: ANALYSIS },
      { Key: "neurocaas:role", Value: "devinstance" },
      { Key: "neurocaas:description", Value: "first try" },
    ];
    expect(ec2.commandCalls(RunInstancesCommand)[0].args[0].input).toEqual({
      ImageId: BLUEPRINT_AMI,
      InstanceType: "m5.xlarge",
      MinCount: 1,
      MaxCount: 1,
      KeyName: "neurocaas-dev-key",
      SecurityGroupIds: ["sg-0dev"],
      SubnetId: "subnet-1",
      IamInstanceProfile: { Name: "neurocaas-iae-profile" },
      InstanceInitiatedShutdownBehavior: "stop",
      MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled" },
      BlockDeviceMappings: [
        {
          DeviceName: "/dev/sda1",
          Ebs: { VolumeSize: 100, VolumeType: "gp3", Encrypted: true, DeleteOnTermination: true },
        },
      ],
      TagSpecifications: [
        { ResourceType: "instance", Tags: tags },
        { ResourceType: "volume", Tags: tags },
      ],
    });
    expect(readStateFile(stackFile)).toEqual({
      version: 1,
      analysis: ANALYSIS,
      selected: "i-0aaa",
      instances: [
        {
          instanceId: "i-0aaa",
          name: "dev-a",
          description: "first try",
          origin: "launched",
          lastStartedAt: "2026-11-23T10:00:00.000Z",
          images: [],
          jobs: [],
        },
      ],
    });
    expect(ctx.lines.join("\n")).toContain("ubuntu@3.3.3.3");
  });

  it("resolves an AMI alias through its public SSM parameter and uses an instance profile ARN as Arn", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: "ami-0fedcba9876543210" } });
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: "i-0bbb" }] });
    describeReturns(instance("i-0bbb", "running", { PublicIpAddress: "3.3.3.4" }));
    const arn = "arn:aws:iam::123456789012:instance-profile/iae";
    await launchDevInstance(ctx, { ami: "ubuntu24", infra: { ...INFRA, instanceProfile: arn } });
    expect(ssm.commandCalls(GetParameterCommand)[0].args[0].input).toEqual({ Name: AMI_ALIAS_PARAMETERS.ubuntu24 });
    expect(AMI_ALIAS_PARAMETERS.ubuntu24).toBe(
      "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
    );
    const input = ec2.commandCalls(RunInstancesCommand)[0].args[0].input;
    expect(input.ImageId).toBe("ami-0fedcba9876543210");
    expect(input.IamInstanceProfile).toEqual({ Arn: arn });
    // Default lifetime 60 min and the image's own root size.
    expect(input.TagSpecifications?.[0].Tags).toContainEqual({ Key: "Timeout", Value: "60" });
    expect(input.BlockDeviceMappings?.[0].Ebs?.VolumeSize).toBe(30);
  });

  it.each([["0"], ["-5"], ["1.5"], ["ten"]])("rejects timeout %s before calling AWS", async (t) => {
    const { stackFile } = tempStack();
    await expect(launchDevInstance(testContext(stackFile), { timeout: t, infra: INFRA })).rejects.toThrow(
      /--timeout \(minutes\) must be a positive integer/,
    );
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });

  it("rejects a volume smaller than the image and unknown aliases", async () => {
    const { stackFile } = tempStack();
    await expect(launchDevInstance(testContext(stackFile), { volumeSize: "8", infra: INFRA })).rejects.toThrow(
      /smaller than the root volume .* \(30 GB\)/,
    );
    await expect(launchDevInstance(testContext(stackFile), { ami: "ubuntu18", infra: INFRA })).rejects.toThrow(
      /neither an image id .* nor an alias \(ubuntu22, ubuntu24, dlami\)/,
    );
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });

  it("keeps at most four instances per analysis", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    let n = 0;
    ec2.on(RunInstancesCommand).callsFake(() => ({ Instances: [{ InstanceId: `i-${++n}` }] }));
    ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds: string[] }) => ({
      Reservations: [{ Instances: input.InstanceIds.map((id) => instance(id, "running")) }],
    }));
    for (let i = 0; i < 4; i++) await launchDevInstance(ctx, { infra: INFRA });
    await expect(launchDevInstance(ctx, { infra: INFRA })).rejects.toThrow(
      /already has 4 development instances .*terminate one/,
    );
    await expect(assignInstance(ctx, { instanceId: "i-other" })).rejects.toThrow(/already has 4 development instances/);
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(4);
    expect(readStateFile(stackFile).instances.map((i) => i.name)).toEqual(
      [1, 2, 3, 4].map((k) => `${ANALYSIS}-dev-${k}`),
    );
  });
});

describe("assign, select, list", () => {
  it("assigns an existing instance, lists with * on the selected one, selects by name and id", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    const launched = new Date("2026-11-23T09:30:00Z");
    describeReturns(
      instance("i-1", "running", {
        PublicIpAddress: "1.1.1.1",
        LaunchTime: launched,
        Tags: [
          { Key: "Timeout", Value: "60" },
          { Key: "Name", Value: "tagged" },
        ],
      }),
      instance("i-2", "stopped", { PrivateIpAddress: "10.0.0.2" }),
    );
    await assignInstance(ctx, { instanceId: "i-1" });
    await assignInstance(ctx, { instanceId: "i-2", name: "second", description: "gpu box" });
    await expect(assignInstance(ctx, { instanceId: "i-1" })).rejects.toThrow(
      /already one of the development instances/,
    );
    selectDevInstance(ctx, { name: "tagged" });
    ctx.lines.length = 0;
    await listInstances(ctx);
    expect(ctx.lines[1]).toMatch(/^\*\s+tagged\s+i-1\s+running\s+1\.1\.1\.1\s+30 min left$/);
    expect(ctx.lines[2]).toMatch(/^\s+second\s+i-2\s+stopped\s+10\.0\.0\.2\s+-\s+gpu box$/);
    selectDevInstance(ctx, { id: "i-2" });
    expect(readStateFile(stackFile).selected).toBe("i-2");
    expect(() => selectDevInstance(ctx, { name: "nope" })).toThrow(
      /no development instance with name "nope".*known: i-1 \(tagged\), i-2 \(second\)/,
    );
    await expect(getIp(ctx)).rejects.toThrow(
      /instance i-2 is stopped, not running: cannot get its address; start it with "remote start-devinstance"/,
    );
  });

  it("says clearly when no instance is selected", async () => {
    const { stackFile } = tempStack();
    await expect(getIp(testContext(stackFile))).rejects.toThrow(
      /no development instance selected for pca-analysis: launch one/,
    );
  });
});

describe("lifetime", () => {
  async function withRunning(launchTime: Date, timeout: string) {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    describeReturns(
      instance("i-1", "running", {
        PublicIpAddress: "1.1.1.1",
        LaunchTime: launchTime,
        Tags: [{ Key: "Timeout", Value: timeout }],
      }),
    );
    await assignInstance(ctx, { instanceId: "i-1" });
    return ctx;
  }

  it("measures from launch against the Timeout tag with the injected clock", async () => {
    const ctx = await withRunning(new Date("2026-11-23T09:15:00Z"), "60");
    expect(await getLifetime(ctx)).toBe(15);
    ctx.now = new Date("2026-11-23T10:20:30Z");
    expect(await getLifetime(ctx)).toBe(-5.5);
    expect(ctx.lines.at(-1)).toContain("expired 5 min ago");
  });

  it("extend adds minutes to the Timeout tag", async () => {
    const ctx = await withRunning(new Date("2026-11-23T09:15:00Z"), "60");
    ec2.on(CreateTagsCommand).resolves({});
    expect(await extendLifetime(ctx, "45")).toBe(105);
    expect(ec2.commandCalls(CreateTagsCommand).at(-1)!.args[0].input).toEqual({
      Resources: ["i-1"],
      Tags: [{ Key: "Timeout", Value: "105" }],
    });
    expect(ctx.lines.at(-1)).toContain("1 h 0 min left");
    await expect(extendLifetime(ctx, "0")).rejects.toThrow(/--minutes must be a positive integer, got "0"/);
  });

  it("extend gives an assigned instance without Timeout tag a lifetime from now", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    describeReturns(instance("i-1", "running", { LaunchTime: new Date("2026-11-23T09:00:30Z") }));
    await assignInstance(ctx, { instanceId: "i-1" });
    await expect(getLifetime(ctx)).rejects.toThrow(
      /instance i-1 has no Timeout tag \(it was not launched by neurocaas\); "remote extend-lifetime -m MIN" gives it one/,
    );
    ec2.on(CreateTagsCommand).resolves({});
    // 59.5 minutes since launch count as 60 used, plus 30.
    expect(await extendLifetime(ctx, "30")).toBe(90);
  });

  it("start resets the Timeout tag and the saved-image baseline", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    let state = "stopped";
    ec2
      .on(DescribeInstancesCommand)
      .callsFake(() => ({ Reservations: [{ Instances: [instance("i-1", state, { PublicIpAddress: "1.1.1.9" })] }] }));
    ec2.on(StartInstancesCommand).callsFake(() => {
      state = "running";
      return {};
    });
    ec2.on(CreateTagsCommand).resolves({});
    await assignInstance(ctx, { instanceId: "i-1" });
    ctx.now = new Date("2026-11-24T08:00:00Z");
    await startDevInstance(ctx, "30");
    expect(ec2.commandCalls(CreateTagsCommand).at(-1)!.args[0].input).toEqual({
      Resources: ["i-1"],
      Tags: [{ Key: "Timeout", Value: "30" }],
    });
    expect(ec2.commandCalls(StartInstancesCommand)[0].args[0].input).toEqual({ InstanceIds: ["i-1"] });
    expect(readStateFile(stackFile).instances[0].lastStartedAt).toBe("2026-11-24T08:00:00.000Z");
    await expect(startDevInstance(ctx)).rejects.toThrow(/is running: only a stopped instance can be started/);
    ec2.on(StopInstancesCommand).resolves({});
    await stopDevInstance(ctx);
    expect(ec2.commandCalls(StopInstancesCommand)[0].args[0].input).toEqual({ InstanceIds: ["i-1"] });
    state = "stopped";
    await expect(stopDevInstance(ctx)).rejects.toThrow(
      /instance i-1 is stopped: only a running instance can be stopped/,
    );
  });
});
