import { encodeEventKey } from "../../model/layout";
import { runSubmit } from "../../protocols/run";
import { AwsWorld } from "../support/aws-world";
import { snapshot } from "../support/bucket-contents";
import { useMemoryS3 } from "../support/memory-store";
import { BUCKET, FakeClock, GROUP, protocolDeps, putEvent } from "../support/protocol-env";

const s3 = useMemoryS3([BUCKET, "otherbucket"]);
const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

const G = GROUP;
const DATA = `${G}/inputs/dataset1.json`;
const CONFIG = `${G}/configs/config.json`;

beforeAll(async () => {
  await s3.store.put(BUCKET, DATA, '{"wait": 5}');
  await s3.store.put(BUCKET, CONFIG, '{"__duration__": 10}');
  await s3.store.put(BUCKET, "othergroup/inputs/dataset1.json", "theirs");
  await s3.store.put(BUCKET, "othergroup/configs/config.json", "{}");
  await s3.store.put("otherbucket", "data/d.txt", "x");
  await s3.store.put("otherbucket", "data/c.json", "{}");
  world.prices.set("t2.micro", 0.0116);
});

type Case = readonly [name: string, submit: string | object, reason: RegExp, config?: string];
const submit = (fields: object) => ({ dataname: DATA, configname: CONFIG, ...fields });
const withConfig = (name: string, text: string, reason: RegExp, ext = "json"): Case => [
  name,
  { __config: ext },
  reason,
  text,
];

