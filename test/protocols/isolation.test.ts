/**
 * Issue 10 — isolation and integrity of the job manager: storage bypass obeys the group model,
 * job folders are never overwritten, no job is lost, long keys crash nothing. Each case is an
 * attack or a careless upload that broke the promise before.
 */
import type { CostLog } from "../../model/cost-log";
import { jobRecordKey, type JobRecord } from "../../protocols/job-record";
import {
  activeCostLogKey,
  certificateKey,
  datasetStatusKey,
  encodeEventKey,
  MAX_DERIVED_NAME_BYTES,
} from "../../model/layout";
import { runSubmit } from "../../protocols/run";
import type { AnalysisRuntimeConfig } from "../../model/runtime-config";
import { AwsWorld } from "../support/aws-world";
import { killAt, Killed } from "../support/kill";
import { snapshot } from "../support/bucket-contents";
import { useMemoryS3 } from "../support/memory-store";
import { BUCKET, FakeClock, GROUP as G, protocolDeps, putEvent } from "../support/protocol-env";

const OTHER = "debuggers2";
const s3 = useMemoryS3([BUCKET, "labbucket", "outbucket"]);
const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

const DATA = `${G}/inputs/d.txt`;
const CONFIG = `${G}/configs/c.json`;
/** Listed in neurocaas:bypassBuckets; "ghostbucket" is listed but does not exist. */
const BYPASS = ["labbucket", "outbucket", "ghostbucket"];

beforeAll(async () => {
  await s3.store.put(BUCKET, DATA, "data");
  await s3.store.put(BUCKET, CONFIG, "{}");
  await s3.store.put(BUCKET, `${OTHER}/inputs/secret.csv`, "their data");
  await s3.store.put(BUCKET, `${OTHER}/configs/theirs.json`, "{}");
  await s3.store.put(BUCKET, "toplevel_submit.json", "{}");
  await s3.store.put("labbucket", "lab/d.txt", "bypass data");
  await s3.store.put("labbucket", "lab/c.json", "{}");
  await s3.store.put("labbucket", "lab/inputs/x/c.json", "{}");
});
beforeEach(() => {
  world.reset();
  world.prices.set("t2.micro", 0.0116);
});

let n = 0;
function deps(config: Partial<AnalysisRuntimeConfig> = {}) {
  return protocolDeps({ world, store: s3.store, clock, config: { bypassBuckets: BYPASS, ...config } });
}
async function submit(
  fields: object | string,
  config: Partial<AnalysisRuntimeConfig> = {},
  name = `iso${++n}submit.json`,
  sequencer?: string,
) {
  const key = `${G}/submissions/${name}`;
  await s3.store.put(BUCKET, key, typeof fields === "string" ? fields : JSON.stringify(fields));
  const report = await runSubmit(putEvent(BUCKET, encodeEventKey(key), sequencer), deps(config));
  return { key, job: report.jobs[0], report };
}
async function cert(bucket: string, jobFolder: string): Promise<string> {
  return (await s3.store.get(bucket, certificateKey(jobFolder)))?.body ?? "(no certificate)";
}
async function record(jobName: string): Promise<JobRecord | undefined> {
  const o = await s3.store.get(BUCKET, jobRecordKey(G, jobName));
  return o ? (JSON.parse(o.body) as JobRecord) : undefined;
}

