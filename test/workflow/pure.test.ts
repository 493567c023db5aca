import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { groupOfUri, joinUri, uriFromBucketKey } from "../../cli/workflow/s3-uri";
import { parseS3Uri } from "../../protocols/s3-uri";
import {
  datanameOfLine,
  findDatasetLine,
  iaeDatasetLine,
  lineField,
  upsertLine,
  withLineFields,
} from "../../protocols/certificate";
import { buildStatusDoc, STATUS_FIELD_ORDER } from "../../protocols/dataset-status";
import { processTree, TreeUsageMonitor } from "../../cli/workflow/proc-usage";
import { parseProcStat } from "../../local/procfs";
import { FieldNotFoundError, readYamlField } from "../../cli/workflow/yaml-field";
import { floatRepr } from "../../cli/workflow/python-text";
import { parseZip, topLevelFolder } from "../../cli/workflow/zip";
import { shellQuote } from "../../cli/workflow/run-main";
import { buildZip, writeSparseZip } from "./helpers/zip-builder";
import { LocalLogSink } from "../../cli/workflow/log-sinks";
import { markFailed } from "../../cli/workflow/mark-failed";
import { logCommand } from "../../cli/workflow/log-command";
import { PassThrough } from "node:stream";

describe("s3 URIs", () => {
  it("parses and builds URIs, keeps s3:// keys as given", () => {
    expect(parseS3Uri("s3://bkt/grp/inputs/a b.csv")).toEqual({ bucket: "bkt", key: "grp/inputs/a b.csv" });
    expect(uriFromBucketKey("bkt", "grp/inputs/x")).toBe("s3://bkt/grp/inputs/x");
    expect(uriFromBucketKey("bkt", "s3://other/out/job")).toBe("s3://other/out/job");
    expect(joinUri("s3://b/grp/", "/results/job__b_1/", "process_results")).toBe(
      "s3://b/grp/results/job__b_1/process_results",
    );
    expect(groupOfUri("s3://b/grp/inputs/x.csv")).toBe("grp");
  });

  it("rejects malformed URIs with a clear message", () => {
    expect(() => parseS3Uri("/local/file")).toThrow(/not an S3 URI/);
    expect(() => parseS3Uri("s3:///key")).toThrow(/no bucket/);
    expect(() => groupOfUri("s3://b/file.csv")).toThrow(/\{group\}\/inputs/);
  });
});

