import { CommanderError, type Command } from "commander";
import { buildProgram, reportFailure } from "../../cli/main";

/**
 * Runs `neurocaas ARGS` inside the jest process: the same commander program, actions and error
 * reporting as bin/neurocaas, with HOME, AWS_* and the working directory of the call applied while
 * it runs and its stdout, stderr and exit status captured. A process start (tsx) costs about a CPU
 * second here; tests keep real processes only where the process itself is under test (exit
 * status of bin/neurocaas, signals, scripts that call `neurocaas` from PATH).
 *
 * Calls run one at a time: they share process.env, the cwd and process.stdout. (Jest gives a test
 * file its own copy of process.env, which os.homedir() does not read: the CLI takes the home
 * directory from $HOME, cli/home.ts.)
 */

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface InProcessOptions {
  /** Variables set (or, when undefined, removed) for the duration of the call. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

/** The SDK's Node-version switch, set by cli/main.ts in the jest process as in a real one. */
const SDK_SWITCH = "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED";

/**
 * Overrides for `InProcessOptions.env` that remove every AWS_* variable of the host and apply
 * `env`: what a user's shell with only `env` set would have.
 */
export function withoutHostAws(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const host = Object.keys(process.env).filter((k) => k.startsWith("AWS_") && k !== SDK_SWITCH);
  return { ...Object.fromEntries(host.map((k) => [k, undefined])), ...env };
}

let queue: Promise<unknown> = Promise.resolve();

export function runCliInProcess(args: readonly string[], opts: InProcessOptions = {}): Promise<CliRun> {
  const run = queue.then(() => runNow(args, opts));
  queue = run.catch(() => undefined);
  return run;
}

function exitByThrowing(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) exitByThrowing(sub);
}

async function runNow(args: readonly string[], opts: InProcessOptions): Promise<CliRun> {
  const name = "neurocaas";
  const savedEnv = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    savedEnv.set(k, process.env[k]);
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const savedCwd = process.cwd();
  if (opts.cwd) process.chdir(opts.cwd);
  const savedExitCode = process.exitCode;
  process.exitCode = undefined;
  const out: string[] = [];
  const err: string[] = [];
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const capture = (into: string[]) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      into.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
      const cb = rest.find((r): r is () => void => typeof r === "function");
      cb?.();
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  let code: number;
  try {
    const program = buildProgram(args[0], name);
    exitByThrowing(program);
    await program.parseAsync([...args], { from: "user" });
    code = typeof process.exitCode === "number" ? process.exitCode : Number(process.exitCode ?? 0);
  } catch (e) {
    // commander has printed its own usage errors (and help) already.
    code = e instanceof CommanderError ? e.exitCode : reportFailure(e, name);
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    process.exitCode = savedExitCode;
    if (opts.cwd) process.chdir(savedCwd);
    for (const [k, v] of savedEnv) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return { code, stdout: out.join(""), stderr: err.join("") };
}
