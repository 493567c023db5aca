import type { Command } from "commander";
import {
  addConnectionOptions,
  clientFromConnection,
  endpointFromConnection,
  type ConnectionArgs,
} from "../user/connection";
import { withS3Errors } from "../user/errors";
import { requestCancel, waitForCancel } from "../user/cancel-job";
import { validateJobId } from "../../model/job-id";
import { addTimeoutOption, timeoutMs } from "../user/outcome";

interface CancelOptions extends ConnectionArgs {
  readonly bucket: string;
  readonly group: string;
  readonly job: string;
  readonly wait: boolean;
  readonly timeout?: string;
}

export function register(program: Command): void {
  addConnectionOptions(
    addTimeoutOption(
      program
        .command("cancel")
        .description(
          "cancel one of your group's jobs (queued or running): its IAEs are terminated, its datasets say CANCELLED. Exit status 0 cancelled, 1 rejected (unknown job, another group's, already finished) or not confirmed in time",
        )
        .requiredOption("--bucket <bucket>", "analysis bucket")
        .requiredOption("--group <group>", "your group folder")
        .requiredOption("--job <id>", "job id (the submit file's timestamp)")
        .option("--no-wait", "only upload the cancel request; do not wait for the platform's answer"),
      "waiting",
    ),
  ).action(async (opts: CancelOptions) => {
    const timeout = timeoutMs(opts, opts.wait, "waiting");
    const endpoint = endpointFromConnection(opts);
    const client = clientFromConnection(opts);
    const ref = { bucket: opts.bucket, group: opts.group, job: validateJobId(opts.job) };
    await withS3Errors({ client, bucket: opts.bucket, endpoint }, async () => {
      const request = await requestCancel({ client, ...ref });
      process.stderr.write(`submitted s3://${opts.bucket}/${request.submitKey}\n`);
      if (!opts.wait) return;
      const outcome = await waitForCancel(client, ref, request, { timeoutMs: timeout });
      if (outcome.kind === "cancelled") process.stdout.write(`job ${ref.job} cancelled\n`);
      else if (outcome.kind === "rejected") throw new Error(`cancel of job ${ref.job} rejected: ${outcome.reason}`);
      else
        throw new Error(
          `the platform has not confirmed the cancel of job ${ref.job} yet; check with: neurocaas status --bucket ${ref.bucket} --group ${ref.group} --job ${ref.job}`,
        );
    });
  });
}
