import * as fs from "node:fs";

/**
 * The one reader of Linux's /proc in this project: process stat lines (local IAE process groups,
 * the workflow's CPU and memory sampling, a PID's identity across restarts) and the peak RSS of
 * a process (benchmarks). Every reader tolerates processes exiting between listing and reading.
 */

export interface ProcStat {
  readonly pid: number;
  /** Field 3: R, S, D, Z (zombie), T, … */
  readonly state: string;
  readonly ppid: number;
  /** Process group id (field 5). */
  readonly pgrp: number;
  /** utime + stime + cutime + cstime, in clock ticks (includes reaped children). */
  readonly cpuTicks: number;
  /** Start time in clock ticks since boot (field 22): with the pid, identifies one process. */
  readonly startTicks: string;
  /** Resident set size in pages (field 24). */
  readonly rssPages: number;
}

/** Parse one `/proc/{pid}/stat` line; the command name may contain spaces and parentheses. */
export function parseProcStat(line: string): ProcStat {
  const close = line.lastIndexOf(")");
  if (close === -1) throw new Error(`unexpected /proc stat line: ${line.slice(0, 80)}`);
  const pid = Number(line.slice(0, line.indexOf(" ")));
  // Fields after the command name start at field 3 (state).
  const f = line
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const field = (n: number): string => f[n - 3];
  const num = (n: number): number => Number(field(n));
  return {
    pid,
    state: field(3),
    ppid: num(4),
    pgrp: num(5),
    cpuTicks: num(14) + num(15) + num(16) + num(17),
    startTicks: field(22),
    rssPages: num(24),
  };
}

/** One process's stat, or undefined when it does not exist (any more). */
export function readProcStat(pid: number, procDir = "/proc"): ProcStat | undefined {
  try {
    return parseProcStat(fs.readFileSync(`${procDir}/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** Every process's stat (empty where there is no /proc). */
export function readAllProcStats(procDir = "/proc"): ProcStat[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(procDir);
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name), procDir);
    if (stat) out.push(stat);
  }
  return out;
}

/** Peak resident set size (VmHWM) in KiB from the text of /proc/<pid>/status. */
export function parseVmHwmKb(status: string): number | undefined {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) : undefined;
}

/** Peak RSS of a live process in KiB, or undefined when /proc has no such process. */
export function peakRssKb(pid: number, procDir = "/proc"): number | undefined {
  try {
    return parseVmHwmKb(fs.readFileSync(`${procDir}/${pid}/status`, "utf8"));
  } catch {
    return undefined;
  }
}
