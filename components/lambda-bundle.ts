import * as esbuild from "esbuild";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { readBuildCache, writeBuildCache } from "./build-cache";
import { PROJECT_ROOT } from "./project-root";

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

const cache = new Map<string, Promise<string>>();

/** A cached bundle is valid only for the same entry, build settings and esbuild version. */
function buildCacheKey(abs: string): string[] {
  const settings = JSON.stringify({
    ...LAMBDA_BUILD_OPTIONS,
    plugins: LAMBDA_BUILD_OPTIONS.plugins.map((p) => p.name),
    transform: inlineConstantKeys.toString(),
  });
  return ["lambda", abs, settings, esbuild.version];
}

/**
 * The AWS SDK's schema modules (`dist-es/schemas/schemas_0.js`) describe every operation of a
 * service with object literals keyed by computed names (`{ [_xN]: _key }` where
 * `const _xN = "xmlName"`). esbuild cannot prove such literals free of side effects, so it keeps
 * all of them: 1 MB of EC2 schemas for the six EC2 calls the handlers make. Inlining those
 * constant keys (`{ "xmlName": _key }`: the same object) lets esbuild drop every schema no
 * command of the bundle uses. Modules not written in that shape pass through unchanged.
 */
export const inlineSdkSchemaKeys: esbuild.Plugin = {
  name: "neurocaas-inline-sdk-schema-keys",
  setup(build) {
    build.onLoad(
      { filter: /[\\/]node_modules[\\/]@aws-sdk[\\/][^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ },
      async (args) => ({
        contents: inlineConstantKeys(await fs.promises.readFile(args.path, "utf8")),
        loader: "js",
      }),
    );
  },
};

/** `[_name]:` property keys replaced by the string literal of a top-level `const _name = "…";`. */
export function inlineConstantKeys(source: string): string {
  const constants = new Map<string, string>();
  for (const m of source.matchAll(/^const (_[A-Za-z0-9_$]*) = ("(?:[^"\\\n]|\\.)*");$/gm)) constants.set(m[1], m[2]);
  return source.replace(/([{,]\s*)\[(_[A-Za-z0-9_$]*)\]:/g, (all, before: string, name: string) => {
    const literal = constants.get(name);
    return literal === undefined ? all : `${before}${literal}:`;
  });
}

/**
 * Build settings of every handler bundle: one minified CommonJS file for node22. Packages are
 * taken from their ES module builds (`module` before `main`) so esbuild can drop what a handler
 * does not use; the AWS SDK ships both builds of the same source.
 */
export const LAMBDA_BUILD_OPTIONS = {
  absWorkingDir: PROJECT_ROOT,
  bundle: true,
  platform: "node",
  target: "node22",
  format: "cjs",
  mainFields: ["module", "main"],
  minify: true,
  legalComments: "none",
  logLevel: "silent",
  plugins: [inlineSdkSchemaKeys],
} as const satisfies esbuild.BuildOptions;

/**
 * Bundle one handler entry (see LAMBDA_BUILD_OPTIONS).
 *
 * The AWS SDK v3 clients are bundled rather than marked external: the Lambda runtime's built-in
 * SDK version drifts independently of ours, and the code deployed should be exactly the code the
 * tests ran against. Bundles are cached by absolute entry path in the process, and on disk
 * (components/build-cache.ts) as long as no input file of the bundle changed size or mtime.
 */
export function bundleHandler(entry: string): Promise<string> {
  const abs = path.resolve(PROJECT_ROOT, entry);
  let pending = cache.get(abs);
  if (pending === undefined) {
    pending = build(abs);
    cache.set(abs, pending);
    // A failed build is not cached: the next call tries again.
    pending.catch(() => cache.delete(abs));
  }
  return pending;
}

async function build(abs: string): Promise<string> {
  const hit = readBuildCache(buildCacheKey(abs));
  if (hit !== undefined) return hit;
  if (!fs.existsSync(abs)) {
    throw new Error(
      `Lambda handler entry ${path.relative(PROJECT_ROOT, abs)} does not exist (expected a module exporting "handler")`,
    );
  }
  const result = await esbuild.build({
    ...LAMBDA_BUILD_OPTIONS,
    plugins: [...LAMBDA_BUILD_OPTIONS.plugins],
    mainFields: [...LAMBDA_BUILD_OPTIONS.mainFields],
    entryPoints: [abs],
    write: false,
    metafile: true,
  });
  const code = result.outputFiles[0].text;
  writeBuildCache(
    buildCacheKey(abs),
    Object.keys(result.metafile.inputs).map((rel) => path.resolve(PROJECT_ROOT, rel)),
    code,
  );
  return code;
}

/** The bundled handler as a Lambda code archive (`index.js`, plus extra files when given). */
export async function handlerArchive(
  entry: string,
  extraFiles: Readonly<Record<string, string>> = {},
): Promise<pulumi.asset.AssetArchive> {
  const assets: Record<string, pulumi.asset.Asset> = {
    [BUNDLE_FILE]: new pulumi.asset.StringAsset(await bundleHandler(entry)),
  };
  for (const [name, text] of Object.entries(extraFiles)) assets[name] = new pulumi.asset.StringAsset(text);
  return new pulumi.asset.AssetArchive(assets);
}
