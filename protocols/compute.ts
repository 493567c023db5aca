/**
 * The compute boundary of the job manager: everything the protocols need from "the place IAEs
 * run". `aws/ec2-compute.ts` implements it with EC2 + SSM; local mode implements it with local
 * processes. Protocol code never talks to EC2/SSM directly.
 *
 * Contract (every implementation must honour it):
 * - `launch` starts exactly `request.count` IAEs of one spec or none: if it cannot start all of
 *   them it terminates whatever it started and throws `LaunchError` (kind says which limit was
 *   hit). It returns as soon as the IAEs are requested; it never waits for them to boot.
 *   `request.tags` are applied to each instance and its root volume; with `request.instanceTags`
 *   (length = count), instance i and its root volume also carry `instanceTags[i]` (a key in both
 *   takes the per-instance value). The returned list is in request order: element i is the IAE
 *   that carries `instanceTags[i]`, so callers may match results to their plans by index. The
 *   per-instance tags are part of the all-or-nothing promise: if any IAE cannot be tagged, every
 *   IAE of the request is terminated and `launch` throws `LaunchError`. A spot request that fails
 *   for lack of spot capacity is retried on demand; `LaunchedIae.spot` tells which one ran.
 *   `request.clientToken` makes the call idempotent (same token → same instances, no second set);
 *   with `request.adopt` the backend first looks for instances an earlier call with the token
 *   started and returns those. The returned list is in launch order (`launchIndex`), and
 *   `describe` reports each instance's `launchToken` and `launchIndex`, so a plan can be found
 *   from the instance alone.
 * - Each IAE reports its life cycle to `runMonitor` as EC2 state-change events
 *   (`{"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
 *   "time": ISO, "detail": {"instance-id": id, "state": "pending"|"running"|"shutting-down"|
 *   "terminated"|"stopping"|"stopped"}}`, the shape of fixtures' cloudwatch_startevent.json).
 *   AWS delivers them through one static EventBridge rule; local mode feeds them itself.
 * - `sendCommand` throws `CommandTargetNotReadyError` while the IAE cannot receive commands yet
 *   (SSM agent not registered); the caller retries within a bounded time. Any other error is final.
 *   A command sent with a `deliveryId` can be found again with `findCommand` (exactly-once delivery).
 * - `describe` omits unknown ids; `listRunning` returns IAEs in state pending or running matching
 *   every given filter; `terminate`/`stop` of an unknown or already gone id is not an error.
 * - An IAE shuts itself down after its command (terminate behaviour), which the backend reports
 *   as `shutting-down`/`terminated` events.
 * - Backends only report; the monitor alone writes a job's files. Why an IAE ended is its
 *   description's `stateReason`/`stateMessage` (EC2's StateReason; the platform's own stops use
 *   `IAE_STOP_REASONS`), how its command ended is `commandStatus` (status, exit code, details,
 *   the end of its stderr: what SSM's GetCommandInvocation reports).
 */

export type IaeState = "pending" | "running" | "shutting-down" | "terminated" | "stopping" | "stopped";

/** Tag keys set on every IAE and its volume (SPEC 4.5). */
export const IAE_TAGS = {
  priceTracking: "PriceTracking",
  timeout: "Timeout",
  analysis: "neurocaas:analysis",
  group: "neurocaas:group",
  job: "neurocaas:job",
  dataset: "neurocaas:dataset",
} as const;

/** A tag value as the job manager writes it: EC2 tag values are at most 256 characters. */
export function tagValue(v: string): string {
  return v.length <= 256 ? v : `${v.slice(0, 120)}…${v.slice(-135)}`;
}

export interface IaeLaunchRequest {
  readonly imageId: string;
  readonly instanceType: string;
  /** Number of identical IAEs to start (MinCount = MaxCount = count). */
  readonly count: number;
  /** Encrypted gp3 root volume size. */
  readonly volumeSizeGb: number;
  /** Request spot capacity first (on-demand fallback on spot capacity errors). */
  readonly spot: boolean;
  /** Tags common to every instance of the request and its volume. */
  readonly tags: Readonly<Record<string, string>>;
  /**
   * Optional per-instance tags (length must equal `count`): entry i goes on instance i and its
   * root volume, on top of `tags`. Lets IAEs that differ only in tags (e.g. `neurocaas:dataset`)
   * share one launch call; a backend may apply them after the instances are created.
   */
  readonly instanceTags?: readonly Readonly<Record<string, string>>[];
  readonly instanceProfileArn?: string;
  readonly keyName?: string;
  readonly securityGroupIds: readonly string[];
  readonly subnetId?: string;
  readonly shutdownBehavior: "terminate" | "stop";
  /** Idempotency token (<= 60 ASCII chars; the backend may append a market suffix). */
  readonly clientToken: string;
  /**
   * An earlier attempt may already have made this request: return the instances it started
   * (whatever their state) instead of starting new ones, found by the token.
   */
  readonly adopt?: boolean;
}

