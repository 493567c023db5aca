/**
 * Interoperability with plain S3 clients (seeds/user-guide-cli.txt): a user who uploads data,
 * config and a submit file with the AWS CLI against the local endpoint gets the same job, logs
 * and results, and can fetch them with `aws s3 sync`. Needs the `aws` executable; without it the
 * test is reported as skipped (the same flow with the SDK is covered by test/local/jobs.e2e.test.ts).
 */
import { execFile, execFileSync } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fallbackHourlyPrice, protocolHandlers } from "../../local/protocol-handlers";
import { startLocal, type LocalNeurocaas } from "../../local/server";

jest.setTimeout(180_000);

const REPO = path.resolve(__dirname, "../..");

function hasAwsCli(): boolean {
  try {
    execFileSync("aws", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const itWithAws = hasAwsCli() ? it : it.skip;

describe("AWS CLI against neurocaas local", () => {
  let dir: string;
  let local: LocalNeurocaas;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "aws-cli-"));
    local = await startLocal({
      port: 0,
      dataDir: path.join(dir, "data"),
      stackFiles: [path.join(REPO, "Pulumi.dev.yaml")],
      repoRoot: REPO,
      handlers: protocolHandlers,
      fallbackPrice: fallbackHourlyPrice,
    });
  });
  afterAll(async () => {
    await local.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  function aws(...args: string[]): Promise<string> {
    // As a lab member would: the blueprint user's own key, from the file `neurocaas local` names.
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_"))),
      AWS_PROFILE: "demouser",
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_CONFIG_FILE: path.join(dir, "no-config"),
      AWS_SHARED_CREDENTIALS_FILE: local.credentialsFile,
    };
    return new Promise((resolve, reject) =>
      execFile("aws", ["--endpoint-url", local.endpoint, ...args], { env }, (err, stdout, stderr) =>
        err ? reject(new Error(`aws ${args.join(" ")}: ${stderr}`)) : resolve(stdout),
      ),
    );
  }

  itWithAws("uploads, submits, monitors and downloads like the user guide says", async () => {
    const bucket = "s3://neurocaas-demo/debuggers";
    await aws("s3", "cp", path.join(REPO, "examples/pca/data.csv"), `${bucket}/inputs/data.csv`);
    await aws("s3", "cp", path.join(REPO, "examples/pca/config.yaml"), `${bucket}/configs/config.yaml`);
    const submit = path.join(dir, "submit.json");
    await fsp.writeFile(
      submit,
      JSON.stringify({
        dataname: ["debuggers/inputs/data.csv"],
        configname: "debuggers/configs/config.yaml",
        timestamp: "awscli1",
      }),
    );
    await aws("s3", "cp", submit, `${bucket}/submissions/`);

    const job = `${bucket}/results/job__neurocaas-demo_awscli1`;
    let listing = "";
    for (let i = 0; i < 300 && !listing.includes("end.txt"); i++) {
      await new Promise((r) => setTimeout(r, 500));
      listing = await aws("s3", "ls", `${job}/process_results/`).catch(() => "");
    }
    expect(listing).toContain("end.txt");
    const logs = path.join(dir, "logs");
    await aws("s3", "cp", `${job}/logs/certificate.txt`, path.join(logs, "certificate.txt"));
    await aws("s3", "cp", `${job}/logs/DATASET_NAME:data.csv_STATUS.txt`, path.join(logs, "status.txt"));
    expect(await fsp.readFile(path.join(logs, "certificate.txt"), "utf8")).toContain(
      "[Job Manager] STEP 4/4 (Initialize Processing): DONE",
    );
    expect(JSON.parse(await fsp.readFile(path.join(logs, "status.txt"), "utf8")).status).toBe("SUCCESS");

    const out = path.join(dir, "results");
    await aws("s3", "sync", `${job}/process_results/`, out);
    expect((await fsp.readdir(out)).sort()).toEqual(
      expect.arrayContaining(["config.yaml", "end.txt", "data_explained_variance.svg", "data_pca_components.json"]),
    );
    expect(JSON.parse(await fsp.readFile(path.join(out, "data_pca_components.json"), "utf8")).n_components).toBe(2);
  });
});
