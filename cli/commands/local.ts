import * as os from "node:os";
import * as path from "node:path";
import type { Command } from "commander";
import { startLocal } from "../../local/server";
import { readyLine } from "../../local/server";
import { DEFAULT_STACK_FILE } from "../../local/stack";
import { protocolHandlers, fallbackHourlyPrice } from "../../local/protocol-handlers";
import { IAE_ISOLATION_MODES, type IaeIsolationMode } from "../../local/iae-sandbox";

/** This checkout (cli/commands → repo root). */
export const REPO_ROOT = path.resolve(__dirname, "../..");

interface LocalOptions {
  readonly host: string;
  readonly port: string;
  readonly dataDir: string;
  readonly stackFile?: string[];
  readonly secondsPerMinute: string;
  readonly quiet?: boolean;
  readonly keepSandboxes?: boolean;
  readonly maxIaes: string;
  readonly iaeIsolation: string;
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port: expected an integer 0-65535, got "${text}"`);
  return n;
}

function parseIsolation(text: string): IaeIsolationMode {
  if (!(IAE_ISOLATION_MODES as readonly string[]).includes(text)) throw new Error(`--iae-isolation: expected one of ${IAE_ISOLATION_MODES.join(", ")}, got "${text}"`);
  return text as IaeIsolationMode;
}

function parsePositive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got "${text}"`);
  return n;
}

function parsePositiveInteger(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: expected a positive integer, got "${text}"`);
  return n;
}

/** Enough to keep the CPUs busy with analyses that also wait on I/O, without swamping the machine. */
export function defaultMaxIaes(): number {
  return Math.max(4, 2 * os.cpus().length);
}

export function register(program: Command): void {
  program
    .command("local")
    .description("run NeuroCAAS on this machine: S3-compatible endpoint, job manager, monitor and IAEs as local processes")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--port <port>", "port of the S3 endpoint (0: any free port)", "4566")
    .option("--data-dir <dir>", "where buckets and IAE state persist", ".neurocaas")
    .option("--stack-file <files...>", `analysis stack file(s) (default: ${DEFAULT_STACK_FILE} of this checkout)`)
    .option("--seconds-per-minute <n>", "real seconds per __duration__ minute (lower it to test time limits quickly)", "60")
    .option("--max-iaes <n>", "IAE processes running at once; more wait as pending (like capacity)", String(defaultMaxIaes()))
    .option("--keep-sandboxes", "keep each IAE's sandbox directory after it terminates (debugging)")
    .option("--iae-isolation <mode>", "auto: a bubblewrap sandbox per IAE when it works here, else process groups (with a warning); sandbox: refuse to start without one; process-group: never sandbox", "auto")
    .option("--quiet", "no operator log on stderr")
    .action(async (opts: LocalOptions) => {
      const local = await startLocal({
        host: opts.host,
        port: parsePort(opts.port),
        dataDir: opts.dataDir,
        stackFiles: opts.stackFile ?? [path.join(REPO_ROOT, DEFAULT_STACK_FILE)],
        repoRoot: REPO_ROOT,
        handlers: protocolHandlers,
        fallbackPrice: fallbackHourlyPrice,
        secondsPerMinute: parsePositive("--seconds-per-minute", opts.secondsPerMinute),
        keepSandboxes: opts.keepSandboxes,
        maxRunningIaes: parsePositiveInteger("--max-iaes", opts.maxIaes),
        iaeIsolation: parseIsolation(opts.iaeIsolation),
        log: opts.quiet ? undefined : (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
      });
      for (const id of local.recovered) process.stderr.write(`IAE ${id} was running when the server last stopped: reported as interrupted\n`);
      process.stdout.write(`${readyLine(local)}\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.stderr.write(`${signal}: stopping local NeuroCAAS (data kept in ${local.dataDir})\n`);
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          void local.close().then(resolve, (err: unknown) => {
            process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    });
}
