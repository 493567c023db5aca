/**
 * MAX_ATTEMPTS in local mode (issue 17): an analysis whose process exits non-zero runs again on a
 * new IAE up to the blueprint's maximum, and the job ends (end.txt) after the last attempt.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { waitForJob } from "../../cli/user/job-state";
import { submitJob } from "../../cli/user/submit-job";
import { runMainCommand, useLocalServer } from "./support/local-server";

jest.setTimeout(240_000);

const BUCKET = "retry-mock";

describe("local NeuroCAAS: MAX_ATTEMPTS", () => {
  const server = useLocalServer({
    name: BUCKET,
    command: runMainCommand("examples/mock/run_mock.sh"),
    lambdaConfig: { MAX_ATTEMPTS: 2 },
  });

  it("a failing analysis runs twice on two IAEs, then its dataset is FAILED and the job ends", async () => {
    const data = path.join(server.dir, "d.txt");
    const cfg = path.join(server.dir, "fail.yaml");
    await fsp.writeFile(data, "data\n");
    await fsp.writeFile(cfg, "wait: 0\nfail: true\n");
    await submitJob({
      client: server.local.client,
      bucket: BUCKET,
      group: "lab",
      data: [data],
      config: cfg,
      timestamp: "f",
    });
    const state = await waitForJob(
      server.local.client,
      { bucket: BUCKET, group: "lab", job: "f" },
      { intervalMs: 200, timeoutMs: 120_000 },
    );
    expect(state.datasets.map((d) => d.status)).toEqual(["FAILED"]);
    const cert = state.certificate ?? "";
    expect(cert).toMatch(
      /failed \(non-zero exit\); running it again as attempt 2 of at most 2 \(MAX_ATTEMPTS\) on IAE /,
    );
    expect(cert).toContain("it is not run again: its analysis has run 2 of at most 2 time(s) (MAX_ATTEMPTS).");
  });
});
