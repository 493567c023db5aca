import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Filter,
  type Instance,
  type RunInstancesCommandInput,
  type Tag,
} from "@aws-sdk/client-ec2";
import { GetMetricStatisticsCommand, type CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import {
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import {
  CommandTargetNotReadyError,
  LaunchError,
  type CommandInfo,
  type CommandRequest,
  type CommandStatus,
  type ComputeBackend,
  type IaeDescription,
  type IaeLaunchRequest,
  type IaeState,
  type LaunchedIae,
  type RunningFilter,
} from "../compute";
import { mapBounded } from "../concurrency";
import { awsErrorCode, awsHttpStatus, retryWithBackoff, type Sleep } from "../retry";

export interface Ec2ComputeArgs {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  readonly sleep: Sleep;
  /** Total backoff allowed for one launch (capacity, throttling, 5xx). */
  readonly launchRetryMs: number;
  readonly log?: (message: string) => void;
  /** Enables `cpuIdle` (account guard): CPUUtilization from CloudWatch. */
  readonly cloudwatch?: CloudWatchClient;
  /** Now, for the metric window (default: the system clock). */
  readonly now?: () => Date;
}

/** An instance is idle when every 5-minute CPU average of the last 30 minutes is below this (%). */
const IDLE_CPU_PERCENT = 2;
const IDLE_WINDOW_MINUTES = 30;

/** CreateTags calls in flight while tagging the instances of one launch. */
const TAG_CONCURRENCY = 8;
/** Right after RunInstances, new ids may not be visible to CreateTags yet (eventual consistency). */
const NOT_YET_VISIBLE_CODES = new Set(["InvalidInstanceID.NotFound", "InvalidVolume.NotFound", "InvalidID"]);

const TRANSIENT_LAUNCH_CODES = new Set([
  "InsufficientInstanceCapacity",
  "RequestLimitExceeded",
  "VcpuLimitExceeded",
  "Unavailable",
  "InternalError",
  "ServiceUnavailable",
  "InsufficientCapacity",
]);
const SPOT_CAPACITY_CODES = new Set([
  "InsufficientInstanceCapacity",
  "SpotMaxPriceTooLow",
  "MaxSpotInstanceCountExceeded",
  "InsufficientCapacity",
  "InsufficientSpotCapacity",
]);

/** ComputeBackend over EC2 (instances) and SSM (commands). */
export class Ec2ComputeBackend implements ComputeBackend {
  private readonly rootDevices = new Map<string, string>();

  constructor(private readonly args: Ec2ComputeArgs) {}

  async launch(request: IaeLaunchRequest): Promise<readonly LaunchedIae[]> {
    if (!Number.isInteger(request.count) || request.count < 1)
      throw new LaunchError("invalid-request", `count must be a positive integer, got ${request.count}`);
    if (request.instanceTags !== undefined && request.instanceTags.length !== request.count) {
      throw new LaunchError(
        "invalid-request",
        `instanceTags has ${request.instanceTags.length} entries for ${request.count} instances`,
      );
    }
    const { common, perInstance } = splitTags(request);
    const rootDevice = await this.rootDeviceName(request.imageId);
    if (request.adopt) {
      const earlier = await this.launchedBefore(request, rootDevice);
      if (earlier) {
        if (perInstance) await this.tagEach(earlier, perInstance, rootDevice);
        return earlier.iaes;
      }
    }
    // One token per market, the same on every retry: EC2 returns the instances of a request that
    // already succeeded instead of starting a second set (a retry after a lost answer, or a resumed
    // job manager). The market suffix keeps the spot and on-demand requests apart.
    const attempt = (spot: boolean): Promise<RunResult> =>
      retryWithBackoff(
        () => this.runInstances(request, common, rootDevice, spot, ec2ClientToken(request.clientToken, spot)),
        {
          retryable: (err) => !(spot && isSpotCapacityError(err)) && isTransientLaunchError(err),
          maxTotalWaitMs: this.args.launchRetryMs,
          initialDelayMs: 1000,
          maxDelayMs: 15_000,
          sleep: this.args.sleep,
          onRetry: (err, n, ms) =>
            this.args.log?.(`RunInstances attempt ${n} failed (${awsErrorCode(err)}); retrying in ${ms} ms`),
        },
      );
    let result: RunResult;
    try {
      result = await attempt(request.spot);
    } catch (err) {
      if (!(request.spot && isSpotCapacityError(err))) throw toLaunchError(err);
      this.args.log?.(`no spot capacity for ${request.instanceType} (${awsErrorCode(err)}); launching on demand`);
      try {
        result = await attempt(false);
      } catch (fallbackErr) {
        throw toLaunchError(fallbackErr);
      }
    }
    if (perInstance) await this.tagEach(result, perInstance, rootDevice);
    return result.iaes;
  }

  private async runInstances(
    request: IaeLaunchRequest,
    common: Tag[],
    rootDevice: string,
    spot: boolean,
    clientToken: string,
  ): Promise<RunResult> {
    const input: RunInstancesCommandInput = {
      ImageId: request.imageId,
      InstanceType: request.instanceType as RunInstancesCommandInput["InstanceType"],
      MinCount: request.count,
      MaxCount: request.count,
      ClientToken: clientToken,
      ...(request.instanceProfileArn ? { IamInstanceProfile: { Arn: request.instanceProfileArn } } : {}),
      ...(request.keyName ? { KeyName: request.keyName } : {}),
      ...(request.securityGroupIds.length > 0 ? { SecurityGroupIds: [...request.securityGroupIds] } : {}),
      ...(request.subnetId ? { SubnetId: request.subnetId } : {}),
      InstanceInitiatedShutdownBehavior: spot ? "terminate" : request.shutdownBehavior,
      MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled", HttpPutResponseHopLimit: 2 },
      BlockDeviceMappings: [
        {
          DeviceName: rootDevice,
          Ebs: { VolumeSize: request.volumeSizeGb, VolumeType: "gp3", Encrypted: true, DeleteOnTermination: true },
        },
      ],
      ...(common.length > 0
        ? {
            TagSpecifications: [
              { ResourceType: "instance", Tags: common },
              { ResourceType: "volume", Tags: common },
            ],
          }
        : {}),
      ...(spot
        ? {
            InstanceMarketOptions: {
              MarketType: "spot",
              SpotOptions: { SpotInstanceType: "one-time", InstanceInterruptionBehavior: "terminate" },
            },
          }
        : {}),
    };
    const out = await this.args.ec2.send(new RunInstancesCommand(input));
    const instances = inLaunchOrder(out.Instances ?? []);
    if (instances.length !== request.count) {
      // MinCount = MaxCount makes EC2 all-or-nothing; anything else is a broken response.
      await this.terminate(instances.map((i) => i.InstanceId).filter((id): id is string => !!id));
      throw new LaunchError(
        "service",
        `RunInstances returned ${instances.length} instances for ${request.count} requested`,
      );
    }
    // In launch order: instance i (AmiLaunchIndex i) gets instanceTags[i] (see the ComputeBackend contract).
    return {
      iaes: instances.map((i) => ({
        instanceId: i.InstanceId as string,
        instanceType: (i.InstanceType as string) ?? request.instanceType,
        spot,
      })),
      volumes: instances.map((i) => rootVolumeOf(i, rootDevice)),
    };
  }

  /**
   * Apply each instance's own tags to it and its root volume (one CreateTags per instance, at
   * most TAG_CONCURRENCY in flight, throttling and not-yet-visible ids retried). If any instance
   * cannot be tagged, every instance of the launch is terminated and a LaunchError thrown.
   */
  private async tagEach(result: RunResult, perInstance: readonly Tag[][], rootDevice: string): Promise<void> {
    const ids = result.iaes.map((i) => i.instanceId);
    try {
      const volumes = await this.rootVolumes(ids, result.volumes, rootDevice);
      await mapBounded(
        ids,
        TAG_CONCURRENCY,
        async (_id, i) => {
          if (perInstance[i].length === 0) return;
          await retryWithBackoff(
            () => this.args.ec2.send(new CreateTagsCommand({ Resources: [ids[i], volumes[i]], Tags: perInstance[i] })),
            {
              retryable: (err) => isTransientLaunchError(err) || NOT_YET_VISIBLE_CODES.has(awsErrorCode(err) ?? ""),
              maxTotalWaitMs: this.args.launchRetryMs,
              initialDelayMs: 500,
              maxDelayMs: 15_000,
              sleep: this.args.sleep,
              onRetry: (err, n, ms) =>
                this.args.log?.(
                  `CreateTags for ${ids[i]} attempt ${n} failed (${awsErrorCode(err)}); retrying in ${ms} ms`,
                ),
            },
          );
        },
        { stopOnError: true },
      );
    } catch (err) {
      const cause = toLaunchError(err);
      this.args.log?.(`tagging the ${ids.length} new IAE(s) failed (${cause.code ?? cause.message}); terminating them`);
      await this.terminateLaunched(ids, cause);
      throw new LaunchError(
        cause.kind,
        `the new IAEs could not be tagged (${cause.message}); all ${ids.length} IAE(s) of this launch were terminated`,
        cause.code,
      );
    }
  }

  /** Instances an earlier request with this token started (either market), in launch order; undefined when none. */
  private async launchedBefore(request: IaeLaunchRequest, rootDevice: string): Promise<RunResult | undefined> {
    const tokens = [ec2ClientToken(request.clientToken, true), ec2ClientToken(request.clientToken, false)];
    const found: Instance[] = [];
    let token: string | undefined;
    do {
      const page = await this.args.ec2.send(
        new DescribeInstancesCommand({ Filters: [{ Name: "client-token", Values: tokens }], NextToken: token }),
      );
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) found.push(i);
      token = page.NextToken;
    } while (token);
    if (found.length === 0) return undefined;
    // Both markets cannot have succeeded for one token pair, but be exact: keep the market that did.
    const market = found.filter((i) => i.ClientToken === found[0].ClientToken);
    if (market.length !== request.count)
      throw new LaunchError(
        "service",
        `an earlier launch with token ${request.clientToken} started ${market.length} instances for ${request.count} requested`,
      );
    const ordered = inLaunchOrder(market);
    this.args.log?.(
      `adopting ${ordered.length} instance(s) an earlier attempt started with token ${request.clientToken}`,
    );
    return {
      iaes: ordered.map((i) => ({
        instanceId: i.InstanceId as string,
        instanceType: (i.InstanceType as string) ?? request.instanceType,
        spot: i.InstanceLifecycle === "spot",
      })),
      volumes: ordered.map((i) => rootVolumeOf(i, rootDevice)),
    };
  }

  /** Root volume ids in instance order: from the RunInstances answer, else DescribeInstances (retried until attached). */
  private async rootVolumes(
    ids: readonly string[],
    known: readonly (string | undefined)[],
    rootDevice: string,
  ): Promise<string[]> {
    const volumes = [...known];
    if (volumes.every((v) => v !== undefined)) return volumes as string[];
    await retryWithBackoff(
      async () => {
        const missing = ids.filter((_, i) => volumes[i] === undefined);
        const found = new Map<string, string | undefined>();
        for (let i = 0; i < missing.length; i += 1000) {
          let token: string | undefined;
          do {
            const page = await this.args.ec2.send(
              new DescribeInstancesCommand({
                Filters: [{ Name: "instance-id", Values: missing.slice(i, i + 1000) }],
                NextToken: token,
              }),
            );
            for (const r of page.Reservations ?? [])
              for (const inst of r.Instances ?? [])
                if (inst.InstanceId) found.set(inst.InstanceId, rootVolumeOf(inst, rootDevice));
            token = page.NextToken;
          } while (token);
        }
        ids.forEach((id, i) => {
          if (volumes[i] === undefined) volumes[i] = found.get(id);
        });
        const still = ids.filter((_, i) => volumes[i] === undefined);
        if (still.length > 0)
          throw new RootVolumeNotAttachedError(`no root volume visible yet for ${still.join(", ")}`);
      },
      {
        retryable: (err) => err instanceof RootVolumeNotAttachedError || isTransientLaunchError(err),
        maxTotalWaitMs: this.args.launchRetryMs,
        initialDelayMs: 500,
        maxDelayMs: 15_000,
        sleep: this.args.sleep,
        onRetry: (err, n, ms) =>
          this.args.log?.(
            `looking up root volumes, attempt ${n}: ${err instanceof Error ? err.message : String(err)}; retrying in ${ms} ms`,
          ),
      },
    );
    return volumes as string[];
  }

  /** Terminate the instances of a failed launch, retrying transient errors; never leaves them silently. */
  private async terminateLaunched(ids: readonly string[], cause: LaunchError): Promise<void> {
    try {
      await retryWithBackoff(() => this.terminate(ids), {
        retryable: isTransientLaunchError,
        maxTotalWaitMs: this.args.launchRetryMs,
        initialDelayMs: 500,
        maxDelayMs: 15_000,
        sleep: this.args.sleep,
      });
    } catch (err) {
      throw new LaunchError(
        cause.kind,
        `the new IAEs could not be tagged (${cause.message}) and terminating them failed too (${awsErrorCode(err) ?? String(err)}): ${ids.join(", ")} may still be running`,
        cause.code,
      );
    }
  }

  private async rootDeviceName(imageId: string): Promise<string> {
    const hit = this.rootDevices.get(imageId);
    if (hit) return hit;
    const out = await this.args.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
    const name = out.Images?.[0]?.RootDeviceName;
    if (!name) throw new LaunchError("invalid-request", `machine image ${imageId} was not found in this region`);
    this.rootDevices.set(imageId, name);
    return name;
  }

  async terminate(instanceIds: readonly string[]): Promise<void> {
    await this.changeState(instanceIds, (ids) =>
      this.args.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })),
    );
  }

  async stop(instanceIds: readonly string[]): Promise<void> {
    await this.changeState(instanceIds, (ids) => this.args.ec2.send(new StopInstancesCommand({ InstanceIds: ids })));
  }

  private async changeState(instanceIds: readonly string[], send: (ids: string[]) => Promise<unknown>): Promise<void> {
    for (let i = 0; i < instanceIds.length; i += 500) {
      const chunk = instanceIds.slice(i, i + 500);
      try {
        await send(chunk);
      } catch (err) {
        if (awsErrorCode(err) !== "InvalidInstanceID.NotFound") throw err;
        // Retry with the ids that still exist (gone ones need nothing).
        const existing = (await this.describe(chunk)).map((d) => d.instanceId);
        if (existing.length > 0) await send(existing);
      }
    }
  }

  async describe(instanceIds: readonly string[]): Promise<readonly IaeDescription[]> {
    if (instanceIds.length === 0) return [];
    // A filter (unlike InstanceIds) does not fail on unknown ids.
    return this.query([{ Name: "instance-id", Values: [...instanceIds] }]);
  }

  async listRunning(filter: RunningFilter): Promise<readonly IaeDescription[]> {
    const filters: Filter[] = [{ Name: "instance-state-name", Values: ["pending", "running"] }];
    if (filter.instanceType) filters.push({ Name: "instance-type", Values: [filter.instanceType] });
    if (filter.imageId) filters.push({ Name: "image-id", Values: [filter.imageId] });
    if (filter.tagKey) filters.push({ Name: "tag-key", Values: [filter.tagKey] });
    for (const [key, value] of Object.entries(filter.tags ?? {})) filters.push({ Name: `tag:${key}`, Values: [value] });
    return this.query(filters);
  }

  async countRunning(filter: RunningFilter): Promise<number> {
    return (await this.listRunning(filter)).length;
  }

  private async query(filters: Filter[]): Promise<IaeDescription[]> {
    const out: IaeDescription[] = [];
    let token: string | undefined;
    do {
      const page = await this.args.ec2.send(
        new DescribeInstancesCommand({ Filters: filters, NextToken: token, MaxResults: 1000 }),
      );
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) out.push(describeInstance(i));
      token = page.NextToken;
    } while (token);
    return out;
  }

  async sendCommand(request: CommandRequest): Promise<CommandInfo> {
    // SSM does not expand "~": run a home-relative working directory through the shell instead.
    const tilde = request.workingDirectory.startsWith("~");
    const commands = tilde
      ? [`cd ${request.workingDirectory} 2>/dev/null || true`, ...request.commands]
      : [...request.commands];
    try {
      const out = await this.args.ssm.send(
        new SendCommandCommand({
          DocumentName: "AWS-RunShellScript",
          InstanceIds: [request.instanceId],
          Parameters: {
            commands,
            executionTimeout: [String(request.executionTimeoutSeconds)],
            ...(tilde || request.workingDirectory === "" ? {} : { workingDirectory: [request.workingDirectory] }),
          },
          OutputS3BucketName: request.outputBucket,
          OutputS3KeyPrefix: request.outputPrefix,
          ...(request.comment || request.deliveryId ? { Comment: commandComment(request) } : {}),
        }),
      );
      const id = out.Command?.CommandId;
      if (!id) throw new Error("SendCommand returned no CommandId");
      return { commandId: id, status: toCommandStatus(out.Command?.Status) };
    } catch (err) {
      const code = awsErrorCode(err);
      if (
        code === "InvalidInstanceId" ||
        code === "InvalidInstanceInformationFilterValue" ||
        code === "ThrottlingException" ||
        (awsHttpStatus(err) ?? 0) >= 500
      ) {
        throw new CommandTargetNotReadyError(`${request.instanceId} cannot receive commands yet (${code})`);
      }
      throw err;
    }
  }

  async findCommand(instanceId: string, deliveryId: string): Promise<CommandInfo | undefined> {
    let token: string | undefined;
    do {
      const out = await this.args.ssm.send(
        new ListCommandInvocationsCommand({ InstanceId: instanceId, NextToken: token, MaxResults: 50 }),
      );
      const hit = (out.CommandInvocations ?? []).find((c) => c.Comment?.startsWith(deliveryComment(deliveryId)));
      if (hit?.CommandId) return { commandId: hit.CommandId, status: toCommandStatus(hit.Status) };
      token = out.NextToken;
    } while (token);
    return undefined;
  }

  async commandStatus(instanceId: string, commandId: string): Promise<CommandInfo> {
    try {
      const out = await this.args.ssm.send(
        new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
      );
      return {
        commandId,
        status: toCommandStatus(out.Status),
        ...(out.ResponseCode !== undefined && out.ResponseCode >= 0 ? { exitCode: out.ResponseCode } : {}),
        ...(out.StatusDetails && out.StatusDetails !== out.Status ? { details: out.StatusDetails } : {}),
        ...(out.StandardErrorContent ? { stderr: out.StandardErrorContent } : {}),
      };
    } catch (err) {
      if (awsErrorCode(err) === "InvocationDoesNotExist") return { commandId, status: "Unknown" };
      throw err;
    }
  }

  /**
   * Idle = CloudWatch has at least 5 of the 6 five-minute CPU averages of the last half hour and all
   * are below IDLE_CPU_PERCENT. Missing metrics mean "not known to be idle".
   */
  async cpuIdle(instanceId: string): Promise<boolean> {
    if (!this.args.cloudwatch) return false;
    const end = (this.args.now ?? (() => new Date()))();
    const start = new Date(end.getTime() - IDLE_WINDOW_MINUTES * 60_000);
    const out = await this.args.cloudwatch.send(
      new GetMetricStatisticsCommand({
        Namespace: "AWS/EC2",
        MetricName: "CPUUtilization",
        Dimensions: [{ Name: "InstanceId", Value: instanceId }],
        StartTime: start,
        EndTime: end,
        Period: 300,
        Statistics: ["Average"],
      }),
    );
    const averages = (out.Datapoints ?? []).map((d) => d.Average).filter((v): v is number => typeof v === "number");
    return averages.length >= IDLE_WINDOW_MINUTES / 5 - 1 && averages.every((v) => v < IDLE_CPU_PERCENT);
  }

  async activeCommands(instanceId: string): Promise<readonly CommandInfo[]> {
    const out = await this.args.ssm.send(new ListCommandsCommand({ InstanceId: instanceId, MaxResults: 50 }));
    return (out.Commands ?? [])
      .map((c) => ({ commandId: c.CommandId ?? "", status: toCommandStatus(c.Status) }))
      .filter((c) => c.status === "Pending" || c.status === "InProgress");
  }
}

