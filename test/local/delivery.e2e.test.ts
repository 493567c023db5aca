/**
 * Local mode's events go through the same handlers as the cloud's, so it has the same
 * exactly-once guarantees: duplicated state-change events (as EventBridge may deliver them) start
 * the analysis once and complete the job once.
 */
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { protocolHandlers } from "../../local/protocol-handlers";
import type { LocalHandlers } from "../../local/handlers";
import type { ObjectStore } from "../../protocols/storage";
import { waitForJob } from "../../cli/user/job-state";
import { jobFolderKey } from "../../model/layout";
import { runMainCommand, useLocalServer } from "./support/local-server";

jest.setTimeout(120_000);

describe("local mode: duplicated events", () => {
  const outcomes: string[] = [];
  // Every state change reaches the monitor three times at once (three invocations, as EventBridge would make).
  const tripled: LocalHandlers = {
    ...protocolHandlers,
    monitor: async (event, deps) => {
      const all = await Promise.all(
        [0, 1, 2].map((i) =>
          protocolHandlers.monitor(event, {
            ...deps,
            invocation: { ...deps.invocation!, id: `${deps.invocation!.id}-copy${i}` },
          }),
        ),
      );
      for (const o of all) outcomes.push(`${event.detail.state}:${(o as { action: string }).action}`);
      return all[0];
    },
  };
  const server = useLocalServer({ name: "localdup", command: runMainCommand("examples/mock/run_mock.sh") }, tripled);

  it("start the analysis once per IAE and finish the job once (a duplicate no longer kills the running IAE)", async () => {
    const { local, put } = server;
    await put("lab/inputs/d.txt", "data\n");
    await put("lab/configs/c.yaml", "wait: 1\n__duration__: 60\n");
    await put(
      "lab/submissions/submit.json",
      JSON.stringify({ dataname: "lab/inputs/d.txt", configname: "lab/configs/c.yaml", timestamp: "dup1" }),
    );
    const state = await waitForJob(
      local.client,
      { bucket: "localdup", group: "lab", job: "dup1" },
      { intervalMs: 300, timeoutMs: 60_000 },
    );
    await local.settle();
    expect(state.datasets.map((d) => d.status)).toEqual(["SUCCESS"]);
    expect(state.certificate).not.toContain("[JOB TERMINATE REASON]");
    expect(outcomes.filter((o) => o === "running:command-delivered")).toHaveLength(1);
    // SSM-style output: one command folder under internal_ec2_logs/.
    const out = await local.client.send(
      new ListObjectsV2Command({
        Bucket: "localdup",
        Prefix: `${jobFolderKey("lab", "localdup", "dup1")}/internal_ec2_logs/`,
      }),
    );
    expect(new Set((out.Contents ?? []).map((o) => o.Key!.split("/")[5])).size).toBe(1);
  });
});

describe("local mode: a failed handler is retried like Lambda retries it", () => {
  let failed = 0;
  // The first `running` invocation dies right after its delivery claim was written, before sending
  // the command (its claim stays, held by an invocation that no longer runs).
  const flaky: LocalHandlers = {
    ...protocolHandlers,
    monitor: (event, deps) => {
      if (event.detail.state !== "running" || failed > 0) return protocolHandlers.monitor(event, deps);
      const s = deps.store;
      const store: ObjectStore = {
        get: (b, k) => s.get(b, k),
        exists: (b, k) => s.exists(b, k),
        prefixExists: (b, p) => s.prefixExists(b, p),
        list: (b, p, l) => s.list(b, p, l),
        delete: (b, k) => s.delete(b, k),
        copy: (a, b, c, d) => s.copy(a, b, c, d),
        put: async (b, k, body, o) => {
          const out = await s.put(b, k, body, o);
          if (k.startsWith("logs/active/") && body.includes('"delivery"') && failed === 0) {
            failed++;
            throw new Error("Lambda timed out");
          }
          return out;
        },
      };
      return protocolHandlers.monitor(event, { ...deps, store });
    },
  };
  const server = useLocalServer({ name: "localretry", command: runMainCommand("examples/mock/run_mock.sh") }, flaky);

  it("the retry (same invocation) takes over the delivery claim and the job runs to SUCCESS", async () => {
    const { local, put } = server;
    await put("lab/inputs/d.txt", "data\n");
    await put("lab/configs/c.yaml", "wait: 0\n__duration__: 60\n");
    await put(
      "lab/submissions/submit.json",
      JSON.stringify({ dataname: "lab/inputs/d.txt", configname: "lab/configs/c.yaml", timestamp: "retry1" }),
    );
    const state = await waitForJob(
      local.client,
      { bucket: "localretry", group: "lab", job: "retry1" },
      { intervalMs: 300, timeoutMs: 60_000 },
    );
    expect(failed).toBe(1);
    expect(state.datasets.map((d) => d.status)).toEqual(["SUCCESS"]);
  });
});
