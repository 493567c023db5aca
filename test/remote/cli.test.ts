import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { mockClient } from "aws-sdk-client-mock";
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { register } from "../../cli/commands/remote";
import type { RemoteClientArgs } from "../../cli/remote/clients";
import { resolveDevInfrastructure, UTILS_OUTPUT_KEYS } from "../../cli/remote/dev-infra";
import { realClients, tempStack } from "./helpers";

const ec2 = mockClient(EC2Client);
const sts = mockClient(STSClient);

function program(lines: string[], factoryCalls: RemoteClientArgs[], now: Date): Command {
  const p = new Command().exitOverride().enablePositionalOptions();
  register(p, {
    clientFactory: (args) => {
      factoryCalls.push(args);
      return realClients();
    },
    clock: () => now,
    sleep: async () => undefined,
    out: (l) => void lines.push(l),
  });
  return p;
}

beforeEach(() => {
  ec2.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Arn: "arn:aws:iam::1:user/dev" });
  ec2.on(DescribeImagesCommand).resolves({
    Images: [
      { RootDeviceName: "/dev/xvda", BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { VolumeSize: 8 } }] },
    ],
  });
  ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: "i-9" }] });
  ec2.on(CreateTagsCommand).resolves({});
});

describe("neurocaas remote (command line)", () => {
  it("parses the SPEC 5.1 options, reads the utils outputs file, and passes --profile/--region to the client factory", async () => {
    const { dir, stackFile } = tempStack();
    const utils = path.join(dir, "utils.json");
    // As `pulumi stack output --json --stack utils` prints it: one `utils` object output.
    fs.writeFileSync(
      utils,
      JSON.stringify({
        utils: {
          [UTILS_OUTPUT_KEYS.instanceProfile]: "arn:aws:iam::1:instance-profile/iae",
          [UTILS_OUTPUT_KEYS.keyName]: "k",
          [UTILS_OUTPUT_KEYS.securityGroupId]: "sg-dev",
          iaeSecurityGroupId: "sg-iae",
          subnetIds: ["subnet-a", "subnet-b"],
        },
      }),
    );
    const launch = new Date("2026-11-23T10:00:00Z");
    let timeoutTag = "30";
    ec2.on(DescribeInstancesCommand).callsFake(() => ({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: "i-9",
              State: { Name: "running" },
              LaunchTime: launch,
              PublicIpAddress: "9.9.9.9",
              Tags: [{ Key: "Timeout", Value: timeoutTag }],
            },
          ],
        },
      ],
    }));
    ec2.on(CreateTagsCommand).callsFake((input: { Tags: { Value: string }[] }) => {
      timeoutTag = input.Tags[0].Value;
      return {};
    });
    const lines: string[] = [];
    const calls: RemoteClientArgs[] = [];
    const p = program(lines, calls, new Date("2026-11-23T10:10:00Z"));
    const base = ["node", "neurocaas", "remote"];
    await p.parseAsync([
      ...base,
      "launch-devinstance",
      "-f",
      stackFile,
      "--utils-outputs",
      utils,
      "-a",
      "ami-0123456789abcdef9",
      "-n",
      "gpu",
      "-d",
      "test",
      "-v",
      "50",
      "-t",
      "30",
      "--profile",
      "lab",
      "--region",
      "eu-west-1",
    ]);
    const input = ec2.commandCalls(RunInstancesCommand)[0].args[0].input;
    expect(input).toMatchObject({
      ImageId: "ami-0123456789abcdef9",
      KeyName: "k",
      SecurityGroupIds: ["sg-dev"],
      SubnetId: "subnet-a",
      IamInstanceProfile: { Arn: "arn:aws:iam::1:instance-profile/iae" },
    });
    expect(input.BlockDeviceMappings?.[0]).toEqual({
      DeviceName: "/dev/xvda",
      Ebs: { VolumeSize: 50, VolumeType: "gp3", Encrypted: true, DeleteOnTermination: true },
    });
    expect(calls[0]).toEqual({ region: "eu-west-1", profile: "lab" });

    await p.parseAsync([...base, "get-timeout", "-f", stackFile]);
    expect(lines.at(-1)).toMatch(/^i-9: 20 min left/);
    await p.parseAsync([...base, "extend-timeout", "-f", stackFile, "-m", "15"]);
    expect(timeoutTag).toBe("45");
    await p.parseAsync([...base, "get-lifetime", "-f", stackFile]);
    expect(lines.at(-1)).toMatch(/^i-9: 35 min left/);
    await p.parseAsync([...base, "get-ip", "-f", stackFile]);
    expect(lines.at(-1)).toBe("9.9.9.9");
    expect(calls.at(-1)).toEqual({ region: "us-east-1", profile: undefined });
    await expect(p.parseAsync([...base, "job-status", "-f", stackFile, "-j", "-1"])).rejects.toThrow(
      /no job has been submitted to i-9/,
    );
  });

  it("needs a stack file and the utils resources", async () => {
    const lines: string[] = [];
    const p = program(lines, [], new Date());
    const saved = process.env.NEUROCAAS_STACK_FILE;
    delete process.env.NEUROCAAS_STACK_FILE;
    try {
      await expect(p.parseAsync(["node", "neurocaas", "remote", "list-instances"])).rejects.toThrow(
        /pass --stack-file FILE \(or set NEUROCAAS_STACK_FILE\)/,
      );
    } finally {
      if (saved !== undefined) process.env.NEUROCAAS_STACK_FILE = saved;
    }
    expect(() => resolveDevInfrastructure({ keyName: "k" })).toThrow(
      /needs --instance-profile \(utils output "iaeInstanceProfileArn"\), --security-group/,
    );
    expect(
      resolveDevInfrastructure({ instanceProfile: "p", keyName: "k", securityGroup: "sg", subnet: "subnet-1" }),
    ).toEqual({
      instanceProfile: "p",
      keyName: "k",
      securityGroupId: "sg",
      subnetId: "subnet-1",
    });
  });
});
