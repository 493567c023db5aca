// Bundles the neurocaas CLI (cli/main.ts and the project modules it imports; packages stay in
// node_modules) into node_modules/.cache/neurocaas/cli.cjs for bin/neurocaas: plain JavaScript
// starts without tsx compiling every module (local IAEs each have an empty tsx cache).
// Writes inputs.txt beside it (the project files the bundle was built from, plus tsconfig.json),
// which bin/neurocaas compares with the bundle's time to tell a stale bundle; exits non-zero
// without touching a current bundle when the build fails (bin/neurocaas then runs tsx).
import * as esbuild from "esbuild";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "node_modules", ".cache", "neurocaas");
const bundle = path.join(outDir, "cli.cjs");
const inputsFile = path.join(outDir, "inputs.txt");

// Sources edited after this instant make the bundle stale, even if esbuild had already read them.
const started = new Date();
const tmp = `${bundle}.${process.pid}.tmp`;
fs.mkdirSync(outDir, { recursive: true });
try {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ["cli/main.ts"],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    packages: "external",
    outfile: tmp,
    metafile: true,
    logLevel: "error",
  });
  const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith("node_modules/"));
  fs.writeFileSync(`${inputsFile}.${process.pid}.tmp`, [...inputs, "tsconfig.json", "package.json"].join("\n") + "\n");
  fs.utimesSync(tmp, started, started);
  // inputs.txt first: a reader that sees the new bundle also sees its inputs.
  fs.renameSync(`${inputsFile}.${process.pid}.tmp`, inputsFile);
  fs.renameSync(tmp, bundle);
} catch (err) {
  fs.rmSync(tmp, { force: true });
  fs.rmSync(`${inputsFile}.${process.pid}.tmp`, { force: true });
  if (!(err && typeof err === "object" && "errors" in err)) console.error(err);
  process.exit(1);
}