interface RunResult {
  readonly iaes: readonly LaunchedIae[];
  /** Root volume id per instance (same order), when the RunInstances answer carried it. */
  readonly volumes: readonly (string | undefined)[];
}

class RootVolumeNotAttachedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RootVolumeNotAttachedError";
  }
}

function toTags(record: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(record).map(([Key, Value]) => ({ Key, Value }));
}

/**
 * Tags of a launch split into those every instance shares (set by RunInstances itself, on
 * instance and volume atomically) and those that differ per instance (CreateTags afterwards).
 * A per-instance key whose value is the same on every instance (one instance, or an ensemble)
 * counts as common. `perInstance` is undefined when nothing differs.
 */
function splitTags(request: Pick<IaeLaunchRequest, "tags" | "instanceTags">): { common: Tag[]; perInstance?: Tag[][] } {
  const each = request.instanceTags;
  if (each === undefined || each.length === 0) return { common: toTags(request.tags) };
  const merged = each.map((t) => ({ ...request.tags, ...t }));
  const common: Record<string, string> = {};
  for (const [key, value] of Object.entries(merged[0]))
    if (merged.every((m) => Object.prototype.hasOwnProperty.call(m, key) && m[key] === value)) common[key] = value;
  const perInstance = merged.map((m) =>
    toTags(Object.fromEntries(Object.entries(m).filter(([key]) => !(key in common)))),
  );
  return { common: toTags(common), ...(perInstance.some((p) => p.length > 0) ? { perInstance } : {}) };
}

