/**
 * Keys valid in S3 but long crash nothing in local mode: the endpoint's on-disk store, the job
 * manager's status files and the IAE's local files all stay within file-system name limits.
 */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { MAX_DERIVED_NAME_BYTES } from "../../protocols/layout";
import { fallbackHourlyPrice, protocolHandlers } from "../../local/protocol-handlers";
import { startLocal, type LocalNeurocaas } from "../../local/server";
import { waitForJob } from "../../cli/user/job-state";
import { writeStackFile } from "./support/stack";

jest.setTimeout(120_000);
const REPO = path.resolve(__dirname, "../..");

describe("local mode: long keys", () => {
  let dir: string;
  let local: LocalNeurocaas;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "neurocaas-longkeys-"));
    const stack = await writeStackFile(dir, { name: "longkeys", command: 'neurocaas workflow run-main "{}" "{}" "{}" "{}" examples/mock/run_mock.sh' });
    local = await startLocal({ port: 0, dataDir: path.join(dir, "data"), stackFiles: [stack], repoRoot: REPO, handlers: protocolHandlers, fallbackPrice: fallbackHourlyPrice, secondsPerMinute: 1 });
  });
  afterAll(async () => {
    await local?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("runs a dataset with a 229-character basename to SUCCESS; its status file name stays within the limit", async () => {
    const name = `${"a".repeat(225)}.txt`;
    const put = (key: string, body: string) => local.client.send(new PutObjectCommand({ Bucket: "longkeys", Key: key, Body: Buffer.from(body) }));
    await put(`lab/inputs/${name}`, "long named data\n");
    await put("lab/configs/c.yaml", "wait: 0\n__duration__: 60\n");
    await put("lab/submissions/submit.json", JSON.stringify({ dataname: `lab/inputs/${name}`, configname: "lab/configs/c.yaml", timestamp: "long1" }));
    const state = await waitForJob(local.client, { bucket: "longkeys", group: "lab", job: "long1" }, { intervalMs: 300, timeoutMs: 60_000 });
    expect(state.certificate).toContain("[Job Manager] STEP 4/4 (Initialize Processing): DONE");
    expect(state.certificate).toContain(`DATANAME: lab/inputs/${name} | STATUS: SUCCESS`);
    expect(state.datasets).toHaveLength(1);
    expect(state.datasets[0]).toMatchObject({ status: "SUCCESS", input: `lab/inputs/${name}` });
    expect(Buffer.byteLength(state.datasets[0].file)).toBeLessThanOrEqual(MAX_DERIVED_NAME_BYTES);
  });
});
