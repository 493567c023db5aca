/**
 * Issue 14: ensemble members each get their own status. A 3-member ensemble in local mode (real
 * job manager, monitor and IAE processes running the workflow CLI): three status files, three
 * certificate lines, each ending SUCCESS, and `neurocaas status` shows every member.
 */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { fallbackHourlyPrice, protocolHandlers } from "../../local/protocol-handlers";
import { startLocal, type LocalNeurocaas } from "../../local/server";
import { formatJobState, waitForJob } from "../../cli/user/job-state";
import { writeStackFile } from "./support/stack";

jest.setTimeout(180_000);
const REPO = path.resolve(__dirname, "../..");

describe("local mode: ensemble members", () => {
  let dir: string;
  let local: LocalNeurocaas;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "neurocaas-ensemble-"));
    const stack = await writeStackFile(dir, { name: "ens-local", protocol: "ensemble", command: 'neurocaas workflow run-main "{}" "{}" "{}" "{}" examples/mock/run_mock.sh' });
    local = await startLocal({ port: 0, dataDir: path.join(dir, "data"), stackFiles: [stack], repoRoot: REPO, handlers: protocolHandlers, fallbackPrice: fallbackHourlyPrice, secondsPerMinute: 1 });
  });
  afterAll(async () => {
    await local?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("a 3-member ensemble has three certificate lines and three status files, each ending SUCCESS", async () => {
    const put = (key: string, body: string) => local.client.send(new PutObjectCommand({ Bucket: "ens-local", Key: key, Body: Buffer.from(body) }));
    await put("lab/inputs/video.txt", "frames\n");
    await put("lab/configs/train.yaml", "mode: train\nensemble_size: 3\nwait: 0\n__duration__: 60\n");
    await put("lab/submissions/submit.json", JSON.stringify({ dataname: "lab/inputs/video.txt", configname: "lab/configs/train.yaml", timestamp: "ens1" }));
    const ref = { bucket: "ens-local", group: "lab", job: "ens1" };
    const state = await waitForJob(local.client, ref, { intervalMs: 300, timeoutMs: 120_000 });
    expect(state.certificate).toContain("[Job Manager] STEP 4/4 (Initialize Processing): DONE");
    const lines = (state.certificate ?? "").split("\n").filter((l) => l.startsWith("DATANAME: "));
    expect(lines).toHaveLength(3);
    for (const i of [1, 2, 3]) expect(lines[i - 1]).toMatch(new RegExp(`^DATANAME: lab/inputs/video\\.txt \\(inst${i}\\) \\| STATUS: SUCCESS \\| TIME: .* \\(finished\\)`));
    expect(state.datasets.map((d) => d.file)).toEqual([1, 2, 3].map((i) => `DATASET_NAME:video.txt_inst${i}_STATUS.txt`));
    for (const [i, d] of state.datasets.entries()) expect(d.body).toMatchObject({ status: "SUCCESS", input: "lab/inputs/video.txt", member: i + 1 });
    const report = formatJobState(ref, state);
    for (const i of [1, 2, 3]) expect(report).toContain(`dataset lab/inputs/video.txt (inst${i}): SUCCESS`);
  });
});
