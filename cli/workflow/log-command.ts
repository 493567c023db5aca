import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { constants as osConstants } from "node:os";
import { TreeUsageMonitor } from "./proc-usage";
import type { LogSink } from "./log-sinks";
import { findDatasetLine, iaeDatasetLine } from "../../protocols/certificate";
import { buildStatusDoc, type DatasetStatusName } from "../../protocols/dataset-status";

/**
 * `log-command`: run a shell command, stream its output, and about once a second rewrite the
 * dataset status file and the dataset's certificate line with its progress and the CPU and
 * memory use of its process tree. Resolves with the command's exit code (128 + signal number
 * when it was killed by a signal).
 */
export interface LogCommandArgs {
  readonly command: string;
  readonly sink: LogSink;
  /** The DATANAME of the certificate line (the dataset key). */
  readonly dataname: string;
  /** `input` of the status file (the dataset key). */
  readonly input: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Time between status rewrites (default 1000 ms). */
  readonly intervalMs?: number;
  /** Also append the full output here (the status file keeps only the last `maxStdLines`). */
  readonly localLogFile?: string;
  /** Lines kept in the status file's `std` (default 5000; indices stay the real line numbers). */
  readonly maxStdLines?: number;
  /** After the final write, re-check the certificate line this long later (shared certificates). */
  readonly verifyDelayMs?: number;
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
  /** Handle SIGINT/SIGTERM/SIGHUP of this process by stopping the command (default true). */
  readonly forwardSignals?: boolean;
}

export interface LogCommandResult {
  readonly exitCode: number;
  readonly status: DatasetStatusName;
  readonly reason: string;
  /** log-command itself received SIGINT/SIGTERM/SIGHUP (the IAE is being stopped). */
  readonly interrupted: boolean;
}

/**
 * Splits a byte stream into lines; a `\r` inside a line keeps only what follows it (progress bars).
 * `complete` tells a line that ended in a newline from an unterminated last one.
 */
class LineSplitter {
  private partial = "";
  constructor(private readonly onLine: (line: string, complete: boolean) => void) {}
  push(chunk: string): void {
    const parts = (this.partial + chunk).split("\n");
    this.partial = parts.pop() ?? "";
    for (const p of parts) this.onLine(clean(p), true);
  }
  flush(): void {
    if (this.partial) this.onLine(clean(this.partial), false);
    this.partial = "";
  }
}

function clean(line: string): string {
  const noCr = line.replace(/\r+$/, "");
  return noCr.slice(noCr.lastIndexOf("\r") + 1);
}

function signalNumber(signal: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[signal] ?? 0;
}

