import * as fs from "node:fs";
import { execFileSync } from "node:child_process";
import { readAllProcStats, type ProcStat } from "../../local/procfs";

/**
 * CPU and memory use of one process tree, read from /proc (Linux). Machine totals are never
 * reported: only the command's own processes count.
 */

/** The root and all its descendants among `stats`. */
export function processTree<T extends Pick<ProcStat, "pid" | "ppid">>(stats: readonly T[], root: number): T[] {
  const children = new Map<number, T[]>();
  const byPid = new Map<number, T>();
  for (const s of stats) {
    byPid.set(s.pid, s);
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  const out: T[] = [];
  const first = byPid.get(root);
  if (!first) return out;
  const queue = [first];
  const seen = new Set<number>();
  while (queue.length) {
    const s = queue.shift()!;
    if (seen.has(s.pid)) continue;
    seen.add(s.pid);
    out.push(s);
    queue.push(...(children.get(s.pid) ?? []));
  }
  return out;
}

let cachedSysconf: { ticks: number; pageSize: number } | undefined;

function sysconf(): { ticks: number; pageSize: number } {
  if (!cachedSysconf) {
    const get = (name: string, fallback: number): number => {
      try {
        const v = Number(execFileSync("getconf", [name], { encoding: "utf8" }).trim());
        return Number.isFinite(v) && v > 0 ? v : fallback;
      } catch {
        return fallback;
      }
    };
    cachedSysconf = { ticks: get("CLK_TCK", 100), pageSize: get("PAGESIZE", 4096) };
  }
  return cachedSysconf;
}

export interface UsageSample {
  /** Resident memory of the whole tree, MB (10^6 bytes). */
  readonly memoryMb: number;
  /** CPU use since the previous sample, percent of one core (can exceed 100 on several cores). */
  readonly cpuPercent: number;
  readonly processes: number;
}

/** Samples one process tree; keeps the previous CPU reading to compute a rate. */
export class TreeUsageMonitor {
  private prevTicks?: number;
  private prevTime?: number;
  private firstTicks?: number;
  private firstTime?: number;
  peakMemoryMb = 0;
  last?: UsageSample;
  readonly available: boolean;

  constructor(
    private readonly rootPid: number,
    private readonly procDir = "/proc",
  ) {
    this.available = fs.existsSync(`${procDir}/self/stat`) || fs.existsSync(`${procDir}/${rootPid}/stat`);
  }

  sample(now = Date.now()): UsageSample | undefined {
    if (!this.available) return undefined;
    const tree = processTree(readAllProcStats(this.procDir), this.rootPid);
    if (tree.length === 0) return this.last;
    const { ticks, pageSize } = sysconf();
    const totalTicks = tree.reduce((a, s) => a + s.cpuTicks, 0);
    const memoryMb = (tree.reduce((a, s) => a + s.rssPages, 0) * pageSize) / 1e6;
    let cpuPercent = this.last?.cpuPercent ?? 0;
    if (this.prevTicks !== undefined && this.prevTime !== undefined && now > this.prevTime) {
      cpuPercent = (Math.max(0, totalTicks - this.prevTicks) / ticks / ((now - this.prevTime) / 1000)) * 100;
    }
    this.prevTicks = totalTicks;
    this.prevTime = now;
    this.firstTicks ??= totalTicks;
    this.firstTime ??= now;
    this.peakMemoryMb = Math.max(this.peakMemoryMb, memoryMb);
    this.last = { memoryMb, cpuPercent, processes: tree.length };
    return this.last;
  }

  /** CPU use averaged from the first to the latest sample, percent of one core. */
  averageCpuPercent(): number | undefined {
    if (
      this.firstTicks === undefined ||
      this.prevTicks === undefined ||
      this.prevTime === undefined ||
      this.prevTime <= this.firstTime!
    )
      return this.last?.cpuPercent;
    return ((this.prevTicks - this.firstTicks) / sysconf().ticks / ((this.prevTime - this.firstTime!) / 1000)) * 100;
  }

  /** PIDs of the tree right now (for forwarding signals). */
  pids(): number[] {
    return processTree(readAllProcStats(this.procDir), this.rootPid).map((s) => s.pid);
  }
}