function rootVolumeOf(i: Instance, rootDevice: string): string | undefined {
  const device = i.RootDeviceName ?? rootDevice;
  return i.BlockDeviceMappings?.find((m) => m.DeviceName === device)?.Ebs?.VolumeId;
}

/** `{token}-s` (spot) or `{token}-o` (on-demand): EC2's idempotency token of one market's request. */
function ec2ClientToken(token: string, spot: boolean): string {
  return `${token}-${spot ? "s" : "o"}`;
}

/** Instances sorted by AmiLaunchIndex (their position in the request), answer order otherwise. */
function inLaunchOrder(instances: readonly Instance[]): Instance[] {
  return instances
    .map((i, n) => ({ i, n }))
    .sort((a, b) => (a.i.AmiLaunchIndex ?? a.n) - (b.i.AmiLaunchIndex ?? b.n))
    .map(({ i }) => i);
}

/** The comment prefix that names a delivery (SSM keeps comments with the command; 100 characters at most). */
function deliveryComment(deliveryId: string): string {
  return `neurocaas delivery ${deliveryId}`;
}

function commandComment(request: CommandRequest): string {
  return [request.deliveryId ? deliveryComment(request.deliveryId) : undefined, request.comment]
    .filter(Boolean)
    .join(" ")
    .slice(0, 100);
}

