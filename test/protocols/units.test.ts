import { PricingClient } from "@aws-sdk/client-pricing";
import { PricingApiPriceSource, onDemandUsd } from "../../protocols/aws/pricing";
import {
  CertificateLog,
  mergeDatasetLines,
  renderCertificate,
  stepDoneLine,
  stepErrorLine,
  upsertDatasetLine,
} from "../../protocols/certificate";
import { formatElapsed } from "../../protocols/time-format";
import { costOfLog } from "../../model/cost-log";
import { JobError } from "../../protocols/errors";
import { parseJobConfig } from "../../protocols/job-config";
import { makeLedger } from "../../protocols/ledger";
import { retryWithBackoff } from "../../protocols/retry";
import { parseSubmitFile } from "../../protocols/submit-file";
import {
  boundedName,
  datasetLineName,
  datasetStatusFileName,
  ensembleConfigKey,
  ensembleMemberOf,
} from "../../model/layout";
import { AwsWorld, priceDocument } from "../support/aws-world";

describe("certificate", () => {
  it("renders the original layout", () => {
    const text = renderCertificate(
      [{ dataname: "g/inputs/a.txt", status: "INITIALIZING", time: "2026-01-05 12:00:00", lastCommand: "None" }],
      ["line one\t [+0:00:00.12]"],
    );
    expect(text).toBe(
      [
        "PER ENVIRONMENT MONITORING:",
        "================",
        "DATANAME: g/inputs/a.txt | STATUS: INITIALIZING | TIME: 2026-01-05 12:00:00 | LAST COMMAND: None",
        "================",
        "Once jobs start, these logs will be updated regularly. Allow some time [~1 minute] after all jobs finish for results to appear.",
        "For more information, see DATASET_NAME: files for stdout and stderr output.",
        "",
        "++++++++++++++++++",
        "",
        "JOB MANAGER SETUP LOG:",
        "line one\t [+0:00:00.12]",
        "",
      ].join("\n"),
    );
  });

  it("writes step lines exactly", () => {
    expect(stepDoneLine(1)).toBe("[Job Manager] STEP 1/4 (Initialization): DONE");
    expect(stepDoneLine(3)).toBe("[Job Manager] STEP 3/4 (Environment Setup): DONE");
    expect(stepErrorLine(2, "INTERNAL", "bad")).toBe(
      "[Job Manager] STEP 2/4 (Validation): INTERNAL ERROR. [JOB TERMINATE REASON] bad",
    );
    expect(stepErrorLine(4, "AWS", "down")).toBe(
      "[Job Manager] STEP 4/4 (Initialize Processing): AWS ERROR. [JOB TERMINATE REASON] down",
    );
  });

  it("times setup lines from the job manager's start", () => {
    let t = 0;
    const log = new CertificateLog(new Date(0), () => new Date(t));
    t = 3_723_456;
    log.append("hello");
    expect(log.setupLines).toEqual(["hello\t [+1:02:03.45]"]);
    expect(formatElapsed(59_999)).toBe("0:00:59.99");
  });

  it("replaces one dataset line by its DATANAME and keeps lines other writers put there", () => {
    const text = renderCertificate(
      [
        { dataname: "a", status: "INITIALIZING", time: "t", lastCommand: "None" },
        { dataname: "a (inst2)", status: "IN PROGRESS", time: "t", lastCommand: "x | CPU_USAGE: 5 %" },
      ],
      ["setup\t [+0:00:00.00]"],
    );
    const out = upsertDatasetLine(text, { dataname: "a", status: "FAILED", time: "u", lastCommand: "none" });
    expect(out).toContain(
      "DATANAME: a | STATUS: FAILED | TIME: u | LAST COMMAND: none\nDATANAME: a (inst2) | STATUS: IN PROGRESS | TIME: t | LAST COMMAND: x | CPU_USAGE: 5 %",
    );
    const added = upsertDatasetLine(text, { dataname: "b", status: "FAILED", time: "u", lastCommand: "none" });
    expect(added).toContain("CPU_USAGE: 5 %\nDATANAME: b | STATUS: FAILED");
    expect(added).toContain("setup\t [+0:00:00.00]");
  });

  it("merges the job manager's lines without overwriting newer ones, in plan order", () => {
    const log = new CertificateLog(new Date(0), () => new Date(0));
    log.append("first");
    const fresh = log.applyTo(undefined);
    log.markWritten();
    // Meanwhile the IAE of b reported, and the monitor appended a note.
    const others =
      upsertDatasetLine(fresh, { dataname: "b", status: "IN PROGRESS", time: "t", lastCommand: "running" }) +
      "[Monitor] note\n";
    log.setDatasets([
      { dataname: "a", status: "INITIALIZING", time: "t0", lastCommand: "waiting" },
      { dataname: "b", status: "INITIALIZING", time: "t0", lastCommand: "waiting" },
    ]);
    log.append("second");
    const merged = log.applyTo(others);
    expect(merged).toContain(
      "DATANAME: a | STATUS: INITIALIZING | TIME: t0 | LAST COMMAND: waiting\nDATANAME: b | STATUS: IN PROGRESS",
    );
    expect(merged).toMatch(/first\t \[\+0:00:00\.00\]\n\[Monitor\] note\nsecond\t/);
    expect(mergeDatasetLines(merged, [])).toContain("DATANAME: b | STATUS: IN PROGRESS");
  });
});

