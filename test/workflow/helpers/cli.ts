import { spawn } from "node:child_process";
import * as path from "node:path";
import type { LocalEndpoint } from "../../../local/s3-server";
import { runCliInProcess, withoutHostAws, type CliRun } from "../../support/cli-in-process";

export const REPO_ROOT = path.resolve(__dirname, "../../..");
export const BIN_DIR = path.join(REPO_ROOT, "bin");
export const NEUROCAAS = path.join(BIN_DIR, "neurocaas");

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Environment of a local IAE: its own HOME, `neurocaas` on PATH, the SDK pointed at a local endpoint and its key. */
export function iaeEnv(home: string, server?: LocalEndpoint): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));
  return {
    ...base,
    HOME: home,
    PATH: `${BIN_DIR}${path.delimiter}${process.env.PATH ?? ""}`,
    ...(server
      ? {
          AWS_ENDPOINT_URL: server.endpoint,
          AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
          AWS_REGION: "us-east-1",
        }
      : {}),
  };
}

/**
 * Run `neurocaas ARGS...` in the jest process with the IAE's HOME, PATH and AWS settings of `env`
 * (see test/support/cli-in-process.ts); `runCli` starts a real process instead.
 */
export function runCliHere(args: readonly string[], env: NodeJS.ProcessEnv, cwd = REPO_ROOT): Promise<CliRun> {
  // The IAE's AWS_* variables replace the host's, as iaeEnv does for a subprocess.
  const aws = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("AWS_")));
  return runCliInProcess(args, { env: withoutHostAws({ ...aws, HOME: env.HOME, PATH: env.PATH }), cwd });
}

/** Run `neurocaas ARGS...` as a subprocess. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, cwd = REPO_ROOT): Promise<CliResult> {
  return runProgram(NEUROCAAS, args, env, cwd);
}

export function runProgram(
  program: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd = REPO_ROOT,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