function describeInstance(i: Instance): IaeDescription {
  const tags: Record<string, string> = {};
  for (const t of i.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? "";
  return {
    instanceId: i.InstanceId ?? "",
    state: (i.State?.Name ?? "pending") as IaeState,
    instanceType: i.InstanceType ?? "",
    imageId: i.ImageId ?? "",
    launchTime: i.LaunchTime ?? new Date(0),
    spot: i.InstanceLifecycle === "spot",
    tags,
    ...(i.ClientToken && /-[so]$/.test(i.ClientToken) ? { launchToken: i.ClientToken.slice(0, -2) } : {}),
    ...(i.AmiLaunchIndex !== undefined ? { launchIndex: i.AmiLaunchIndex } : {}),
    ...(i.StateReason?.Code ? { stateReason: i.StateReason.Code } : {}),
    ...(i.StateReason?.Message ? { stateMessage: i.StateReason.Message } : {}),
  };
}

function toCommandStatus(s: string | undefined): CommandStatus {
  switch (s) {
    case "Pending":
    case "InProgress":
    case "Success":
    case "Failed":
    case "Cancelled":
    case "TimedOut":
      return s;
    case "Delayed":
      return "Pending";
    case "Cancelling":
      return "InProgress";
    default:
      return "Unknown";
  }
}

function isTransientLaunchError(err: unknown): boolean {
  const code = awsErrorCode(err);
  const status = awsHttpStatus(err) ?? 0;
  return (code !== undefined && TRANSIENT_LAUNCH_CODES.has(code)) || status >= 500;
}

function isSpotCapacityError(err: unknown): boolean {
  const code = awsErrorCode(err);
  return code !== undefined && SPOT_CAPACITY_CODES.has(code);
}

function toLaunchError(err: unknown): LaunchError {
  if (err instanceof LaunchError) return err;
  const code = awsErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case "InsufficientInstanceCapacity":
    case "InsufficientCapacity":
      return new LaunchError("capacity", message, code);
    case "VcpuLimitExceeded":
      return new LaunchError("vcpu-limit", message, code);
    case "RequestLimitExceeded":
      return new LaunchError("throttled", message, code);
    case "InstanceLimitExceeded":
      return new LaunchError("instance-limit", message, code);
    default:
      return (awsHttpStatus(err) ?? 0) >= 500
        ? new LaunchError("service", message, code)
        : new LaunchError("invalid-request", message, code);
  }
}