describe("storage bypass obeys the group model", () => {
  const rejected: [string, object, RegExp][] = [
    [
      "data URI in another group's inputs of the analysis bucket",
      { dataname: `s3://${BUCKET}/${OTHER}/inputs/secret.csv`, configname: `s3://${BUCKET}/${CONFIG}` },
      /"dataname" "s3:\/\/cianalysispermastack\/debuggers2\/inputs\/secret.csv" is outside your group's folder: dataset keys must start with "traviscipermagroup\/inputs\/"/,
    ],
    [
      "config URI in another group's configs of the analysis bucket",
      { dataname: `s3://${BUCKET}/${DATA}`, configname: `s3://${BUCKET}/${OTHER}/configs/theirs.json` },
      /"configname" .*debuggers2\/configs\/theirs.json" is outside your group's folder: config keys must start with "traviscipermagroup\/configs\/"/,
    ],
    [
      "resultpath in another group's results",
      {
        dataname: `s3://${BUCKET}/${DATA}`,
        configname: `s3://${BUCKET}/${CONFIG}`,
        resultpath: `s3://${BUCKET}/${OTHER}/results`,
      },
      /is in the analysis bucket but outside your group's results folder; use s3:\/\/cianalysispermastack\/traviscipermagroup\/results\//,
    ],
    [
      "resultpath in another group's submissions/ (a config named *submit.json copied there would start a job billed to them)",
      {
        dataname: `s3://${BUCKET}/${DATA}`,
        configname: `s3://${BUCKET}/${CONFIG}`,
        resultpath: `s3://${BUCKET}/${OTHER}/submissions/x`,
      },
      /lies under a submissions\/ folder; results never go where user data, configs or job triggers live/,
    ],
    [
      "resultpath under logs/ (the spend ledger)",
      {
        dataname: `s3://${BUCKET}/${DATA}`,
        configname: `s3://${BUCKET}/${CONFIG}`,
        resultpath: `s3://${BUCKET}/logs/_ledger`,
      },
      /lies under logs\//,
    ],
    [
      "resultpath at the analysis bucket root",
      { dataname: `s3://${BUCKET}/${DATA}`, configname: `s3://${BUCKET}/${CONFIG}`, resultpath: `s3://${BUCKET}/` },
      /outside your group's results folder/,
    ],
    [
      "resultpath under inputs/ of a bypass bucket",
      {
        dataname: "s3://labbucket/lab/d.txt",
        configname: "s3://labbucket/lab/c.json",
        resultpath: "s3://labbucket/lab/inputs/out",
      },
      /lies under a inputs\/ folder/,
    ],
    [
      "resultpath under configs/ of a bypass bucket",
      {
        dataname: "s3://labbucket/lab/d.txt",
        configname: "s3://labbucket/lab/c.json",
        resultpath: "s3://outbucket/x/configs",
      },
      /lies under a configs\/ folder/,
    ],
    [
      "resultpath under logs/ of a bypass bucket",
      {
        dataname: "s3://labbucket/lab/d.txt",
        configname: "s3://labbucket/lab/c.json",
        resultpath: "s3://outbucket/logs/x",
      },
      /lies under logs\//,
    ],
    [
      "data in a bucket not listed in neurocaas:bypassBuckets",
      { dataname: "s3://someone-elses-bucket/d.txt", configname: "s3://someone-elses-bucket/c.json" },
      /bucket someone-elses-bucket is not a storage-bypass bucket of this analysis \(the buckets this analysis may use are labbucket, outbucket, ghostbucket; an administrator lists them in neurocaas:bypassBuckets\)/,
    ],
    [
      "resultpath in a bucket not listed in neurocaas:bypassBuckets",
      {
        dataname: "s3://labbucket/lab/d.txt",
        configname: "s3://labbucket/lab/c.json",
        resultpath: "s3://attacker-bucket/loot",
      },
      /bucket attacker-bucket is not a storage-bypass bucket/,
    ],
    [
      "reading the platform's logs/ of a bypass bucket",
      { dataname: "s3://labbucket/logs/_ledger/g.json", configname: "s3://labbucket/lab/c.json" },
      /lies under logs\/, the platform's own records/,
    ],
  ];
  it.each(rejected)(
    "%s → rejected at step 1 with the reason, nothing launched, nothing written outside the group's results",
    async (_name, fields, reason) => {
      const before = await snapshot(s3.client, BUCKET, "");
      const { job, report } = await submit({ timestamp: `bypass-${n + 1}`, ...fields });
      expect(report.exitCode).toBe(99);
      expect(world.runInstancesCalls).toHaveLength(0);
      // The reason is in the group's own job folder in the analysis bucket.
      expect(job.outputBucket).toBe(BUCKET);
      expect(job.jobFolder).toBe(`${G}/results/job__${BUCKET}_bypass-${n}`);
      const text = await cert(BUCKET, job.jobFolder!);
      expect(text).toMatch(/\[Job Manager\] STEP 1\/4 \(Initialization\): INTERNAL ERROR\. \[JOB TERMINATE REASON\]/);
      expect(text).toMatch(reason);
      const after = await snapshot(s3.client, BUCKET, "");
      for (const k of after.keys())
        if (!before.has(k))
          expect(
            k.startsWith(`${G}/results/`) || k.startsWith(`logs/_jobs/${G}/`) || k.startsWith(`${G}/submissions/`),
          ).toBe(true);
      for (const b of ["labbucket", "outbucket"])
        expect(await s3.store.list(b, "", 100)).toEqual(expect.not.arrayContaining([expect.stringContaining("job__")]));
    },
  );

  it("bypass into the analysis bucket itself works inside the group's own folders (results default to its results/)", async () => {
    const { job, report } = await submit({
      timestamp: "bypass-own",
      dataname: `s3://${BUCKET}/${DATA}`,
      configname: `s3://${BUCKET}/${CONFIG}`,
    });
    expect(report.exitCode).toBe(0);
    expect(job.jobFolder).toBe(`${G}/results/job__${BUCKET}_bypass-own`);
    const log = JSON.parse((await s3.store.get(BUCKET, activeCostLogKey(job.instanceIds[0])))!.body) as CostLog;
    expect(log.command).toContain(`"s3://${BUCKET}/${G}/results/job__${BUCKET}_bypass-own"`);
  });

  it("bypass to a listed bucket still works, resultpath in another listed bucket", async () => {
    const { job, report } = await submit({
      timestamp: "bypass-listed",
      dataname: "s3://labbucket/lab/d.txt",
      configname: "s3://labbucket/lab/c.json",
      resultpath: "s3://outbucket/lab/results",
    });
    expect(report.exitCode).toBe(0);
    expect(job.outputBucket).toBe("outbucket");
    expect(await cert("outbucket", job.jobFolder!)).toContain("STEP 4/4 (Initialize Processing): DONE");
  });

  it("a bypass bucket that does not exist ends with a certificate that says so (in the group's own folder), not a job stuck at claimed", async () => {
    const { job, report } = await submit({
      timestamp: "ghost1",
      dataname: "s3://ghostbucket/d.txt",
      configname: "s3://ghostbucket/c.json",
    });
    expect(report.exitCode).toBe(99);
    expect(job.outputBucket).toBe(BUCKET);
    expect(job.jobFolder).toBe(`${G}/results/job__${BUCKET}_ghost1`);
    expect(await cert(BUCKET, job.jobFolder!)).toMatch(
      /The storage bypass bucket ghostbucket does not exist or NeuroCAAS may not use it \(NoSuchBucket\)/,
    );
    expect((await record(`job__${BUCKET}_ghost1`))?.state).toBe("rejected");
    expect(world.runInstancesCalls).toHaveLength(0);
  });

  it("a bypass input bucket that does not exist, with results in a bucket that does, fails at step 2 saying which bucket", async () => {
    const { job, report } = await submit({
      timestamp: "ghost2",
      dataname: "s3://ghostbucket/d.txt",
      configname: "s3://ghostbucket/c.json",
      resultpath: "s3://outbucket/lab/results",
    });
    expect(report.exitCode).toBe(99);
    const text = await cert(job.outputBucket!, job.jobFolder!);
    expect(text).toMatch(
      /STEP 2\/4 \(Validation\): AWS ERROR\. \[JOB TERMINATE REASON\] The storage bypass bucket ghostbucket does not exist or NeuroCAAS may not use it \(NoSuchBucket\), so NeuroCAAS could not read the inputs from it/,
    );
    expect((await record(`job__${BUCKET}_ghost2`))?.state).toBe("rejected");
  });
});

