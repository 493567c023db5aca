import { countingStore, maxOverlap } from "../../bench/queue-drain";
import { QUEUE_KEY } from "../../protocols/job-queue";
import type { ObjectStore } from "../../protocols/storage";
/** Pure helpers of the benchmarks: arguments, tables, statistics, parsing. No timing asserted. */
import * as path from "node:path";
import { BENCH_IDS, parseBenchArgs } from "../../bench/args";
import { bytesByPackage, packageOf } from "../../bench/bundle-composition";
import { parseLoadMs } from "../../bench/cold-start";
import { parseReadyLine } from "../../local/server";
import { finishedJobs, jobId, LOCAL_BUCKET, LOCAL_GROUP, withRetries } from "../../bench/local-throughput";
import { parseVmHwmKb } from "../../local/procfs";
import { parseChildResult } from "../../bench/program-scale";
import {
  formatCell,
  formatCheck,
  formatSection,
  formatTable,
  mergeSections,
  type BenchSection,
} from "../../bench/report";
import { median, ratio, round } from "../../bench/stats";
import { mibPerSecond, transfersSection } from "../../bench/transfers";
import { readyLine } from "../../local/server";
import { endMarkerKey, jobFolderKey } from "../../model/layout";

describe("parseBenchArgs", () => {
  const root = "/repo";
  it("defaults to every benchmark, full size, bench/results.json", () => {
    expect(parseBenchArgs([], root)).toEqual({
      quick: false,
      only: [...BENCH_IDS],
      out: path.join(root, "bench", "results.json"),
      merge: false,
    });
  });
  it("writes quick runs beside the full results, never over them", () => {
    expect(parseBenchArgs(["--quick"], root).out).toBe(path.join(root, "bench", "results-quick.json"));
  });
  it("accepts --quick, --only in benchmark order and --out=FILE", () => {
    const a = parseBenchArgs(["--quick", "--only", "transfers,job-manager", "--out=/tmp/x.json", "--merge"], root);
    expect(a).toEqual({ quick: true, only: ["job-manager", "transfers"], out: "/tmp/x.json", merge: true });
  });
  it("names unknown benchmarks and flags", () => {
    expect(() => parseBenchArgs(["--only", "job-manager,warp"], root)).toThrow(/unknown benchmark "warp"/);
    expect(() => parseBenchArgs(["--fast"], root)).toThrow(/unknown argument "--fast"/);
    expect(() => parseBenchArgs(["--out"], root)).toThrow(/--out needs a value/);
    expect(() => parseBenchArgs(["--out", "--merge"], root)).toThrow(/--out needs a value/);
    expect(() => parseBenchArgs(["--quick=no"], root)).toThrow(/--quick takes no value/);
    expect(() => parseBenchArgs(["transfers"], root)).toThrow(/unknown argument "transfers"/);
  });
});

describe("stats", () => {
  it("median of odd and even counts, without reordering the input", () => {
    const v = [5, 1, 3];
    expect(median(v)).toBe(3);
    expect(v).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/no values/);
  });
  it("ratio is undefined for a zero denominator; round keeps the digits asked", () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(1, 0)).toBeUndefined();
    expect(round(1.23456, 2)).toBe(1.23);
  });
});

describe("report formatting", () => {
  it("right-aligns numeric columns and pads text", () => {
    const text = formatTable({
      title: "T",
      columns: ["name", "n"],
      rows: [
        ["a", 1],
        ["bbb", 100],
      ],
    });
    expect(text.split("\n")).toEqual(["T", "name    n", "----  ---", "a       1", "bbb   100"]);
  });
  it("formats cells and checks", () => {
    expect(formatCell(null)).toBe("-");
    expect(formatCell(true)).toBe("yes");
    expect(formatCell(1.23456)).toBe("1.23");
    expect(formatCheck({ name: "x", value: "1", target: "0", met: false })).toBe("[MISS] x: 1 (target 0)");
    expect(formatCheck({ name: "x", value: "0", target: "0", met: true })).toMatch(/^\[ ok \]/);
    expect(formatCheck({ name: "x", value: "0", target: "0" })).toMatch(/^\[ -- \]/);
  });
  it("prints the load average with a section", () => {
    const s = formatSection({
      id: "a",
      title: "A",
      status: "ok",
      notes: [],
      tables: [],
      checks: [],
      ms: 1500,
      loadAverage: [1, 2],
    });
    expect(s).toContain("== A [ok] (1.5 s, load average 1.0 → 2.0)");
  });
});

describe("mergeSections", () => {
  const section = (id: string, ms: number): BenchSection => ({
    id,
    title: id,
    status: "ok",
    notes: [],
    tables: [],
    checks: [],
    ms,
  });
  it("replaces re-run sections, keeps the others, in benchmark order", () => {
    const merged = mergeSections(
      [section("transfers", 1), section("job-manager", 1)],
      [section("job-manager", 2), section("cold-start", 2)],
      BENCH_IDS,
    );
    expect(merged.map((s) => [s.id, s.ms])).toEqual([
      ["job-manager", 2],
      ["cold-start", 2],
      ["transfers", 1],
    ]);
  });
});

