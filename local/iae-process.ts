import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, promises as fsp } from "node:fs";
import * as path from "node:path";

/** How one local IAE process is started. */
export interface IaeProcessArgs {
  /** The filled COMMAND, run through bash as SSM's AWS-RunShellScript does. */
  readonly command: string;
  /** The IAE's own directory; also its HOME, so `~/.neurocaas_contrib_storageloc.json` is per IAE. */
  readonly sandbox: string;
  readonly cwd: string;
  /** Extra environment (AWS endpoint, credentials...); inherited AWS_* variables are dropped. */
  readonly env: Readonly<Record<string, string>>;
  /** Prepended to PATH (the directory holding `neurocaas`). */
  readonly pathPrefix: readonly string[];
  /** Kill the process tree after this many milliseconds (undefined: no limit). */
  readonly timeLimitMs?: number;
  /** Delay between SIGTERM and SIGKILL when stopping. */
  readonly killGraceMs?: number;
}

export interface IaeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The time limit was reached and the process tree was killed. */
  readonly timedOut: boolean;
  /** `stop()` was called (local server shutting down). */
  readonly stopped: boolean;
  readonly stdoutPath: string;
  readonly stderrPath: string;
}

export const STDOUT_FILE = "stdout.txt";
export const STDERR_FILE = "stderr.txt";

/**
 * A running IAE: a bash process in its own process group, so that stopping it also stops every
 * process the analysis started (no orphans outlive the local server or a test).
 */
export class IaeProcess {
  readonly exited: Promise<IaeExit>;
  private readonly child: ChildProcess;
  private timedOut = false;
  private stopped = false;
  private done = false;
  private stopRequested = false;
  private killDeadline = 0;
  private timer?: NodeJS.Timeout;
  private killTimer?: NodeJS.Timeout;

  private constructor(private readonly args: IaeProcessArgs, stdoutPath: string, stderrPath: string) {
    const out = createWriteStream(stdoutPath);
    const err = createWriteStream(stderrPath);
    // The server's own AWS settings (profile, real credentials) must not leak into an IAE.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_") && k !== "NEUROCAAS_CONFIG"));
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      ...args.env,
      HOME: args.sandbox,
      PATH: [...args.pathPrefix, process.env.PATH ?? "/usr/bin:/bin"].join(path.delimiter),
    };
    this.child = spawn("/bin/bash", ["-c", args.command], { cwd: args.cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.pipe(out);
    this.child.stderr!.pipe(err);
    this.exited = new Promise<IaeExit>((resolve) => {
      let spawnError: Error | undefined;
      this.child.once("error", (e) => {
        spawnError = e;
        err.write(`failed to start the IAE command: ${e.message}\n`);
      });
      // When the command ends the IAE shuts down: background processes it left behind go too
      // (they would otherwise hold the output pipes open).
      // After a stop request the group keeps its grace period (the SIGKILL timer) so the
      // analysis' own shutdown handling (e.g. log-command recording the interruption) can finish.
      this.child.once("exit", () => {
        if (!this.stopRequested) this.signalGroup("SIGKILL");
      });
      this.child.once("close", (code, signal) => {
        clearTimeout(this.timer);
        // Processes of a stopped IAE that detached from its output may still be running: give
        // them what is left of the grace period, then kill the group, before reporting the exit.
        const reaped = this.stopRequested ? this.awaitGroupGone() : Promise.resolve();
        void reaped.then(() => {
          this.done = true;
          clearTimeout(this.killTimer);
          const finish = () => resolve({ code: spawnError ? 127 : code, signal, timedOut: this.timedOut, stopped: this.stopped, stdoutPath, stderrPath });
          let pending = 2;
          const closeOne = () => (--pending === 0 ? finish() : undefined);
          out.end(closeOne);
          err.end(closeOne);
        });
      });
    });
    if (args.timeLimitMs !== undefined) {
      this.timer = setTimeout(() => {
        this.timedOut = true;
        this.terminate();
      }, args.timeLimitMs);
    }
  }

  static async start(args: IaeProcessArgs): Promise<IaeProcess> {
    await fsp.mkdir(args.sandbox, { recursive: true });
    await fsp.mkdir(args.cwd, { recursive: true });
    return new IaeProcess(args, path.join(args.sandbox, STDOUT_FILE), path.join(args.sandbox, STDERR_FILE));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Stop the IAE (server shutdown); resolves when it has exited. */
  async stop(): Promise<IaeExit> {
    if (!this.done) {
      this.stopped = true;
      this.terminate();
    }
    return this.exited;
  }

  private terminate(): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    this.killDeadline = Date.now() + (this.args.killGraceMs ?? 3000);
    this.signalGroup("SIGTERM");
    this.killTimer = setTimeout(() => this.signalGroup("SIGKILL"), this.args.killGraceMs ?? 3000);
  }

  /** Poll until no live process is left in the group; SIGKILL whatever remains at the deadline. */
  private async awaitGroupGone(): Promise<void> {
    const pgid = this.child.pid;
    if (pgid === undefined) return;
    while (Date.now() < this.killDeadline && (await liveGroupMembers(pgid)) > 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.signalGroup("SIGKILL");
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group is already gone.
    }
  }
}

/** Processes of a process group that are alive (zombies excluded: they may never be reaped here). */
export async function liveGroupMembers(pgid: number): Promise<number> {
  let count = 0;
  const entries = await fsp.readdir("/proc").catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fsp.readFile(`/proc/${entry}/stat`, "utf8").catch(() => undefined);
    if (stat === undefined) continue;
    // Fields after "(comm)": state, ppid, pgrp, ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z") count++;
  }
  return count;
}
