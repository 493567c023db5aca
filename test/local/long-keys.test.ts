/**
 * Keys valid in S3 but long crash nothing in local mode: the endpoint's on-disk store, the job
 * manager's status files and the IAE's local files all stay within file-system name limits.
 */
import { MAX_DERIVED_NAME_BYTES } from "../../model/layout";
import { waitForJob } from "../../cli/user/job-state";
import { runMainCommand, useLocalServer } from "./support/local-server";

jest.setTimeout(120_000);

describe("local mode: long keys", () => {
  const server = useLocalServer({ name: "longkeys", command: runMainCommand("examples/mock/run_mock.sh") });

  it("runs a dataset with a 229-character basename to SUCCESS; its status file name stays within the limit", async () => {
    const { local, put } = server;
    const name = `${"a".repeat(225)}.txt`;
    await put(`lab/inputs/${name}`, "long named data\n");
    await put("lab/configs/c.yaml", "wait: 0\n__duration__: 60\n");
    await put(
      "lab/submissions/submit.json",
      JSON.stringify({ dataname: `lab/inputs/${name}`, configname: "lab/configs/c.yaml", timestamp: "long1" }),
    );
    const state = await waitForJob(
      local.client,
      { bucket: "longkeys", group: "lab", job: "long1" },
      { intervalMs: 300, timeoutMs: 60_000 },
    );
    expect(state.certificate).toContain("[Job Manager] STEP 4/4 (Initialize Processing): DONE");
    expect(state.certificate).toContain(`DATANAME: lab/inputs/${name} | STATUS: SUCCESS`);
    expect(state.datasets).toHaveLength(1);
    expect(state.datasets[0]).toMatchObject({ status: "SUCCESS", input: `lab/inputs/${name}` });
    expect(Buffer.byteLength(state.datasets[0].file)).toBeLessThanOrEqual(MAX_DERIVED_NAME_BYTES);
  });
});