describe("submit file and config parsing", () => {
  const CTX = { group: "g", analysisBucket: "b", bypassBuckets: [] };
  it("accepts a single key or a list: data in the group's inputs and results, the config in its configs", () => {
    expect(
      parseSubmitFile('{"dataname":"g/inputs/a","configname":"g/configs/c.yaml","timestamp":"t"}', CTX).datanames,
    ).toEqual(["g/inputs/a"]);
    const s = parseSubmitFile(
      '{"dataname":["g/inputs/a","g/results/job__b_t/process_results/"],"configname":"g/configs/c.YML","timestamp":"t","exitcode":0}',
      CTX,
    );
    expect(s.datanames).toHaveLength(2);
    expect(s.bypass).toBeUndefined();
  });

  it("collects every problem of a submit file", () => {
    try {
      parseSubmitFile('{"dataname": [], "configname": 5, "timestamp": "a/b"}', CTX);
      throw new Error("no error");
    } catch (err) {
      expect(err).toBeInstanceOf(JobError);
      expect((err as JobError).details).toHaveLength(3);
    }
  });

  it("reads reserved keys with defaults by presence, never by truthiness", () => {
    expect(parseJobConfig("{}", "c.json")).toMatchObject({
      durationMinutes: 60,
      durationExplicit: false,
      datasetSizeGb: 0,
    });
    expect(parseJobConfig('{"__dataset_size__": 0, "__duration__": 1}', "c.json")).toMatchObject({
      durationMinutes: 1,
      durationExplicit: true,
      datasetSizeGb: 0,
    });
    expect(parseJobConfig("__duration__: 200\n__dataset_size__: 300\n", "c.yaml")).toMatchObject({
      durationMinutes: 200,
      datasetSizeGb: 300,
    });
  });

  it("accepts a repeated YAML key as PyYAML did (the last value wins) with a note for the certificate", () => {
    const config = parseJobConfig("__duration__: 10\nmode: train\n__duration__: 20\n", "g/configs/c.yaml");
    expect(config).toMatchObject({ durationMinutes: 20, values: { mode: "train", __duration__: 20 } });
    expect(config.notes).toEqual([
      'Config g/configs/c.yaml: the key "__duration__" is given 2 times (lines 1, 3); the last value is used, as PyYAML does',
    ]);
    expect(parseJobConfig("a: &x 1\nb: *x\n", "c.yaml").notes).toEqual([]);
    expect(() => parseJobConfig("a: [1, 2\n", "c.yaml")).toThrow(/is not valid YAML/);
  });
});