describe("status file and certificate line", () => {
  const start = new Date("2026-01-02T03:04:05.678Z");
  it("keeps the job manager's fields and orders keys", () => {
    const doc = buildStatusDoc(
      {
        status: "INITIALIZING",
        reason: [],
        instance: "i-0abc",
        command: "cmd-1",
        input: "g/inputs/d.csv",
        extra: 1,
        stdout: "legacy",
      },
      {
        status: "IN PROGRESS",
        reason: "running",
        input: "g/inputs/d.csv",
        memoryMb: 12.345,
        peakMemoryMb: 20,
        cpuPercent: 50,
        jobStart: start,
        std: { "0": "hello" },
      },
    );
    expect(Object.keys(doc)).toEqual([...STATUS_FIELD_ORDER, "extra"]);
    expect(doc).toMatchObject({
      instance: "i-0abc",
      command: "cmd-1",
      status: "IN PROGRESS",
      reason: ["running"],
      memory_usage: "12.3 MB",
      max_memory_usage: "20.0 MB",
      cpu_usage: "50.0 %",
      job_start: "2026-01-02T03:04:05Z",
      job_finish: "N/A",
      std: { "0": "hello" },
    });
    expect(doc).not.toHaveProperty("stdout");
  });

  const jmCertificate = [
    "PER ENVIRONMENT MONITORING:",
    "================",
    "DATANAME: grp/inputs/a.csv | STATUS: INITIALIZING | TIME: 2026-01-01 00:00:00 | LAST COMMAND: N/A",
    "DATANAME: grp/inputs/b.csv | STATUS: INITIALIZING | TIME: 2026-01-01 00:00:00 | LAST COMMAND: N/A",
    "================",
    "Once jobs start, these logs will be updated regularly.",
    "",
    "++++++++++++++++++",
    "",
    "JOB MANAGER SETUP LOG:",
    "[Job Manager] STEP 1/4 (Initialization): DONE\t [+0:00:00.10]",
  ].join("\n");

  it("formats the dataset line with CPU use and the finished marker", () => {
    const line = iaeDatasetLine({
      dataname: "grp/inputs/b.csv",
      status: "SUCCESS",
      time: start,
      finished: true,
      lastOutput: "done | ok\n",
      cpuPercent: 12.34,
    });
    expect(line).toBe(
      "DATANAME: grp/inputs/b.csv | STATUS: SUCCESS | TIME: 2026-01-02 03:04:05 (finished) | LAST COMMAND: done / ok | CPU_USAGE: 12.3 %",
    );
    expect(datanameOfLine(line)).toBe("grp/inputs/b.csv");
    expect([lineField(line, "STATUS"), lineField(line, "TIME"), lineField(line, "CPU_USAGE")]).toEqual([
      "SUCCESS",
      "2026-01-02 03:04:05 (finished)",
      "12.3 %",
    ]);
    expect(withLineFields(line, { STATUS: "FAILED", "LAST COMMAND": "x" })).toBe(
      "DATANAME: grp/inputs/b.csv | STATUS: FAILED | TIME: 2026-01-02 03:04:05 (finished) | LAST COMMAND: x | CPU_USAGE: 12.3 %",
    );
  });

  it("rewrites only its own dataset line and leaves the rest of the certificate intact", () => {
    const next = upsertLine(
      jmCertificate,
      "grp/inputs/b.csv",
      "DATANAME: grp/inputs/b.csv | STATUS: IN PROGRESS",
      "loose",
    );
    const lines = next.split("\n");
    expect(lines[2]).toContain("a.csv | STATUS: INITIALIZING");
    expect(lines[3]).toBe("DATANAME: grp/inputs/b.csv | STATUS: IN PROGRESS");
    expect(lines.slice(4)).toEqual(jmCertificate.split("\n").slice(4));
    expect(findDatasetLine(next, "grp/inputs/b.csv", "loose")).toBe("DATANAME: grp/inputs/b.csv | STATUS: IN PROGRESS");
  });

  it("matches a bypass s3:// DATANAME and appends unknown datasets to the block", () => {
    const bypass = jmCertificate.replace("DATANAME: grp/inputs/a.csv", "DATANAME: s3://ext/data/a.csv");
    expect(upsertLine(bypass, "data/a.csv", "NEW", "loose").split("\n")[2]).toBe("NEW");
    const appended = upsertLine(jmCertificate, "grp/inputs/c.csv", "DATANAME: grp/inputs/c.csv | X", "loose").split(
      "\n",
    );
    expect(appended[4]).toBe("DATANAME: grp/inputs/c.csv | X");
    expect(appended[5]).toBe("================");
  });

  it("creates a monitoring block when the certificate is missing or has none", () => {
    expect(upsertLine(undefined, "d", "L", "loose")).toBe(
      "PER ENVIRONMENT MONITORING:\n================\nL\n================",
    );
    expect(upsertLine("setup only", "d", "L", "loose")).toContain("================\n\nsetup only");
    expect(findDatasetLine("no block here", "d", "loose")).toBeUndefined();
  });
});

describe("/proc parsing", () => {
  it("parses stat lines whose command names contain spaces and parentheses", () => {
    const line =
      "4242 (my (odd) cmd) S 4000 4242 4242 0 -1 4194304 100 0 0 0 150 25 3 2 20 0 1 0 12345 1000000 2560 18446744073709551615";
    expect(parseProcStat(line)).toEqual({
      pid: 4242,
      state: "S",
      ppid: 4000,
      pgrp: 4242,
      cpuTicks: 150 + 25 + 3 + 2,
      startTicks: "12345",
      rssPages: 2560,
    });
  });

  it("collects a process tree without unrelated processes", () => {
    const s = (pid: number, ppid: number) => ({ pid, ppid, cpuTicks: 1, rssPages: 1 });
    const tree = processTree([s(1, 0), s(10, 1), s(11, 10), s(12, 11), s(20, 1), s(13, 10)], 10);
    expect(tree.map((p) => p.pid).sort()).toEqual([10, 11, 12, 13]);
    expect(processTree([s(1, 0)], 99)).toEqual([]);
  });

  it("reads the memory of a real process tree, not the machine's", () => {
    const monitor = new TreeUsageMonitor(process.pid);
    const sample = monitor.sample();
    expect(sample).toBeDefined();
    const rssMb = process.memoryUsage().rss / 1e6;
    expect(sample!.memoryMb).toBeGreaterThan(rssMb * 0.5);
    expect(sample!.memoryMb).toBeLessThan(os.totalmem() / 1e6 / 2);
  });
});

