/**
 * The web dashboard end to end in a real browser (Debian's Chromium through playwright-core)
 * against a real `neurocaas local` (the CLI as a child process on a free port): sign in with a
 * user's key from the data dir's key file, upload, submit, watch, preview, download, spend,
 * re-run, a rejected job's reason, group isolation, and no console errors along the way.
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { unzipSync } from "fflate";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createLocalS3Client } from "../../local/s3-server";
import { spendSummaryKey, parseSpendSummary } from "../../model/spend-summary";
import { writeStackFile } from "../local/support/stack";
import {
  browserAvailable,
  collectErrors,
  eventually,
  keyOfProfile,
  launchBrowser,
  SCREENSHOTS,
  startNeurocaasLocal,
  type LocalProcess,
} from "./support/browser";

jest.setTimeout(240_000);

const PCA = "dash-pca";
const CHECKED = "dash-checked";
const ENSEMBLE = "dash-ensemble";
/** The ensemble analysis lives in a bucket named apart from it (`neurocaas:bucketName`). */
const ENSEMBLE_BUCKET = "dash-ensemble-lab2";
const REPO = path.resolve(__dirname, "../..");
const DATA = path.join(REPO, "examples/pca/data.csv");
const CONFIG = path.join(REPO, "examples/pca/config.yaml");
/** Generous bound for a PCA job through local IAEs on a loaded 2-core machine. */
const JOB_MS = 150_000;

const run = browserAvailable() ? describe : describe.skip;