export interface LaunchedIae {
  readonly instanceId: string;
  readonly instanceType: string;
  readonly spot: boolean;
}

export type LaunchErrorKind =
  "capacity" | "vcpu-limit" | "throttled" | "instance-limit" | "invalid-request" | "service";

/** Final launch failure after retries; nothing of this request is left running. */
export class LaunchError extends Error {
  constructor(
    readonly kind: LaunchErrorKind,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = "LaunchError";
  }
}

export interface IaeDescription {
  readonly instanceId: string;
  readonly state: IaeState;
  readonly instanceType: string;
  readonly imageId: string;
  readonly launchTime: Date;
  readonly spot: boolean;
  readonly tags: Readonly<Record<string, string>>;
  /** `clientToken` of the launch request that started it (as given, without backend suffixes). */
  readonly launchToken?: string;
  /** Its position in that launch request (0-based): the instance that carries `instanceTags[i]`. */
  readonly launchIndex?: number;
  /** Why it last changed state, e.g. `Server.SpotInstanceTermination` (EC2 StateReason code). */
  readonly stateReason?: string;
  /** The same in words (EC2 StateReason message), e.g. `it exceeded its __duration__ of 5 minute(s)`. */
  readonly stateMessage?: string;
}

/**
 * State reasons of IAEs the platform itself ended (EC2's own codes are `Server.*`/`Client.*`):
 * the monitor words the dataset's failure from them.
 */
export const IAE_STOP_REASONS = {
  /** Killed at its time limit (`__duration__`); `stateMessage` says which. */
  timeLimit: "NeuroCAAS.TimeLimit",
  /** The machine running it went away (a local server stopped); `stateMessage` says how. */
  hostStopped: "NeuroCAAS.HostStopped",
} as const;

export interface RunningFilter {
  readonly instanceType?: string;
  readonly imageId?: string;
  /** Only instances carrying this tag key (any value). */
  readonly tagKey?: string;
  /** Only instances carrying all of these tags with these values. */
  readonly tags?: Readonly<Record<string, string>>;
}

export interface CommandRequest {
  readonly instanceId: string;
  /** Shell script lines run as root (AWS-RunShellScript). */
  readonly commands: readonly string[];
  readonly workingDirectory: string;
  readonly executionTimeoutSeconds: number;
  /** Where raw command output goes: bucket + key prefix (`{job}/internal_ec2_logs`). */
  readonly outputBucket: string;
  readonly outputPrefix: string;
  readonly comment?: string;
  /** The delivery claim's id; the backend records it with the command so `findCommand` finds it. */
  readonly deliveryId?: string;
}

export type CommandStatus = "Pending" | "InProgress" | "Success" | "Failed" | "Cancelled" | "TimedOut" | "Unknown";

export interface CommandInfo {
  readonly commandId: string;
  readonly status: CommandStatus;
  /** Exit code of the command once it ended (SSM ResponseCode; -1 or absent when unknown). */
  readonly exitCode?: number;
  /** Why it ended as it did, in words (e.g. SSM StatusDetails `ExecutionTimedOut`, or the limit it exceeded). */
  readonly details?: string;
  /** The end of its standard error (SSM StandardErrorContent: up to 8,000 characters). */
  readonly stderr?: string;
}

/** The IAE cannot receive a command yet (e.g. SSM agent not registered). Retry later. */
export class CommandTargetNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandTargetNotReadyError";
  }
}

export interface ComputeBackend {
  launch(request: IaeLaunchRequest): Promise<readonly LaunchedIae[]>;
  terminate(instanceIds: readonly string[]): Promise<void>;
  /** Stop (keep the volume); used by the account guard for on-demand instances. */
  stop(instanceIds: readonly string[]): Promise<void>;
  describe(instanceIds: readonly string[]): Promise<readonly IaeDescription[]>;
  /** Instances in pending/running state matching the filter. */
  listRunning(filter: RunningFilter): Promise<readonly IaeDescription[]>;
  /** Number of pending/running instances of one type (DEPLOY_LIMIT). */
  countRunning(filter: RunningFilter): Promise<number>;
  sendCommand(request: CommandRequest): Promise<CommandInfo>;
  /** The command an earlier `sendCommand` with this `deliveryId` started on the instance, if any (any status). */
  findCommand(instanceId: string, deliveryId: string): Promise<CommandInfo | undefined>;
  commandStatus(instanceId: string, commandId: string): Promise<CommandInfo>;
  /** Commands currently pending or in progress on an instance (account guard). */
  activeCommands(instanceId: string): Promise<readonly CommandInfo[]>;
  /** Optional: whether the instance's CPU has been idle lately (account guard stops idle IAEs). */
  cpuIdle?(instanceId: string): Promise<boolean>;
}