describe("job folders are never overwritten", () => {
  it("a submit file without usable timestamp never overwrites the folder of a job whose timestamp looks like its fallback name", async () => {
    // A real job whose timestamp is what the old fallback name of a broken `coll_submit.json` was.
    const real = await submit({ timestamp: "invalid-submit-coll_submit", dataname: DATA, configname: CONFIG });
    expect(real.report.exitCode).toBe(0);
    const before = await cert(BUCKET, real.job.jobFolder!);
    const broken = await submit({ dataname: DATA }, {}, "coll_submit.json", "seq-1");
    expect(broken.report.exitCode).toBe(99);
    expect(broken.job.jobFolder).not.toBe(real.job.jobFolder);
    expect(await cert(BUCKET, real.job.jobFolder!)).toBe(before);
    expect(await cert(BUCKET, broken.job.jobFolder!)).toMatch(/"timestamp" is required/);
  });

  it("two uploads of identical rejected content each get their own certificate; a redelivered event writes none", async () => {
    const first = await submit("{}", {}, "same_submit.json", "seq-a");
    const second = await submit("{}", {}, "same_submit.json", "seq-b");
    expect(first.job.jobFolder).not.toBe(second.job.jobFolder);
    for (const r of [first, second]) expect(await cert(BUCKET, r.job.jobFolder!)).toMatch(/"timestamp" is required/);
    // Identical content under two names, with a taken timestamp: two certificates as well.
    await submit({ timestamp: "taken-ts", dataname: DATA, configname: CONFIG });
    const a = await submit({ timestamp: "taken-ts", dataname: [DATA] }, {}, "a_submit.json", "seq-c");
    const b = await submit({ timestamp: "taken-ts", dataname: [DATA] }, {}, "b_submit.json", "seq-c");
    expect(new Set([a.job.jobFolder, b.job.jobFolder]).size).toBe(2);
    for (const r of [a, b])
      expect(await cert(BUCKET, r.job.jobFolder!)).toMatch(/already used by job job__cianalysispermastack_taken-ts/);
    // The same event again (S3 at-least-once delivery): nothing new.
    const keysBefore = await s3.store.list(BUCKET, `${G}/results/`);
    const again = await runSubmit(putEvent(BUCKET, encodeEventKey(second.key), "seq-b"), deps());
    expect(again.jobs[0]).toMatchObject({ exitCode: 99, duplicate: true, jobFolder: second.job.jobFolder });
    expect(await s3.store.list(BUCKET, `${G}/results/`)).toEqual(keysBefore);
  });
});

