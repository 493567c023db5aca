/**
 * bin/neurocaas runs an esbuild bundle of the CLI (scripts/build-cli.mjs) instead of compiling the
 * TypeScript with tsx on every start. A developer who edits the CLI must never get the old code:
 * a copy of the checkout (sources copied, packages linked) shows the bundle built on first use,
 * rebuilt after an edit, the TypeScript run when the edit does not compile, and NEUROCAAS_TSX=1.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, "../..");
const SOURCES = ["bin", "scripts", "cli", "components", "local", "model", "policies", "protocols"];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let checkout: string;
let bundle: string;
let mainTs: string;

function run(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      path.join(checkout, "bin", "neurocaas"),
      [...args],
      { env: { ...process.env, NEUROCAAS_TSX: "", ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Rewrites the program description in the copy's cli/main.ts (its mtime moves past the bundle's). */
function setDescription(text: string): void {
  const src = fs
    .readFileSync(mainTs, "utf8")
    .replace(/\.description\("[^"]*"\)/, `.description(${JSON.stringify(text)})`);
  fs.writeFileSync(mainTs, src);
  const later = new Date(Date.now() + 2000);
  fs.utimesSync(mainTs, later, later);
}

beforeAll(() => {
  checkout = fs.mkdtempSync(path.join(os.tmpdir(), "neurocaas-bin-"));
  for (const dir of SOURCES) fs.cpSync(path.join(REPO, dir), path.join(checkout, dir), { recursive: true });
  for (const file of ["package.json", "tsconfig.json"])
    fs.copyFileSync(path.join(REPO, file), path.join(checkout, file));
  // Packages are linked one by one so the copy's node_modules/.cache is its own.
  fs.mkdirSync(path.join(checkout, "node_modules"));
  for (const entry of fs.readdirSync(path.join(REPO, "node_modules"))) {
    if (entry !== ".cache")
      fs.symlinkSync(path.join(REPO, "node_modules", entry), path.join(checkout, "node_modules", entry));
  }
  bundle = path.join(checkout, "node_modules", ".cache", "neurocaas", "cli.cjs");
  mainTs = path.join(checkout, "cli", "main.ts");
});
afterAll(() => fs.rmSync(checkout, { recursive: true, force: true }));

it("builds the bundle on first use and runs it", async () => {
  expect(fs.existsSync(bundle)).toBe(false);
  const r = await run(["--help"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("NeuroCAAS: Neuroscience Cloud Analysis As a Service");
  expect(fs.readFileSync(bundle, "utf8")).toContain("NeuroCAAS: Neuroscience Cloud Analysis As a Service");
  // Every project file the bundle was built from is one bin/neurocaas watches.
  const inputs = fs
    .readFileSync(path.join(path.dirname(bundle), "inputs.txt"), "utf8")
    .trim()
    .split("\n");
  expect(inputs).toEqual(expect.arrayContaining(["cli/main.ts", "components/project-root.ts", "tsconfig.json"]));
  for (const f of inputs) expect(fs.existsSync(path.join(checkout, f))).toBe(true);
});

it("runs an edited CLI at once: the stale bundle is rebuilt", async () => {
  setDescription("Edited description one");
  const r = await run(["--help"]);
  expect(r.stdout).toContain("Edited description one");
  expect(fs.readFileSync(bundle, "utf8")).toContain("Edited description one");
});

it("runs the TypeScript (and shows the compile error) when the edit does not build", async () => {
  const good = fs.readFileSync(mainTs, "utf8");
  fs.writeFileSync(mainTs, `${good}\nconst broken: number = ;\n`);
  const later = new Date(Date.now() + 4000);
  fs.utimesSync(mainTs, later, later);
  const r = await run(["--help"]);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain("main.ts");
  expect(fs.readFileSync(bundle, "utf8")).toContain("Edited description one");
  fs.writeFileSync(mainTs, good);
});

it("NEUROCAAS_TSX=1 runs the TypeScript sources, not the bundle", async () => {
  setDescription("Edited description three");
  // Same edit, but tsx: the bundle is not rebuilt.
  const r = await run(["--help"], { NEUROCAAS_TSX: "1" });
  expect(r.stdout).toContain("Edited description three");
  expect(fs.readFileSync(bundle, "utf8")).not.toContain("Edited description three");
});
