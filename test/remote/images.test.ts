import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { mockClient } from "aws-sdk-client-mock";
import {
  CreateImageCommand,
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  TerminateInstancesCommand,
  type ImageState,
} from "@aws-sdk/client-ec2";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { createDevAmi, updateBlueprint } from "../../cli/remote/image-actions";
import { assignInstance, terminateDevInstance } from "../../cli/remote/instance-actions";
import { replaceBlueprintAmi } from "../../cli/remote/blueprint-ami";
import { remoteStatePath, type RemoteState } from "../../cli/remote/state";
import { ANALYSIS, BLUEPRINT_AMI, stackYaml, tempStack, testContext } from "./helpers";

const ec2 = mockClient(EC2Client);
const sts = mockClient(STSClient);
const OWNER = "arn:aws:iam::123456789012:user/dev1";

/**
 * EC2 images as the fake account sees them: CreateImage makes a `pending` image whose snapshot
 * progresses with each DescribeSnapshots call, and which turns `finalState` after `pendingPolls`
 * DescribeImages calls.
 */
function fakeImages(pendingPolls: number, finalState: ImageState = "available", reason?: string) {
  let polls = 0;
  let snapshotPolls = 0;
  ec2.on(CreateImageCommand).resolves({ ImageId: "ami-0aaaabbbbccccdddd" });
  ec2.on(DescribeImagesCommand).callsFake((input: { ImageIds?: string[] }) => {
    polls++;
    const state: ImageState = polls > pendingPolls ? finalState : "pending";
    return {
      Images: (input.ImageIds ?? []).map((ImageId) => ({
        ImageId,
        State: state,
        ...(state === finalState && reason ? { StateReason: { Code: "Client.Error", Message: reason } } : {}),
        BlockDeviceMappings: polls > 1 ? [{ DeviceName: "/dev/sda1", Ebs: { SnapshotId: "snap-1" } }] : [],
      })),
    };
  });
  ec2
    .on(DescribeSnapshotsCommand)
    .callsFake(() => ({ Snapshots: [{ SnapshotId: "snap-1", Progress: `${Math.min(99, ++snapshotPolls * 30)}%` }] }));
  return { polls: () => polls };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

function state(stackFile: string): RemoteState {
  return JSON.parse(fs.readFileSync(remoteStatePath(stackFile), "utf8")) as RemoteState;
}

beforeEach(() => {
  ec2.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Arn: OWNER, Account: "123456789012" });
  ec2
    .on(DescribeInstancesCommand)
    .resolves({ Reservations: [{ Instances: [{ InstanceId: "i-1", State: { Name: "running" } }] }] });
  fakeImages(0);
  ec2.on(TerminateInstancesCommand).resolves({});
});

describe("create-devami and terminate-devinstance", () => {
  it("saves an image with tags, and terminate refuses until an image exists since the last start", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    await assignInstance(ctx, { instanceId: "i-1", name: "box" });
    await expect(terminateDevInstance(ctx, false)).rejects.toThrow(
      /no image of i-1 \(box\) was saved since it was last started .*--force/,
    );
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);

    ctx.now = new Date("2026-11-23T11:00:00Z");
    expect(await createDevAmi(ctx, "pca v1")).toBe("ami-0aaaabbbbccccdddd");
    const tags = [
      { Key: "Name", Value: "pca v1" },
      { Key: "neurocaas:analysis", Value: ANALYSIS },
      { Key: "neurocaas:source-instance", Value: "i-1" },
    ];
    expect(ec2.commandCalls(CreateImageCommand)[0].args[0].input).toEqual({
      InstanceId: "i-1",
      Name: "pca v1",
      Description: `NeuroCAAS ${ANALYSIS} development image from i-1`,
      TagSpecifications: [
        { ResourceType: "image", Tags: tags },
        { ResourceType: "snapshot", Tags: tags },
      ],
    });
    expect(state(stackFile).instances[0].images).toEqual([
      { imageId: "ami-0aaaabbbbccccdddd", name: "pca v1", createdAt: "2026-11-23T11:00:00.000Z" },
    ]);

    await terminateDevInstance(ctx, false);
    expect(ec2.commandCalls(TerminateInstancesCommand)[0].args[0].input).toEqual({ InstanceIds: ["i-1"] });
    expect(state(stackFile).instances).toEqual([]);
    expect(state(stackFile).selected).toBeUndefined();
  });

  it("terminates without an image when forced, and rejects bad image names", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    await assignInstance(ctx, { instanceId: "i-1" });
    await expect(createDevAmi(ctx, "x")).rejects.toThrow(/image name "x" must be 3-128 characters/);
    await terminateDevInstance(ctx, true);
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });
});

