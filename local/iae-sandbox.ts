import { execFile } from "node:child_process";
import { existsSync, realpathSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * How local IAEs are confined (`neurocaas local --iae-isolation`):
 * - `auto`: a bubblewrap sandbox when it works here, else process groups with a notice at start;
 * - `sandbox`: a bubblewrap sandbox or refuse to start;
 * - `process-group`: process groups only (forced fallback; the notice still says so).
 */
export type IaeIsolationMode = "auto" | "sandbox" | "process-group";
export const IAE_ISOLATION_MODES: readonly IaeIsolationMode[] = ["auto", "sandbox", "process-group"];

/** What an IAE sees of this machine's file system besides its own sandbox (read-write, its HOME). */
export interface SandboxView {
  /** Never visible (the data dir: every lab's files, budgets, ledger, keys, other IAEs' sandboxes). */
  readonly forbidden: readonly string[];
  /** Not visible (server user's home, shared temp dirs), except the `readOnly` paths inside them. */
  readonly hidden: readonly string[];
  /** Visible read-only wherever they lie (the checkout, the node installation). */
  readonly readOnly: readonly string[];
}

export type IaeConfinement =
  /** A bubblewrap sandbox: own PID (and IPC) namespace, read-only system, the `view` above. */
  | { readonly kind: "sandbox"; readonly bwrap: string; readonly view: SandboxView }
  /** A process group of the server's user: no file-system or process isolation. */
  | { readonly kind: "process-group" };

export const DEFAULT_BWRAP = "bwrap";

/** `child` is `parent` or lies below it (absolute, normalised paths). */
export function isWithin(child: string, parent: string): boolean {
  return child === parent || parent === "/" || child.startsWith(parent.endsWith("/") ? parent : `${parent}/`);
}

const depth = (p: string): number => p.split("/").filter(Boolean).length;
const byDepth = (paths: Iterable<string>): string[] =>
  [...new Set(paths)].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));

/** Real path of an existing path (mounts go on real paths), undefined when it does not exist. */
function real(p: string): string | undefined {
  try {
    return realpathSync(path.resolve(p));
  } catch {
    return undefined;
  }
}

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/**
 * The default view of an IAE: the data dir is forbidden; the server user's home, `/home`, `/root`
 * and the shared temp dirs are hidden (they hold other users' files, credentials such as
 * `~/.aws` or `~/.pulumi`, other servers' data dirs), and so is `/run` (sockets of system
 * services — D-Bus, docker, databases — which a read-only mount does not stop anyone from
 * connecting to) except the resolver's files; the checkout (`~/neurocaas`) and the node
 * installation stay readable wherever they lie. Everything else (`/usr`, `/etc`, `/opt`...) is
 * visible read-only.
 */
export function defaultSandboxView(args: {
  readonly dataDir: string;
  readonly repoRoot: string;
  readonly nodePath?: string;
}): SandboxView {
  const nodeInstall = path.dirname(path.dirname(real(args.nodePath ?? process.execPath) ?? process.execPath));
  return {
    forbidden: [args.dataDir],
    hidden: [os.homedir(), "/home", "/root", os.tmpdir(), "/tmp", "/var/tmp", "/run"],
    readOnly: [args.repoRoot, nodeInstall, "/run/systemd/resolve"],
  };
}

/** A forbidden path (the data dir) must not contain what IAEs need to read (the checkout). */
export function checkSandboxView(view: SandboxView): void {
  for (const f of view.forbidden.map(real)) {
    const covered =
      f === undefined ? undefined : view.readOnly.map(real).find((r) => r !== undefined && isWithin(r, f));
    if (covered !== undefined)
      throw new Error(
        `the data dir ${f} contains ${covered}, which IAEs must be able to read: choose a data dir outside it`,
      );
  }
}

