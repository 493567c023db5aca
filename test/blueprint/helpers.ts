import { execFile } from "node:child_process";
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "../..");
export const FIXTURES = path.resolve(__dirname, "../../../shared/fixtures");
export const LEGACY_DIR = path.join(FIXTURES, "legacy-blueprints");
const BIN = path.join(REPO, "bin", "neurocaas");

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `bin/neurocaas ARGS` in a child process (the plan needs a fresh Pulumi runtime each time). */
export function neurocaas(args: readonly string[], cwd = REPO): Promise<CliRun> {
  return new Promise((resolve) => {
    // NODE_NO_WARNINGS: the AWS SDK's Node-version notice would otherwise pollute stderr.
    const env = { ...process.env, NODE_NO_WARNINGS: "1" };
    execFile(BIN, [...args], { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface PlanJson {
  readonly resources?: readonly { type: string }[];
  readonly violations?: readonly { policy: string; enforcementLevel: string; message?: string }[];
  readonly error?: string;
}
