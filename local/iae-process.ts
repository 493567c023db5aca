import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { iaeEnvironment } from "./iae-environment";
import { isWithin, planSandbox, sandboxArgv, type IaeConfinement } from "./iae-sandbox";
import { readAllProcStats } from "./procfs";

/** How one local IAE process is started. */
export interface IaeProcessArgs {
  /** The filled COMMAND, run through bash as SSM's AWS-RunShellScript does. */
  readonly command: string;
  /** The IAE's own directory; also its HOME, so `~/.neurocaas_contrib_storageloc.json` is per IAE. */
  readonly sandbox: string;
  /**
   * Where the command's stdout.txt and stderr.txt go: outside the sandbox (and out of the IAE's
   * sight), so an analysis cannot swap them for links to files the server would then upload.
   */
  readonly outputDir: string;
  readonly cwd: string;
  /** What the server gives the IAE (AWS endpoint, credentials...); see iaeEnvironment for the rest. */
  readonly env: Readonly<Record<string, string>>;
  /** Prepended to PATH (the directory holding `neurocaas`). */
  readonly pathPrefix: readonly string[];
  /** A bubblewrap sandbox (own PID namespace and file-system view) or a plain process group. */
  readonly confinement: IaeConfinement;
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

const STDOUT_FILE = "stdout.txt";
const STDERR_FILE = "stderr.txt";
/** The IAE's TMPDIR, in its sandbox (tsx keeps its cache there; nothing is shared between IAEs). */
const TMP_DIR = "tmp";
/** Mounted at the working directory when the blueprint's one (e.g. `/home/ubuntu`) is not visible in the sandbox. */
const PRIVATE_WORKDIR = "workdir";

/** File descriptor on which bubblewrap reports the host PID of the sandbox's PID 1. */
const INFO_FD = 3;

interface Launch {
  readonly file: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly sandboxed: boolean;
}

/**
 * A running IAE. In a sandbox (bubblewrap) it has its own PID namespace whose PID 1 runs the
 * command: when the command ends, or the IAE is stopped, every process it started dies with the
 * namespace — `setsid` and double-forked daemons included. Without one it is a bash process in its
 * own process group, and stopping it stops the group.
 */
export class IaeProcess {
  readonly exited: Promise<IaeExit>;
  private readonly child: ChildProcess;
  private readonly sandboxed: boolean;
  /** Host PID of the namespace's PID 1 (sandbox only), once bubblewrap has reported it. */
  private readonly namespaceInit: Promise<number | undefined>;
  private initPid?: number;
  private timedOut = false;
  private stopped = false;
  private done = false;
  private stopRequested = false;
  private killDeadline = 0;
  private timer?: NodeJS.Timeout;
  private killTimer?: NodeJS.Timeout;

