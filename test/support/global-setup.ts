import { execFileSync } from "node:child_process";
import * as path from "node:path";

/**
 * Builds the CLI bundle bin/neurocaas runs (scripts/build-cli.mjs) once before the suites start:
 * processes spawned in a local IAE's sandbox see the checkout read-only and could not build it.
 */
export default function globalSetup(): void {
  execFileSync(process.execPath, [path.resolve(__dirname, "../../scripts/build-cli.mjs")], { stdio: "inherit" });
}