describe("read-yaml prints what the original (Python 3 + PyYAML) printed", () => {
  // Expected texts were produced once with Python 3.11 and PyYAML 6.0 by the original's rule:
  // yaml.full_load, then dict → json.dumps, list → str(item) + " " per item, else str(value).
  const yaml = [
    "flag: True",
    "yes_: yes",
    "n: n",
    "ratio: 1.50",
    "sci: 1e3",
    "sci2: 1.0e+3",
    "sci3: 1.0e3",
    "small: 0.00001",
    "big: 1.0e+16",
    "big2: 123456789012345678.0",
    "neg0: -0.0",
    "inf: .inf",
    "nan: .nan",
    "oct: 0777",
    "hex: 0x1F",
    "sexa: 1:30",
    "under: 1_000",
    "bigint: 12345678901234567890",
    "name: 'quoted: text'",
    "empty:",
    "list: [1, two, 3.0, True, null, 'it''s', \"say \\\"hi\\\"\", {a: 1}, [x, 2.5]]",
    'nested: {a: 1, b: [1, 2], c: {d: 1.5, e: null, f: true}, "é": "ü\\n", 1: x, 2.5: y, true: z, null: w}',
    "date: 2020-01-02",
    "stamp: 2001-12-14 21:59:43.10 -5",
    "stampz: 2001-12-14T21:59:43Z",
    "multi: |\n  line one\n  line two",
    "base: &base {p: 1, q: 2}",
    "merged: {<<: [{p: 1, s: 0}, {p: 2, t: 9}], u: 5}",
    "deep:",
    "  inner: 7",
  ].join("\n");
  it.each([
    ["flag", "True"],
    ["yes_", "True"],
    ["n", "n"],
    ["ratio", "1.5"],
    ["sci", "1e3"],
    ["sci2", "1000.0"],
    ["sci3", "1.0e3"],
    ["small", "1e-05"],
    ["big", "1e+16"],
    ["big2", "1.2345678901234568e+17"],
    ["neg0", "-0.0"],
    ["inf", "inf"],
    ["nan", "nan"],
    ["oct", "511"],
    ["hex", "31"],
    ["sexa", "90"],
    ["under", "1000"],
    ["bigint", "12345678901234567890"],
    ["name", "quoted: text"],
    ["empty", "None"],
    ["list", "1 two 3.0 True None it's say \"hi\" {'a': 1} ['x', 2.5] "],
    [
      "nested",
      '{"a": 1, "b": [1, 2], "c": {"d": 1.5, "e": null, "f": true}, "\\u00e9": "\\u00fc\\n", "1": "z", "2.5": "y", "null": "w"}',
    ],
    ["date", "2020-01-02"],
    ["stamp", "2001-12-14 21:59:43.100000-05:00"],
    ["stampz", "2001-12-14 21:59:43+00:00"],
    ["multi", "line one\nline two\n"],
    ["merged", '{"p": 1, "t": 9, "s": 0, "u": 5}'],
    ["deep.inner", "7"],
  ])("%s → %j", (field, expected) => {
    expect(readYamlField(yaml, field).text).toBe(expected);
  });

  it("reads a JSON ensemble config as PyYAML does (booleans True, 1e-5 stays text)", () => {
    const json =
      '{"testing": true, "mode": "train", "jobnb": 1, "lr": 1e-5, "lr2": 2.5e-05, "seeds": [1, 2, 3], "x": -1.25E+2, "params": {"a": 1, "b": [1, 2]}}';
    const field = (f: string) => readYamlField(json, f).text;
    expect([
      field("testing"),
      field("jobnb"),
      field("lr"),
      field("lr2"),
      field("seeds"),
      field("x"),
      field("params"),
    ]).toEqual(["True", "1", "1e-5", "2.5e-05", "1 2 3 ", "-125.0", '{"a": 1, "b": [1, 2]}']);
  });

  it("accepts a repeated key like PyYAML (the last value wins) and notes it", () => {
    const r = readYamlField("mode: train\nlr: 1\nmode: predict\n", "mode", "cfg.yaml");
    expect(r).toEqual({
      text: "predict",
      notes: ['cfg.yaml: the key "mode" is given 2 times (lines 1, 3); the last value is used, as PyYAML does'],
    });
  });

  it("refuses an alias bomb instead of expanding it", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x]",
      ...["b", "c", "d", "e", "f"].map((n, i) => `${n}: &${n} [${Array(9).fill(`*${"abcde"[i]}`).join(", ")}]`),
    ].join("\n");
    expect(() => readYamlField(bomb, "f")).toThrow(/expands more than 10000 aliases/);
  });

  it("reports a missing field, non-mapping files and bad YAML", () => {
    expect(() => readYamlField(yaml, "missing", "cfg.yaml")).toThrow(FieldNotFoundError);
    expect(() => readYamlField("- a\n- b", "a", "cfg.yaml")).toThrow(/mapping/);
    expect(() => readYamlField("a: [", "a", "cfg.yaml")).toThrow(/not valid YAML/);
  });

  it("formats floats as Python's repr", () => {
    const cases: [number, string][] = [
      [2.5, "2.5"],
      [1, "1.0"],
      [0.1 + 0.2, "0.30000000000000004"],
      [1e-4, "0.0001"],
      [1e-5, "1e-05"],
      [1.5e-7, "1.5e-07"],
      [1e15, "1000000000000000.0"],
      [1e16, "1e+16"],
      [-2.5e22, "-2.5e+22"],
      [123.456, "123.456"],
    ];
    for (const [x, text] of cases) expect(floatRepr(x)).toBe(text);
  });
});

