import * as fs from "node:fs";
import * as path from "node:path";
import { mockClient } from "aws-sdk-client-mock";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetObjectCommand, PutObjectCommand, S3Client, type GetObjectCommandOutput } from "@aws-sdk/client-s3";
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { assignInstance } from "../../cli/remote/instance-actions";
import { jobOutput, jobStatus, parseJobIndex, SSM_INLINE_OUTPUT_LIMIT, submitJob } from "../../cli/remote/job-actions";
import { debugJobStamp, parseDebugSubmission } from "../../cli/remote/debug-job";
import { remoteStatePath, type RemoteState } from "../../cli/remote/state";
import { fillCommand } from "../../protocols/command-template";
import { datasetStatusKey } from "../../model/layout";
import { ANALYSIS, COMMAND, tempStack, testContext } from "./helpers";

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const s3 = mockClient(S3Client);
const sts = mockClient(STSClient);

let instanceState = "running";

beforeEach(() => {
  ec2.reset();
  ssm.reset();
  s3.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Arn: "arn:aws:iam::123456789012:user/dev1" });
  instanceState = "running";
  ec2
    .on(DescribeInstancesCommand)
    .callsFake(() => ({ Reservations: [{ Instances: [{ InstanceId: "i-1", State: { Name: instanceState } }] }] }));
  // A tiny in-memory bucket: the status file is read back after the command is sent.
  const objects = new Map<string, string>();
  s3.on(PutObjectCommand).callsFake((input: { Key: string; Body: string }) => {
    objects.set(input.Key, String(input.Body));
    return {};
  });
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const body = objects.get(input.Key);
    if (body === undefined) throw Object.assign(new Error("NoSuchKey"), { name: "NoSuchKey" });
    return { Body: { transformToString: async () => body } };
  });
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
});

async function setup() {
  const { dir, stackFile } = tempStack();
  const submit = path.join(dir, "submit.json");
  fs.writeFileSync(
    submit,
    JSON.stringify({
      dataname: "debuggers/inputs/data set.zip",
      configname: "debuggers/configs/config.yaml",
      timestamp: "t1",
    }),
  );
  const ctx = testContext(stackFile, new Date("2026-11-23T10:05:09Z"));
  await assignInstance(ctx, { instanceId: "i-1" });
  return { ctx, submit, stackFile };
}

