import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { certificateKey, endMarkerKey, jobFolderKey } from "../../model/layout";
import { RUNTIME_CONFIG_ENV } from "../../model/runtime-config";
import { AwsWorld } from "../support/aws-world";
import { useLocalS3 } from "../support/local-s3";
import { CONDITION_MATRIX } from "../support/paths";
import { handler as submit } from "../../protocols/handlers/submit";
import { handler as monitor } from "../../protocols/handlers/monitor";
import { handler as postprocess } from "../../protocols/handlers/postprocess";
import { handler as guard } from "../../protocols/handlers/guard";
import { readRuntimeConfig } from "../../protocols/handlers/aws-deps";
import { BUCKET, GROUP, runtimeConfig } from "../support/protocol-env";

// The Lambda entry points, end to end: env config, real S3 client (local endpoint), EC2/SSM/Pricing mocked.
const s3 = useLocalS3([BUCKET]);
const world = new AwsWorld();
const saved = { ...process.env };
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(CONDITION_MATRIX, name), "utf-8"));

beforeAll(async () => {
  Object.assign(process.env, {
    [RUNTIME_CONFIG_ENV]: JSON.stringify(runtimeConfig()),
    AWS_ENDPOINT_URL_S3: s3.server.endpoint,
    AWS_ACCESS_KEY_ID: s3.server.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.server.credentials.secretAccessKey,
    AWS_REGION: "us-east-1",
  });
  await s3.store.put(
    BUCKET,
    `${GROUP}/submissions/submit.json`,
    fs.readFileSync(path.join(CONDITION_MATRIX, "submit.json"), "utf-8"),
  );
  await s3.store.put(
    BUCKET,
    `${GROUP}/inputs/dataset1.json`,
    fs.readFileSync(path.join(CONDITION_MATRIX, "inputs/dataset1.json"), "utf-8"),
  );
  await s3.store.put(
    BUCKET,
    `${GROUP}/configs/config.json`,
    fs.readFileSync(path.join(CONDITION_MATRIX, "config.json"), "utf-8"),
  );
  world.prices.set("t2.micro", 0.0116);
});
afterAll(() => {
  world.restore();
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

describe("Lambda handlers", () => {
  it("run a job from the original S3 put event to end.txt", async () => {
    expect(await submit(fixture("s3_putevent.json"))).toBe(0);
    const [iae] = world.running();
    expect(iae.tags["neurocaas:dataset"]).toBe(`${GROUP}/inputs/dataset1.json`);
    iae.state = "running";

    const start = fixture("cloudwatch_startevent.json");
    start.detail["instance-id"] = iae.id;
    expect(await monitor(start)).toMatchObject({ action: "command-delivered" });
    const term = fixture("cloudwatch_termevent.json");
    term.detail["instance-id"] = iae.id;
    expect(await monitor(term)).toMatchObject({ action: "finished", jobFinished: true });

    const jobFolder = jobFolderKey(GROUP, BUCKET, "2020-05-14T19:25:25.885398");
    expect(await s3.store.exists(BUCKET, certificateKey(jobFolder))).toBe(true);
    expect((await s3.store.get(BUCKET, endMarkerKey(jobFolder)))!.body).toBe("end of analysis marker");
  });

  it("post-processing ignores analyses without a post-processing step", async () => {
    const out = await postprocess({
      Records: [
        {
          eventName: "ObjectCreated:Put",
          s3: { bucket: { name: BUCKET }, object: { key: `${GROUP}/results/job__x_y/process_results/end.txt` } },
        },
      ],
    });
    expect(out[0].action).toBe("ignored");
  });

  it("the guard sweeps without an analysis config", async () => {
    const decisions = await guard({});
    expect(Array.isArray(decisions)).toBe(true);
  });

  it("read the config from NEUROCAAS_CONFIG or the NEUROCAAS_CONFIG_PATH file, and reject a missing or malformed one clearly", () => {
    expect(() => readRuntimeConfig({})).toThrow(
      "No runtime config: set NEUROCAAS_CONFIG (JSON) or NEUROCAAS_CONFIG_PATH",
    );
    expect(() => readRuntimeConfig({ [RUNTIME_CONFIG_ENV]: "{" })).toThrow("is not valid JSON");
    expect(() => readRuntimeConfig({ [RUNTIME_CONFIG_ENV]: JSON.stringify({ bucketName: "b" }) })).toThrow(
      'runtime config field "region" must be a non-empty string',
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nc-config-"));
    fs.writeFileSync(
      path.join(dir, "neurocaas-config.json"),
      JSON.stringify(runtimeConfig({ budgetParameterPrefix: "" })),
    );
    const config = readRuntimeConfig({
      [RUNTIME_CONFIG_ENV]: JSON.stringify({ bucketName: "summary-only" }),
      NEUROCAAS_CONFIG_PATH: "neurocaas-config.json",
      LAMBDA_TASK_ROOT: dir,
    });
    expect(config.bucketName).toBe(BUCKET);
    expect(config.budgetParameterPrefix).toBe("/neurocaas/budgets");
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
