import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isLoopbackEndpoint } from "../../cli/user/connection";
import { newJobId, validateJobId } from "../../model/job-id";
import { ProgressBar, renderProgress } from "../../cli/user/progress";
import { planSubmission, submitFileBody, submitFileKey } from "../../cli/user/submission";
import { datasetState, formatJobState } from "../../cli/user/job-state";
import { isStoppedByJobManager, terminateReasons } from "../../protocols/certificate";
import { parseDuration } from "../../cli/user/duration";
import { networkErrorCode } from "../../cli/user/errors";

describe("job ids", () => {
  it("generates sortable, valid ids", () => {
    const id = newJobId(new Date("2026-01-02T03:04:05Z"), () => 0.5);
    expect(id).toBe("20260102-030405-8000");
    expect(validateJobId(id)).toBe(id);
  });
  it("rejects ids that would need URL encoding or escape the job folder", () => {
    for (const bad of ["", "a b", "a/b", "../x", "-x", "x".repeat(129), "a:b"]) {
      expect(() => validateJobId(bad)).toThrow(/invalid job id/);
    }
  });
});

describe("isLoopbackEndpoint", () => {
  it("recognises local endpoints only", () => {
    expect(isLoopbackEndpoint("http://127.0.0.1:4566")).toBe(true);
    expect(isLoopbackEndpoint("http://localhost:4566")).toBe(true);
    expect(isLoopbackEndpoint("http://[::1]:4566")).toBe(true);
    expect(isLoopbackEndpoint("https://s3.us-east-1.amazonaws.com")).toBe(false);
    expect(isLoopbackEndpoint("not a url")).toBe(false);
  });
});

describe("renderProgress", () => {
  it("draws a bar with percentage and sizes", () => {
    expect(renderProgress("f", 512, 1024, 10)).toBe("f [#####-----]  50% 512 B/1.0 KiB");
    expect(renderProgress("f", 0, 0, 4)).toBe("f [####] 100% 0 B/0 B");
  });
});

describe("ProgressBar", () => {
  function stream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
    const s = {
      isTTY,
      text: "",
      write(chunk: string) {
        s.text += chunk;
        return true;
      },
    };
    return s as unknown as NodeJS.WriteStream & { text: string };
  }
  it("draws only on a terminal and ends with a newline", () => {
    const tty = stream(true);
    const bar = new ProgressBar({ stream: tty, label: "k", total: 2048, width: 4 });
    bar.update(1024);
    bar.finish();
    expect(tty.text).toBe("\rk [##--]  50% 1.0 KiB/2.0 KiB\rk [####] 100% 2.0 KiB/2.0 KiB\n");
    const pipe = stream(false);
    const quiet = new ProgressBar({ stream: pipe, label: "k", total: 10 });
    quiet.update(5);
    quiet.finish();
    expect(pipe.text).toBe("");
  });
});

describe("planSubmission", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "plan-"));
    await fsp.writeFile(path.join(dir, "a.csv"), "1,2\n");
    await fsp.mkdir(path.join(dir, "session", "sub"), { recursive: true });
    await fsp.writeFile(path.join(dir, "session", "x.bin"), "x");
    await fsp.writeFile(path.join(dir, "session", "sub", "y.bin"), "yy");
    await fsp.mkdir(path.join(dir, "empty"));
    await fsp.writeFile(path.join(dir, "config.yaml"), "n_components: 2\n");
    await fsp.writeFile(path.join(dir, "config.txt"), "n: 1\n");
  });
  afterAll(() => fsp.rm(dir, { recursive: true, force: true }));

  it("maps local files and folders to the group's inputs/configs and keeps existing keys", async () => {
    const plan = await planSubmission({
      group: "lab",
      data: [path.join(dir, "a.csv"), path.join(dir, "session"), "lab/inputs/old.csv", "s3://other/d.csv"],
      config: path.join(dir, "config.yaml"),
    });
    expect(plan.datanames).toEqual([
      "lab/inputs/a.csv",
      "lab/inputs/session/",
      "lab/inputs/old.csv",
      "s3://other/d.csv",
    ]);
    expect(plan.configname).toBe("lab/configs/config.yaml");
    expect(plan.uploads.map((u) => [u.key, u.size])).toEqual([
      ["lab/inputs/a.csv", 4],
      ["lab/inputs/session/sub/y.bin", 2],
      ["lab/inputs/session/x.bin", 1],
      ["lab/configs/config.yaml", 16],
    ]);
    expect(submitFileBody(plan, "t1")).toEqual({
      dataname: plan.datanames,
      configname: "lab/configs/config.yaml",
      timestamp: "t1",
    });
  });

  it("writes a single dataset as a string and names the submit file after the job", async () => {
    const plan = await planSubmission({ group: "lab", data: ["lab/inputs/old.csv"], config: "lab/configs/c.json" });
    expect(plan.uploads).toEqual([]);
    expect(submitFileBody(plan, "t2")).toEqual({
      dataname: "lab/inputs/old.csv",
      configname: "lab/configs/c.json",
      timestamp: "t2",
    });
    expect(submitFileKey("lab", "t2")).toBe("lab/submissions/t2_submit.json");
  });

  it("rejects what cannot be submitted, naming the argument", async () => {
    await expect(
      planSubmission({ group: "lab", data: [path.join(dir, "nope.csv")], config: path.join(dir, "config.yaml") }),
    ).rejects.toThrow(/--data: ".*nope.csv" is neither/);
    await expect(
      planSubmission({ group: "lab", data: ["otherlab/inputs/x"], config: path.join(dir, "config.yaml") }),
    ).rejects.toThrow(/--data/);
    await expect(
      planSubmission({ group: "lab", data: [path.join(dir, "empty")], config: path.join(dir, "config.yaml") }),
    ).rejects.toThrow(/is empty/);
    await expect(
      planSubmission({
        group: "lab",
        data: [path.join(dir, "a.csv"), path.join(dir, "a.csv")],
        config: path.join(dir, "config.yaml"),
      }),
    ).rejects.toThrow(/given twice/);
    await expect(planSubmission({ group: "lab", data: [], config: path.join(dir, "config.yaml") })).rejects.toThrow(
      /at least one/,
    );
    await expect(
      planSubmission({ group: "lab", data: [path.join(dir, "a.csv")], config: path.join(dir, "config.txt") }),
    ).rejects.toThrow(/--config: .* must end in .json, .yaml, .yml/);
    await expect(
      planSubmission({ group: "lab", data: [path.join(dir, "a.csv")], config: path.join(dir, "missing.yaml") }),
    ).rejects.toThrow(/--config/);
  });
});

