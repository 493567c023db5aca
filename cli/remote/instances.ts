import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type EC2Client,
  type Instance,
  type RunInstancesCommandInput,
  type Tag,
} from "@aws-sdk/client-ec2";
import type { DevInfrastructure } from "./dev-infra";

/** What the remote commands need to know about one EC2 instance. */
export interface InstanceInfo {
  readonly instanceId: string;
  readonly state: string;
  readonly launchTime?: Date;
  readonly publicIp?: string;
  readonly privateIp?: string;
  readonly tags: Readonly<Record<string, string>>;
}

function tagMap(tags: readonly Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? "";
  return out;
}

function toInfo(i: Instance): InstanceInfo {
  return {
    instanceId: i.InstanceId ?? "",
    state: i.State?.Name ?? "unknown",
    ...(i.LaunchTime ? { launchTime: new Date(i.LaunchTime) } : {}),
    ...(i.PublicIpAddress ? { publicIp: i.PublicIpAddress } : {}),
    ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
    tags: tagMap(i.Tags),
  };
}

/** Describe instances by id; ids EC2 no longer knows are absent from the map. */
export async function describeInstances(ec2: EC2Client, ids: readonly string[]): Promise<Map<string, InstanceInfo>> {
  const out = new Map<string, InstanceInfo>();
  if (ids.length === 0) return out;
  let res;
  try {
    res = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [...ids] }));
  } catch (err) {
    if ((err as { name?: string }).name !== "InvalidInstanceID.NotFound") throw err;
    if (ids.length === 1) return out;
    // A single unknown id fails the whole call; fall back to one call per id.
    for (const id of ids) for (const [k, v] of await describeInstances(ec2, [id])) out.set(k, v);
    return out;
  }
  for (const r of res.Reservations ?? [])
    for (const i of r.Instances ?? []) if (i.InstanceId) out.set(i.InstanceId, toInfo(i));
  return out;
}

export async function describeInstance(ec2: EC2Client, id: string): Promise<InstanceInfo> {
  const info = (await describeInstances(ec2, [id])).get(id);
  if (!info || info.state === "terminated")
    throw new Error(`instance ${id} does not exist (or is terminated) in this account and region`);
  return info;
}

export function assertRunning(info: InstanceInfo, action: string): void {
  if (info.state !== "running") {
    const hint = info.state === "stopped" ? `; start it with "remote start-devinstance"` : "";
    throw new Error(`instance ${info.instanceId} is ${info.state}, not running: cannot ${action}${hint}`);
  }
}

export interface WaitArgs {
  readonly sleep: (ms: number) => Promise<void>;
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

/** Poll until the instance is running; fails when it ends up in another final state or time runs out. */
export async function waitUntilRunning(ec2: EC2Client, id: string, args: WaitArgs): Promise<InstanceInfo> {
  const interval = args.intervalMs ?? 5000;
  const attempts = Math.max(1, Math.ceil((args.timeoutMs ?? 300_000) / interval));
  let last = "unknown";
  for (let n = 0; n < attempts; n++) {
    const info = (await describeInstances(ec2, [id])).get(id);
    last = info?.state ?? "not visible yet";
    if (info?.state === "running") return info;
    if (info && ["terminated", "shutting-down", "stopped", "stopping"].includes(info.state)) {
      throw new Error(`instance ${id} is ${info.state} instead of starting`);
    }
    await args.sleep(interval);
  }
  throw new Error(
    `instance ${id} did not reach "running" in time (last state: ${last}); check it with "remote list-instances"`,
  );
}

export interface RootVolume {
  readonly deviceName: string;
  readonly sizeGb: number;
}

/** The root device of an image and its size, needed to size the dev instance's root volume. */
export async function imageRootVolume(ec2: EC2Client, imageId: string): Promise<RootVolume> {
  const res = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
  const img = res.Images?.[0];
  if (!img) throw new Error(`image ${imageId} is not available in this region (or not visible to this account)`);
  const deviceName = img.RootDeviceName;
  const size = img.BlockDeviceMappings?.find((m) => m.DeviceName === deviceName)?.Ebs?.VolumeSize;
  if (!deviceName || size === undefined)
    throw new Error(`image ${imageId} has no EBS root volume; development instances need an EBS-backed image`);
  return { deviceName, sizeGb: size };
}

export interface DevLaunchArgs {
  readonly analysis: string;
  readonly imageId: string;
  readonly instanceType: string;
  readonly name: string;
  readonly description: string;
  readonly timeoutMinutes: number;
  readonly volumeSizeGb: number;
  readonly rootDeviceName: string;
  readonly ownerArn: string;
  readonly infra: DevInfrastructure;
}

/** Tags on a development instance and its volume (SPEC 5.1), launched or assigned. */
export function devInstanceTags(
  args: Pick<DevLaunchArgs, "name" | "timeoutMinutes" | "ownerArn" | "analysis" | "description">,
): Tag[] {
  return [
    { Key: "Name", Value: args.name },
    { Key: "PriceTracking", Value: "On" },
    { Key: "Timeout", Value: String(args.timeoutMinutes) },
    { Key: "OwnerArn", Value: args.ownerArn },
    { Key: "neurocaas:analysis", Value: args.analysis },
    { Key: "neurocaas:role", Value: "devinstance" },
    ...(args.description ? [{ Key: "neurocaas:description", Value: args.description }] : []),
  ];
}

export function buildRunInstancesInput(args: DevLaunchArgs): RunInstancesCommandInput {
  const tags = devInstanceTags(args);
  const profile = args.infra.instanceProfile;
  return {
    ImageId: args.imageId,
    InstanceType: args.instanceType as RunInstancesCommandInput["InstanceType"],
    MinCount: 1,
    MaxCount: 1,
    KeyName: args.infra.keyName,
    SecurityGroupIds: [args.infra.securityGroupId],
    ...(args.infra.subnetId ? { SubnetId: args.infra.subnetId } : {}),
    IamInstanceProfile: profile.startsWith("arn:") ? { Arn: profile } : { Name: profile },
    // A shutdown from inside (e.g. the COMMAND's cleanup) stops the instance: the work survives.
    InstanceInitiatedShutdownBehavior: "stop",
    MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled" },
    BlockDeviceMappings: [
      {
        DeviceName: args.rootDeviceName,
        Ebs: { VolumeSize: args.volumeSizeGb, VolumeType: "gp3", Encrypted: true, DeleteOnTermination: true },
      },
    ],
    TagSpecifications: [
      { ResourceType: "instance", Tags: tags },
      { ResourceType: "volume", Tags: tags },
    ],
  };
}
