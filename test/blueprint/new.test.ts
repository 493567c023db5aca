import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { mockClient } from "aws-sdk-client-mock";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { register } from "../../cli/commands/blueprint";
import { exampleSubmit, scaffoldFiles } from "../../cli/blueprint/scaffold";
import { loadStackFile } from "../../model/blueprint/parse";
import { countPlaceholders } from "../../protocols/command-template";
import { runCliInProcess as neurocaas } from "../support/cli-in-process";
import { withoutStackTraces } from "../support/stack-traces";
import { realClients } from "../remote/helpers";

const ssm = mockClient(SSMClient);

interface PlanJson {
  readonly resources?: readonly { type: string }[];
  readonly violations?: readonly { policy: string; enforcementLevel: string; message?: string }[];
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "ncap-new-"));
}

describe("neurocaas blueprint new", () => {
  it("round trip: new → validate → plan", async () => {
    const dir = tmp();
    const created = await neurocaas([
      "blueprint",
      "new",
      "pca-demo",
      "--dir",
      dir,
      "--ami",
      "ami-0123456789abcdef0",
      "-u",
      "dev1",
      "-t",
      "t3.large",
    ]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const stack = path.join(dir, "pca-demo.yaml");
    expect(created.stdout.split("\n").filter(Boolean)).toEqual([
      `wrote ${stack}`,
      `wrote ${path.join(dir, "pca-demo.examples", "submit.json")}`,
      `wrote ${path.join(dir, "pca-demo.examples", "config.yaml")}`,
    ]);
    const { blueprint } = loadStackFile(stack);
    expect(blueprint).toMatchObject({
      PipelineName: "pca-demo",
      STAGE: "webdev",
      Lambda: {
        Protocol: "default",
        LambdaConfig: { AMI: "ami-0123456789abcdef0", INSTANCE_TYPE: "t3.large", WORKING_DIRECTORY: "~/bin" },
      },
      UXData: { Affiliates: [{ AffiliateName: "debuggers", UserNames: ["dev1"], UserInput: true }] },
    });
    expect(countPlaceholders(blueprint?.Lambda.LambdaConfig.COMMAND ?? "")).toBe(4);
    const submit = JSON.parse(fs.readFileSync(path.join(dir, "pca-demo.examples", "submit.json"), "utf8")) as Record<
      string,
      string
    >;
    expect(submit.dataname.startsWith("debuggers/inputs/")).toBe(true);
    expect(submit.configname).toBe("debuggers/configs/config.yaml");
    expect(fs.readFileSync(path.join(dir, "pca-demo.examples", "config.yaml"), "utf8")).toMatch(/^__duration__: 60$/m);

    const valid = await neurocaas(["blueprint", "validate", stack]);
    expect(valid.code).toBe(0);
    expect(valid.stdout).toBe(`OK: ${stack} (pca-demo, webdev, protocol default, t3.large, ami-0123456789abcdef0)\n`);

    const plan = await withoutStackTraces(() => neurocaas(["plan", "--stack-file", stack, "--json", "--no-aws"]));
    expect(plan.code).toBe(0);
    const report = JSON.parse(plan.stdout) as PlanJson;
    expect((report.violations ?? []).filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
    expect(report.resources?.some((r) => r.type === "aws:s3/bucket:Bucket")).toBe(true);

    const again = await neurocaas(["blueprint", "new", "pca-demo", "--dir", dir, "--ami", "ami-0123456789abcdef0"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not overwriting .*pca-demo\.yaml/);
  }, 900_000);

  it("rejects bad names and reports every problem of an invalid stack file", async () => {
    const dir = tmp();
    const bad = await neurocaas(["blueprint", "new", "My_Analysis", "--dir", dir, "--ami", "ami-0123456789abcdef0"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      'invalid analysis name: "My_Analysis" contains "M" "_" "A"; use lowercase letters, digits and "-" only',
    );
    expect(fs.readdirSync(dir)).toEqual([]);

    const [stack] = scaffoldFiles(dir, { name: "broken", ami: "ami-0123456789abcdef0" });
    fs.writeFileSync(
      stack.path,
      stack.text
        .replace("STAGE: webdev", "STAGE: production")
        .replace("INSTANCE_TYPE: m5.xlarge", "INSTANCE_TYPE: big")
        .replace("UserInput: true", "UserInput: yes please"),
    );
    const res = await neurocaas(["blueprint", "validate", stack.path]);
    expect(res.code).toBe(1);
    expect(res.stderr.split("\n").filter(Boolean)).toEqual([
      `neurocaas: ${stack.path}: 3 problems`,
      '  STAGE: got "production", expected "webdev" or "websubstack" (legacy "develop" means webdev)',
      '  Lambda.LambdaConfig.INSTANCE_TYPE: got "big", expected the default instance type: an EC2 instance type such as "m5.xlarge"',
      '  UXData.Affiliates[0].UserInput: got "yes please", expected true (jobs start from submissions/) or false (from results/)',
    ]);
    // Once the blueprint is valid, the other stack config keys are checked too.
    fs.writeFileSync(
      stack.path,
      stack.text.replace(/^ {2}neurocaas:utilsStack: .*\n/m, "  neurocaas:utilsStack: neurocaas/utils\n"),
    );
    const badUtils = await neurocaas(["blueprint", "validate", stack.path]);
    expect(badUtils.code).toBe(1);
    expect(badUtils.stderr).toMatch(
      /1 problem\n {2}neurocaas:utilsStack: got "neurocaas\/utils", expected a stack name \("utils"\) or a fully qualified one/,
    );
  }, 600_000);

  it("resolves an AMI alias through SSM at creation time", async () => {
    ssm.reset();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: "ami-0abcdefabcdefabcd" } });
    const dir = tmp();
    const lines: string[] = [];
    const p = new Command().exitOverride();
    register(p, { clientFactory: () => realClients(), out: (t) => void lines.push(t) });
    await p.parseAsync(["node", "neurocaas", "blueprint", "new", "dl-analysis", "--dir", dir, "--ami", "dlami"]);
    expect(ssm.commandCalls(GetParameterCommand)[0].args[0].input.Name).toMatch(
      /^\/aws\/service\/deeplearning\/ami\/x86_64\//,
    );
    expect(loadStackFile(path.join(dir, "dl-analysis.yaml")).blueprint?.Lambda.LambdaConfig.AMI).toBe(
      "ami-0abcdefabcdefabcd",
    );
    expect(lines).toHaveLength(3);
    // Without --ami the default alias ubuntu22 is resolved; a failure names the way out.
    await p.parseAsync(["node", "neurocaas", "blueprint", "new", "plain-analysis", "--dir", dir]);
    expect(ssm.commandCalls(GetParameterCommand)[1].args[0].input.Name).toBe(
      "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
    );
    ssm.on(GetParameterCommand).rejects(new Error("Could not load credentials from any providers"));
    await expect(
      p.parseAsync(["node", "neurocaas", "blueprint", "new", "third-analysis", "--dir", dir]),
    ).rejects.toThrow(
      /cannot resolve --ami ubuntu22: Could not load credentials .*pass --ami ami-\.\.\. to use a known image/,
    );
    expect(fs.existsSync(path.join(dir, "third-analysis.yaml"))).toBe(false);
    expect(exampleSubmit().timestamp).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
  });
});
