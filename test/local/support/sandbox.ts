import { spawnSync } from "node:child_process";
import { promises as fsp } from "node:fs";
import { DEFAULT_BWRAP, PROBE_ARGS } from "../../../local/iae-sandbox";

/**
 * Whether bubblewrap sandboxes work on this machine, decided synchronously so that confinement
 * tests can be declared or skipped. They never pass silently: without bubblewrap they are skipped
 * with a loud warning on a developer machine, and fail under CI (`.ci/run` installs bubblewrap).
 */
function probe(): { ok: boolean; reason?: string } {
  if (process.platform !== "linux") return { ok: false, reason: `not Linux (${process.platform})` };
  const r = spawnSync(DEFAULT_BWRAP, PROBE_ARGS, { encoding: "utf8", timeout: 10_000 });
  if (r.error)
    return {
      ok: false,
      reason:
        (r.error as NodeJS.ErrnoException).code === "ENOENT" ? "bubblewrap (bwrap) is not installed" : r.error.message,
    };
  return r.status === 0 ? { ok: true } : { ok: false, reason: r.stderr.trim() || `bwrap exited ${r.status}` };
}

export const SANDBOX = probe();

/** `describe` for tests that need bubblewrap sandboxes (see above). */
export function describeSandboxed(name: string, fn: () => void): void {
  if (SANDBOX.ok || process.env.CI) {
    describe(name, () => {
      if (!SANDBOX.ok) {
        it("needs bubblewrap sandboxes, which CI must have (.ci/run installs bubblewrap)", () => {
          throw new Error(`IAE sandboxes do not work on this CI machine: ${SANDBOX.reason}`);
        });
        return;
      }
      fn();
    });
    return;
  }
  console.warn(
    `\n*** SKIPPED: "${name}": IAE confinement is NOT TESTED on this machine (${SANDBOX.reason}).\n` +
      "*** Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) to run these tests; CI always runs them.\n",
  );
  describe.skip(name, fn);
}

/** Host processes named `token` (started with `exec -a TOKEN ...`; zombies excluded). */
export async function processesWith(token: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await fsp.readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await fsp.readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.split("\0")[0] !== token) continue;
    const stat = await fsp.readFile(`/proc/${entry}/stat`, "utf8").catch(() => undefined);
    if (stat !== undefined && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z") found.push(Number(entry));
  }
  return found;
}

/** Kill what a test left running (the attacks below succeed on unconfined IAEs). */
export async function killProcessesWith(token: string): Promise<void> {
  for (const pid of await processesWith(token)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * A daemon the classic way: `setsid` into a new session, then double-forked (its parent exits),
 * so it leaves the IAE's process group and is re-parented. Its command line carries `token`.
 * `keepOutput`: it keeps the IAE's stdout/stderr open (as a careless daemon does).
 */
export function daemonCommand(token: string, keepOutput: boolean): string {
  const start = `(setsid bash -c '(exec -a ${token} sleep 300) & exit' &)`;
  return keepOutput ? start : `${start} </dev/null >/dev/null 2>&1`;
}
