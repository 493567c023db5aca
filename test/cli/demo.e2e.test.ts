import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runDemo } from "../../cli/user/demo";
import { fallbackHourlyPrice, protocolHandlers } from "../../local/protocol-handlers";

jest.setTimeout(180_000);

const REPO = path.resolve(__dirname, "../..");

describe("the demo (npm run demo) on the dev stack", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "demo-test-"));
  });
  afterAll(() => fsp.rm(dir, { recursive: true, force: true }));

  const demo = (name: string, config: string) =>
    runDemo({
      repoRoot: REPO,
      handlers: protocolHandlers,
      fallbackPrice: fallbackHourlyPrice,
      stackFiles: [path.join(REPO, "Pulumi.dev.yaml")],
      data: path.join(REPO, "examples/pca/data.csv"),
      config,
      workDir: path.join(dir, name),
      timeoutMs: 150_000,
      out: () => undefined,
    });

  it("runs the example PCA job and downloads its results", async () => {
    const result = await demo("ok", path.join(REPO, "examples/pca/config.yaml"));
    expect(result).toMatchObject({ ok: true, reason: undefined });
    const rel = result.files.map((f) => path.relative(result.resultsDir, f));
    expect(rel).toEqual(
      expect.arrayContaining([
        "process_results/data_pca_components.json",
        "process_results/data_explained_variance.svg",
        "process_results/end.txt",
        "logs/certificate.txt",
      ]),
    );
    const pca = JSON.parse(
      await fsp.readFile(path.join(result.resultsDir, "process_results/data_pca_components.json"), "utf8"),
    );
    expect(pca.n_components).toBe(2);
  });

  it("fails with the analysis' reason when the job fails", async () => {
    const bad = path.join(dir, "too-many.yaml");
    await fsp.writeFile(bad, "n_components: 50\n");
    const result = await demo("bad", bad);
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/^debuggers\/inputs\/data\.csv ended FAILED/);
  });
});
