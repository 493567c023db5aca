import * as fs from "node:fs";
import * as path from "node:path";
import { certificateKey, encodeEventKey, jobFolderKey } from "../../model/layout";
import { runSubmit } from "../../protocols/run";
import { AwsWorld } from "../support/aws-world";
import { uploadTree } from "../support/bucket-contents";
import { useMemoryS3 } from "../support/memory-store";
import { CONDITION_MATRIX } from "../support/paths";
import { BUCKET, FakeClock, GROUP, protocolDeps, putEvent } from "../support/protocol-env";

const s3 = useMemoryS3([BUCKET]);
const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

const submissionsDir = path.join(CONDITION_MATRIX, "submissions");
const conditions = fs
  .readdirSync(submissionsDir)
  .filter((f) => /^condition_\d_\dsubmit\.json$/.test(f))
  .sort();
const inputData = JSON.parse(fs.readFileSync(path.join(submissionsDir, "input_data.json"), "utf-8")) as Record<
  string,
  { path: string | string[]; code: boolean }
>;
const configData = JSON.parse(fs.readFileSync(path.join(submissionsDir, "config_data.json"), "utf-8")) as Record<
  string,
  { path: string; code: boolean }
>;

function timestampOf(file: string): string {
  return (JSON.parse(fs.readFileSync(path.join(submissionsDir, file), "utf-8")) as { timestamp: string }).timestamp;
}

beforeAll(async () => {
  await uploadTree(s3.store, BUCKET, path.join(CONDITION_MATRIX, "inputs"), `${GROUP}/inputs/`);
  await uploadTree(s3.store, BUCKET, path.join(CONDITION_MATRIX, "configs"), `${GROUP}/configs/`);
  for (const f of conditions)
    await s3.store.put(BUCKET, `${GROUP}/submissions/${f}`, fs.readFileSync(path.join(submissionsDir, f), "utf-8"));
  world.prices.set("t2.micro", 0.0116);
});

describe("condition matrix (fixtures/condition-matrix)", () => {
  it.each(conditions)("%s gives its expected exit code, with a reason when rejected", async (file) => {
    const submit = JSON.parse(fs.readFileSync(path.join(submissionsDir, file), "utf-8")) as {
      exitcode: number;
      timestamp: string;
      dataname: string | string[];
      configname: string;
    };
    const [, i, j] = /condition_(\d)_(\d)/.exec(file)!;
    // The matrix is consistent with its own description of valid choices.
    expect(submit.exitcode === 0).toBe(inputData[i].code && configData[j].code);

    const before = world.running().length;
    const report = await runSubmit(
      putEvent(BUCKET, encodeEventKey(`${GROUP}/submissions/${file}`)),
      protocolDeps({ world, store: s3.store, clock }),
    );
    expect(report.exitCode).toBe(submit.exitcode);

    const cert = (await s3.store.get(BUCKET, certificateKey(jobFolderKey(GROUP, BUCKET, submit.timestamp))))!.body;
    const datasets = Array.isArray(submit.dataname) ? submit.dataname.length : 1;
    if (submit.exitcode === 0) {
      expect(world.running().length - before).toBe(datasets);
      expect(cert).toContain("[Job Manager] STEP 4/4 (Initialize Processing): DONE");
      expect(cert).not.toContain("[JOB TERMINATE REASON]");
    } else {
      expect(world.running().length).toBe(before);
      expect(cert).toMatch(
        /\[Job Manager\] STEP [12]\/4 \((Initialization|Validation)\): INTERNAL ERROR\. \[JOB TERMINATE REASON\] /,
      );
      expect(cert).toContain("[Job Manager] Shutting down job.");
      const missing = [submit.dataname, submit.configname].flat().filter((k) => /fake/.test(k));
      for (const k of missing) expect(cert).toContain(k);
      if (configData[j].path.endsWith("config_broken.json") && missing.length === 0)
        expect(cert).toContain("is not valid JSON");
    }
  });

  it("launches with the blueprint's parameters and the config's reserved keys", async () => {
    // condition_0_3: one dataset, config_10_10 (__duration__ 10, __dataset_size__ 10).
    const ts = timestampOf("condition_0_3submit.json");
    const call = world.runInstancesCalls.find((c) =>
      c.TagSpecifications?.[0].Tags?.some((t) => t.Key === "neurocaas:job" && t.Value === `job__${BUCKET}_${ts}`),
    )!;
    expect(call).toBeDefined();
    expect(call.BlockDeviceMappings?.[0].Ebs).toEqual({
      VolumeSize: 110,
      VolumeType: "gp3",
      Encrypted: true,
      DeleteOnTermination: true,
    });
    expect(call.MetadataOptions?.HttpTokens).toBe("required");
    expect(call.InstanceInitiatedShutdownBehavior).toBe("terminate");
    expect(call.InstanceMarketOptions?.MarketType).toBe("spot");
    const tags = Object.fromEntries(call.TagSpecifications![0].Tags!.map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({
      PriceTracking: "On",
      Timeout: "10",
      "neurocaas:analysis": BUCKET,
      "neurocaas:group": GROUP,
      "neurocaas:dataset": `${GROUP}/inputs/dataset1.json`,
    });
    expect(call.TagSpecifications!.map((s) => s.ResourceType)).toEqual(["instance", "volume"]);

    // condition_0_1: config without __duration__ → on demand, default volume, Timeout 60.
    const plain = world.runInstancesCalls.find((c) =>
      c.TagSpecifications?.[0].Tags?.some(
        (t) => t.Value === `job__${BUCKET}_${timestampOf("condition_0_1submit.json")}`,
      ),
    )!;
    expect(plain.InstanceMarketOptions).toBeUndefined();
    expect(plain.BlockDeviceMappings?.[0].Ebs?.VolumeSize).toBe(100);
    expect(plain.TagSpecifications![0].Tags!.find((t) => t.Key === "Timeout")?.Value).toBe("60");
  });
});