export async function logCommand(a: LogCommandArgs): Promise<LogCommandResult> {
  const out = a.stdout ?? process.stdout;
  const err = a.stderr ?? process.stderr;
  const interval = a.intervalMs ?? 1000;
  const maxLines = a.maxStdLines ?? 5000;
  const warned = new Set<string>();
  const warn = (what: string, e: unknown): void => {
    if (warned.has(what)) return;
    warned.add(what);
    err.write(
      `neurocaas: could not ${what} (${e instanceof Error ? e.message : String(e)}); the command keeps running\n`,
    );
  };

  let existing: Record<string, unknown> | undefined;
  try {
    existing = await a.sink.readStatus();
  } catch (e) {
    warn("read the status file", e);
  }

  const std = new Map<number, string>();
  let lineNo = 0;
  let lastLine = "";
  let lastStderr = "";
  // Each `std` entry keeps its newline, as the original's readlines() did: tools that join the
  // entries with "" (the original's describe-datastatus) then still show separate lines.
  const addLine = (text: string, fromStderr: boolean, complete: boolean): void => {
    std.set(lineNo++, complete ? `${text}\n` : text);
    if (std.size > maxLines) std.delete(lineNo - maxLines - 1);
    if (text.trim()) {
      lastLine = text;
      if (fromStderr) lastStderr = text;
    }
  };
  const stdObject = (): Record<string, string> =>
    Object.fromEntries([...std.entries()].map(([k, v]) => [String(k), v]));

  if (a.localLogFile) fs.mkdirSync(path.dirname(a.localLogFile), { recursive: true });
  const logFile = a.localLogFile ? fs.createWriteStream(a.localLogFile, { flags: "a" }) : undefined;

  const jobStart = new Date();
  const child = spawn("bash", ["-c", a.command], {
    cwd: a.cwd,
    env: a.env ?? process.env,
    stdio: ["inherit", "pipe", "pipe"],
  });
  const monitor = child.pid !== undefined ? new TreeUsageMonitor(child.pid) : undefined;
  monitor?.sample();

  const outLines = new LineSplitter((l, complete) => addLine(l, false, complete));
  const errLines = new LineSplitter((l, complete) => addLine(l, true, complete));
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (c: string) => {
    out.write(c);
    logFile?.write(c);
    outLines.push(c);
  });
  child.stderr.on("data", (c: string) => {
    err.write(c);
    logFile?.write(c);
    errLines.push(c);
  });

  let interruptedBy: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    interruptedBy ??= sig;
    const pids = monitor?.pids() ?? (child.pid ? [child.pid] : []);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    setTimeout(() => {
      for (const pid of monitor?.pids() ?? []) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }, 5000).unref();
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  if (a.forwardSignals !== false) for (const s of signals) process.on(s, onSignal);

  const writeProgress = async (
    status: DatasetStatusName,
    reason: string,
    exitCode: number | null,
    finish?: Date,
  ): Promise<string> => {
    const usage = monitor?.last;
    const doc = buildStatusDoc(existing, {
      status,
      reason,
      input: a.input,
      exitCode,
      memoryMb: usage?.memoryMb,
      peakMemoryMb: monitor?.peakMemoryMb,
      cpuPercent: usage?.cpuPercent,
      averageCpuPercent: monitor?.averageCpuPercent(),
      jobStart,
      jobFinish: finish,
      std: stdObject(),
    });
    try {
      await a.sink.writeStatus(doc);
    } catch (e) {
      warn(`write the status file ${a.sink.statusLocation}`, e);
    }
    const line = iaeDatasetLine({
      dataname: a.dataname,
      status,
      time: finish ?? new Date(),
      finished: finish !== undefined,
      lastOutput: lastLine,
      cpuPercent: usage?.cpuPercent,
    });
    try {
      await a.sink.upsertCertificateLine(a.dataname, line);
    } catch (e) {
      warn("update the certificate", e);
    }
    return line;
  };

  // Sample usage often (peaks of short commands), write about once a second, never overlapping.
  const sampler = setInterval(() => monitor?.sample(), Math.min(250, interval));
  let running = true;
  let inFlight: Promise<unknown> = writeProgress("IN PROGRESS", "running", null);
  const tick = (): void => {
    if (!running) return;
    inFlight = inFlight.then(() => (running ? writeProgress("IN PROGRESS", "running", null) : undefined));
    void inFlight.then(() => {
      if (running) timer = setTimeout(tick, interval);
    });
  };
  let timer = setTimeout(tick, interval);

  const { code, signal, spawnError } = await new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    spawnError?: Error;
  }>((resolve) => {
    child.on("error", (e) => resolve({ code: null, signal: null, spawnError: e }));
    child.on("close", (c, s) => resolve({ code: c, signal: s }));
    // A background process the command left behind can hold the output pipes open forever:
    // once the command itself has exited, wait briefly for the rest of its output, then stop.
    child.on("exit", (c, s) => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ code: c, signal: s });
      }, 2000).unref();
    });
  });
  running = false;
  clearTimeout(timer);
  clearInterval(sampler);
  if (a.forwardSignals !== false) for (const s of signals) process.off(s, onSignal);
  outLines.flush();
  errLines.flush();
  await new Promise<void>((r) => (logFile ? logFile.end(r) : r()));

  let exitCode: number;
  let reason: string;
  if (spawnError) {
    exitCode = 127;
    reason = `could not start the command: ${spawnError.message}`;
  } else if (signal) {
    exitCode = 128 + signalNumber(signal);
    reason = interruptedBy
      ? `interrupted: log-command received ${interruptedBy} and stopped the command`
      : `killed by signal ${signal}`;
  } else {
    exitCode = code ?? 1;
    reason = `exit code ${exitCode}`;
    if (interruptedBy)
      reason = `interrupted: log-command received ${interruptedBy}; the command exited with code ${exitCode}`;
    else if (exitCode !== 0 && lastStderr) reason = `exit code ${exitCode}: ${lastStderr.trim()}`;
  }
  const status: DatasetStatusName = exitCode === 0 && !interruptedBy ? "SUCCESS" : "FAILED";
  if (status === "FAILED" && exitCode === 0) exitCode = 128 + signalNumber(interruptedBy!);

  await inFlight.catch(() => undefined);
  const finish = new Date();
  const finalLine = await writeProgress(status, reason, exitCode, finish);
  // A stopped IAE has seconds left before SIGKILL: skip the delayed re-check.
  if (!interruptedBy) await verifyFinalLine(a, finalLine, warn);
  return { exitCode, status, reason, interrupted: interruptedBy !== undefined };
}

/** Another IAE's read-modify-write can land just after ours; re-check and restore our final line. */
async function verifyFinalLine(
  a: LogCommandArgs,
  line: string,
  warn: (what: string, e: unknown) => void,
): Promise<void> {
  const delay = a.verifyDelayMs ?? 0;
  if (delay <= 0) return;
  for (let round = 0; round < 3; round++) {
    await new Promise((r) => setTimeout(r, delay));
    try {
      const cert = await a.sink.readCertificate();
      if (cert !== undefined && findDatasetLine(cert, a.dataname, "loose") === line) return;
      await a.sink.upsertCertificateLine(a.dataname, line);
    } catch (e) {
      warn("verify the certificate", e);
      return;
    }
  }
}