run("web dashboard in Chromium against neurocaas local", () => {
  let dir: string;
  let local: LocalProcess;
  let browser: Browser;
  let admin: S3Client;
  let dashboard: string;
  const pages: { page: Page; errors: string[]; context: BrowserContext }[] = [];
  let alice: Page;
  let firstJob = "";
  /** Conditional GETs of job files answered "not modified" while the page followed jobs. */
  const notModified: string[] = [];

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(["notifications"]);
    // Record the notifications the page shows (headless Chromium displays none).
    await context.addInitScript(() => {
      const shown: { title: string; body?: string }[] = [];
      const w = globalThis as unknown as { __notifications: typeof shown; Notification: unknown };
      w.__notifications = shown;
      class Recorded {
        static permission = "granted";
        static requestPermission = async () => "granted";
        constructor(title: string, options?: { body?: string }) {
          shown.push({ title, body: options?.body });
        }
      }
      w.Notification = Recorded;
    });
    const page = await context.newPage();
    pages.push({ page, errors: collectErrors(page), context });
    return page;
  }

  async function signIn(page: Page, profile: string): Promise<void> {
    const key = keyOfProfile(local.ready.credentialsFile!, profile);
    await page.goto(dashboard);
    await page.getByLabel("Access key id").fill(key.accessKeyId);
    await page.getByLabel("Secret key").fill(key.secretAccessKey);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByTestId("membership").waitFor();
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const text = async (bucket: string, key: string): Promise<Buffer> =>
    Buffer.from(
      await (await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray(),
    );

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "dashboard-e2e-"));
    await fsp.mkdir(SCREENSHOTS, { recursive: true });
    const command = 'neurocaas workflow run-main "{}" "{}" "{}" "{}" examples/pca/run_pca.sh';
    const pca = await writeStackFile(dir, {
      name: PCA,
      command,
      maxCost: 10,
      lambdaConfig: { ALLOWED_INSTANCE_TYPES: ["t3.small"] },
      affiliates: [
        { AffiliateName: "labA", UserNames: ["alice"] },
        { AffiliateName: "labB", UserNames: ["bob"] },
        { AffiliateName: "labC", UserNames: ["alice"] },
      ],
    });
    const checked = await writeStackFile(dir, {
      name: CHECKED,
      command,
      affiliates: [{ AffiliateName: "labA", UserNames: ["alice"] }],
      lambda: {
        Protocol: "input-checking",
        ConfigSchema: {
          type: "object",
          required: ["n_components"],
          properties: { n_components: { type: "integer", minimum: 1, description: "principal components to keep" } },
        },
      },
    });
    const ensemble = await writeStackFile(dir, {
      name: ENSEMBLE,
      bucketName: ENSEMBLE_BUCKET,
      command,
      protocol: "ensemble",
      affiliates: [{ AffiliateName: "labA", UserNames: ["alice"] }],
    });
    const dataDir = path.join(dir, "data");
    await fsp.mkdir(dataDir, { recursive: true });
    // Prices that make costs visible: $36/h, so a 10-minute job may cost $6 of the $10 budget.
    await fsp.writeFile(path.join(dataDir, "prices.json"), JSON.stringify({ "t3.micro": 36, "t3.small": 72 }));
    local = await startNeurocaasLocal(["--data-dir", dataDir, "--stack-file", pca, checked, ensemble]);
    dashboard = local.ready.dashboardUrl!;
    admin = createLocalS3Client({ endpoint: local.ready.endpoint, credentials: local.ready.credentials });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    admin?.destroy();
    await local?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    // No console errors (or uncaught page errors) in any flow.
    for (const p of pages) expect(p.errors).toEqual([]);
  });

  it("prints the dashboard URL on the ready line and serves config.json without any secret", async () => {
    expect(dashboard).toBe(`${local.ready.endpoint}/_dashboard/`);
    expect(local.stderr()).toContain(`Dashboard: open ${dashboard}`);
    const res = await fetch(`${dashboard}config.json`);
    const body = await res.text();
    const config = JSON.parse(body) as {
      analyses: { bucket: string; groups: string[]; prices: Record<string, number>; instanceTypes: unknown }[];
      endpoint: string;
    };
    expect(config.endpoint).toBe(local.ready.endpoint);
    expect(config.analyses.map((a) => a.bucket)).toEqual([PCA, CHECKED, ENSEMBLE_BUCKET]);
    expect(config.analyses[0]).toMatchObject({
      groups: ["labA", "labB", "labC"],
      instanceTypes: { default: "t3.micro", allowed: ["t3.small"] },
      prices: { "t3.micro": 36, "t3.small": 72 },
    });
    const secrets = [
      local.ready.credentials.secretAccessKey,
      keyOfProfile(local.ready.credentialsFile!, "alice").secretAccessKey,
      keyOfProfile(local.ready.credentialsFile!, "bob").secretAccessKey,
    ];
    for (const s of secrets) expect(body).not.toContain(s);
    const page = await fetch(dashboard);
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    expect(page.headers.get("x-frame-options")).toBe("DENY");
  });

  it("signs in with a user's key from the key file, selects the first analysis and group, and switches to the others", async () => {
    alice = await newPage();
    alice.on("response", (r) => {
      if (r.status() === 304 && r.url().includes("/results/job__")) notModified.push(r.url());
    });
    await alice.goto(dashboard);
    await expect(alice.getByLabel("Secret key").getAttribute("type")).resolves.toBe("password");
    await shot(alice, "sign-in");
    await signIn(alice, "alice");
    await alice.waitForURL(`**/#/${PCA}/labA/jobs`);
    const options = await alice.getByTestId("membership").locator("option").allTextContents();
    expect(options).toEqual([`${PCA} / labA`, `${PCA} / labC`, `${CHECKED} / labA`, `${ENSEMBLE_BUCKET} / labA`]);
    await alice.getByTestId("membership").selectOption(`${PCA}/labC`);
    await alice.waitForURL(`**/#/${PCA}/labC/jobs`);
    await alice.getByTestId("membership").selectOption(`${PCA}/labA`);
    await alice.waitForURL(`**/#/${PCA}/labA/jobs`);
    // A reload keeps the session (this tab) and the place.
    await alice.reload();
    await alice.getByTestId("membership").waitFor();
    expect(await alice.getByTestId("membership").inputValue()).toBe(`${PCA}/labA`);
  });

  it("uploads data and folders with progress (multipart for large files), cancels and retries, deletes", async () => {
    await alice.getByTestId("tab-inputs").click();
    await alice.getByTestId("upload-files").setInputFiles(DATA);
    await alice.locator("tr[data-key='labA/inputs/data.csv']").waitFor();
    expect(await alice.locator("tr[data-key='labA/inputs/data.csv'] td.size").textContent()).toBe(
      `${(await fsp.stat(DATA)).size} B`,
    );

    // A 20 MiB file goes up in 8 MiB parts; slow the parts down to cancel mid-way.
    const big = path.join(dir, "big.bin");
    await fsp.writeFile(big, Buffer.alloc(20 * 1024 * 1024, 7));
    const parts: string[] = [];
    alice.on("request", (r) => {
      if (/[?&]partNumber=\d+/.test(r.url())) parts.push(r.url());
    });
    await alice.route(/[?&]partNumber=/, async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue().catch(() => undefined);
    });
    await alice.getByTestId("upload-files").setInputFiles(big);
    const item = alice.locator("[data-testid=upload][data-key='labA/inputs/big.bin']");
    await item.and(alice.locator("[data-state=uploading]")).waitFor();
    await shot(alice, "inputs-uploading");
    await item.getByRole("button", { name: "Cancel" }).click();
    await item.and(alice.locator("[data-state=cancelled]")).waitFor();
    const listing = await admin.send(new ListObjectsV2Command({ Bucket: PCA, Prefix: "labA/inputs/big" }));
    expect(listing.Contents ?? []).toEqual([]);
    await alice.unroute(/[?&]partNumber=/);
    await item.getByRole("button", { name: "Retry" }).click();
    await item.and(alice.locator("[data-state=done]")).waitFor({ timeout: 60_000 });
    expect(parts.length).toBeGreaterThanOrEqual(3);
    await alice.locator("tr[data-key='labA/inputs/big.bin']").waitFor();
    expect(await alice.locator("tr[data-key='labA/inputs/big.bin'] td.size").textContent()).toBe("20 MiB");

    // A folder keeps its structure (it can then be submitted as one dataset).
    const folder = path.join(dir, "session1");
    await fsp.mkdir(path.join(folder, "day2"), { recursive: true });
    await fsp.copyFile(DATA, path.join(folder, "trial.csv"));
    await fsp.writeFile(path.join(folder, "day2", "notes.txt"), "second day\n");
    await alice.getByTestId("upload-folder").setInputFiles(folder);
    await alice.locator("tr[data-key='labA/inputs/session1/trial.csv']").waitFor();
    await alice.locator("tr[data-key='labA/inputs/session1/day2/notes.txt']").waitFor();

    await alice.locator("tr[data-key='labA/inputs/big.bin']").getByTestId("delete-input").click();
    await alice.locator("tr[data-key='labA/inputs/big.bin']").getByTestId("delete-input-confirm").click();
    await alice.locator("tr[data-key='labA/inputs/big.bin']").waitFor({ state: "detached" });
    await shot(alice, "inputs");
  });

  it("uploads, views and edits a config, checking __duration__ before saving", async () => {
    await alice.getByTestId("tab-configs").click();
    await alice.getByTestId("upload-configs").setInputFiles(CONFIG);
    await alice.locator("tr[data-key='labA/configs/config.yaml'] a").click();
    const editor = alice.getByTestId("config-text");
    await alice.waitForFunction(() =>
      (globalThis as unknown as { document: { querySelector(s: string): { value?: string } | null } }).document
        .querySelector("[data-testid=config-text]")
        ?.value?.includes("n_components: 2"),
    );
    const original = await editor.inputValue();
    await editor.fill(original.replace("__duration__: 10", "__duration__: -5"));
    await alice.getByTestId("config-problems").getByText("__duration__ must be between 1").waitFor();
    expect(await alice.getByTestId("save-config").isDisabled()).toBe(true);
    await editor.fill(original.replace("n_components: 2", "n_components: 2\nlabel: edited"));
    await alice.getByTestId("save-config").click();
    await alice.getByText(/^Saved /).waitFor();
    expect((await text(PCA, "labA/configs/config.yaml")).toString()).toContain("label: edited");
    // A second config whose run time the $10 budget cannot cover (60 min at $36/h).
    await alice.getByTestId("new-config").click();
    await alice.getByTestId("config-name").fill("long.yaml");
    await alice.locator("input[name=__duration__]").fill("60");
    await alice.getByTestId("config-extra").fill("n_components: 2\n");
    await alice.getByTestId("create-config").click();
    await alice.locator("tr[data-key='labA/configs/long.yaml']").waitFor();
    expect((await text(PCA, "labA/configs/long.yaml")).toString()).toMatch(/n_components: 2\n__duration__: 60\n/);
    await shot(alice, "configs");
  });

  it("submits with the projected cost and the remaining budget, then follows the job live to SUCCESS and notifies", async () => {
    await alice.getByTestId("tab-submit").click();
    await alice.locator("input[value='labA/inputs/data.csv']").check();
    await alice.getByTestId("submit-config").selectOption("labA/configs/config.yaml");
    expect(await alice.getByTestId("submit-instance-type").locator("option").allTextContents()).toEqual([
      "t3.micro — $36.00/h (default)",
      "t3.small — $72.00/h",
    ]);
    // $36/h × 1 IAE × 10 min; nothing spent yet of the $10 MAXCOST.
    await eventually(() => alice.getByTestId("projected-cost").textContent(), "$6.00");
    expect(await alice.getByTestId("remaining-budget").textContent()).toBe("$10.00");
    await shot(alice, "submit");
    await alice.getByTestId("submit-job").click();
    await alice.waitForURL(/\/jobs\/job__dash-pca_/);
    firstJob = decodeURIComponent(alice.url().split("/jobs/")[1]);
    await alice.getByTestId("datasets-table").waitFor({ timeout: 30_000 });
    await alice.getByTestId("phase").getByText("succeeded").waitFor({ timeout: JOB_MS });
    expect(await alice.locator("[data-testid=datasets-table] [data-testid=dataset-status]").allTextContents()).toEqual([
      "SUCCESS",
    ]);
    expect(await alice.getByTestId("certificate").textContent()).toContain("STEP 4/4 (Initialize Processing): DONE");
    // The analysis' own output, from the dataset's status file.
    expect(await alice.getByTestId("dataset-output").textContent()).toContain("----PCA DONE----");
    const notes =
      (await alice.evaluate(
        () => (globalThis as unknown as { __notifications: { title: string }[] }).__notifications,
      )) ?? [];
    expect(notes.map((n) => n.title)).toEqual([`NeuroCAAS job ${firstJob.replace(`job__${PCA}_`, "")}: succeeded`]);
  });

  it("previews the plot and JSON, downloads a result byte for byte and a folder as a zip, deletes a result", async () => {
    const prefix = `labA/results/${firstJob}/process_results/`;
    await alice.locator(`li[data-key='${prefix}data_explained_variance.svg'] [data-testid=result-file]`).click();
    const img = alice.getByTestId("preview-image");
    await img.waitFor();
    await eventually(
      () =>
        img.evaluate(
          (i) =>
            (i as unknown as { complete: boolean; naturalWidth: number }).complete &&
            (i as unknown as { naturalWidth: number }).naturalWidth > 0,
        ),
      true,
    );
    await shot(alice, "job");

    await alice.locator(`li[data-key='${prefix}data_pca_components.json'] [data-testid=result-file]`).click();
    const stored = await text(PCA, `${prefix}data_pca_components.json`);
    await eventually(
      async () => JSON.parse((await alice.getByTestId("preview-text").textContent()) ?? "null"),
      JSON.parse(stored.toString()),
    );

    const [download] = await Promise.all([
      alice.waitForEvent("download"),
      alice.locator(`li[data-key='${prefix}data_pca_components.json'] [data-testid=download-file]`).click(),
    ]);
    expect(download.suggestedFilename()).toBe("data_pca_components.json");
    expect(Buffer.compare(await fsp.readFile((await download.path())!), stored)).toBe(0);

    const [zip] = await Promise.all([
      alice.waitForEvent("download"),
      alice.locator(`li[data-key='${prefix}'] summary [data-testid=download-folder]`).click(),
    ]);
    const entries = unzipSync(new Uint8Array(await fsp.readFile((await zip.path())!)));
    expect(Object.keys(entries)).toEqual(
      expect.arrayContaining(["data_explained_variance.svg", "data_pca_components.json", "end.txt"]),
    );
    expect(
      Buffer.compare(
        Buffer.from(entries["data_explained_variance.svg"]),
        await text(PCA, `${prefix}data_explained_variance.svg`),
      ),
    ).toBe(0);

    await alice.locator(`li[data-key='${prefix}update.txt'] [data-testid=delete-result]`).click();
    await alice.locator(`li[data-key='${prefix}update.txt'] [data-testid=delete-result-confirm]`).click();
    await alice.locator(`li[data-key='${prefix}update.txt']`).waitFor({ state: "detached" });
  });

  it("shows the group's spend, remaining budget and the job's cost, as the platform recorded them", async () => {
    await alice.getByTestId("tab-spend").click();
    await alice.getByTestId("spend").waitFor();
    const summary = parseSpendSummary((await text(PCA, spendSummaryKey("labA"))).toString())!;
    expect(summary.jobs[firstJob].cost).toBeGreaterThan(0);
    expect(summary.budget).toBe(10);
    const usd = (v: number) => `$${v < 0.01 ? v.toFixed(4) : v.toFixed(2)}`;
    expect(await alice.getByTestId("spent").textContent()).toBe(usd(summary.spent));
    expect(await alice.getByTestId("remaining").textContent()).toBe(usd(summary.remaining!));
    expect(await alice.locator(`[data-testid=job-costs] tr[data-job='${firstJob}'] td`).nth(1).textContent()).toBe(
      usd(summary.jobs[firstJob].cost),
    );
    await shot(alice, "spend");
  });

  it("warns before submitting a job the budget cannot cover, and shows why the job manager rejected it", async () => {
    await alice.getByTestId("tab-submit").click();
    await alice.locator("input[value='labA/inputs/session1/']").check();
    await alice.getByTestId("submit-config").selectOption("labA/configs/long.yaml");
    await eventually(() => alice.getByTestId("projected-cost").textContent(), "$36.00");
    await alice.getByTestId("over-budget").waitFor();
    await alice.getByTestId("submit-job").click();
    await alice.waitForURL(/\/jobs\/job__dash-pca_/);
    const reason = alice.getByTestId("terminate-reason");
    await reason.waitFor({ timeout: 30_000 });
    expect(await reason.textContent()).toContain("Job is not covered by budget. Contact NeuroCAAS administrator.");
    expect(await alice.getByTestId("phase").textContent()).toBe("rejected");
    await shot(alice, "job-rejected");
    await alice.getByTestId("tab-jobs").click();
    const rows = alice.locator("[data-testid=jobs] tbody tr");
    await eventually(() => rows.locator("[data-testid=phase]").allTextContents(), ["rejected", "succeeded"]);
    expect(await rows.first().locator("td.reason").textContent()).toContain("not covered by budget");
    await shot(alice, "jobs");
    // The list is read from storage: a reload shows the same jobs.
    await alice.reload();
    await eventually(
      () => alice.locator("[data-testid=jobs] tbody tr [data-testid=phase]").allTextContents(),
      ["rejected", "succeeded"],
    );
  });

  it("re-runs a job with the same inputs and config", async () => {
    await alice.goto(`${dashboard}#/${PCA}/labA/jobs/${firstJob}`);
    await alice.getByTestId("rerun").click();
    await alice.getByTestId("rerun-note").waitFor();
    expect(await alice.locator("input[value='labA/inputs/data.csv']").isChecked()).toBe(true);
    expect(await alice.getByTestId("submit-config").inputValue()).toBe("labA/configs/config.yaml");
    await eventually(() => alice.getByTestId("projected-cost").textContent(), "$6.00");
    await alice.getByTestId("submit-job").click();
    await alice.waitForURL((u) => u.hash.includes("/jobs/job__") && !u.hash.endsWith(firstJob));
    await alice.getByTestId("phase").getByText("succeeded").waitFor({ timeout: JOB_MS });
    // Following a job re-reads its files only when they changed (If-None-Match → 304).
    expect(notModified.length).toBeGreaterThan(0);
  });

  it("builds a config from the analysis' schema and checks it before saving", async () => {
    await alice.getByTestId("membership").selectOption(`${CHECKED}/labA`);
    await alice.waitForURL(`**/#/${CHECKED}/labA/jobs`);
    await alice.getByTestId("tab-configs").click();
    await alice.getByTestId("new-config").click();
    await alice.getByTestId("create-config").click();
    await alice.getByTestId("config-problems").getByText("n_components is required.").waitFor();
    await alice.locator("input[name=n_components]").fill("0");
    await alice.getByTestId("create-config").click();
    await alice.getByTestId("config-problems").getByText("n_components must be between 1 and ∞; got 0.").waitFor();
    await alice.locator("input[name=n_components]").fill("3");
    await alice.getByTestId("create-config").click();
    await alice.locator("tr[data-key='labA/configs/config.yaml']").waitFor();
    expect((await text(CHECKED, "labA/configs/config.yaml")).toString()).toBe("n_components: 3\n");
  });

  it("runs an ensemble: one IAE per member in the cost, one row per member while it runs", async () => {
    await alice.getByTestId("membership").selectOption(`${ENSEMBLE_BUCKET}/labA`);
    await alice.waitForURL(`**/#/${ENSEMBLE_BUCKET}/labA/jobs`);
    await alice.getByTestId("tab-inputs").click();
    await alice.getByTestId("upload-files").setInputFiles(DATA);
    await alice.locator("tr[data-key='labA/inputs/data.csv']").waitFor();
    await alice.getByTestId("tab-configs").click();
    await alice.getByTestId("new-config").click();
    await alice.getByTestId("config-name").fill("ensemble.json");
    await alice.locator("input[name=__duration__]").fill("10");
    await alice.getByTestId("config-extra").fill("ensemble_size: 2\nmode: train\nn_components: 2\n");
    await alice.getByTestId("create-config").click();
    await alice.locator("tr[data-key='labA/configs/ensemble.json']").waitFor();
    await alice.getByTestId("tab-submit").click();
    await alice.locator("input[value='labA/inputs/data.csv']").check();
    await alice.getByTestId("submit-config").selectOption("labA/configs/ensemble.json");
    // $36/h × 2 members × 10 min.
    await eventually(() => alice.getByTestId("projected-cost").textContent(), "$12.00");
    await alice.getByTestId("submit-job").click();
    // The job folder is named after the analysis, not the bucket.
    await alice.waitForURL(new RegExp(`/${ENSEMBLE_BUCKET}/labA/jobs/job__${ENSEMBLE}_`));
    await alice.getByTestId("phase").getByText("succeeded").waitFor({ timeout: JOB_MS });
    expect(await alice.locator("[data-testid=datasets-table] tbody td.name").allTextContents()).toEqual([
      "labA/inputs/data.csv (inst1)",
      "labA/inputs/data.csv (inst2)",
    ]);
    expect(await alice.locator("[data-testid=datasets-table] [data-testid=dataset-status]").allTextContents()).toEqual([
      "SUCCESS",
      "SUCCESS",
    ]);
    await alice.getByTestId("membership").selectOption(`${PCA}/labA`);
    await alice.waitForURL(`**/#/${PCA}/labA/jobs`);
  });

  it("signs in through Cognito (hosted login with PKCE, identity pool) and takes each group's own role", async () => {
    // AWS is out of reach: the hosted login, its token endpoint and the identity pool are played
    // by routes; the credentials they hand out are alice's local key, so S3 calls really run.
    const key = keyOfProfile(local.ready.credentialsFile!, "alice");
    const login = "https://login.neurocaas.test";
    const roleOf = (group: string) => `arn:aws:iam::000000000000:role/neurocaas-dashboard-${PCA}-${group}`;
    const page = await newPage();
    const seen: {
      authorize?: URL;
      token?: URLSearchParams;
      credentials: { role: string; logins: Record<string, string> }[];
      logout?: URL;
    } = { credentials: [] };
    const idToken = [
      "e30",
      Buffer.from(
        JSON.stringify({
          "cognito:username": "alice",
          "cognito:groups": [`${PCA}.labA`, `${PCA}.labC`],
          "cognito:roles": [roleOf("labA"), roleOf("labC")],
          exp: 4102444800,
        }),
      ).toString("base64url"),
      "sig",
    ].join(".");
    // The hosted login sends the browser back (a page, not a 302: routes see no redirected requests).
    const back = (to: string) =>
      `<!doctype html><title>login</title><script>location.replace(${JSON.stringify(to)})</script>`;
    // The local page allows requests to itself only; on AWS its CSP names Cognito. Drop it here.
    await page.route(
      (u) => u.pathname === "/_dashboard/",
      async (route) => {
        const res = await route.fetch();
        const headers = { ...res.headers() };
        delete headers["content-security-policy"];
        await route.fulfill({ response: res, headers });
      },
    );
    await page.route("**/_dashboard/config.json", async (route) => {
      const config = await (await route.fetch()).json();
      config.signIn.cognito = {
        region: "us-east-1",
        userPoolId: "us-east-1_test",
        clientId: "client1",
        domain: login,
        identityPoolId: "us-east-1:pool",
        redirectUri: dashboard,
        roles: ["labA", "labB", "labC"].map((group) => ({ bucket: PCA, group, roleArn: roleOf(group) })),
      };
      await route.fulfill({ json: config });
    });
    await page.route(`${login}/**`, async (route) => {
      const url = new URL(route.request().url());
      if (url.pathname === "/oauth2/authorize") {
        seen.authorize = url;
        return route.fulfill({
          contentType: "text/html",
          body: back(`${dashboard}?code=CODE1&state=${url.searchParams.get("state")}`),
        });
      }
      if (url.pathname === "/oauth2/token") {
        seen.token = new URLSearchParams(route.request().postData() ?? "");
        return route.fulfill({
          json: { id_token: idToken, access_token: "a", token_type: "Bearer", expires_in: 3600 },
          headers: { "Access-Control-Allow-Origin": "*" },
        });
      }
      seen.logout = url;
      return route.fulfill({ contentType: "text/html", body: back(dashboard) });
    });
    await page.route("https://cognito-identity.us-east-1.amazonaws.com/**", async (route) => {
      const cors = {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Headers": "*",
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Expose-Headers": "*",
      };
      if (route.request().method() === "OPTIONS") return route.fulfill({ status: 200, headers: cors });
      const target = route.request().headers()["x-amz-target"];
      const body = route.request().postDataJSON() as { CustomRoleArn?: string; Logins: Record<string, string> };
      if (target === "AWSCognitoIdentityService.GetId")
        return route.fulfill({
          headers: { ...cors, "Content-Type": "application/x-amz-json-1.1" },
          body: JSON.stringify({ IdentityId: "us-east-1:alice" }),
        });
      seen.credentials.push({ role: body.CustomRoleArn ?? "", logins: body.Logins });
      return route.fulfill({
        headers: { ...cors, "Content-Type": "application/x-amz-json-1.1" },
        body: JSON.stringify({
          IdentityId: "us-east-1:alice",
          Credentials: { AccessKeyId: key.accessKeyId, SecretKey: key.secretAccessKey, Expiration: 4102444800 },
        }),
      });
    });

    await page.goto(dashboard);
    await page.getByRole("button", { name: "Sign in with your NeuroCAAS account" }).click();
    await page.getByTestId("membership").waitFor();
    expect(await page.getByTestId("who").textContent()).toBe("alice");
    expect(await page.getByTestId("membership").locator("option").allTextContents()).toEqual([
      `${PCA} / labA`,
      `${PCA} / labC`,
    ]);
    // PKCE: the verifier sent with the code hashes to the challenge sent to the login page.
    const verifier = seen.token!.get("code_verifier")!;
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    expect(seen.authorize!.searchParams.get("code_challenge")).toBe(challenge);
    expect(Object.fromEntries(seen.token!)).toMatchObject({
      grant_type: "authorization_code",
      code: "CODE1",
      client_id: "client1",
      redirect_uri: dashboard,
    });
    expect(seen.credentials).toEqual([
      { role: roleOf("labA"), logins: { "cognito-idp.us-east-1.amazonaws.com/us-east-1_test": idToken } },
    ]);
    await page
      .getByText(/No jobs yet|submit one/)
      .or(page.locator("[data-testid=jobs] tbody tr"))
      .first()
      .waitFor();

    await page.getByTestId("membership").selectOption(`${PCA}/labC`);
    await page.waitForURL(`**/#/${PCA}/labC/jobs`);
    await eventually(async () => seen.credentials.map((c) => c.role), [roleOf("labA"), roleOf("labC")]);
    await page.getByText("No jobs yet: submit one.").waitFor();

    await page.getByTestId("sign-out").click();
    await page.getByRole("button", { name: "Sign in with your NeuroCAAS account" }).waitFor();
    expect(Object.fromEntries(seen.logout!.searchParams)).toEqual({ client_id: "client1", logout_uri: dashboard });
  });

  it("shows a user of another group none of labA's jobs, even when asked for them by URL", async () => {
    const bob = await newPage();
    await signIn(bob, "bob");
    expect(await bob.getByTestId("membership").locator("option").allTextContents()).toEqual([`${PCA} / labB`]);
    await bob.getByText("No jobs yet: submit one.").waitFor();
    await bob.goto(`${dashboard}#/${PCA}/labA/jobs/${firstJob}`);
    await bob.waitForURL(`**/#/${PCA}/labB/jobs`);
    await bob.getByText("No jobs yet: submit one.").waitFor();
    expect(await bob.content()).not.toContain(firstJob);
    // What the page never asks for, bob's key cannot get either.
    const key = keyOfProfile(local.ready.credentialsFile!, "bob");
    const asBob = createLocalS3Client({ endpoint: local.ready.endpoint, credentials: key });
    await expect(asBob.send(new ListObjectsV2Command({ Bucket: PCA, Prefix: "labA/results/" }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    await expect(asBob.send(new GetObjectCommand({ Bucket: PCA, Key: spendSummaryKey("labA") }))).rejects.toMatchObject(
      { $metadata: { httpStatusCode: 403 } },
    );
    asBob.destroy();
  });
});
