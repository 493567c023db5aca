import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** Lambda runtime of every function of this project (SPEC: nodejs22.x or newer). */
export const LAMBDA_RUNTIME = "nodejs22.x";
/** The bundle's file name inside the archive; the Lambda handler is `index.handler`. */
export const BUNDLE_FILE = "index.js";
export const LAMBDA_HANDLER = "index.handler";

/** Handler entries under `protocols/handlers/`, each exporting `handler`. */
export const HANDLER_ENTRIES = {
  submit: "protocols/handlers/submit.ts",
  monitor: "protocols/handlers/monitor.ts",
  postprocess: "protocols/handlers/postprocess.ts",
  guard: "protocols/handlers/guard.ts",
} as const;
export type HandlerName = keyof typeof HANDLER_ENTRIES;

export const PROJECT_ROOT = path.resolve(__dirname, "..");

const cache = new Map<string, string>();

/** Bundles persist across processes here, validated by the size and mtime of every input. */
const DISK_CACHE_DIR = path.join(os.tmpdir(), "neurocaas-lambda-bundles");

interface DiskEntry {
  readonly inputs: Record<string, [number, number]>;
  readonly code: string;
}

function stamp(file: string): [number, number] | undefined {
  try {
    const st = fs.statSync(file);
    return [st.size, st.mtimeMs];
  } catch {
    return undefined;
  }
}

function diskCacheFile(abs: string): string {
  return path.join(DISK_CACHE_DIR, `${createHash("sha256").update(abs).digest("hex").slice(0, 16)}.json`);
}

function readDiskCache(abs: string): string | undefined {
  try {
    const entry = JSON.parse(fs.readFileSync(diskCacheFile(abs), "utf8")) as DiskEntry;
    for (const [file, [size, mtime]] of Object.entries(entry.inputs)) {
      const now = stamp(file);
      if (now === undefined || now[0] !== size || now[1] !== mtime) return undefined;
    }
    return entry.code;
  } catch {
    return undefined;
  }
}

function writeDiskCache(abs: string, inputs: readonly string[], code: string): void {
  const stamped: Record<string, [number, number]> = {};
  for (const rel of inputs) {
    const file = path.resolve(PROJECT_ROOT, rel);
    const s = stamp(file);
    if (s === undefined) return;
    stamped[file] = s;
  }
  try {
    fs.mkdirSync(DISK_CACHE_DIR, { recursive: true });
    const tmp = `${diskCacheFile(abs)}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ inputs: stamped, code } satisfies DiskEntry));
    fs.renameSync(tmp, diskCacheFile(abs));
  } catch {
    // The cache only saves time; a read-only temp dir must not fail a deployment.
  }
}

/**
 * Bundle one handler entry to a single minified CommonJS file for node22.
 *
 * The AWS SDK v3 clients are bundled rather than marked external: the Lambda runtime's built-in
 * SDK version drifts independently of ours, and the code deployed should be exactly the code the
 * tests ran against. Bundles are cached by absolute entry path in the process, and on disk
 * (temp dir) as long as no input file of the bundle changed size or mtime.
 */
export function bundleHandler(entry: string): string {
  const abs = path.resolve(PROJECT_ROOT, entry);
  const hit = cache.get(abs) ?? readDiskCache(abs);
  if (hit !== undefined) {
    cache.set(abs, hit);
    return hit;
  }
  if (!fs.existsSync(abs)) {
    throw new Error(`Lambda handler entry ${path.relative(PROJECT_ROOT, abs)} does not exist (expected a module exporting "handler")`);
  }
  const result = esbuild.buildSync({
    entryPoints: [abs],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    write: false,
    metafile: true,
    legalComments: "none",
    logLevel: "silent",
  });
  const code = result.outputFiles[0].text;
  cache.set(abs, code);
  writeDiskCache(abs, Object.keys(result.metafile.inputs), code);
  return code;
}

/** The bundled handler as a Lambda code archive (`index.js`, plus extra files when given). */
export function handlerArchive(entry: string, extraFiles: Readonly<Record<string, string>> = {}): pulumi.asset.AssetArchive {
  const assets: Record<string, pulumi.asset.Asset> = { [BUNDLE_FILE]: new pulumi.asset.StringAsset(bundleHandler(entry)) };
  for (const [name, text] of Object.entries(extraFiles)) assets[name] = new pulumi.asset.StringAsset(text);
  return new pulumi.asset.AssetArchive(assets);
}
