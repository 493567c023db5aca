import * as esbuild from "esbuild";
import * as fs from "node:fs";
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

/**
 * Bundle one handler entry to a single minified CommonJS file for node22.
 *
 * The AWS SDK v3 clients are bundled rather than marked external: the Lambda runtime's built-in
 * SDK version drifts independently of ours, and the code deployed should be exactly the code the
 * tests ran against. Bundles are cached by absolute entry path for the life of the process.
 */
export function bundleHandler(entry: string): string {
  const abs = path.resolve(PROJECT_ROOT, entry);
  const hit = cache.get(abs);
  if (hit !== undefined) return hit;
  if (!fs.existsSync(abs)) {
    throw new Error(`Lambda handler entry ${path.relative(PROJECT_ROOT, abs)} does not exist (expected a module exporting "handler")`);
  }
  const result = esbuild.buildSync({
    entryPoints: [abs],
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const code = result.outputFiles[0].text;
  cache.set(abs, code);
  return code;
}

/** The bundled handler as a Lambda code archive (`index.js`, plus extra files when given). */
export function handlerArchive(entry: string, extraFiles: Readonly<Record<string, string>> = {}): pulumi.asset.AssetArchive {
  const assets: Record<string, pulumi.asset.Asset> = { [BUNDLE_FILE]: new pulumi.asset.StringAsset(bundleHandler(entry)) };
  for (const [name, text] of Object.entries(extraFiles)) assets[name] = new pulumi.asset.StringAsset(text);
  return new pulumi.asset.AssetArchive(assets);
}