export interface SandboxPlanArgs {
  /** The IAE's sandbox (read-write, mounted at the same absolute path). */
  readonly sandbox: string;
  /** Where the command runs (as resolved from WORKING_DIRECTORY). */
  readonly cwd: string;
  readonly view: SandboxView;
  /** Directory (in the sandbox) mounted at `cwd` when `cwd` would not be visible in the sandbox. */
  readonly privateWorkdir: string;
}

export interface SandboxPlan {
  /** bubblewrap options for the file system (order matters: later mounts cover earlier ones). */
  readonly args: readonly string[];
  /** Whether `privateWorkdir` is mounted at `cwd` (it must exist before the IAE starts). */
  readonly privateCwd: boolean;
}

/**
 * The file-system part of an IAE's bubblewrap command. Paths keep their absolute names inside,
 * so HOME, the working-directory mapping and `~/neurocaas` work unchanged. Mount order: the whole
 * system read-only; an empty tmpfs over each hidden path; the read-only paths that lie in a
 * hidden one; an empty tmpfs over each forbidden path (so the data dir stays hidden even when it
 * lies in the checkout, as the default `.neurocaas` does); the sandbox read-write; and a private
 * working directory when the blueprint's one (e.g. `/home/ubuntu`) is not visible.
 */
export function planSandbox(args: SandboxPlanArgs): SandboxPlan {
  const hidden = byDepth(
    args.view.hidden.map(real).filter((p): p is string => p !== undefined && p !== "/" && isDir(p)),
  );
  const forbidden = byDepth(args.view.forbidden.map(real).filter((p): p is string => p !== undefined && p !== "/"));
  const readOnly = byDepth(
    args.view.readOnly.map(real).filter((p): p is string => p !== undefined && hidden.some((h) => isWithin(p, h))),
  );
  const sandbox = real(args.sandbox) ?? path.resolve(args.sandbox);
  checkSandboxView(args.view);
  const out: string[] = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"];
  // Only the topmost of nested hidden paths needs a tmpfs.
  for (const h of hidden) if (!hidden.some((o) => o !== h && isWithin(h, o))) out.push("--tmpfs", h);
  for (const r of readOnly) out.push("--ro-bind", r, r);
  for (const f of forbidden) out.push("--tmpfs", f);
  out.push("--bind", sandbox, sandbox);

  const cwd = real(args.cwd) ?? path.resolve(args.cwd);
  const visible =
    isWithin(cwd, sandbox) ||
    (existsSync(cwd) &&
      !forbidden.some((f) => isWithin(cwd, f)) &&
      (readOnly.some((r) => isWithin(cwd, r)) || !hidden.some((h) => isWithin(cwd, h))));
  if (!visible) out.push("--bind", args.privateWorkdir, cwd);
  out.push("--chdir", cwd);
  return { args: out, privateCwd: !visible };
}

/**
 * PID 1 of an IAE's PID namespace. It runs the command (with default signal dispositions) and
 * exits with its status; when PID 1 exits the kernel kills every process left in the namespace
 * (`setsid` and double-forked daemons included). On SIGTERM (stop or time limit) it passes the
 * signal to every process of the IAE and, once the command has ended, waits until none is left —
 * the grace period the server grants (e.g. for `log-command` to record the interruption) — before
 * exiting; the server SIGKILLs it at the end of the grace period.
 */
const NAMESPACE_INIT = [
  "trap 'stopping=1; kill -TERM -1 2>/dev/null' TERM",
  '( trap - INT QUIT; exec /bin/bash -c "$1" ) &',
  "main=$!",
  'while :; do wait "$main"; status=$?; kill -0 "$main" 2>/dev/null || break; done',
  'others() { for d in /proc/[0-9]*; do [ "${d#/proc/}" = 1 ] && continue; read -r s < "$d/stat" 2>/dev/null || continue; s=${s##*) }; [ "${s%% *}" = Z ] || return 0; done; return 1; }',
  'if [ -n "${stopping-}" ]; then while others; do sleep 0.05; done; fi',
  'exit "$status"',
].join("\n");

