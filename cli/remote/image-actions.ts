import * as fs from "node:fs";
import {
  CreateImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import { isAmiId } from "./ami";
import { replaceBlueprintAmi } from "./blueprint-ami";
import { readState, writeState, type RemoteContext } from "./context";
import { commitFile, repositoryOf } from "./git";
import { describeInstance } from "./instances";
import { selectedInstance, updateInstance } from "./state";

/** EC2 image names: 3-128 chars of letters, digits and ( ) [ ] space . / - ' @ _ */
const IMAGE_NAME = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;

export interface CreateDevAmiOptions {
  /** Wait until the image is `available` (default true): update-blueprint needs a usable AMI. */
  readonly wait?: boolean;
  /** How long to wait, in minutes (default 60). */
  readonly timeoutMinutes?: number;
}

export const DEFAULT_IMAGE_WAIT_MINUTES = 60;
const IMAGE_POLL_MS = 15_000;
/** States an image never leaves: waiting longer is pointless. */
const FAILED_IMAGE_STATES = new Set(["failed", "invalid", "error", "deregistered", "disabled"]);

function minutesSeconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** Snapshot progress of a pending image (`45%`), when EC2 already names its snapshots. */
async function snapshotProgress(ec2: EC2Client, snapshotIds: readonly string[]): Promise<string | undefined> {
  if (snapshotIds.length === 0) return undefined;
  try {
    const res = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [...snapshotIds] }));
    const percents = (res.Snapshots ?? [])
      .map((s) => Number.parseInt(s.Progress ?? "", 10))
      .filter((n) => Number.isFinite(n));
    return percents.length === 0 ? undefined : `snapshot ${Math.min(...percents)}%`;
  } catch {
    return undefined; // progress is a courtesy; the image state decides
  }
}

/**
 * Poll until the image is `available`, printing its state (and snapshot progress) when it
 * changes and at least once a minute; fails when it ends in a failed state or time runs out.
 */
async function waitUntilImageAvailable(ctx: RemoteContext, imageId: string, timeoutMinutes: number): Promise<void> {
  const started = ctx.clock().getTime();
  const deadline = started + timeoutMinutes * 60_000;
  let lastReport = "";
  let lastReportAt = -Infinity;
  for (;;) {
    const res = await ctx.clients.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
    const image = res.Images?.[0];
    const state = image?.State ?? "not visible yet";
    const now = ctx.clock().getTime();
    if (state === "available") {
      ctx.out(`image ${imageId} is available (after ${minutesSeconds(now - started)})`);
      return;
    }
    if (FAILED_IMAGE_STATES.has(state)) {
      const why = image?.StateReason?.Message ? `: ${image.StateReason.Message}` : "";
      throw new Error(
        `image ${imageId} is ${state}${why}; it cannot be used (create another with "remote create-devami -n NAME")`,
      );
    }
    if (now >= deadline) {
      throw new Error(
        `image ${imageId} is still ${state} after ${timeoutMinutes} min; EC2 keeps creating it: check it with ` +
          `"aws ec2 describe-images --image-ids ${imageId}" and run "remote update-blueprint" once it is available`,
      );
    }
    const snapshots = (image?.BlockDeviceMappings ?? [])
      .map((m) => m.Ebs?.SnapshotId)
      .filter((id): id is string => id !== undefined);
    const progress = await snapshotProgress(ctx.clients.ec2, snapshots);
    const report = `image ${imageId}: ${state}${progress ? `, ${progress}` : ""}`;
    if (report !== lastReport || now - lastReportAt >= 60_000) {
      ctx.out(`${report} (${minutesSeconds(now - started)} elapsed, waiting up to ${timeoutMinutes} min)`);
      lastReport = report;
      lastReportAt = now;
    }
    await ctx.sleep(Math.min(IMAGE_POLL_MS, Math.max(1000, deadline - now)));
  }
}

/**
 * `remote create-devami -n NAME`: save the selected instance as an image, record it, and wait
 * until EC2 reports it `available` (update-blueprint right after needs a usable AMI).
 */
