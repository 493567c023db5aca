/**
 * MAX_ATTEMPTS in local mode (issue 17): an analysis whose process exits non-zero runs again on a
 * new IAE up to the blueprint's maximum, and the job ends (end.txt) after the last attempt.
 */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fallbackHourlyPrice, protocolHandlers } from "../../local/protocol-handlers";
import { startLocal, type LocalNeurocaas } from "../../local/server";
import { waitForJob } from "../../cli/user/job-state";
import { submitJob } from "../../cli/user/submit-job";
import { writeStackFile } from "./support/stack";

jest.setTimeout(240_000);

const REPO = path.resolve(__dirname, "../..");
const BUCKET = "retry-mock";

describe("local NeuroCAAS: MAX_ATTEMPTS", () => {
  let dir: string;
  let local: LocalNeurocaas;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "neurocaas-retry-"));
    const stack = await writeStackFile(dir, {
      name: BUCKET,
      command: 'neurocaas workflow run-main "{}" "{}" "{}" "{}" examples/mock/run_mock.sh',
      lambdaConfig: { MAX_ATTEMPTS: 2 },
    });
    local = await startLocal({
      port: 0,
      dataDir: path.join(dir, "data"),
      stackFiles: [stack],
      repoRoot: REPO,
      handlers: protocolHandlers,
      fallbackPrice: fallbackHourlyPrice,
      secondsPerMinute: 1,
    });
  });
  afterAll(async () => {
    await local?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("a failing analysis runs twice on two IAEs, then its dataset is FAILED and the job ends", async () => {
    const data = path.join(dir, "d.txt");
    const cfg = path.join(dir, "fail.yaml");
    await fsp.writeFile(data, "data\n");
    await fsp.writeFile(cfg, "wait: 0\nfail: true\n");
    await submitJob({ client: local.client, bucket: BUCKET, group: "lab", data: [data], config: cfg, timestamp: "f" });
    const state = await waitForJob(
      local.client,
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