describe("parse-zip", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "nc-zip-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("extracts the single top-level folder, ignoring __MACOSX", async () => {
    const zip = path.join(dir, "task.zip");
    fs.writeFileSync(
      zip,
      buildZip({
        "task/": "",
        "task/a.txt": "alpha",
        "task/sub/b.bin": Buffer.from([0, 1, 2, 255]),
        "__MACOSX/._task": "junk",
      }),
    );
    expect(await parseZip(zip)).toBe("task");
    expect(fs.readFileSync(path.join(dir, "task/a.txt"), "utf8")).toBe("alpha");
    expect([...fs.readFileSync(path.join(dir, "task/sub/b.bin"))]).toEqual([0, 1, 2, 255]);
    expect(fs.existsSync(path.join(dir, "__MACOSX"))).toBe(false);
  });

  it("extracts stored entries into another folder", async () => {
    const zip = path.join(dir, "s.zip");
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    fs.writeFileSync(zip, buildZip({ "folder/x.txt": "x" }, false));
    expect(await parseZip(zip, out)).toBe("folder");
    expect(fs.readFileSync(path.join(out, "folder/x.txt"), "utf8")).toBe("x");
  });

  it("extracts an archive whose only top-level entry is a file and prints the file's name, as the original did", async () => {
    const zip = path.join(dir, "single.zip");
    fs.writeFileSync(zip, buildZip({ "lonely.txt": "1", "__MACOSX/._lonely.txt": "meta" }));
    expect(await parseZip(zip)).toBe("lonely.txt");
    expect(fs.readFileSync(path.join(dir, "lonely.txt"), "utf8")).toBe("1");
  });

  it("rejects archives without exactly one top-level folder, non-zips and path escapes", async () => {
    expect(() => topLevelFolder(["a/x", "b/y", "__MACOSX/a"], "two.zip")).toThrow(
      /exactly one top-level folder; found 2/,
    );
    const two = path.join(dir, "two.zip");
    fs.writeFileSync(two, buildZip({ "a/x": "1", "b/y": "2" }));
    await expect(parseZip(two)).rejects.toThrow(
      /two.zip must contain exactly one top-level folder; found 2 top-level entries \(a, b\)/,
    );
    const notZip = path.join(dir, "n.zip");
    fs.writeFileSync(notZip, "plain text");
    await expect(parseZip(notZip)).rejects.toThrow(/not a zip archive/);
    const evil = path.join(dir, "e.zip");
    fs.writeFileSync(evil, buildZip({ "top/../../escape.txt": "x" }));
    await expect(parseZip(evil, path.join(dir))).rejects.toThrow(/outside/);
    expect(fs.existsSync(path.join(dir, "..", "escape.txt"))).toBe(false);
  });

  it("refuses an entry whose CRC-32 does not match and leaves no corrupt file", async () => {
    const zip = path.join(dir, "bad.zip");
    fs.writeFileSync(
      zip,
      buildZip({ "task/good.txt": "fine", "task/bad.txt": "flipped bits" }, { badCrc: ["task/bad.txt"] }),
    );
    await expect(parseZip(zip)).rejects.toThrow(/entry task\/bad.txt is corrupt \(CRC-32/);
    expect(fs.readFileSync(path.join(dir, "task/good.txt"), "utf8")).toBe("fine");
    expect(fs.existsSync(path.join(dir, "task/bad.txt"))).toBe(false);
  });

  it("extracts from an archive over 2 GiB without reading it whole", async () => {
    const zip = path.join(dir, "huge.zip");
    writeSparseZip(zip, "__MACOSX/huge.bin", 2.2e9, { "task/a.txt": "after the big entry" });
    expect(fs.statSync(zip).size).toBeGreaterThan(2 ** 31);
    expect(await parseZip(zip)).toBe("task");
    expect(fs.readFileSync(path.join(dir, "task/a.txt"), "utf8")).toBe("after the big entry");
  });
});