describe("create-devami waits until the image is available", () => {
  it("polls with progress until available and says so", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile, undefined, { advanceClockOnSleep: true });
    await assignInstance(ctx, { instanceId: "i-1" });
    const images = fakeImages(3);
    ctx.lines.length = 0;
    expect(await createDevAmi(ctx, "pca v1")).toBe("ami-0aaaabbbbccccdddd");
    expect(images.polls()).toBe(4);
    expect(ctx.lines).toEqual([
      'creating image ami-0aaaabbbbccccdddd ("pca v1") from i-1',
      "image ami-0aaaabbbbccccdddd: pending (0 min 00 s elapsed, waiting up to 60 min)",
      "image ami-0aaaabbbbccccdddd: pending, snapshot 30% (0 min 15 s elapsed, waiting up to 60 min)",
      "image ami-0aaaabbbbccccdddd: pending, snapshot 60% (0 min 30 s elapsed, waiting up to 60 min)",
      "image ami-0aaaabbbbccccdddd is available (after 0 min 45 s)",
      '"remote update-blueprint" puts ami-0aaaabbbbccccdddd in the blueprint',
    ]);
  });

  it("fails at once when the image fails, naming EC2's reason", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile, undefined, { advanceClockOnSleep: true });
    await assignInstance(ctx, { instanceId: "i-1" });
    fakeImages(1, "failed", "Insufficient capacity to snapshot the volume");
    await expect(createDevAmi(ctx, "pca v1")).rejects.toThrow(
      'image ami-0aaaabbbbccccdddd is failed: Insufficient capacity to snapshot the volume; it cannot be used (create another with "remote create-devami -n NAME")',
    );
    // The request is recorded all the same: the state shows what was attempted.
    expect(state(stackFile).instances[0].images.map((i) => i.imageId)).toEqual(["ami-0aaaabbbbccccdddd"]);
  });

  it("gives up after --timeout minutes, saying the image is still being created", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile, undefined, { advanceClockOnSleep: true });
    await assignInstance(ctx, { instanceId: "i-1" });
    const images = fakeImages(Number.MAX_SAFE_INTEGER);
    await expect(createDevAmi(ctx, "pca v1", { timeoutMinutes: 2 })).rejects.toThrow(
      'image ami-0aaaabbbbccccdddd is still pending after 2 min; EC2 keeps creating it: check it with "aws ec2 describe-images --image-ids ami-0aaaabbbbccccdddd"',
    );
    expect(images.polls()).toBe(9);
    // Progress lines when the state changes and at least once a minute, not on every poll.
    expect(ctx.lines.filter((l) => l.includes("elapsed")).length).toBeLessThan(images.polls());
  });

  it("--no-wait returns once EC2 accepted the request", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    await assignInstance(ctx, { instanceId: "i-1" });
    const images = fakeImages(5);
    await createDevAmi(ctx, "pca v1", { wait: false });
    expect(images.polls()).toBe(0);
    expect(ctx.lines.at(-1)).toContain("not waiting");
  });
});

describe("assign-instance tags the instance like launch-devinstance", () => {
  it("sets PriceTracking, a Timeout counting the minutes it already ran, OwnerArn and the analysis tags", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    const launched = new Date(ctx.now.getTime() - 90.5 * 60_000);
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: "i-1",
              State: { Name: "running" },
              LaunchTime: launched,
              Tags: [
                { Key: "Name", Value: "old-box" },
                { Key: "OwnerArn", Value: "arn:aws:iam::123456789012:user/other" },
              ],
            },
          ],
        },
      ],
    });
    await assignInstance(ctx, { instanceId: "i-1", description: "adopted", timeout: "30" });
    expect(ec2.commandCalls(CreateTagsCommand).map((c) => c.args[0].input)).toEqual([
      {
        Resources: ["i-1"],
        Tags: [
          { Key: "Name", Value: "old-box" },
          { Key: "PriceTracking", Value: "On" },
          { Key: "Timeout", Value: "121" },
          { Key: "OwnerArn", Value: OWNER },
          { Key: "neurocaas:analysis", Value: ANALYSIS },
          { Key: "neurocaas:role", Value: "devinstance" },
          { Key: "neurocaas:description", Value: "adopted" },
        ],
      },
    ]);
    expect(ctx.lines.at(-1)).toBe(
      `tagged PriceTracking=On, Timeout=121 (30 min from now), OwnerArn=${OWNER} (was arn:aws:iam::123456789012:user/other): the account guard stops it once its lifetime is over`,
    );
  });

  it("gives a stopped instance the lifetime as is (starting it resets the launch time) and rejects a bad --timeout", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [{ InstanceId: "i-1", State: { Name: "stopped" }, LaunchTime: new Date("2026-01-01T00:00:00Z") }],
        },
      ],
    });
    await expect(assignInstance(ctx, { instanceId: "i-1", timeout: "0" })).rejects.toThrow(
      /--timeout \(minutes\) must be a positive integer/,
    );
    expect(ec2.commandCalls(CreateTagsCommand)).toHaveLength(0);
    await assignInstance(ctx, { instanceId: "i-1" });
    expect(ec2.commandCalls(CreateTagsCommand)[0].args[0].input.Tags).toContainEqual({ Key: "Timeout", Value: "60" });
    expect(state(stackFile).instances.map((i) => i.instanceId)).toEqual(["i-1"]);
  });
});

