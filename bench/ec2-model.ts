import type { Filter, Instance, RunInstancesCommandInput, Tag } from "@aws-sdk/client-ec2";

/**
 * A minimal EC2 account for the job-manager benchmark: RunInstances creates pending instances
 * with the requested tags, DescribeInstances answers the filters the compute adapter uses,
 * TerminateInstances marks instances terminated. Pure and synchronous; latency is added by the
 * mock around it.
 */
export class SimulatedEc2 {
  private readonly instances = new Map<string, Instance>();
  private readonly byToken = new Map<string, string[]>();
  private next = 1;

  runInstances(input: RunInstancesCommandInput): Instance[] {
    const count = input.MinCount ?? 1;
    if (count !== (input.MaxCount ?? count)) throw new Error("SimulatedEc2: MinCount must equal MaxCount");
    const token = input.ClientToken;
    if (token !== undefined && this.byToken.has(token))
      return (this.byToken.get(token) as string[]).map((id) => this.instances.get(id) as Instance);
    const tags = input.TagSpecifications?.find((t) => t.ResourceType === "instance")?.Tags ?? [];
    const created: Instance[] = [];
    for (let i = 0; i < count; i++) {
      const id = `i-${(this.next++).toString(16).padStart(17, "0")}`;
      const inst: Instance = {
        InstanceId: id,
        InstanceType: input.InstanceType,
        ImageId: input.ImageId,
        State: { Name: "pending", Code: 0 },
        LaunchTime: new Date(),
        Tags: tags.map((t) => ({ ...t })),
        RootDeviceName: "/dev/xvda",
        BlockDeviceMappings: [
          { DeviceName: "/dev/xvda", Ebs: { VolumeId: id.replace(/^i-/, "vol-"), Status: "attaching" } },
        ],
        ...(input.InstanceMarketOptions?.MarketType === "spot" ? { InstanceLifecycle: "spot" as const } : {}),
      };
      this.instances.set(id, inst);
      created.push(inst);
    }
    if (token !== undefined)
      this.byToken.set(
        token,
        created.map((c) => c.InstanceId as string),
      );
    return created;
  }

  /** Instances matching every filter (EC2 semantics: values of one filter are OR-ed). */
  describe(filters: readonly Filter[] = []): Instance[] {
    return [...this.instances.values()].filter((inst) => filters.every((f) => matches(inst, f)));
  }

  /** CreateTags: instances get the tags (a key already present takes the new value); volume ids are accepted and not modeled further. */
  createTags(resources: readonly string[], tags: readonly Tag[]): void {
    for (const id of resources) {
      if (id.startsWith("vol-")) continue;
      const inst = this.instances.get(id);
      if (!inst) throw new Error(`SimulatedEc2: CreateTags on unknown instance ${id}`);
      const keys = new Set(tags.map((t) => t.Key));
      inst.Tags = [...(inst.Tags ?? []).filter((t) => !keys.has(t.Key)), ...tags.map((t) => ({ ...t }))];
    }
  }

  terminate(ids: readonly string[]): void {
    for (const id of ids) {
      const inst = this.instances.get(id);
      if (inst) inst.State = { Name: "terminated", Code: 48 };
    }
  }

  /** Every instance terminated (between benchmark submissions). */
  terminateAll(): void {
    this.terminate([...this.instances.keys()]);
  }

  get size(): number {
    return this.instances.size;
  }
}

function matches(inst: Instance, f: Filter): boolean {
  const values = f.Values ?? [];
  const one = (v: string | undefined) => v !== undefined && values.includes(v);
  switch (f.Name) {
    case "instance-id":
      return one(inst.InstanceId);
    case "instance-state-name":
      return one(inst.State?.Name);
    case "instance-type":
      return one(inst.InstanceType);
    case "image-id":
      return one(inst.ImageId);
    case "tag-key":
      return (inst.Tags ?? []).some((t) => one(t.Key));
    default:
      if (f.Name?.startsWith("tag:")) {
        const key = f.Name.slice(4);
        return (inst.Tags ?? []).some((t) => t.Key === key && one(t.Value));
      }
      throw new Error(`SimulatedEc2: unsupported filter ${JSON.stringify(f.Name)}`);
  }
}