  private constructor(
    private readonly args: IaeProcessArgs,
    launch: Launch,
    stdoutPath: string,
    stderrPath: string,
  ) {
    const out = createWriteStream(stdoutPath);
    const err = createWriteStream(stderrPath);
    this.sandboxed = launch.sandboxed;
    this.child = spawn(launch.file, launch.argv, {
      cwd: launch.cwd,
      env: launch.env,
      detached: true,
      stdio: launch.sandboxed ? ["ignore", "pipe", "pipe", "pipe"] : ["ignore", "pipe", "pipe"],
    });
    this.namespaceInit = launch.sandboxed
      ? readChildPid(this.child.stdio[INFO_FD] as Readable)
      : Promise.resolve(undefined);
    void this.namespaceInit.then((pid) => (this.initPid = pid));
    this.child.stdout!.pipe(out);
    this.child.stderr!.pipe(err);
    this.exited = new Promise<IaeExit>((resolve) => {
      let spawnError: Error | undefined;
      this.child.once("error", (e) => {
        spawnError = e;
        err.write(`failed to start the IAE command: ${e.message}\n`);
      });
      // When the command ends the IAE shuts down: background processes it left behind go too
      // (they would otherwise hold the output pipes open). In a sandbox the kernel has already
      // killed them with the namespace.
      // After a stop request the IAE keeps its grace period (the SIGKILL timer) so the
      // analysis' own shutdown handling (e.g. log-command recording the interruption) can finish.
      this.child.once("exit", () => {
        if (!this.stopRequested) this.signalGroup("SIGKILL");
      });
      this.child.once("close", (code, signal) => {
        clearTimeout(this.timer);
        // Processes of a stopped process group that detached from its output may still be
        // running: give them what is left of the grace period, then kill the group, before
        // reporting the exit. (A sandbox's PID 1 does this waiting inside the namespace.)
        const reaped = this.stopRequested && !this.sandboxed ? this.awaitGroupGone() : Promise.resolve();
        void reaped.then(() => {
          this.done = true;
          clearTimeout(this.killTimer);
          const finish = () =>
            resolve({
              code: spawnError ? 127 : code,
              signal,
              timedOut: this.timedOut,
              stopped: this.stopped,
              stdoutPath,
              stderrPath,
            });
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
    const tmpdir = path.join(args.sandbox, TMP_DIR);
    await fsp.mkdir(tmpdir, { recursive: true });
    await fsp.mkdir(args.outputDir, { recursive: true });
    const env = iaeEnvironment({ given: args.env, home: args.sandbox, tmpdir, pathPrefix: args.pathPrefix });
    let launch: Launch;
    if (args.confinement.kind === "sandbox") {
      // Only the sandbox is created on the host; a working directory elsewhere that the IAE
      // cannot see gets a private one (on EC2 it would be part of the machine's disk).
      if (isWithin(path.resolve(args.cwd), path.resolve(args.sandbox))) await fsp.mkdir(args.cwd, { recursive: true });
      const privateWorkdir = path.join(args.sandbox, PRIVATE_WORKDIR);
      const plan = planSandbox({ sandbox: args.sandbox, cwd: args.cwd, view: args.confinement.view, privateWorkdir });
      if (plan.privateCwd) await fsp.mkdir(privateWorkdir, { recursive: true });
      launch = {
        file: args.confinement.bwrap,
        argv: sandboxArgv(plan, args.command, INFO_FD),
        cwd: args.sandbox,
        env,
        sandboxed: true,
      };
    } else {
      await fsp.mkdir(args.cwd, { recursive: true });
      launch = { file: "/bin/bash", argv: ["-c", args.command], cwd: args.cwd, env, sandboxed: false };
    }
    return new IaeProcess(args, launch, path.join(args.outputDir, STDOUT_FILE), path.join(args.outputDir, STDERR_FILE));
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

  /** SIGTERM to every process of the IAE, SIGKILL to all of them after the grace period. */
  private terminate(): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    const grace = this.args.killGraceMs ?? 3000;
    this.killDeadline = Date.now() + grace;
    // The namespace's PID 1 passes SIGTERM on to every process in it (bubblewrap itself would
    // die of it and take the namespace with it at once, without a grace period).
    if (this.sandboxed)
      void this.namespaceInit.then((pid) => (pid !== undefined && !this.done ? signalPid(pid, "SIGTERM") : undefined));
    else this.signalGroup("SIGTERM");
    this.killTimer = setTimeout(() => {
      // PID 1 of a namespace takes every process in it along when it dies.
      if (this.initPid !== undefined && !this.done) signalPid(this.initPid, "SIGKILL");
      this.signalGroup("SIGKILL");
    }, grace);
  }

  /** Poll until no live process is left in the group; SIGKILL whatever remains at the deadline. */
  private async awaitGroupGone(): Promise<void> {
    const pgid = this.child.pid;
    if (pgid === undefined) return;
    while (Date.now() < this.killDeadline && liveGroupMembers(pgid) > 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.signalGroup("SIGKILL");
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.child.pid !== undefined) signalPid(-this.child.pid, signal);
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** bubblewrap's `--info-fd` report: `{"child-pid": N, ...}` (the rest of the stream is ignored). */
async function readChildPid(stream: Readable): Promise<number | undefined> {
  let text = "";
  try {
    for await (const chunk of stream) {
      text += String(chunk);
      const pid = childPidOf(text);
      if (pid !== undefined) return pid;
    }
  } catch {
    // No report (bubblewrap failed before starting the sandbox).
  }
  return undefined;
}

function childPidOf(text: string): number | undefined {
  try {
    const pid = (JSON.parse(text) as { "child-pid"?: unknown })["child-pid"];
    return typeof pid === "number" && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Processes of a process group that are alive (zombies excluded: they may never be reaped here). */
function liveGroupMembers(pgid: number): number {
  return readAllProcStats().filter((p) => p.pgrp === pgid && p.state !== "Z").length;
}
