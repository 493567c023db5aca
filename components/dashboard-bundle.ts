import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { readBuildCache, writeBuildCache } from "./build-cache";
import { PROJECT_ROOT } from "./project-root";

/** The dashboard's sources: `dashboard/src/main.tsx` and the static files beside it. */
const DASHBOARD_DIR = path.join(PROJECT_ROOT, "dashboard");
const ENTRY = path.join(DASHBOARD_DIR, "src", "main.tsx");
const STATIC_FILES = ["index.html", "style.css", "favicon.svg"] as const;

export interface DashboardFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** Strong validator for conditional requests. */
  readonly etag: string;
}

/** Every file of the built dashboard (config.json aside) by name: index.html, app.js, style.css, … */
export type DashboardFiles = ReadonlyMap<string, DashboardFile>;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

export function contentTypeOf(name: string): string {
  return TYPES[path.extname(name)] ?? "application/octet-stream";
}

function file(name: string, body: Buffer): DashboardFile {
  return {
    body,
    contentType: contentTypeOf(name),
    etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`,
  };
}

/**
 * The single-page app for browsers: ES modules, minified, split so that what only some users or
 * some views need (Cognito sign-in, uploads, config editing, zip downloads) loads on demand.
 * Every script name carries a content hash (`app-{hash}.js`, `chunk-{hash}.js`): caches never serve
 * a stale mix; index.html names the entry and is never cached.
 */
const OUT_DIR = path.join(DASHBOARD_DIR, "dist");
const BUILD_OPTIONS = {
  entryPoints: { app: ENTRY },
  absWorkingDir: PROJECT_ROOT,
  bundle: true,
  splitting: true,
  platform: "browser",
  format: "esm",
  target: ["chrome110", "firefox115", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  write: false,
  outdir: OUT_DIR,
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "silent",
  define: { "process.env.NODE_ENV": '"production"' },
  alias: { "node:crypto": path.join(DASHBOARD_DIR, "src", "shims", "node-crypto.ts") },
} satisfies esbuild.BuildOptions & { write: false };

/** What esbuild wrote: script files by name, and which one is the entry. */
interface Scripts {
  readonly files: ReadonlyMap<string, Buffer>;
  readonly entry: string;
}

function scriptsOf(result: esbuild.BuildResult<typeof BUILD_OPTIONS>): Scripts {
  const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint !== undefined)?.[0];
  if (entry === undefined) throw new Error("dashboard build produced no entry script");
  const files = new Map(result.outputFiles.map((out) => [path.basename(out.path), Buffer.from(out.contents)]));
  const scripts = { files, entry: path.basename(entry) };
  writeBuildCache(
    CACHE_KEY,
    Object.keys(result.metafile.inputs).map((rel) => path.resolve(PROJECT_ROOT, rel)),
    JSON.stringify({ entry: scripts.entry, files: [...files].map(([name, body]) => [name, body.toString("base64")]) }),
  );
  return scripts;
}

/** A cached build is valid only for the same settings and esbuild version (and unchanged inputs). */
const CACHE_KEY = ["dashboard", JSON.stringify(BUILD_OPTIONS), esbuild.version];

function cachedScripts(): Scripts | undefined {
  const hit = readBuildCache(CACHE_KEY);
  if (hit === undefined) return undefined;
  const { entry, files } = JSON.parse(hit) as { entry: string; files: [string, string][] };
  return { entry, files: new Map(files.map(([name, body]) => [name, Buffer.from(body, "base64")])) };
}

function collect(scripts: Scripts): DashboardFiles {
  const files = new Map<string, DashboardFile>();
  for (const [name, body] of scripts.files) files.set(name, file(name, body));
  for (const name of STATIC_FILES) {
    let body = fs.readFileSync(path.join(DASHBOARD_DIR, name));
    if (name === "index.html")
      body = Buffer.from(body.toString("utf8").replace('src="app.js"', `src="${scripts.entry}"`));
    files.set(name, file(name, body));
  }
  return files;
}

let cached: Promise<DashboardFiles> | undefined;

/**
 * The built dashboard (config.json aside), built once per process (local mode serves it) and kept
 * on disk between processes (components/build-cache.ts) while its sources are unchanged.
 */
export function buildDashboard(): Promise<DashboardFiles> {
  if (cached === undefined) {
    const hit = cachedScripts();
    cached = hit ? Promise.resolve(collect(hit)) : esbuild.build(BUILD_OPTIONS).then((r) => collect(scriptsOf(r)));
    cached.catch(() => (cached = undefined));
  }
  return cached;
}

/** The same, synchronously (a Pulumi program declares its bucket objects while it runs). */
export function buildDashboardSync(): DashboardFiles {
  return collect(cachedScripts() ?? scriptsOf(esbuild.buildSync(BUILD_OPTIONS)));
}

/** `config.json` as a served file. */
export function configFile(config: unknown): DashboardFile {
  return file("config.json", Buffer.from(`${JSON.stringify(config, null, 2)}\n`));
}
