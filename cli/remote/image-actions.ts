import * as fs from "node:fs";
import { CreateImageCommand } from "@aws-sdk/client-ec2";
import { isAmiId } from "./ami";
import { replaceBlueprintAmi } from "./blueprint-ami";
import { readState, writeState, type RemoteContext } from "./context";
import { commitFile, repositoryOf } from "./git";
import { describeInstance } from "./instances";
import { selectedInstance, updateInstance } from "./state";

/** EC2 image names: 3-128 chars of letters, digits and ( ) [ ] space . / - ' @ _ */
const IMAGE_NAME = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;

/** `remote create-devami -n NAME`: save the selected instance as an image and record it. */
export async function createDevAmi(ctx: RemoteContext, name: string): Promise<string> {
  if (!IMAGE_NAME.test(name)) {
    throw new Error(`image name "${name}" must be 3-128 characters of letters, digits, spaces and ( ) [ ] . / - ' @ _`);
  }
  const state = readState(ctx);
  const rec = selectedInstance(state);
  const info = await describeInstance(ctx.clients.ec2, rec.instanceId);
  if (info.state !== "running" && info.state !== "stopped") {
    throw new Error(`instance ${rec.instanceId} is ${info.state}: an image can be made of a running or stopped instance only`);
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
  writeState(ctx, updateInstance(state, rec.instanceId, (r) => ({ ...r, images: [...r.images, { imageId, name, createdAt }] })));
  ctx.out(`creating image ${imageId} ("${name}") from ${rec.instanceId}; "remote update-blueprint" puts it in the blueprint`);
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
    if (!latest) throw new Error(`no image has been saved from ${rec.instanceId} (${rec.name}): run "remote create-devami -n NAME" or pass -a AMI`);
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
  ctx.out(`blueprint ${file}: AMI ${edit.previous} -> ${ami}; commits ${before.slice(0, 12)} (before) and ${after.slice(0, 12)} (after)`);
}