describe("parsers", () => {
  it("reads VmHWM from /proc status text", () => {
    expect(parseVmHwmKb("Name:\tnode\nVmPeak:\t  900 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 1000 kB\n")).toBe(123456);
    expect(parseVmHwmKb("Name:\tnode\n")).toBeUndefined();
  });
  it("reads the load time printed by the cold-start child", () => {
    expect(parseLoadMs("12.5")).toBe(12.5);
    expect(() => parseLoadMs("")).toThrow(/expected a load time/);
    expect(() => parseLoadMs("oops")).toThrow(/expected a load time/);
  });
  it("takes the endpoint from the ready line local mode prints", () => {
    const credentials = {
      accessKeyId: "AKIAEXAMPLEEXAMPLE01",
      secretAccessKey: "secret/with+base64chars0123456789abcdef",
    };
    const line = readyLine({
      endpoint: "http://127.0.0.1:4566",
      credentials,
      buckets: ["a"],
      dataDir: "/d",
      credentialsFile: "/d/credentials",
      dashboardUrl: "http://127.0.0.1:4566/_dashboard/",
    });
    expect(parseReadyLine(line)).toEqual({
      endpoint: "http://127.0.0.1:4566",
      credentials,
      credentialsFile: "/d/credentials",
      dashboardUrl: "http://127.0.0.1:4566/_dashboard/",
    });
    expect(parseReadyLine("something else")).toBeUndefined();
  });
  it("takes the program child's JSON result from its last line", () => {
    expect(
      parseChildResult(
        'noise\n{"affiliates":1,"usersPerAffiliate":5,"resources":9,"components":2,"byType":{},"programMs":3}\n',
      ).resources,
    ).toBe(9);
    expect(() => parseChildResult("no json")).toThrow(/no JSON result/);
    expect(() => parseChildResult('{"affiliates":1}')).toThrow(/lacks/);
  });
  it("groups bundle inputs by their innermost package", () => {
    expect(packageOf("node_modules/@aws-sdk/client-ec2/dist-cjs/index.js")).toBe("@aws-sdk/client-ec2");
    expect(packageOf("node_modules/a/node_modules/b/x.js")).toBe("b");
    expect(packageOf("protocols/run.ts")).toBe("(project)");
    expect(
      bytesByPackage({
        "node_modules/a/x.js": { bytesInOutput: 1 },
        "node_modules/a/y.js": { bytesInOutput: 2 },
        "p.ts": { bytesInOutput: 5 },
      }),
    ).toEqual([
      ["(project)", 5],
      ["a", 3],
    ]);
  });
});

describe("local throughput helpers", () => {
  it("finds the jobs whose end.txt exists, ignoring other keys", () => {
    const ids = [jobId(0), jobId(1), jobId(2)];
    const end = (id: string) => endMarkerKey(jobFolderKey(LOCAL_GROUP, LOCAL_BUCKET, id));
    const keys = [
      end(ids[0]),
      end(ids[2]),
      `${jobFolderKey(LOCAL_GROUP, LOCAL_BUCKET, ids[1])}/logs/certificate.txt`,
      end("other"),
    ];
    expect([...finishedJobs(keys, ids)].sort()).toEqual([ids[0], ids[2]]);
  });
});

describe("withRetries", () => {
  it("retries until success and reports each failure; gives up after the last attempt", async () => {
    let calls = 0;
    const errors: unknown[] = [];
    await expect(
      withRetries(
        async () => (++calls < 3 ? Promise.reject(new Error(`e${calls}`)) : "ok"),
        (e) => errors.push(e),
        5,
      ),
    ).resolves.toBe("ok");
    expect(errors).toHaveLength(2);
    await expect(
      withRetries(
        () => Promise.reject(new Error("always")),
        () => undefined,
        2,
      ),
    ).rejects.toThrow("always");
  });
});

describe("transfers section", () => {
  it("computes MiB/s and the throughput ratio from median times", () => {
    expect(mibPerSecond(2 ** 30, 8000)).toBe(128);
    const s = transfersSection({
      runs: [
        { tool: "neurocaas submit", round: 1, ms: 2000 },
        { tool: "neurocaas submit", round: 2, ms: 4000 },
        { tool: "neurocaas submit", round: 3, ms: 3000 },
        { tool: "aws s3 cp", round: 1, ms: 6000 },
      ],
      verified: [
        { tool: "neurocaas submit", key: "k", bytes: 1, exact: true },
        { tool: "aws s3 cp", key: "k2", bytes: 1, exact: true },
      ],
      bytes: 2 ** 20,
      quick: false,
      ms: 1,
    });
    expect(s.checks[0]).toMatchObject({ value: "2", met: true });
    expect(s.checks[1]).toMatchObject({ met: true });
  });
  it("reports a missing AWS CLI instead of a ratio", () => {
    const s = transfersSection({
      runs: [{ tool: "neurocaas submit", round: 1, ms: 1 }],
      verified: [{ tool: "neurocaas submit", key: "k", bytes: 1, exact: false }],
      bytes: 1,
      quick: false,
      ms: 1,
    });
    expect(s.checks[0]).toMatchObject({ value: "not measured" });
    expect(s.checks[0].met).toBeUndefined();
    expect(s.checks[1].met).toBe(false);
    expect(s.notes.join("\n")).toMatch(/AWS CLI not installed/);
  });
});

describe("queue bench helpers", () => {
  it("finds the most intervals open at once (an end and a start at the same moment do not overlap)", () => {
    expect(maxOverlap([])).toBe(0);
    expect(
      maxOverlap([
        [0, 10],
        [10, 20],
        [20, 30],
      ]),
    ).toBe(1);
    expect(
      maxOverlap([
        [0, 10],
        [5, 15],
        [9, 12],
        [14, 20],
      ]),
    ).toBe(3);
  });

  it("counts every store request, and those on the queue object", async () => {
    const counts = { all: 0, queue: 0 };
    const calls: string[] = [];
    const store = countingStore(
      { get: async (_b: string, k: string) => (calls.push(k), undefined) } as unknown as ObjectStore,
      counts,
    );
    await store.get("b", QUEUE_KEY);
    await store.get("b", "logs/_ledger/g.json");
    expect(counts).toEqual({ all: 2, queue: 1 });
    expect(calls).toEqual([QUEUE_KEY, "logs/_ledger/g.json"]);
  });
});
