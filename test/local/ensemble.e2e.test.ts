/**
 * Issue 14: ensemble members each get their own status. A 3-member ensemble in local mode (real
 * job manager, monitor and IAE processes running the workflow CLI): three status files, three
 * certificate lines, each ending SUCCESS, and `neurocaas status` shows every member.
 */
import { formatJobState, waitForJob } from "../../cli/user/job-state";
import { runMainCommand, useLocalServer } from "./support/local-server";

jest.setTimeout(180_000);

describe("local mode: ensemble members", () => {
  const server = useLocalServer({
    name: "ens-local",
    protocol: "ensemble",
    command: runMainCommand("examples/mock/run_mock.sh"),
  });

  it("a 3-member ensemble has three certificate lines and three status files, each ending SUCCESS", async () => {
    const { local, put } = server;
    await put("lab/inputs/video.txt", "frames\n");
    await put("lab/configs/train.yaml", "mode: train\nensemble_size: 3\nwait: 0\n__duration__: 60\n");
    await put(
      "lab/submissions/submit.json",
      JSON.stringify({ dataname: "lab/inputs/video.txt", configname: "lab/configs/train.yaml", timestamp: "ens1" }),
    );
    const ref = { bucket: "ens-local", group: "lab", job: "ens1" };
    const state = await waitForJob(local.client, ref, { intervalMs: 300, timeoutMs: 120_000 });
    expect(state.certificate).toContain("[Job Manager] STEP 4/4 (Initialize Processing): DONE");
    const lines = (state.certificate ?? "").split("\n").filter((l) => l.startsWith("DATANAME: "));
    expect(lines).toHaveLength(3);
    for (const i of [1, 2, 3])
      expect(lines[i - 1]).toMatch(
        new RegExp(`^DATANAME: lab/inputs/video\\.txt \\(inst${i}\\) \\| STATUS: SUCCESS \\| TIME: .* \\(finished\\)`),
      );
    expect(state.datasets.map((d) => d.file)).toEqual(
      [1, 2, 3].map((i) => `DATASET_NAME:video.txt_inst${i}_STATUS.txt`),
    );
    for (const [i, d] of state.datasets.entries())
      expect(d.body).toMatchObject({ status: "SUCCESS", input: "lab/inputs/video.txt", member: i + 1 });
    const report = formatJobState(ref, state);
    for (const i of [1, 2, 3]) expect(report).toContain(`dataset lab/inputs/video.txt (inst${i}): SUCCESS`);
  });
});
