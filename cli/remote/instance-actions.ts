import {
  CreateTagsCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { resolveAmi } from "./ami";
import { readState, writeState, type RemoteContext } from "./context";
import type { DevInfrastructure } from "./dev-infra";
import {
  assertRunning,
  buildRunInstancesInput,
  describeInstance,
  devInstanceTags,
  describeInstances,
  imageRootVolume,
  waitUntilRunning,
  type InstanceInfo,
} from "./instances";
import {
  DEFAULT_LIFETIME_MINUTES,
  extendedTimeout,
  formatRemaining,
  parsePositiveInteger,
  remainingMinutes,
  timeoutFromTag,
} from "./lifetime";
import {
  addInstance,
  assertPoolHasRoom,
  imageSavedSinceStart,
  removeInstance,
  selectInstance,
  selectedInstance,
  updateInstance,
  type DevInstanceRecord,
} from "./state";

export interface LaunchArgs {
  readonly ami?: string;
  readonly name?: string;
  readonly description?: string;
  readonly volumeSize?: string;
  readonly timeout?: string;
  readonly infra: DevInfrastructure;
}

function addressOf(info: InstanceInfo): string {
  return info.publicIp ?? info.privateIp ?? "(no address yet)";
}

/** `{analysis}-dev-{k}` with the smallest k no tracked instance uses. */
export function defaultName(analysis: string, taken: readonly string[]): string {
  for (let k = 1; ; k++) if (!taken.includes(`${analysis}-dev-${k}`)) return `${analysis}-dev-${k}`;
}

/** `remote launch-devinstance`: launch, tag, wait for running, select. */
export async function launchDevInstance(ctx: RemoteContext, args: LaunchArgs): Promise<string> {
  const timeoutMinutes = parsePositiveInteger(args.timeout ?? DEFAULT_LIFETIME_MINUTES, "--timeout (minutes)");
  const requestedSize =
    args.volumeSize === undefined ? undefined : parsePositiveInteger(args.volumeSize, "--volumesize (GB)");
  const state = readState(ctx);
  assertPoolHasRoom(state);
  const cfg = ctx.blueprint.Lambda.LambdaConfig;
  const imageId = await resolveAmi(ctx.clients.ssm, args.ami ?? cfg.AMI);
  const root = await imageRootVolume(ctx.clients.ec2, imageId);
  const volumeSizeGb = requestedSize ?? root.sizeGb;
  if (volumeSizeGb < root.sizeGb)
    throw new Error(
      `--volumesize ${volumeSizeGb} GB is smaller than the root volume of ${imageId} (${root.sizeGb} GB)`,
    );
  const ownerArn = await callerArn(ctx);
  const name =
    args.name ??
    defaultName(
      ctx.blueprint.PipelineName,
      state.instances.map((i) => i.name),
    );
  const input = buildRunInstancesInput({
    analysis: ctx.blueprint.PipelineName,
    imageId,
    instanceType: cfg.INSTANCE_TYPE,
    name,
    description: args.description ?? "",
    timeoutMinutes,
    volumeSizeGb,
    rootDeviceName: root.deviceName,
    ownerArn,
    infra: args.infra,
  });
  const res = await ctx.clients.ec2.send(new RunInstancesCommand(input));
  const instanceId = res.Instances?.[0]?.InstanceId;
  if (!instanceId) throw new Error("EC2 RunInstances returned no instance id");
  const record: DevInstanceRecord = {
    instanceId,
    name,
    description: args.description ?? "",
    origin: "launched",
    lastStartedAt: ctx.clock().toISOString(),
    images: [],
    jobs: [],
  };
  // Record the instance before waiting so an interrupted wait never loses track of it.
  writeState(ctx, addInstance(state, record));
  ctx.out(`launched ${instanceId} (${name}) from ${imageId} as ${cfg.INSTANCE_TYPE}, lifetime ${timeoutMinutes} min`);
  const info = await waitUntilRunning(ctx.clients.ec2, instanceId, { sleep: ctx.sleep });
  ctx.out(`${instanceId} is running at ${addressOf(info)}: ssh -i KEY ubuntu@${addressOf(info)}`);
  return instanceId;
}

export interface AssignArgs {
  readonly instanceId: string;
  readonly name?: string;
  readonly description?: string;
  /** Lifetime from now in minutes (default 60). */
  readonly timeout?: string;
}

async function callerArn(ctx: RemoteContext): Promise<string> {
  const identity = await ctx.clients.sts.send(new GetCallerIdentityCommand({}));
  if (!identity.Arn) throw new Error("STS GetCallerIdentity returned no ARN; cannot tag the instance owner");
  return identity.Arn;
}

/**
 * `remote assign-instance`: track an existing instance and tag it as `launch-devinstance` does
 * (`PriceTracking=On`, `Timeout`, `OwnerArn`, analysis, role, name), so the account guard and
 * the lifetime rules apply to it: its lifetime is `--timeout` minutes from now (the Timeout tag
 * counts from the instance's launch, so a running instance gets the minutes it already ran added).
 */
export async function assignInstance(ctx: RemoteContext, args: AssignArgs): Promise<void> {
  const minutes = parsePositiveInteger(args.timeout ?? DEFAULT_LIFETIME_MINUTES, "--timeout (minutes)");
  const state = readState(ctx);
  assertPoolHasRoom(state, args.instanceId);
  const info = await describeInstance(ctx.clients.ec2, args.instanceId);
  const name = args.name ?? info.tags.Name ?? args.instanceId;
  const ownerArn = await callerArn(ctx);
  const used =
    info.state === "running" && info.launchTime
      ? Math.max(0, Math.ceil(-remainingMinutes(info.launchTime, 0, ctx.clock())))
      : 0;
  const timeoutMinutes = used + minutes;
  const tags = devInstanceTags({
    name,
    timeoutMinutes,
    ownerArn,
    analysis: ctx.blueprint.PipelineName,
    description: args.description ?? "",
  });
  await ctx.clients.ec2.send(new CreateTagsCommand({ Resources: [args.instanceId], Tags: tags }));
  const record: DevInstanceRecord = {
    instanceId: args.instanceId,
    name,
    description: args.description ?? "",
    origin: "assigned",
    lastStartedAt: ctx.clock().toISOString(),
    images: [],
    jobs: [],
  };
  writeState(ctx, addInstance(state, record));
  ctx.out(`assigned ${args.instanceId} (${name}, ${info.state}) to ${ctx.blueprint.PipelineName} and selected it`);
  const previousOwner =
    info.tags.OwnerArn !== undefined && info.tags.OwnerArn !== ownerArn ? ` (was ${info.tags.OwnerArn})` : "";
  ctx.out(
    `tagged PriceTracking=On, Timeout=${timeoutMinutes} (${minutes} min from now), OwnerArn=${ownerArn}${previousOwner}: the account guard stops it once its lifetime is over`,
  );
}

function lifetimeText(info: InstanceInfo | undefined, now: Date): string {
  if (!info || info.state !== "running" || !info.launchTime) return "-";
  const t = Number(info.tags.Timeout);
  if (!Number.isInteger(t) || t <= 0) return "no Timeout tag";
  return formatRemaining(remainingMinutes(info.launchTime, t, now));
}

/** `remote list-instances`: one line per instance, `*` marks the selected one. */
export async function listInstances(ctx: RemoteContext): Promise<void> {
  const state = readState(ctx);
  if (state.instances.length === 0) {
    ctx.out(`no development instances for ${state.analysis}`);
    return;
  }
  const infos = await describeInstances(
    ctx.clients.ec2,
    state.instances.map((i) => i.instanceId),
  );
  const now = ctx.clock();
  const rows = state.instances.map((rec) => {
    const info = infos.get(rec.instanceId);
    return [
      rec.instanceId === state.selected ? "*" : " ",
      rec.name,
      rec.instanceId,
      info?.state ?? "not found",
      info ? addressOf(info) : "-",
      lifetimeText(info, now),
      rec.description,
    ];
  });
  const header = [" ", "NAME", "ID", "STATE", "ADDRESS", "LIFETIME", "DESCRIPTION"];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  for (const r of [header, ...rows])
    ctx.out(
      r
        .map((cell, c) => cell.padEnd(widths[c]))
        .join("  ")
        .trimEnd(),
    );
}

/** `remote select-instance`. */
export function selectDevInstance(ctx: RemoteContext, by: { readonly id?: string; readonly name?: string }): void {
  const state = selectInstance(readState(ctx), by);
  writeState(ctx, state);
  const rec = selectedInstance(state);
  ctx.out(`selected ${rec.instanceId} (${rec.name})`);
}

async function selectedRunning(
  ctx: RemoteContext,
  action: string,
): Promise<{ rec: DevInstanceRecord; info: InstanceInfo }> {
  const rec = selectedInstance(readState(ctx));
  const info = await describeInstance(ctx.clients.ec2, rec.instanceId);
  assertRunning(info, action);
  return { rec, info };
}

/** `remote get-ip`. */
export async function getIp(ctx: RemoteContext): Promise<void> {
  const { info } = await selectedRunning(ctx, "get its address");
  const ip = info.publicIp ?? info.privateIp;
  if (!ip) throw new Error(`instance ${info.instanceId} has no IP address yet`);
  ctx.out(ip);
}

/** `remote get-lifetime`: minutes left before the Timeout tag runs out. */
export async function getLifetime(ctx: RemoteContext): Promise<number> {
  const { info } = await selectedRunning(ctx, "measure its lifetime");
  if (!info.launchTime) throw new Error(`instance ${info.instanceId} reports no launch time`);
  const timeout = timeoutFromTag(info.tags.Timeout, info.instanceId);
  const left = remainingMinutes(info.launchTime, timeout, ctx.clock());
  ctx.out(
    `${info.instanceId}: ${formatRemaining(left)} (Timeout ${timeout} min from ${info.launchTime.toISOString()})`,
  );
  return left;
}

/** `remote extend-lifetime -m MIN`: add minutes to the Timeout tag. */
export async function extendLifetime(ctx: RemoteContext, minutes: string): Promise<number> {
  const add = parsePositiveInteger(minutes, "--minutes");
  const { info } = await selectedRunning(ctx, "extend its lifetime");
  if (!info.launchTime) throw new Error(`instance ${info.instanceId} reports no launch time`);
  // An assigned instance may have no Timeout tag yet: its lifetime so far counts as used.
  const current =
    info.tags.Timeout === undefined
      ? Math.max(0, Math.ceil(-remainingMinutes(info.launchTime, 0, ctx.clock())))
      : timeoutFromTag(info.tags.Timeout, info.instanceId);
  const timeout = extendedTimeout(current, add);
  await ctx.clients.ec2.send(
    new CreateTagsCommand({ Resources: [info.instanceId], Tags: [{ Key: "Timeout", Value: String(timeout) }] }),
  );
  const left = remainingMinutes(info.launchTime, timeout, ctx.clock());
  ctx.out(`${info.instanceId}: Timeout is now ${timeout} min, ${formatRemaining(left)}`);
  return timeout;
}

/** `remote start-devinstance [-t MIN]`: start and reset the lifetime. */
export async function startDevInstance(ctx: RemoteContext, timeout?: string): Promise<void> {
  const minutes = parsePositiveInteger(timeout ?? DEFAULT_LIFETIME_MINUTES, "--timeout (minutes)");
  const state = readState(ctx);
  const rec = selectedInstance(state);
  const info = await describeInstance(ctx.clients.ec2, rec.instanceId);
  if (info.state !== "stopped")
    throw new Error(`instance ${rec.instanceId} is ${info.state}: only a stopped instance can be started`);
  await ctx.clients.ec2.send(
    new CreateTagsCommand({ Resources: [rec.instanceId], Tags: [{ Key: "Timeout", Value: String(minutes) }] }),
  );
  await ctx.clients.ec2.send(new StartInstancesCommand({ InstanceIds: [rec.instanceId] }));
  writeState(
    ctx,
    updateInstance(state, rec.instanceId, (r) => ({ ...r, lastStartedAt: ctx.clock().toISOString() })),
  );
  const running = await waitUntilRunning(ctx.clients.ec2, rec.instanceId, { sleep: ctx.sleep });
  ctx.out(`${rec.instanceId} is running at ${addressOf(running)}, lifetime ${minutes} min`);
}

/** `remote stop-devinstance`. */
export async function stopDevInstance(ctx: RemoteContext): Promise<void> {
  const rec = selectedInstance(readState(ctx));
  const info = await describeInstance(ctx.clients.ec2, rec.instanceId);
  if (info.state !== "running" && info.state !== "pending")
    throw new Error(`instance ${rec.instanceId} is ${info.state}: only a running instance can be stopped`);
  await ctx.clients.ec2.send(new StopInstancesCommand({ InstanceIds: [rec.instanceId] }));
  ctx.out(`stopping ${rec.instanceId} (${rec.name}); "remote start-devinstance" starts it again`);
}

/** `remote terminate-devinstance [--force]`: refuses when no image was saved since the last start. */
export async function terminateDevInstance(ctx: RemoteContext, force: boolean): Promise<void> {
  const state = readState(ctx);
  const rec = selectedInstance(state);
  const saved = imageSavedSinceStart(rec);
  if (!saved && !force) {
    throw new Error(
      `no image of ${rec.instanceId} (${rec.name}) was saved since it was last started (${rec.lastStartedAt}): ` +
        `save your work with "remote create-devami -n NAME" first, or pass --force to terminate anyway`,
    );
  }
  await ctx.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: [rec.instanceId] }));
  const next = removeInstance(state, rec.instanceId);
  writeState(ctx, next);
  ctx.out(`terminating ${rec.instanceId} (${rec.name})${saved ? `; last saved image ${saved.imageId}` : ""}`);
  ctx.out(next.selected ? `selected ${next.selected}` : "no development instance selected");
}
