/**
 * Analysis scripts in local-mode jobs (real job manager, monitor, IAE processes): the example
 * PCA on two datasets keeps both results, and a script written for the original
 * neurocaas-contrib runs unmodified through the `neurocaas-contrib` command.
 */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fallbackHourlyPrice, protocolHandlers } from "../../local/protocol-handlers";
import { startLocal, type LocalNeurocaas } from "../../local/server";
import { waitForJob } from "../../cli/user/job-state";
import { submitJob } from "../../cli/user/submit-job";
import { downloadResults } from "../../cli/user/results";
import { findDatasetLine } from "../../protocols/certificate";
import { writeStackFile } from "../local/support/stack";

jest.setTimeout(300_000);

const REPO = path.resolve(__dirname, "../..");
const FIXTURES = "test/workflow/fixtures";

describe("analysis scripts in local-mode jobs", () => {
  let dir: string;
  let local: LocalNeurocaas;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "neurocaas-scripts-"));
    const stacks = [
      await writeStackFile(dir, {
        name: "scripts-pca",
        command: 'neurocaas workflow run-main "{}" "{}" "{}" "{}" examples/pca/run_pca.sh',
      }),
      await writeStackFile(dir, {
        name: "scripts-contrib",
        command: `bash ${FIXTURES}/run_main_cli.sh "{}" "{}" "{}" "{}" "bash ${FIXTURES}/ensemble_analysis.sh"`,
      }),
    ];
    local = await startLocal({
      port: 0,
      dataDir: path.join(dir, "data"),
      stackFiles: stacks,
      repoRoot: REPO,
      handlers: protocolHandlers,
      fallbackPrice: fallbackHourlyPrice,
      secondsPerMinute: 1,
    });
  });
  afterAll(async () => {
    await local?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("a two-dataset PCA job keeps the results of both datasets (outputs are named per dataset)", async () => {
    await fsp.writeFile(path.join(dir, "first.csv"), "x,y\n1,2\n2,4.5\n3,5.5\n4,8\n");
    await fsp.writeFile(path.join(dir, "second.csv"), "x,y\n1,-1\n2,-2.5\n3,-2.5\n4,-4\n");
    await fsp.writeFile(path.join(dir, "pca.yaml"), "n_components: 1\n");
    const ref = { bucket: "scripts-pca", group: "lab", job: "two" };
    await submitJob({
      client: local.client,
      ...ref,
      data: [path.join(dir, "first.csv"), path.join(dir, "second.csv")],
      config: path.join(dir, "pca.yaml"),
      timestamp: ref.job,
    });
    const state = await waitForJob(local.client, ref, { intervalMs: 300, timeoutMs: 200_000 });
    expect(state.datasets.map((d) => d.status)).toEqual(["SUCCESS", "SUCCESS"]);

    const out = path.join(dir, "two");
    await downloadResults(local.client, ref, out);
    const first = JSON.parse(
      await fsp.readFile(path.join(out, "process_results", "first_pca_components.json"), "utf8"),
    );
    const second = JSON.parse(
      await fsp.readFile(path.join(out, "process_results", "second_pca_components.json"), "utf8"),
    );
    expect([first.input, second.input]).toEqual(["first.csv", "second.csv"]);
    // The two datasets point in opposite diagonal directions: their first components differ.
    expect(Math.sign(first.components[0][0] * first.components[0][1])).toBe(1);
    expect(Math.sign(second.components[0][0] * second.components[0][1])).toBe(-1);
    const names = await fsp.readdir(path.join(out, "process_results"));
    expect(names).toEqual(expect.arrayContaining(["first_explained_variance.svg", "second_explained_variance.svg"]));
  });

  it("runs an unmodified original-style script through neurocaas-contrib, with Python-style read-yaml values", async () => {
    const config = { mode: "train", testing: true, jobnb: 1, seeds: [1, 2, 3], lr: 2.5, params: { a: 1, b: [1, 2] } };
    await fsp.writeFile(path.join(dir, "ensemble_config.json"), JSON.stringify(config));
    await fsp.writeFile(path.join(dir, "video.mp4"), "frames");
    const ref = { bucket: "scripts-contrib", group: "lab", job: "contrib1" };
    await submitJob({
      client: local.client,
      ...ref,
      data: [path.join(dir, "video.mp4")],
      config: path.join(dir, "ensemble_config.json"),
      timestamp: ref.job,
    });
    const state = await waitForJob(local.client, ref, { intervalMs: 300, timeoutMs: 250_000 });

    expect(state.datasets).toHaveLength(1);
    const status = state.datasets[0];
    const std = Object.values(status.body.std as Record<string, string>);
    expect({ status: status.status, reason: status.reason }).toEqual({ status: "SUCCESS", reason: ["exit code 0"] });
    // The original's describe-datastatus joins the entries with "": lines stay lines.
    expect(std.join("")).toContain("-- STARTING TRAINING (test) --\n-- DONE 1 --\n");
    expect(JSON.stringify(status.body)).not.toContain("NodeVersionSupportWarning");
    const line = findDatasetLine(state.certificate ?? "", "lab/inputs/video.mp4", "loose");
    expect(line).toMatch(/STATUS: SUCCESS \| TIME: .* \(finished\) \| LAST COMMAND: -- DONE 1 -- \|/);

    const out = path.join(dir, "contrib1");
    await downloadResults(local.client, ref, out);
    expect(await fsp.readFile(path.join(out, "process_results", "results1.txt"), "utf8")).toBe(
      [
        "dataname=video.mp4",
        "configname=ensemble_config.json",
        "group=lab",
        "datapath_exists=yes",
        "mode=train",
        "testing=True",
        "seeds=[1 2 3 ]",
        "lr=2.5",
        'params={"a": 1, "b": [1, 2]}',
        "nb_frames=[]",
        "",
      ].join("\n"),
    );
    expect(JSON.parse(await fsp.readFile(path.join(out, "process_results", "ensemble_config.json"), "utf8"))).toEqual(
      config,
    );
    expect(await fsp.readFile(path.join(out, "process_results", "update.txt"), "utf8")).toBe("");
  });
});