describe("submit-job", () => {
  it("fills COMMAND with the job manager's templating, writes INITIALIZING status, sends AWS-RunShellScript", async () => {
    const { ctx, submit, stackFile } = await setup();
    const job = await submitJob(ctx, submit);

    const resultFolder = "results/debugjob20261123-100509";
    const jobFolder = `debuggers/${resultFolder}`;
    const command = fillCommand(COMMAND, {
      bucket: ANALYSIS,
      datasetKey: "debuggers/inputs/data set.zip",
      resultFolder,
      configKey: "debuggers/configs/config.yaml",
    });
    expect(command).toBe(
      `cd /home/ubuntu; neurocaas workflow run-main "${ANALYSIS}" "debuggers/inputs/data set.zip" "${resultFolder}" "debuggers/configs/config.yaml" "pca/run_pca.sh"`,
    );
    expect(ssm.commandCalls(SendCommandCommand)[0].args[0].input).toEqual({
      DocumentName: "AWS-RunShellScript",
      InstanceIds: ["i-1"],
      Parameters: { commands: [command], workingDirectory: ["/home/ubuntu"], executionTimeout: ["3600"] },
      OutputS3BucketName: ANALYSIS,
      OutputS3KeyPrefix: `${jobFolder}/internal_ec2_logs`,
      Comment: `neurocaas ${jobFolder}`,
    });
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => [p.Bucket, p.Key])).toEqual([
      [ANALYSIS, `${jobFolder}/logs/DATASET_NAME:data set.zip_STATUS.txt`],
      [ANALYSIS, `${jobFolder}/logs/DATASET_NAME:data set.zip_STATUS.txt`],
    ]);
    expect(puts[0].Key).toBe(datasetStatusKey(jobFolder, "debuggers/inputs/data set.zip"));
    const initializing = {
      status: "INITIALIZING",
      reason: [],
      input: "debuggers/inputs/data set.zip",
      instance: "i-1",
      command: null,
      job: "debugjob20261123-100509",
    };
    expect(JSON.parse(String(puts[0].Body))).toEqual(initializing);
    expect(JSON.parse(String(puts[1].Body))).toEqual({ ...initializing, command: "cmd-1" });

    const saved = JSON.parse(fs.readFileSync(remoteStatePath(stackFile), "utf8")) as RemoteState;
    expect(saved.instances[0].jobs).toEqual([job]);
    expect(job).toMatchObject({
      commandId: "cmd-1",
      resultFolder,
      jobFolder,
      command,
      startedAt: "2026-11-23T10:05:09.000Z",
    });
  });

  it("runs a home-relative working directory through the shell, as the job manager does", async () => {
    const { dir } = tempStack();
    const stackFile = path.join(dir, `${ANALYSIS}.yaml`);
    fs.writeFileSync(
      stackFile,
      fs.readFileSync(stackFile, "utf8").replace("WORKING_DIRECTORY: /home/ubuntu", "WORKING_DIRECTORY: ~/bin"),
    );
    const submit = path.join(dir, "submit.json");
    fs.writeFileSync(
      submit,
      JSON.stringify({ dataname: "debuggers/inputs/d.zip", configname: "debuggers/configs/c.yaml" }),
    );
    const ctx = testContext(stackFile);
    await assignInstance(ctx, { instanceId: "i-1" });
    const job = await submitJob(ctx, submit);
    expect(ssm.commandCalls(SendCommandCommand)[0].args[0].input.Parameters).toEqual({
      commands: ["cd ~/bin 2>/dev/null || true", job.command],
      executionTimeout: ["3600"],
    });
  });

  it("marks the status FAILED when SSM refuses the command", async () => {
    const { ctx, submit } = await setup();
    ssm
      .on(SendCommandCommand)
      .rejects(
        Object.assign(new Error("Instances [[i-1]] not in a valid state for account"), { name: "InvalidInstanceId" }),
      );
    await expect(submitJob(ctx, submit)).rejects.toThrow(/the SSM agent of i-1 cannot receive commands yet .*retry/);
    const bodies = s3
      .commandCalls(PutObjectCommand)
      .map((c) => JSON.parse(String(c.args[0].input.Body)) as { status: string; reason: string[] });
    expect(bodies.map((b) => b.status)).toEqual(["INITIALIZING", "FAILED"]);
    expect(bodies[1].reason[0]).toContain("command not delivered");
    ssm.on(SendCommandCommand).rejects(
      Object.assign(new Error("User is not authorized to perform ssm:SendCommand"), {
        name: "AccessDeniedException",
      }),
    );
    await expect(submitJob(ctx, submit)).rejects.toThrow(/not authorized/);
  });

  it("refuses a stopped instance and bad submit files before writing anything", async () => {
    const { ctx, submit } = await setup();
    instanceState = "stopped";
    await expect(submitJob(ctx, submit)).rejects.toThrow(/instance i-1 is stopped, not running: cannot run a job/);
    expect(() =>
      parseDebugSubmission({ dataname: ["a/inputs/1", "a/inputs/2"], configname: "a/configs/c" }, "s.json"),
    ).toThrow(/lists 2 datasets/);
    expect(() => parseDebugSubmission({ dataname: "s3://b/a/inputs/1", configname: "a/configs/c" }, "s.json")).toThrow(
      /is an s3:\/\/ URI/,
    );
    expect(() => parseDebugSubmission({ dataname: 3 }, "s.json")).toThrow(
      /"dataname" must be a dataset key .*"configname" must be a config key/,
    );
    expect(parseDebugSubmission({ dataname: ["g/inputs/x"], configname: "g/configs/c.json" }, "s.json")).toEqual({
      datasetKey: "g/inputs/x",
      configKey: "g/configs/c.json",
      group: "g",
    });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(debugJobStamp(new Date("2026-01-02T03:04:05.678Z"))).toBe("20260102-030405");
  });
});