describe("claims have a lease: no job is lost", () => {
  async function dieAfterClaim(timestamp: string, invocationId: string) {
    const key = `${G}/submissions/lease${++n}submit.json`;
    await s3.store.put(BUCKET, key, JSON.stringify({ timestamp, dataname: DATA, configname: CONFIG }));
    const event = putEvent(BUCKET, encodeEventKey(key));
    const dying = killAt(
      { ...deps(), invocation: { id: invocationId, deadline: new Date(clock.now().getTime() + 900_000) } },
      (e) => e.what.startsWith("put logs/_jobs/"),
      true,
    );
    await expect(runSubmit(event, dying.deps)).rejects.toThrow(Killed);
    return event;
  }

  it("a Lambda retry (same request id) after the claimant died takes the job over at once, not 16 minutes later", async () => {
    const event = await dieAfterClaim("lease-retry", "req-1");
    clock.advance(60_000); // Lambda retries a failed invocation after one minute
    const retry = await runSubmit(event, {
      ...deps(),
      invocation: { id: "req-1", deadline: new Date(clock.now().getTime() + 900_000) },
    });
    expect(retry.exitCode).toBe(0);
    expect(retry.jobs[0].duplicate).toBeUndefined();
    expect(world.running()).toHaveLength(1);
    expect(await cert(BUCKET, retry.jobs[0].jobFolder!)).toContain("STEP 4/4 (Initialize Processing): DONE");
  });

  it("a redelivery while the claimant may still run does nothing; after the claimant's deadline it takes over", async () => {
    const event = await dieAfterClaim("lease-deadline", "req-2");
    clock.advance(5 * 60_000);
    const early = await runSubmit(event, {
      ...deps(),
      invocation: { id: "req-3", deadline: new Date(clock.now().getTime() + 900_000) },
    });
    expect(early.jobs[0].duplicate).toBe(true);
    expect(world.runInstancesCalls).toHaveLength(0);
    clock.advance(10 * 60_000 + 1); // past start + 15 min function timeout
    const late = await runSubmit(event, {
      ...deps(),
      invocation: { id: "req-4", deadline: new Date(clock.now().getTime() + 900_000) },
    });
    expect(late.exitCode).toBe(0);
    expect(world.running()).toHaveLength(1);
  });
});

describe("long but valid keys", () => {
  it("a dataset with a 229-character basename runs: status file names stay within file-system limits", async () => {
    const name = `${"x".repeat(225)}.csv`;
    expect(name).toHaveLength(229);
    const dataset = `${G}/inputs/${name}`;
    await s3.store.put(BUCKET, dataset, "long");
    const { job, report } = await submit({ timestamp: "long-key", dataname: dataset, configname: CONFIG });
    expect(report.exitCode).toBe(0);
    const statusKey = datasetStatusKey(job.jobFolder!, dataset);
    const file = statusKey.slice(statusKey.lastIndexOf("/") + 1);
    expect(Buffer.byteLength(file)).toBeLessThanOrEqual(MAX_DERIVED_NAME_BYTES);
    expect(file).toMatch(/^DATASET_NAME:x+~[0-9a-f]{12}_STATUS\.txt$/);
    expect(JSON.parse((await s3.store.get(BUCKET, statusKey))!.body)).toMatchObject({
      status: "INITIALIZING",
      input: dataset,
    });
    expect(await cert(BUCKET, job.jobFolder!)).toContain(`DATANAME: ${dataset} | STATUS: INITIALIZING`);
  });
});