const cases: Case[] = [
  ["not JSON", '{"dataname": ', /submit file is not valid JSON/],
  ["a JSON array", "[]", /must be a JSON object.*got a list of 0/],
  ["a JSON string", '"hello"', /must be a JSON object/],
  ["JSON null", "null", /must be a JSON object.*got null/],
  ["a JSON number", "42", /must be a JSON object/],
  ["an empty object", {}, /"timestamp" is required/],
  ["missing dataname", { configname: CONFIG, timestamp: "t-missing-data" }, /"dataname" is required/],
  ["missing configname", { dataname: DATA, timestamp: "t-missing-config" }, /"configname" is required/],
  ["missing timestamp", { dataname: DATA, configname: CONFIG }, /"timestamp" is required/],
  [
    "dataname a number",
    submit({ dataname: 5, timestamp: "t-num-data" }),
    /"dataname" is required: a dataset key or a list.*got number 5/,
  ],
  [
    "dataname an object",
    submit({ dataname: { a: 1 }, timestamp: "t-obj-data" }),
    /"dataname" is required.*got an object/,
  ],
  ["empty dataname list", submit({ dataname: [], timestamp: "t-empty-list" }), /"dataname" is an empty list/],
  [
    "dataname list with a number",
    submit({ dataname: [DATA, 7], timestamp: "t-list-num" }),
    /"dataname" entry 1 must be a non-empty string/,
  ],
  [
    "dataname list with an empty key",
    submit({ dataname: [""], timestamp: "t-list-empty" }),
    /"dataname" entry 0 must be a non-empty string/,
  ],
  [
    "dataname empty string",
    submit({ dataname: "", timestamp: "t-empty-data" }),
    /"dataname" entry 0 must be a non-empty string/,
  ],
  [
    "configname a number",
    submit({ configname: 3, timestamp: "t-num-config" }),
    /"configname" is required.*got number 3/,
  ],
  [
    "configname a list of two",
    submit({ configname: [CONFIG, CONFIG], timestamp: "t-two-configs" }),
    /"configname" is required.*got a list of 2/,
  ],
  [
    "configname with a wrong extension",
    submit({ configname: `${G}/configs/config.txt`, timestamp: "t-ext" }),
    /must end in \.json, \.yaml or \.yml/,
  ],
  [
    "timestamp a number",
    submit({ timestamp: 12345 }),
    /"timestamp" is required and must be a non-empty string; got number 12345/,
  ],
  ["timestamp with /", submit({ timestamp: "2020/05/14" }), /"timestamp" "2020\/05\/14" must not contain "\/"/],
  [
    "timestamp of 300 characters",
    submit({ timestamp: "x".repeat(300) }),
    /"timestamp" is 300 characters long; at most 128/,
  ],
  ["empty timestamp", submit({ timestamp: "" }), /"timestamp" is required/],
  ["timestamp ..", submit({ timestamp: ".." }), /"timestamp" "\.\." must not contain/],
  ["timestamp with a newline", submit({ timestamp: "a\nb" }), /must not contain .*control characters/],
  [
    "data key outside the group",
    submit({ dataname: "othergroup/inputs/dataset1.json", timestamp: "t-other-data" }),
    /outside your group's folder: dataset keys must start with "traviscipermagroup\/inputs\/" or "traviscipermagroup\/results\/"/,
  ],
  [
    "another group's config",
    submit({ configname: "othergroup/configs/config.json", timestamp: "t-other-config" }),
    /"configname" "othergroup\/configs\/config.json" is outside your group's folder/,
  ],
  [
    ".. segments",
    submit({ dataname: `${G}/inputs/../../othergroup/inputs/dataset1.json`, timestamp: "t-dotdot" }),
    /must not contain "\." or "\.\." path segments/,
  ],
  ["a leading slash", submit({ dataname: `/${DATA}`, timestamp: "t-slash" }), /must not start with "\/"/],
  [
    "an empty path segment",
    submit({ dataname: `${G}/inputs//dataset1.json`, timestamp: "t-double-slash" }),
    /empty path segments/,
  ],
  [
    "data in the submissions folder",
    submit({ dataname: `${G}/submissions/x.json`, timestamp: "t-subfolder" }),
    /outside your group's folder/,
  ],
  [
    "data at the group root",
    submit({ dataname: `${G}/dataset1.json`, timestamp: "t-root" }),
    /outside your group's folder/,
  ],
  [
    "a duplicated dataset",
    submit({ dataname: [DATA, DATA], timestamp: "t-dup-data" }),
    /lists "traviscipermagroup\/inputs\/dataset1.json" more than once/,
  ],
  [
    "an instance type the analysis does not allow",
    submit({ instance_type: "p3.16xlarge", timestamp: "t-type" }),
    /Instance type p3.16xlarge is not available for this analysis; allowed: t2.micro, m5.xlarge/,
  ],
  [
    "an unknown instance type",
    submit({ instance_type: "x9.huge", timestamp: "t-unknown-type" }),
    /Instance type x9.huge is not available/,
  ],
  [
    "a malformed instance type",
    submit({ instance_type: "huge", timestamp: "t-bad-type" }),
    /"instance_type" must be an EC2 instance type/,
  ],
  [
    "an instance type that is a number",
    submit({ instance_type: 4, timestamp: "t-num-type" }),
    /"instance_type" must be an EC2 instance type/,
  ],
  [
    "resultpath without storage bypass",
    submit({ resultpath: "s3://otherbucket/out", timestamp: "t-resultpath" }),
    /"resultpath" is only allowed with storage bypass/,
  ],
  [
    "a mix of s3:// URIs and keys",
    submit({ dataname: "s3://otherbucket/data/d.txt", timestamp: "t-mix" }),
    /"configname" "traviscipermagroup\/configs\/config.json" must be a full s3:\/\/bucket\/key URI in storage bypass mode/,
  ],
  [
    "bypass data and config in different buckets",
    submit({
      dataname: "s3://otherbucket/data/d.txt",
      configname: `s3://${BUCKET}/${CONFIG}`,
      timestamp: "t-two-buckets",
    }),
    /data and config must come from the same bucket/,
  ],
  [
    "a bypass URI without a key",
    submit({ dataname: "s3://otherbucket", configname: "s3://otherbucket/data/c.json", timestamp: "t-no-key" }),
    /must be a full s3:\/\/bucket\/key URI/,
  ],
  [
    "a missing dataset",
    submit({ dataname: `${G}/inputs/nothere.json`, timestamp: "t-missing" }),
    /\[INPUT ERROR\] Dataset traviscipermagroup\/inputs\/nothere.json does not exist/,
  ],
  [
    "an empty dataset folder",
    submit({ dataname: `${G}/inputs/emptyfolder/`, timestamp: "t-empty-folder" }),
    /no object under this folder/,
  ],
  withConfig("a config that is not JSON", "{ not json", /is not valid JSON/),
  withConfig(
    "a config that is a JSON array",
    "[1, 2]",
    /must be a mapping of parameter names to values; got a list of 2/,
  ),
  withConfig(
    "a YAML alias bomb",
    [
      "a: &a [x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
      "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
    ].join("\n"),
    /is not valid YAML/,
    "yaml",
  ),
  withConfig("a YAML list", "- 1\n- 2\n", /must be a mapping/, "yml"),
  withConfig("a YAML syntax error", "a: [1, 2\nb: 3\n", /is not valid YAML/, "yaml"),
  withConfig("a YAML scalar", "just some text\n", /must be a mapping/, "yaml"),
  withConfig(
    "__duration__ as a string",
    '{"__duration__": "10"}',
    /__duration__ must be an integer number of minutes; got the string "10"/,
  ),
  withConfig(
    "non-integer __duration__",
    '{"__duration__": 10.5}',
    /__duration__ must be an integer number of minutes; got number 10.5/,
  ),
  withConfig("negative __duration__", '{"__duration__": -5}', /__duration__ must be between 1 and 10080 minutes/),
  withConfig("zero __duration__", '{"__duration__": 0}', /__duration__ must be between 1 and 10080/),
  withConfig(
    "__duration__ over 7 days",
    "__duration__: 20000\n",
    /__duration__ must be between 1 and 10080 minutes \(at most 7 days\); got 20000/,
    "yaml",
  ),
  withConfig(
    "__dataset_size__ over 16 TB",
    '{"__dataset_size__": 20000}',
    /__dataset_size__ must be between 0 and 16384 GB \(at most 16 TB\); got 20000/,
  ),
  withConfig(
    "__dataset_size__ a boolean",
    '{"__dataset_size__": true}',
    /__dataset_size__ must be an integer number of GB; got boolean true/,
  ),
  withConfig("a config over 1 MB", JSON.stringify({ blob: "x".repeat(1024 * 1024) }), /larger than 1048576 bytes/),
];