describe("job-status and job-output", () => {
  it("print the SSM invocation's status and its stdout/stderr", async () => {
    const { ctx, submit } = await setup();
    await submitJob(ctx, submit);
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-2" } });
    ctx.now = new Date("2026-11-23T10:06:00Z");
    await submitJob(ctx, submit);
    ssm.on(GetCommandInvocationCommand).callsFake((input: { CommandId: string }) => ({
      CommandId: input.CommandId,
      Status: input.CommandId === "cmd-2" ? "Failed" : "InProgress",
      StatusDetails: input.CommandId === "cmd-2" ? "Failed" : "InProgress",
      ResponseCode: input.CommandId === "cmd-2" ? 2 : -1,
      StandardOutputContent: "step 1\nstep 2\n",
      StandardErrorContent: "oops\n",
      StandardOutputUrl: "https://s3.amazonaws.com/x/stdout",
    }));
    ctx.lines.length = 0;
    expect(await jobStatus(ctx, -1)).toBe("Failed");
    expect(ctx.lines[0]).toBe("job results/debugjob20261123-100600 on i-1: Failed, exit code 2");
    expect(await jobStatus(ctx, 0)).toBe("InProgress");
    expect(ssm.commandCalls(GetCommandInvocationCommand).map((c) => c.args[0].input)).toEqual([
      { CommandId: "cmd-2", InstanceId: "i-1" },
      { CommandId: "cmd-1", InstanceId: "i-1" },
    ]);
    ctx.lines.length = 0;
    await jobOutput(ctx, -1);
    expect(ctx.lines).toEqual(["---- stdout (Failed) ----", "step 1\nstep 2\n", "---- stderr ----", "oops\n"]);
    expect(
      s3
        .commandCalls(GetObjectCommand)
        .map((c) => c.args[0].input.Key)
        .filter((k) => !k?.endsWith("_STATUS.txt")),
    ).toEqual([]);
    await expect(jobStatus(ctx, 2)).rejects.toThrow(/job index 2 is out of range: i-1 has 2 job\(s\)/);
  });

  it("reads output SSM truncated from the bucket", async () => {
    const { ctx, submit } = await setup();
    const job = await submitJob(ctx, submit);
    const full = `${"x".repeat(SSM_INLINE_OUTPUT_LIMIT + 500)}\nlast line\n`;
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: "Success",
      StandardOutputContent: full.slice(0, SSM_INLINE_OUTPUT_LIMIT),
      StandardErrorContent: "",
    });
    s3.on(GetObjectCommand).resolves({
      Body: { transformToString: async () => full } as unknown as GetObjectCommandOutput["Body"],
    });
    ctx.lines.length = 0;
    await jobOutput(ctx, -1);
    expect(s3.commandCalls(GetObjectCommand).at(-1)?.args[0].input).toEqual({
      Bucket: ANALYSIS,
      Key: `${job.jobFolder}/internal_ec2_logs/cmd-1/i-1/awsrunShellScript/0.awsrunShellScript/stdout`,
    });
    expect(ctx.lines[1]).toBe(full);
    expect(ctx.lines).toHaveLength(4);
  });

  it("reports a not-yet-registered invocation as pending and needs a job first", async () => {
    const { ctx, submit } = await setup();
    await expect(jobStatus(ctx, -1)).rejects.toThrow(/no job has been submitted to i-1/);
    await submitJob(ctx, submit);
    ssm
      .on(GetCommandInvocationCommand)
      .rejects(Object.assign(new Error("not yet"), { name: "InvocationDoesNotExist" }));
    expect(await jobStatus(ctx, -1)).toBe("Pending");
    expect(parseJobIndex(undefined)).toBe(-1);
    expect(() => parseJobIndex("last")).toThrow(/--job must be an integer index/);
  });
});