export async function createDevAmi(
  ctx: RemoteContext,
  name: string,
  options: CreateDevAmiOptions = {},
): Promise<string> {
  const timeoutMinutes = options.timeoutMinutes ?? DEFAULT_IMAGE_WAIT_MINUTES;
  if (!Number.isFinite(timeoutMinutes) || timeoutMinutes <= 0)
    throw new Error(`--timeout must be a positive number of minutes, got ${timeoutMinutes}`);
  if (!IMAGE_NAME.test(name)) {
    throw new Error(`image name "${name}" must be 3-128 characters of letters, digits, spaces and ( ) [ ] . / - ' @ _`);
  }
  const state = readState(ctx);
  const rec = selectedInstance(state);
  const info = await describeInstance(ctx.clients.ec2, rec.instanceId);
  if (info.state !== "running" && info.state !== "stopped") {
    throw new Error(
      `instance ${rec.instanceId} is ${info.state}: an image can be made of a running or stopped instance only`,
    );
  }
  const tags = [
    { Key: "Name", Value: name },
    { Key: "neurocaas:analysis", Value: ctx.blueprint.PipelineName },
    { Key: "neurocaas:source-instance", Value: rec.instanceId },
  ];
  const res = await ctx.clients.ec2.send(
    new CreateImageCommand({
      InstanceId: rec.instanceId,
      Name: name,
      Description: `NeuroCAAS ${ctx.blueprint.PipelineName} development image from ${rec.instanceId}`,
      TagSpecifications: [
        { ResourceType: "image", Tags: tags },
        { ResourceType: "snapshot", Tags: tags },
      ],
    }),
  );
  if (!res.ImageId) throw new Error("EC2 CreateImage returned no image id");
  const imageId = res.ImageId;
  const createdAt = ctx.clock().toISOString();
  writeState(
    ctx,
    updateInstance(state, rec.instanceId, (r) => ({ ...r, images: [...r.images, { imageId, name, createdAt }] })),
  );
  ctx.out(`creating image ${imageId} ("${name}") from ${rec.instanceId}`);
  if (options.wait === false) {
    ctx.out(
      `not waiting: the image is usable once "aws ec2 describe-images --image-ids ${imageId}" says available; then "remote update-blueprint" puts it in the blueprint`,
    );
    return imageId;
  }
  await waitUntilImageAvailable(ctx, imageId, timeoutMinutes);
  ctx.out(`"remote update-blueprint" puts ${imageId} in the blueprint`);
  return imageId;
}

export interface UpdateBlueprintArgs {
  readonly ami?: string;
  readonly message?: string;
}

/**
 * `remote update-blueprint [-a AMI] [-m MESSAGE]`: commit the blueprint as it is, set
 * `Lambda.LambdaConfig.AMI` (default: the newest image of the selected instance), commit again.
 */
export async function updateBlueprint(ctx: RemoteContext, args: UpdateBlueprintArgs): Promise<void> {
  let ami = args.ami;
  if (ami === undefined) {
    const rec = selectedInstance(readState(ctx));
    const latest = rec.images[rec.images.length - 1];
    if (!latest)
      throw new Error(
        `no image has been saved from ${rec.instanceId} (${rec.name}): run "remote create-devami -n NAME" or pass -a AMI`,
      );
    ami = latest.imageId;
  }
  if (!isAmiId(ami)) throw new Error(`-a ${ami} is not an image id (ami-xxxxxxxx)`);
  const file = ctx.stackFile;
  await repositoryOf(file);
  const source = fs.readFileSync(file, "utf8");
  const edit = replaceBlueprintAmi(source, ami, file);
  const name = ctx.blueprint.PipelineName;
  const suffix = args.message ? `: ${args.message}` : "";
  const before = await commitFile(file, `${name}: blueprint before update to AMI ${ami}${suffix}`);
  if (edit.previous === ami) {
    ctx.out(`${file} already uses ${ami}`);
  } else {
    fs.writeFileSync(file, edit.text);
  }
  const after = await commitFile(file, `${name}: blueprint uses AMI ${ami} (was ${edit.previous})${suffix}`);
  ctx.out(
    `blueprint ${file}: AMI ${edit.previous} -> ${ami}; commits ${before.slice(0, 12)} (before) and ${after.slice(0, 12)} (after)`,
  );
}
