import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { PROJECT_ROOT } from "../components/project-root";
import { parseReadyLine, type ReadyLineInfo } from "../local/server";
import type { Credentials } from "../local/keys";
import { stopChild } from "./proc";

/** A `neurocaas local` child process, once it printed its ready line. */
export interface LocalServerProcess {
  readonly child: ChildProcess;
  readonly endpoint: string;
  /** The admin key from the ready line. */
  readonly credentials: Credentials;
  /** The last 64 KiB of its stderr (operator log). */
  stderr(): string;
  stop(): Promise<void>;
}

export interface StartLocalProcessArgs {
  readonly port: number;
  readonly dataDir: string;
  readonly stackFile: string;
  readonly timeoutMs?: number;
}

/**
 * Start `neurocaas local` as one node process (`node --import tsx`, so the pid is the server's
 * own and /proc/<pid>/status measures it, not a launcher).
 */
export async function startLocalProcess(args: StartLocalProcessArgs): Promise<LocalServerProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(PROJECT_ROOT, "cli", "main.ts"),
      "local",
      "--port",
      String(args.port),
      "--data-dir",
      args.dataDir,
      "--stack-file",
      args.stackFile,
      "--quiet",
    ],
    { cwd: PROJECT_ROOT, env: { ...process.env, NODE_NO_WARNINGS: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let err = "";
  child.stderr?.on("data", (c: Buffer) => (err = (err + c.toString("utf8")).slice(-65536)));
  const ready = await new Promise<ReadyLineInfo>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () =>
        fail(
          new Error(
            `neurocaas local printed no ready line within ${args.timeoutMs ?? 120_000} ms; stderr: ${err.slice(-1000)}`,
          ),
        ),
      args.timeoutMs ?? 120_000,
    );
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(e);
    };
    child.once("exit", (code, signal) =>
      fail(new Error(`neurocaas local exited (${code ?? signal}) before it was ready; stderr: ${err.slice(-1500)}`)),
    );
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString("utf8");
      for (const line of out.split("\n")) {
        const info = parseReadyLine(line);
        if (info !== undefined) {
          clearTimeout(timer);
          child.removeAllListeners("exit");
          resolve(info);
          return;
        }
      }
    });
  });
  return {
    child,
    endpoint: ready.endpoint,
    credentials: ready.credentials,
    stderr: () => err,
    stop: () => stopChild(child, 30_000),
  };
}