describe("names derived from keys", () => {
  it("keeps status file names within 200 bytes, distinct for distinct long names", () => {
    expect(datasetStatusFileName("g/inputs/a.csv")).toBe("DATASET_NAME:a.csv_STATUS.txt");
    const a = datasetStatusFileName(`g/inputs/${"é".repeat(120)}a`);
    const b = datasetStatusFileName(`g/inputs/${"é".repeat(120)}b`);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(200);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^DATASET_NAME:é+~[0-9a-f]{12}_STATUS\.txt$/);
    expect(boundedName("short.txt", 20)).toBe("short.txt");
  });

  it("names each ensemble member by its jobnb, and finds the member from its config copy", () => {
    const key = ensembleConfigKey("g/configs", "job__b_t1", 3);
    expect(key).toBe("g/configs/job__b_t1inst3config.json");
    expect(ensembleMemberOf(key)).toBe(3);
    expect(ensembleMemberOf(key, { jobnb: 3, lr: 1 })).toBe(3);
    expect(ensembleMemberOf(key, { jobnb: 2 })).toBeUndefined();
    expect(ensembleMemberOf("g/configs/myinst3config.json", { jobnb: 3 })).toBeUndefined();
    expect(datasetStatusFileName("g/inputs/v.avi", 3)).toBe("DATASET_NAME:v.avi_inst3_STATUS.txt");
    expect(datasetLineName("g/inputs/v.avi", 3)).toBe("g/inputs/v.avi (inst3)");
  });
});

describe("cost and ledger arithmetic", () => {
  it("uses full durations (the original dropped whole days)", () => {
    expect(costOfLog({ price: 1, start: "2020-01-01T00:00:00Z", end: "2020-01-03T06:00:00Z" })).toBe(54);
    expect(costOfLog({ price: 2.5, start: null, end: "2020-01-01T00:00:00Z" })).toBe(2.5);
    expect(costOfLog({ price: 2.5, start: "garbage", end: "2020-01-01T00:00:00Z" })).toBe(2.5);
  });

  it("sums a ledger the same way whatever the order entries were added", () => {
    const a = makeLedger("g", { "i-b": 0.1, "i-a": 0.2, "i-c": 0.3 }, new Date(0));
    const b = makeLedger("g", { "i-c": 0.3, "i-a": 0.2, "i-b": 0.1 }, new Date(0));
    expect(a.total).toBe(b.total);
  });
});

describe("bounded retry", () => {
  it("stops retrying when the total wait would pass its bound", async () => {
    const sleeps: number[] = [];
    let calls = 0;
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          throw new Error("busy");
        },
        {
          retryable: () => true,
          maxTotalWaitMs: 7000,
          initialDelayMs: 1000,
          sleep: async (ms) => void sleeps.push(ms),
        },
      ),
    ).rejects.toThrow("busy");
    expect(sleeps).toEqual([1000, 2000, 4000]);
    expect(calls).toBe(4);
  });
});

describe("prices", () => {
  const world = new AwsWorld();
  afterAll(() => world.restore());

  it("reads the on-demand price from a Pricing API document", () => {
    expect(onDemandUsd(JSON.stringify(priceDocument("m5.xlarge", 0.192)))).toBe(0.192);
  });

  it("uses the Pricing API, then the bundled table, and names a type found in neither", async () => {
    world.prices.set("m5.xlarge", 0.2);
    const source = new PricingApiPriceSource(new PricingClient({ region: "us-east-1" }));
    expect(await source.hourlyPrice("m5.xlarge", "us-east-1")).toBe(0.2);
    expect(await source.hourlyPrice("p3.2xlarge", "us-east-1")).toBe(3.06); // not in the API answer → table
    world.pricingFails = true;
    const offline = new PricingApiPriceSource(new PricingClient({ region: "us-east-1" }));
    expect(await offline.hourlyPrice("t2.micro", "us-east-1")).toBe(0.0116);
    await expect(offline.hourlyPrice("z9.mega", "us-east-1")).rejects.toThrow(
      "No price is known for instance type z9.mega in us-east-1",
    );
  });
});