/** bubblewrap options besides the file system: new PID and IPC namespaces, no capabilities, gone with the server. */
const NAMESPACE_ARGS = [
  "--unshare-pid",
  "--unshare-ipc",
  "--as-pid-1",
  "--die-with-parent",
  "--cap-drop",
  "ALL",
] as const;

/** The full argv (after the bwrap binary) that runs `command` in a sandbox; `infoFd` receives `{"child-pid": N}`. */
export function sandboxArgv(plan: SandboxPlan, command: string, infoFd: number): string[] {
  return [
    ...plan.args,
    ...NAMESPACE_ARGS,
    "--info-fd",
    String(infoFd),
    "--",
    "/bin/bash",
    "-c",
    NAMESPACE_INIT,
    "neurocaas-iae",
    command,
  ];
}

interface IsolationProbe {
  readonly ok: boolean;
  /** Why sandboxes do not work here (when !ok). */
  readonly reason?: string;
}

/** A minimal sandbox like an IAE's: bubblewrap works here when this runs `/bin/true`. */
export const PROBE_ARGS: readonly string[] = [
  "--ro-bind",
  "/",
  "/",
  "--dev",
  "/dev",
  "--proc",
  "/proc",
  "--tmpfs",
  os.tmpdir(),
  ...NAMESPACE_ARGS,
  "--",
  "/bin/true",
];

const probes = new Map<string, Promise<IsolationProbe>>();

/** Whether bubblewrap sandboxes work on this machine (tried once per binary and process). */
function probeSandbox(bwrap = DEFAULT_BWRAP): Promise<IsolationProbe> {
  let probe = probes.get(bwrap);
  if (!probe) {
    probe =
      process.platform !== "linux"
        ? Promise.resolve({
            ok: false,
            reason: `PID namespaces and bubblewrap need Linux (this is ${process.platform})`,
          })
        : new Promise<IsolationProbe>((resolve) => {
            execFile(bwrap, PROBE_ARGS, { timeout: 10_000 }, (err, _stdout, stderr) => {
              if (!err) return resolve({ ok: true });
              const code = (err as NodeJS.ErrnoException).code;
              resolve({
                ok: false,
                reason:
                  code === "ENOENT"
                    ? `bubblewrap (${bwrap}) is not installed`
                    : `${bwrap} does not work here: ${stderr.trim() || err.message}`,
              });
            });
          });
    probes.set(bwrap, probe);
  }
  return probe;
}

export interface ChosenIsolation {
  readonly kind: IaeConfinement["kind"];
  /** One line for the operator at start (always for process groups). */
  readonly notice: string;
}

/** Pick the isolation for `mode`; throws when `sandbox` is required but unavailable. */
export async function chooseIsolation(mode: IaeIsolationMode, bwrap = DEFAULT_BWRAP): Promise<ChosenIsolation> {
  const weak =
    "local IAEs run as plain process groups: they can read the data dir (every lab's files, budgets.json, the ledger, other IAEs' sandboxes) and the server user's files, see every process, and a daemon that leaves its process group outlives its IAE";
  if (mode === "process-group")
    return {
      kind: "process-group",
      notice: `WARNING: IAE isolation forced off (--iae-isolation process-group): ${weak}.`,
    };
  const probe = await probeSandbox(bwrap);
  if (probe.ok)
    return {
      kind: "sandbox",
      notice: "IAE isolation: bubblewrap sandboxes (own PID namespace; read-only system and checkout; data dir hidden)",
    };
  const fix =
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow user namespaces for non-root users";
  if (mode === "sandbox")
    throw new Error(`--iae-isolation sandbox: ${probe.reason}; ${fix}, or start with --iae-isolation auto`);
  return {
    kind: "process-group",
    notice: `WARNING: IAE isolation unavailable (${probe.reason}): ${weak}. To confine IAEs, ${fix}.`,
  };
}
