import * as esbuild from "esbuild";
import * as path from "node:path";
import { LAMBDA_BUILD_OPTIONS } from "../components/lambda-bundle";
import { PROJECT_ROOT } from "../components/project-root";

/** Package of a bundled input path (`node_modules/@scope/name/...` → `@scope/name`); project files → "(project)". */
export function packageOf(inputPath: string): string {
  const all = [...inputPath.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)];
  return all.length > 0 ? all[all.length - 1][1] : "(project)";
}

/** Output bytes per package, largest first. */
export function bytesByPackage(inputs: Readonly<Record<string, { bytesInOutput: number }>>): [string, number][] {
  const by = new Map<string, number>();
  for (const [file, v] of Object.entries(inputs))
    by.set(packageOf(file), (by.get(packageOf(file)) ?? 0) + v.bytesInOutput);
  return [...by.entries()].sort((a, b) => b[1] - a[1]);
}

/**
 * What a handler bundle is made of, from an esbuild metafile of the build settings of
 * components/lambda-bundle.ts (a separate build: bundleHandler returns only the code).
 */
export async function bundleComposition(entry: string): Promise<[string, number][]> {
  const result = await esbuild.build({
    ...LAMBDA_BUILD_OPTIONS,
    plugins: [...LAMBDA_BUILD_OPTIONS.plugins],
    mainFields: [...LAMBDA_BUILD_OPTIONS.mainFields],
    entryPoints: [path.resolve(PROJECT_ROOT, entry)],
    write: false,
    metafile: true,
  });
  const output = Object.values(result.metafile.outputs)[0];
  if (!output) throw new Error(`bundle composition: esbuild produced no output for ${entry}`);
  return bytesByPackage(output.inputs);
}