describe("job state formatting", () => {
  it("parses status files and survives one caught mid-write", () => {
    expect(datasetState("f", '{"status":"SUCCESS","input":"lab/inputs/a.csv","reason":""}')).toMatchObject({
      status: "SUCCESS",
      input: "lab/inputs/a.csv",
    });
    expect(datasetState("f", '{"status":')).toMatchObject({ status: undefined, body: { unparsed: '{"status":' } });
  });

  it("shows the certificate and one line per dataset", () => {
    const text = formatJobState(
      { bucket: "b", group: "lab", job: "t1" },
      {
        analysis: "b",
        jobFolder: "lab/results/job__b_t1",
        certificate: "CERT\n",
        finished: true,
        rejected: false,
        terminateReasons: [],
        datasets: [datasetState("x", '{"status":"FAILED","input":"lab/inputs/a.csv","reason":["boom","bang"]}')],
      },
    );
    expect(text).toContain("job t1 in s3://b/lab/results/job__b_t1/ — finished (end.txt present)");
    expect(text).toContain("certificate.txt:\nCERT\n");
    expect(text).toContain("dataset lab/inputs/a.csv: FAILED — boom; bang");
  });
});

describe("job manager stops, durations, network errors", () => {
  it("reads the terminate reasons and the shutdown line of a certificate", () => {
    const cert =
      "x\n[Job Manager] STEP 2/4 (Validation): INTERNAL ERROR. [JOB TERMINATE REASON] Config c.yaml is not valid YAML.\t [+0:00:00.12]\n[Job Manager] Shutting down job.\t [+0:00:00.13]\n";
    expect(terminateReasons(cert)).toEqual(["[JOB TERMINATE REASON] Config c.yaml is not valid YAML."]);
    expect(isStoppedByJobManager(cert)).toBe(true);
    expect(isStoppedByJobManager("PER ENVIRONMENT MONITORING:\n")).toBe(false);
    expect(terminateReasons(undefined)).toEqual([]);
  });

  it("parses --timeout durations", () => {
    expect(parseDuration("90")).toBe(90_000);
    expect(parseDuration("15m")).toBe(900_000);
    expect(parseDuration("1.5h")).toBe(5_400_000);
    for (const bad of ["0", "-1", "soon", "5d", ""])
      expect(() => parseDuration(bad)).toThrow(/--timeout: expected a positive duration/);
  });

  it("finds the network error code inside wrapped errors", () => {
    expect(networkErrorCode(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe("ECONNREFUSED");
    expect(networkErrorCode(new AggregateError([Object.assign(new Error("a"), { code: "ECONNREFUSED" })]))).toBe(
      "ECONNREFUSED",
    );
    expect(networkErrorCode(new Error("y", { cause: { code: "ENOTFOUND" } }))).toBe("ENOTFOUND");
    expect(networkErrorCode({ name: "NoSuchBucket" })).toBeUndefined();
  });
});