let n = 0;
describe("malformed submissions and configs", () => {
  it("covers at least 40 cases", () => expect(cases.length).toBeGreaterThanOrEqual(40));

  const rows = cases.map(([name, body, reason, configText]) => ({ name, body, reason, configText }));
  it.each(rows)(
    "$name → 99, reason in the certificate, nothing launched, no user object changed",
    async ({ body, reason, configText }) => {
      n++;
      const key = `${G}/submissions/bad${n}submit.json`;
      let text: string;
      if (configText !== undefined) {
        const configKey = `${G}/configs/bad${n}.${(body as { __config: string }).__config}`;
        await s3.store.put(BUCKET, configKey, configText);
        text = JSON.stringify({ dataname: DATA, configname: configKey, timestamp: `bad-config-${n}` });
      } else text = typeof body === "string" ? body : JSON.stringify(body);
      await s3.store.put(BUCKET, key, text);
      const before = await snapshot(s3.client, BUCKET, `${G}/`);
      const launchesBefore = world.runInstancesCalls.length;

      const report = await runSubmit(
        putEvent(BUCKET, encodeEventKey(key)),
        protocolDeps({ world, store: s3.store, clock }),
      );

      expect(report.exitCode).toBe(99);
      expect(world.runInstancesCalls.length).toBe(launchesBefore);
      const job = report.jobs[0];
      expect(job.jobFolder).toMatch(new RegExp(`^${G}/results/job__${BUCKET}_`));
      const cert = (await s3.store.get(job.outputBucket!, `${job.jobFolder}/logs/certificate.txt`))!.body;
      expect(cert).toMatch(reason);
      expect(cert).toContain("[JOB TERMINATE REASON]");
      expect(cert).toContain("[Job Manager] Shutting down job.");
      const after = await snapshot(s3.client, BUCKET, `${G}/`);
      for (const [k, v] of before) expect(after.get(k)).toBe(v);
      for (const k of after.keys()) if (!before.has(k)) expect(k.startsWith(`${G}/results/`)).toBe(true);
    },
  );

  it("rejects 10,000 datasets over DEPLOY_LIMIT without a request per dataset", async () => {
    const key = `${G}/submissions/hugesubmit.json`;
    const dataname = Array.from({ length: 10_000 }, (_, i) => `${G}/inputs/many/d${i}.bin`);
    await s3.store.put(BUCKET, key, JSON.stringify({ dataname, configname: CONFIG, timestamp: "t-huge" }));
    s3.requests.length = 0;
    const report = await runSubmit(
      putEvent(BUCKET, encodeEventKey(key)),
      protocolDeps({ world, store: s3.store, clock }),
    );
    expect(report.exitCode).toBe(99);
    expect(s3.requests.length).toBeLessThan(10);
    const cert = (await s3.store.get(BUCKET, `${G}/results/job__${BUCKET}_t-huge/logs/certificate.txt`))!.body;
    expect(cert).toContain(
      "This job asks for 10000 datasets; this analysis runs at most 100 IAEs at a time (DEPLOY_LIMIT).",
    );
  });

  it("accepts a YAML config with a repeated key as PyYAML did (last value wins) and notes it in the certificate", async () => {
    const configKey = `${G}/configs/repeated.yaml`;
    await s3.store.put(BUCKET, configKey, "__duration__: 10\nmode: train\n__duration__: 20\n");
    const key = `${G}/submissions/repeatedsubmit.json`;
    await s3.store.put(
      BUCKET,
      key,
      JSON.stringify({ dataname: DATA, configname: configKey, timestamp: "t-repeated-key" }),
    );
    const report = await runSubmit(
      putEvent(BUCKET, encodeEventKey(key)),
      protocolDeps({ world, store: s3.store, clock }),
    );
    expect(report.exitCode).toBe(0);
    const cert = (await s3.store.get(BUCKET, `${G}/results/job__${BUCKET}_t-repeated-key/logs/certificate.txt`))!.body;
    expect(cert).toContain(
      `Config ${configKey}: the key "__duration__" is given 2 times (lines 1, 3); the last value is used, as PyYAML does`,
    );
    expect(cert).toContain("Config read: duration 20 min");
  });

  it("rejects a submission reusing another submission's timestamp, leaving the first job untouched", async () => {
    const first = `${G}/submissions/firstsubmit.json`;
    const second = `${G}/submissions/secondsubmit.json`;
    await s3.store.put(BUCKET, first, JSON.stringify({ dataname: DATA, configname: CONFIG, timestamp: "shared-ts" }));
    await s3.store.put(
      BUCKET,
      second,
      JSON.stringify({ dataname: DATA, configname: CONFIG, timestamp: "shared-ts", instance_type: "m5.xlarge" }),
    );
    const deps = protocolDeps({ world, store: s3.store, clock });
    expect((await runSubmit(putEvent(BUCKET, encodeEventKey(first)), deps)).exitCode).toBe(0);
    const certKey = `${G}/results/job__${BUCKET}_shared-ts/logs/certificate.txt`;
    const firstCert = (await s3.store.get(BUCKET, certKey))!.body;
    const launches = world.runInstancesCalls.length;
    const report = await runSubmit(putEvent(BUCKET, encodeEventKey(second)), deps);
    expect(report.exitCode).toBe(99);
    expect(world.runInstancesCalls.length).toBe(launches);
    expect((await s3.store.get(BUCKET, certKey))!.body).toBe(firstCert);
    const rejection = (await s3.store.get(BUCKET, `${report.jobs[0].jobFolder}/logs/certificate.txt`))!.body;
    expect(report.jobs[0].jobFolder).toMatch(/job__cianalysispermastack_shared-ts_rejected-[0-9a-f]{8}-[0-9a-f]{8}$/);
    expect(rejection).toContain(
      "already used by job job__cianalysispermastack_shared-ts: another submission (traviscipermagroup/submissions/firstsubmit.json) already uses it",
    );
  });

  it("ignores keys outside a group's submissions folder without writing anything", async () => {
    await s3.store.put(
      BUCKET,
      "nogroup-submit.json",
      JSON.stringify({ dataname: DATA, configname: CONFIG, timestamp: "t-nogroup" }),
    );
    const report = await runSubmit(
      putEvent(BUCKET, "nogroup-submit.json"),
      protocolDeps({ world, store: s3.store, clock }),
    );
    expect(report.exitCode).toBe(99);
    expect(report.jobs[0].reason).toMatch(/not inside a group's submissions\/ folder/);
    expect(report.jobs[0].jobFolder).toBeUndefined();
  });
});
