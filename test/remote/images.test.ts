import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { mockClient } from "aws-sdk-client-mock";
import { CreateImageCommand, DescribeInstancesCommand, EC2Client, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { createDevAmi, updateBlueprint } from "../../cli/remote/image-actions";
import { assignInstance, terminateDevInstance } from "../../cli/remote/instance-actions";
import { replaceBlueprintAmi } from "../../cli/remote/blueprint-ami";
import { remoteStatePath, type RemoteState } from "../../cli/remote/state";
import { ANALYSIS, BLUEPRINT_AMI, stackYaml, tempStack, testContext } from "./helpers";

const ec2 = mockClient(EC2Client);

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

function state(stackFile: string): RemoteState {
  return JSON.parse(fs.readFileSync(remoteStatePath(stackFile), "utf8")) as RemoteState;
}

beforeEach(() => {
  ec2.reset();
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: "i-1", State: { Name: "running" } }] }] });
  ec2.on(CreateImageCommand).resolves({ ImageId: "ami-0aaaabbbbccccdddd" });
  ec2.on(TerminateInstancesCommand).resolves({});
});

describe("create-devami and terminate-devinstance", () => {
  it("saves an image with tags, and terminate refuses until an image exists since the last start", async () => {
    const { stackFile } = tempStack();
    const ctx = testContext(stackFile);
    await assignInstance(ctx, { instanceId: "i-1", name: "box" });
    await expect(terminateDevInstance(ctx, false)).rejects.toThrow(/no image of i-1 \(box\) was saved since it was last started .*--force/);
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
    expect(state(stackFile).instances[0].images).toEqual([{ imageId: "ami-0aaaabbbbccccdddd", name: "pca v1", createdAt: "2026-11-23T11:00:00.000Z" }]);

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

describe("replaceBlueprintAmi", () => {
  it("changes only the AMI scalar, keeping comments and quoting", () => {
    const src = stackYaml();
    const { text, previous } = replaceBlueprintAmi(src, "ami-0aaaabbbbccccdddd", "f.yaml");
    expect(previous).toBe(BLUEPRINT_AMI);
    expect(text).toBe(src.replace(BLUEPRINT_AMI, "ami-0aaaabbbbccccdddd"));
    const quoted = src.replace(`AMI: ${BLUEPRINT_AMI}`, `AMI: "${BLUEPRINT_AMI}"`);
    expect(replaceBlueprintAmi(quoted, "ami-0aaaabbbbccccdddd", "f.yaml").text).toContain('AMI: "ami-0aaaabbbbccccdddd" # the image');
    expect(() => replaceBlueprintAmi("config: {}\n", "ami-0aaaabbbbccccdddd", "f.yaml")).toThrow(/f\.yaml: no string at config\.neurocaas:blueprint\.Lambda\.LambdaConfig\.AMI/);
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
    const afterDiff = git(dir, "show", "--format=", "-U0", "HEAD").split("\n").filter((l) => /^[-+][^-+]/.test(l));
    expect(afterDiff).toEqual([`-        AMI: ${BLUEPRINT_AMI} # the image`, "+        AMI: ami-0aaaabbbbccccdddd # the image"]);
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
    expect(git(dir, "log", "--format=%s", "-1")).toBe(`${ANALYSIS}: blueprint uses AMI ami-0123456789abcdef1 (was ${BLUEPRINT_AMI})`);

    const outside = tempStack();
    const before = fs.readFileSync(outside.stackFile, "utf8");
    await expect(updateBlueprint(testContext(outside.stackFile), { ami: "ami-0123456789abcdef1" })).rejects.toThrow(/is not inside a git repository/);
    expect(fs.readFileSync(outside.stackFile, "utf8")).toBe(before);
  });
});