describe("shellQuote", () => {
  it("quotes what the shell would split or expand", () => {
    expect(shellQuote("examples/pca/run_pca.sh")).toBe("examples/pca/run_pca.sh");
    expect(shellQuote("a b'c$d")).toBe(`'a b'\\''c$d'`);
  });
});

describe("markFailed (failures outside the analysis command)", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "nc-mf-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("turns a finished status FAILED, keeping earlier reasons, and rewrites the certificate line", async () => {
    const sink = new LocalLogSink({ logsDir: dir, datasetName: "grp/inputs/a.csv" });
    fs.writeFileSync(
      sink.statusFile,
      JSON.stringify({
        status: "SUCCESS",
        reason: ["exit code 0"],
        input: "grp/inputs/a.csv",
        job_start: "2026-01-01T00:00:00Z",
        exit_code: 0,
      }),
    );
    fs.writeFileSync(
      sink.certificateFile,
      "PER ENVIRONMENT MONITORING:\n================\nDATANAME: grp/inputs/a.csv | STATUS: SUCCESS | TIME: t | LAST COMMAND: done\n================\n",
    );
    await markFailed({ sink, dataname: "grp/inputs/a.csv", input: "grp/inputs/a.csv", reason: "upload | failed" });
    const status = JSON.parse(fs.readFileSync(sink.statusFile, "utf8"));
    expect(status).toMatchObject({ status: "FAILED", reason: ["exit code 0", "upload | failed"], exit_code: 0 });
    expect(fs.readFileSync(sink.certificateFile, "utf8").split("\n")[2]).toBe(
      "DATANAME: grp/inputs/a.csv | STATUS: FAILED | TIME: t | LAST COMMAND: upload / failed",
    );
  });

  it("writes a complete FAILED status when the IAE never started the analysis", async () => {
    const sink = new LocalLogSink({ logsDir: dir, datasetName: "grp/inputs/b.csv" });
    fs.writeFileSync(
      sink.statusFile,
      JSON.stringify({ status: "INITIALIZING", reason: [], input: "grp/inputs/b.csv", instance: "i-1", command: null }),
    );
    await markFailed({
      sink,
      dataname: "grp/inputs/b.csv",
      input: "grp/inputs/b.csv",
      reason: "could not fetch the inputs: gone",
    });
    const status = JSON.parse(fs.readFileSync(sink.statusFile, "utf8"));
    expect(status).toMatchObject({
      status: "FAILED",
      reason: ["could not fetch the inputs: gone"],
      instance: "i-1",
      exit_code: 1,
      std: { "0": "could not fetch the inputs: gone\n" },
    });
    expect(status.job_finish).not.toBe("N/A");
    expect(fs.readFileSync(sink.certificateFile, "utf8")).toMatch(
      /DATANAME: grp\/inputs\/b.csv \| STATUS: FAILED \| TIME: .* \(finished\) \| LAST COMMAND: could not fetch the inputs: gone/,
    );
  });
});

describe("log-command's std", () => {
  it("keeps each line's newline and leaves an unterminated last line as it is (like readlines())", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nc-std-"));
    const sink = new LocalLogSink({ logsDir: dir, datasetName: "grp/inputs/a.csv" });
    const quiet = () => new PassThrough().resume();
    const r = await logCommand({
      command: "echo one; printf 'two\\n\\nthree'",
      sink,
      dataname: "grp/inputs/a.csv",
      input: "grp/inputs/a.csv",
      stdout: quiet(),
      stderr: quiet(),
      forwardSignals: false,
      intervalMs: 50,
    });
    expect(r.exitCode).toBe(0);
    const status = JSON.parse(fs.readFileSync(sink.statusFile, "utf8"));
    expect(status.std).toEqual({ "0": "one\n", "1": "two\n", "2": "\n", "3": "three" });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
