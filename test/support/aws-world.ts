import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type CreateTagsCommandInput,
  type Filter,
  type RunInstancesCommandInput,
} from "@aws-sdk/client-ec2";
import { CloudWatchClient, GetMetricStatisticsCommand } from "@aws-sdk/client-cloudwatch";
import { GetProductsCommand, PricingClient } from "@aws-sdk/client-pricing";
import {
  GetCommandInvocationCommand,
  GetParameterCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
  SSMServiceException,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import type { IaeState } from "../../protocols/compute";

/** A simulated EC2 instance. */
export interface SimInstance {
  readonly id: string;
  readonly type: string;
  readonly imageId: string;
  state: IaeState;
  readonly tags: Record<string, string>;
  launchTime: Date;
  readonly spot: boolean;
  readonly input: RunInstancesCommandInput;
  /** Root EBS volume (id and tags), for instances launched through RunInstances. */
  readonly volume?: { readonly id: string; readonly tags: Record<string, string> };
  /** SendCommand attempts seen (the agent registers after `agentReadyAfter` of them). */
  sendAttempts: number;
  /** RunInstances' ClientToken and this instance's AmiLaunchIndex in that call. */
  readonly clientToken?: string;
  readonly launchIndex?: number;
  /** EC2 StateReason code of the last state change (e.g. Server.SpotInstanceTermination). */
  stateReason?: string;
}

export interface SimCommand {
  readonly commandId: string;
  readonly instanceId: string;
  readonly parameters: Record<string, string[]>;
  readonly outputBucket?: string;
  readonly outputPrefix?: string;
  readonly comment?: string;
  status: "Pending" | "InProgress" | "Success" | "Failed" | "TimedOut";
  /** What GetCommandInvocation reports once the command ended. */
  responseCode?: number;
  statusDetails?: string;
  stderr?: string;
}

export function ec2Error(code: string, status: number, message = code): EC2ServiceException {
  return new EC2ServiceException({
    name: code,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
    message,
  });
}

export function ssmError(code: string, status: number, message = code): SSMServiceException {
  return new SSMServiceException({
    name: code,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
    message,
  });
}

/**
 * EC2, SSM and Pricing behind aws-sdk-client-mock with an in-memory account: instances with
 * tags and states, filters as DescribeInstances applies them, SSM agents that register after a
 * configurable number of attempts, parameter store, price list documents. Tests queue faults.
 */
export class AwsWorld {
  readonly ec2 = mockClient(EC2Client);
  readonly ssm = mockClient(SSMClient);
  readonly pricing = mockClient(PricingClient);
  readonly cloudwatch = mockClient(CloudWatchClient);
  /** 5-minute CPU averages CloudWatch reports per instance (none: no datapoints). */
  readonly cpu = new Map<string, number[]>();
  readonly instances = new Map<string, SimInstance>();
  readonly commands: SimCommand[] = [];
  readonly parameters = new Map<string, string>();
  /** Hourly prices the Pricing API answers with (types not listed: empty answer). */
  readonly prices = new Map<string, number>();
  /** Errors thrown by the next RunInstances calls, in order (undefined = succeed). */
  readonly runInstancesFaults: (Error | undefined)[] = [];
  /** SendCommand attempts before an instance's agent is registered (Infinity: never). */
  agentReadyAfter = 0;
  pricingFails = false;
  runInstancesCalls: RunInstancesCommandInput[] = [];
  /** Errors thrown by the next CreateTags calls, in order (undefined = succeed). */
  readonly createTagsFaults: (Error | undefined)[] = [];
  createTagsCalls: CreateTagsCommandInput[] = [];
  /**
   * Whether RunInstances answers carry the root volume in BlockDeviceMappings (real EC2 often
   * leaves them out for pending instances; DescribeInstances then shows them).
   */
  runInstancesReturnsVolumes = true;
  /** Answer RunInstances with the new instances in reverse creation order (order is not an id order). */
  runInstancesReversed = false;
  /** AmiLaunchIndex of the n-th instance a RunInstances call creates (default n): launch order need not be creation order. */
  launchIndexOf: (n: number, count: number) => number = (n) => n;
  private counter = 0;

  constructor(private readonly now: () => Date = () => new Date()) {
    this.install();
  }

  reset(): void {
    this.instances.clear();
    this.commands.length = 0;
    this.parameters.clear();
    this.prices.clear();
    this.runInstancesFaults.length = 0;
    this.runInstancesCalls = [];
    this.createTagsFaults.length = 0;
    this.createTagsCalls = [];
    this.runInstancesReturnsVolumes = true;
    this.runInstancesReversed = false;
    this.launchIndexOf = (n) => n;
    this.agentReadyAfter = 0;
    this.pricingFails = false;
    this.ec2.resetHistory();
    this.ssm.resetHistory();
    this.pricing.resetHistory();
    this.cloudwatch.resetHistory();
    this.cpu.clear();
  }

  restore(): void {
    this.ec2.restore();
    this.ssm.restore();
    this.pricing.restore();
    this.cloudwatch.restore();
  }

  /** Add an instance that was not launched through the protocols. */
  addInstance(args: {
    type: string;
    imageId: string;
    tags?: Record<string, string>;
    state?: IaeState;
    launchTime?: Date;
    spot?: boolean;
  }): SimInstance {
    const inst: SimInstance = {
      id: this.nextId(),
      type: args.type,
      imageId: args.imageId,
      state: args.state ?? "running",
      tags: { ...(args.tags ?? {}) },
      launchTime: args.launchTime ?? this.now(),
      spot: args.spot ?? false,
      input: {} as RunInstancesCommandInput,
      sendAttempts: 0,
    };
    this.instances.set(inst.id, inst);
    return inst;
  }

  running(): SimInstance[] {
    return [...this.instances.values()].filter((i) => i.state === "pending" || i.state === "running");
  }

  private nextId(): string {
    this.counter++;
    return `i-${(0x0a000000000000000n + BigInt(this.counter)).toString(16).padStart(17, "0")}`;
  }

  private runInstancesItem(i: SimInstance) {
    return {
      InstanceId: i.id,
      InstanceType: i.type,
      ImageId: i.imageId,
      State: { Name: i.state },
      AmiLaunchIndex: i.launchIndex,
      ClientToken: i.clientToken,
      ...(this.runInstancesReturnsVolumes ? blockDevicesOf(i) : {}),
    };
  }

  private install(): void {
    this.ec2.on(DescribeImagesCommand).callsFake((input: { ImageIds?: string[] }) => ({
      Images: (input.ImageIds ?? [])
        .filter((id) => id.startsWith("ami-"))
        .map((ImageId) => ({ ImageId, RootDeviceName: "/dev/sda1" })),
    }));
    this.ec2.on(RunInstancesCommand).callsFake((input: RunInstancesCommandInput) => {
      this.runInstancesCalls.push(input);
      const fault = this.runInstancesFaults.shift();
      if (fault) throw fault;
      const tagsOf = (type: string): Record<string, string> => {
        const tags: Record<string, string> = {};
        for (const t of input.TagSpecifications?.find((s) => s.ResourceType === type)?.Tags ?? [])
          tags[t.Key as string] = t.Value as string;
        return tags;
      };
      const tags = tagsOf("instance");
      // EC2 idempotency: a token that already started instances returns them.
      const earlier = input.ClientToken
        ? [...this.instances.values()]
            .filter((i) => i.clientToken === input.ClientToken)
            .sort((a, b) => (a.launchIndex ?? 0) - (b.launchIndex ?? 0))
        : [];
      if (earlier.length > 0) {
        return {
          Instances: (this.runInstancesReversed ? [...earlier].reverse() : earlier).map((i) =>
            this.runInstancesItem(i),
          ),
        };
      }
      const created: SimInstance[] = [];
      for (let n = 0; n < (input.MaxCount ?? 1); n++) {
        const id = this.nextId();
        const inst: SimInstance = {
          id,
          volume: { id: id.replace(/^i-/, "vol-"), tags: tagsOf("volume") },
          type: input.InstanceType as string,
          imageId: input.ImageId as string,
          state: "pending",
          tags: { ...tags },
          launchTime: this.now(),
          spot: input.InstanceMarketOptions?.MarketType === "spot",
          input,
          sendAttempts: 0,
          clientToken: input.ClientToken,
          launchIndex: this.launchIndexOf(n, input.MaxCount ?? 1),
        };
        this.instances.set(inst.id, inst);
        created.push(inst);
      }
      return {
        Instances: (this.runInstancesReversed ? [...created].reverse() : created).map((i) => this.runInstancesItem(i)),
      };
    });
    this.ec2.on(CreateTagsCommand).callsFake((input: CreateTagsCommandInput) => {
      this.createTagsCalls.push(input);
      const fault = this.createTagsFaults.shift();
      if (fault) throw fault;
      const targets = (input.Resources ?? []).map((r) => {
        const inst = r.startsWith("vol-")
          ? [...this.instances.values()].find((i) => i.volume?.id === r)
          : this.instances.get(r);
        if (!inst)
          throw ec2Error(
            r.startsWith("vol-") ? "InvalidVolume.NotFound" : "InvalidInstanceID.NotFound",
            400,
            `The ID '${r}' does not exist`,
          );
        return r.startsWith("vol-") ? (inst.volume as { tags: Record<string, string> }).tags : inst.tags;
      });
      for (const tags of targets) for (const t of input.Tags ?? []) tags[t.Key as string] = t.Value ?? "";
      return {};
    });
    this.ec2.on(DescribeInstancesCommand).callsFake((input: { Filters?: Filter[]; InstanceIds?: string[] }) => {
      const matches = [...this.instances.values()].filter(
        (i) =>
          (input.InstanceIds ? input.InstanceIds.includes(i.id) : true) &&
          (input.Filters ?? []).every((f) => matchesFilter(i, f)),
      );
      return {
        Reservations: matches.map((i) => ({
          Instances: [
            {
              InstanceId: i.id,
              InstanceType: i.type,
              ImageId: i.imageId,
              State: { Name: i.state },
              LaunchTime: i.launchTime,
              InstanceLifecycle: i.spot ? "spot" : undefined,
              ClientToken: i.clientToken,
              AmiLaunchIndex: i.launchIndex,
              ...(i.stateReason ? { StateReason: { Code: i.stateReason, Message: i.stateReason } } : {}),
              Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })),
              ...blockDevicesOf(i),
            },
          ],
        })),
      };
    });
    const changeState = (to: IaeState) => (input: { InstanceIds?: string[] }) => {
      const ids = input.InstanceIds ?? [];
      const missing = ids.filter((id) => !this.instances.has(id));
      if (missing.length > 0)
        throw ec2Error("InvalidInstanceID.NotFound", 400, `The instance IDs '${missing.join(", ")}' do not exist`);
      for (const id of ids) this.instances.get(id)!.state = to;
      return {};
    };
    this.ec2.on(TerminateInstancesCommand).callsFake(changeState("terminated"));
    this.ec2.on(StopInstancesCommand).callsFake(changeState("stopped"));

    this.ssm
      .on(SendCommandCommand)
      .callsFake(
        (input: {
          InstanceIds?: string[];
          Parameters?: Record<string, string[]>;
          OutputS3BucketName?: string;
          OutputS3KeyPrefix?: string;
          Comment?: string;
        }) => {
          const id = (input.InstanceIds ?? [])[0];
          const inst = this.instances.get(id);
          if (!inst || inst.state !== "running")
            throw ssmError("InvalidInstanceId", 400, "Instances not in a valid state for account");
          inst.sendAttempts++;
          if (inst.sendAttempts <= this.agentReadyAfter)
            throw ssmError("InvalidInstanceId", 400, "Instances not in a valid state for account");
          const cmd: SimCommand = {
            commandId: `cmd-${this.commands.length + 1}`,
            instanceId: id,
            parameters: input.Parameters ?? {},
            outputBucket: input.OutputS3BucketName,
            outputPrefix: input.OutputS3KeyPrefix,
            comment: input.Comment,
            status: "InProgress",
          };
          this.commands.push(cmd);
          return { Command: { CommandId: cmd.commandId, Status: "Pending" } };
        },
      );
    this.ssm.on(GetCommandInvocationCommand).callsFake((input: { CommandId?: string }) => {
      const cmd = this.commands.find((c) => c.commandId === input.CommandId);
      if (!cmd) throw ssmError("InvocationDoesNotExist", 400);
      return {
        Status: cmd.status,
        ResponseCode: cmd.responseCode ?? -1,
        StatusDetails: cmd.statusDetails ?? cmd.status,
        ...(cmd.stderr !== undefined ? { StandardErrorContent: cmd.stderr } : {}),
      };
    });
    this.ssm.on(ListCommandInvocationsCommand).callsFake((input: { InstanceId?: string }) => ({
      CommandInvocations: this.commands
        .filter((c) => c.instanceId === input.InstanceId)
        .map((c) => ({ CommandId: c.commandId, InstanceId: c.instanceId, Comment: c.comment, Status: c.status })),
    }));
    this.ssm.on(ListCommandsCommand).callsFake((input: { InstanceId?: string }) => ({
      Commands: this.commands
        .filter((c) => c.instanceId === input.InstanceId)
        .map((c) => ({ CommandId: c.commandId, Status: c.status })),
    }));
    this.ssm.on(GetParameterCommand).callsFake((input: { Name?: string }) => {
      const value = this.parameters.get(input.Name ?? "");
      if (value === undefined) throw ssmError("ParameterNotFound", 400);
      return { Parameter: { Name: input.Name, Value: value, Type: "String" } };
    });
    this.cloudwatch
      .on(GetMetricStatisticsCommand)
      .callsFake((input: { Dimensions?: { Name?: string; Value?: string }[] }) => {
        const id = input.Dimensions?.find((d) => d.Name === "InstanceId")?.Value ?? "";
        return {
          Label: "CPUUtilization",
          Datapoints: (this.cpu.get(id) ?? []).map((Average, i) => ({
            Average,
            Unit: "Percent",
            Timestamp: new Date(this.now().getTime() - i * 300_000),
          })),
        };
      });
    this.pricing.on(GetProductsCommand).callsFake((input: { Filters?: { Field?: string; Value?: string }[] }) => {
      if (this.pricingFails) throw new Error("getaddrinfo ENOTFOUND api.pricing.us-east-1.amazonaws.com");
      const type = input.Filters?.find((f) => f.Field === "instanceType")?.Value ?? "";
      const price = this.prices.get(type);
      if (price === undefined) return { PriceList: [] };
      return { PriceList: [JSON.stringify(priceDocument(type, price))] };
    });
  }
}