describe("replaceBlueprintAmi", () => {
  it("changes only the AMI scalar, keeping comments and quoting", () => {
    const src = stackYaml();
    const { text, previous } = replaceBlueprintAmi(src, "ami-0aaaabbbbccccdddd", "f.yaml");
    expect(previous).toBe(BLUEPRINT_AMI);
    expect(text).toBe(src.replace(BLUEPRINT_AMI, "ami-0aaaabbbbccccdddd"));
    const quoted = src.replace(`AMI: ${BLUEPRINT_AMI}`, `AMI: "${BLUEPRINT_AMI}"`);
    expect(replaceBlueprintAmi(quoted, "ami-0aaaabbbbccccdddd", "f.yaml").text).toContain(
      'AMI: "ami-0aaaabbbbccccdddd" # the image',
    );
    expect(() => replaceBlueprintAmi("config: {}\n", "ami-0aaaabbbbccccdddd", "f.yaml")).toThrow(
      /f\.yaml: no string at config\.neurocaas:blueprint\.Lambda\.LambdaConfig\.AMI/,
    );
  });
});

describe("update-blueprint", () => {
  function repoWithStack() {
    const { dir, stackFile } = tempStack();
    git(dir, "init", "-q");
    git(dir, "config", "user.email", "dev@example.org");
    git(dir, "config", "user.name", "Dev");
    fs.writeFileSync(path.join(dir, "other.txt"), "unrelated\n");
    git(dir, "add", "other.txt");
    git(dir, "commit", "-q", "-m", "init");
    return { dir, stackFile };
  }

  it("commits the blueprint before and after setting the saved image as AMI", async () => {
    const { dir, stackFile } = repoWithStack();
    // An uncommitted COMMAND edit is recorded by the "before" commit; staged unrelated work stays staged.
    fs.writeFileSync(stackFile, stackYaml().replace("pca/run_pca.sh", "pca/run_pca_v2.sh"));
    fs.writeFileSync(path.join(dir, "other.txt"), "staged change\n");
    git(dir, "add", "other.txt");
    const ctx = testContext(stackFile);
    await assignInstance(ctx, { instanceId: "i-1" });
    await createDevAmi(ctx, "pca v2");

    await updateBlueprint(ctx, { message: "PCA with whitening" });

    const log = git(dir, "log", "--format=%s", "-3").split("\n");
    expect(log).toEqual([
      `${ANALYSIS}: blueprint uses AMI ami-0aaaabbbbccccdddd (was ${BLUEPRINT_AMI}): PCA with whitening`,
      `${ANALYSIS}: blueprint before update to AMI ami-0aaaabbbbccccdddd: PCA with whitening`,
      "init",
    ]);
    const afterDiff = git(dir, "show", "--format=", "-U0", "HEAD")
      .split("\n")
      .filter((l) => /^[-+][^-+]/.test(l));
    expect(afterDiff).toEqual([
      `-        AMI: ${BLUEPRINT_AMI} # the image`,
      "+        AMI: ami-0aaaabbbbccccdddd # the image",
    ]);
    expect(git(dir, "show", "--format=", "--name-only", "HEAD~1")).toBe(path.basename(stackFile));
    expect(git(dir, "show", "HEAD~1:" + path.basename(stackFile))).toContain("run_pca_v2.sh");
    expect(git(dir, "status", "--porcelain")).toBe(`M  other.txt\n?? ${path.basename(remoteStatePath(stackFile))}`);
  });

  it("takes -a AMI, and refuses without an image, a valid id or a repository", async () => {
    const { dir, stackFile } = repoWithStack();
    const ctx = testContext(stackFile);
    await assignInstance(ctx, { instanceId: "i-1" });
    await expect(updateBlueprint(ctx, {})).rejects.toThrow(/no image has been saved from i-1 .*create-devami/);
    await expect(updateBlueprint(ctx, { ami: "ubuntu22" })).rejects.toThrow(/-a ubuntu22 is not an image id/);
    await updateBlueprint(ctx, { ami: "ami-0123456789abcdef1" });
    expect(git(dir, "log", "--format=%s", "-1")).toBe(
      `${ANALYSIS}: blueprint uses AMI ami-0123456789abcdef1 (was ${BLUEPRINT_AMI})`,
    );

    const outside = tempStack();
    const before = fs.readFileSync(outside.stackFile, "utf8");
    await expect(updateBlueprint(testContext(outside.stackFile), { ami: "ami-0123456789abcdef1" })).rejects.toThrow(
      /is not inside a git repository/,
    );
    expect(fs.readFileSync(outside.stackFile, "utf8")).toBe(before);
  });
});
