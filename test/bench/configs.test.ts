/** Configs and process helpers the benchmarks generate or use. */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { throughputStack } from "../../bench/local-throughput";
import { peakRssKb } from "../../local/procfs";
import { freePort, run } from "../../bench/proc";
import { affiliateName, perAffiliate, scaleStackConfig, SCALE_PIPELINE } from "../../bench/program-config";
import { writeRandomFile } from "../../bench/transfers";
import { stackSettingsFromConfig } from "../../components/settings";

describe("program-scale stack config", () => {
  it("is a valid dev stack with the asked affiliates, users and user profiles", () => {
    const config = scaleStackConfig({ affiliates: 3, usersPerAffiliate: 5 });
    const settings = stackSettingsFromConfig((k) => config[k]);
    expect(settings.blueprint?.PipelineName).toBe(SCALE_PIPELINE);
    expect(settings.blueprint?.UXData.Affiliates.map((a) => a.AffiliateName)).toEqual([0, 1, 2].map(affiliateName));
    expect(settings.blueprint?.UXData.Affiliates.every((a) => a.UserNames.length === 5)).toBe(true);
    expect(settings.userProfiles).toHaveLength(15);
    expect(settings.userProfiles[7].Groups).toEqual([{ Analysis: SCALE_PIPELINE, Affiliate: affiliateName(1) }]);
    expect(settings.deployUtils).toBe(true);
  });
  it("rejects sizes that are not positive integers", () => {
    expect(() => scaleStackConfig({ affiliates: 0, usersPerAffiliate: 5 })).toThrow(
      /affiliates must be a positive integer/,
    );
    expect(() => scaleStackConfig({ affiliates: 1, usersPerAffiliate: 1.5 })).toThrow(/usersPerAffiliate/);
  });
  it("derives resources per affiliate between two sizes", () => {
    expect(perAffiliate({ affiliates: 1, resources: 63 }, { affiliates: 50, resources: 63 + 49 * 17 })).toBe(17);
    expect(perAffiliate({ affiliates: 1, resources: 1 }, { affiliates: 1, resources: 1 })).toBeUndefined();
  });
});

describe("local-throughput stack", () => {
  it("validates and allows every job's IAE at once", () => {
    const config = (throughputStack(100) as { config: Record<string, unknown> }).config;
    const settings = stackSettingsFromConfig((k) => (k === "neurocaas:utilsStack" ? "org/neurocaas/utils" : config[k]));
    expect(settings.blueprint?.Lambda.LambdaConfig.DEPLOY_LIMIT).toBeGreaterThanOrEqual(100);
  });
});

describe("process helpers", () => {
  it("runs a command capturing output and exit code", async () => {
    const r = await run(process.execPath, [
      "-e",
      "process.stdout.write('out');process.stderr.write('err');process.exit(3)",
    ]);
    expect(r).toMatchObject({ code: 3, stdout: "out", stderr: "err" });
  });
  it("kills a command that outlives its timeout", async () => {
    const r = await run(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { timeoutMs: 200 });
    expect(r.signal).toBe("SIGKILL");
  });
  it("finds a free port and this process's peak RSS", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(peakRssKb(process.pid)).toBeGreaterThan(0);
    expect(peakRssKb(2 ** 22 + 12345)).toBeUndefined();
  });
});

describe("writeRandomFile", () => {
  it("returns the sha256 of exactly the bytes written", async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "bench-rand-"));
    try {
      const file = path.join(dir, "f.bin");
      const size = 9 * 2 ** 20 + 3; // more than one 8 MiB chunk
      const sha = await writeRandomFile(file, size);
      const data = await fsp.readFile(file);
      expect(data.length).toBe(size);
      expect(createHash("sha256").update(data).digest("hex")).toBe(sha);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