function blockDevicesOf(i: SimInstance): {
  RootDeviceName?: string;
  BlockDeviceMappings?: { DeviceName: string; Ebs: { VolumeId: string; DeleteOnTermination: boolean } }[];
} {
  if (!i.volume) return {};
  return {
    RootDeviceName: "/dev/sda1",
    BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { VolumeId: i.volume.id, DeleteOnTermination: true } }],
  };
}

function matchesFilter(i: SimInstance, f: Filter): boolean {
  const values = f.Values ?? [];
  switch (f.Name) {
    case "instance-state-name":
      return values.includes(i.state);
    case "instance-type":
      return values.includes(i.type);
    case "image-id":
      return values.includes(i.imageId);
    case "instance-id":
      return values.includes(i.id);
    case "tag-key":
      return values.some((v) => v in i.tags);
    case "client-token":
      return i.clientToken !== undefined && values.includes(i.clientToken);
    default:
      if (f.Name?.startsWith("tag:")) return values.includes(i.tags[f.Name.slice(4)]);
      throw new Error(`unsupported filter ${f.Name}`);
  }
}

/** A Pricing API product document as GetProducts returns it (abridged to the fields read). */
export function priceDocument(instanceType: string, usd: number): unknown {
  return {
    product: {
      productFamily: "Compute Instance",
      attributes: { instanceType, operatingSystem: "Linux", tenancy: "Shared" },
    },
    serviceCode: "AmazonEC2",
    terms: {
      OnDemand: {
        "ABC.JRTCKXETXF": {
          priceDimensions: {
            "ABC.JRTCKXETXF.6YS6EN2CT7": {
              unit: "Hrs",
              pricePerUnit: { USD: usd.toFixed(10) },
              description: `$${usd} per On Demand Linux ${instanceType} Instance Hour`,
            },
          },
          sku: "ABC",
          effectiveDate: "2024-01-01T00:00:00Z",
        },
      },
    },
  };
}
