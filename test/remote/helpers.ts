import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EC2Client } from "@aws-sdk/client-ec2";
import { S3Client } from "@aws-sdk/client-s3";
import { SSMClient } from "@aws-sdk/client-ssm";
import { STSClient } from "@aws-sdk/client-sts";
import { loadBlueprintForRemote, type RemoteContext } from "../../cli/remote/context";
import type { RemoteClients } from "../../cli/remote/clients";

export const ANALYSIS = "pca-analysis";
export const BLUEPRINT_AMI = "ami-0123456789abcdef0";
export const COMMAND = 'cd /home/ubuntu; neurocaas workflow run-main "{}" "{}" "{}" "{}" "pca/run_pca.sh"';

/** A stack file as `blueprint new` writes it, with a comment that must survive edits. */
export function stackYaml(ami = BLUEPRINT_AMI): string {
  return [
    "# PCA analysis blueprint (kept by update-blueprint)",
    "config:",
    "  aws:region: us-east-1",
    "  neurocaas:blueprint:",
    `    PipelineName: ${ANALYSIS}`,
    "    REGION: us-east-1",
    "    STAGE: webdev",
    "    Lambda:",
    "      Protocol: default",
    "      LambdaConfig:",
    `        AMI: ${ami} # the image`,
    "        INSTANCE_TYPE: m5.xlarge",
    `        COMMAND: '${COMMAND}'`,
    "        WORKING_DIRECTORY: /home/ubuntu",
    "        SSM_TIMEOUT: 3600",
    "    UXData:",
    "      Affiliates:",
    "        - AffiliateName: debuggers",
    "          UserNames: [dev1]",
    "          UserInput: true",
    "",
  ].join("\n");
}

export function tempStack(): { dir: string; stackFile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ncap-remote-"));
  const stackFile = path.join(dir, `${ANALYSIS}.yaml`);
  fs.writeFileSync(stackFile, stackYaml());
  return { dir, stackFile };
}

export function realClients(): RemoteClients {
  const config = { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };
  return {
    ec2: new EC2Client(config),
    ssm: new SSMClient(config),
    sts: new STSClient(config),
    s3: new S3Client(config),
  };
}

export interface TestContext extends RemoteContext {
  readonly lines: string[];
  now: Date;
}

/**
 * A context with a settable clock, collected output and an instant sleep (which moves the clock
 * forward by the time slept when `advanceClockOnSleep` is set, for waits with a deadline).
 */
export function testContext(
  stackFile: string,
  now = new Date("2026-11-23T10:00:00Z"),
  opts: { advanceClockOnSleep?: boolean } = {},
): TestContext {
  const lines: string[] = [];
  const ctx = {
    stackFile,
    ...loadBlueprintForRemote(stackFile),
    clients: realClients(),
    now,
    clock: () => ctx.now,
    sleep: async (ms: number) => {
      if (opts.advanceClockOnSleep) ctx.now = new Date(ctx.now.getTime() + ms);
    },
    out: (l: string) => void lines.push(l),
    lines,
  };
  return ctx;
}
