import * as os from "node:os";
import * as path from "node:path";
import type { Command } from "commander";
import { buildDashboard } from "../../components/dashboard-bundle";
import { PROJECT_ROOT } from "../../components/project-root";
import { startLocal } from "../../local/server";
import { readyLine } from "../../local/server";
import { DEFAULT_STACK_FILE } from "../../local/stack";
import { protocolHandlers, fallbackHourlyPrice } from "../../local/protocol-handlers";
import { networkErrorCode } from "../user/errors";
import { parseAllowedOrigins } from "../../local/browser-guard";
import {
  ADMIN_KEY_ENV,
  ADMIN_PROFILE,
  adminCredentialsFromEnv,
  validateCredentials,
  type Credentials,
} from "../../local/keys";
import { isLoopbackHost } from "../../protocols/s3-client";
import { IAE_ISOLATION_MODES, type IaeIsolationMode } from "../../local/iae-sandbox";

interface LocalOptions {
  readonly host: string;
  readonly port: string;
  readonly dataDir: string;
  readonly stackFile?: string[];
  readonly secondsPerMinute: string;
  readonly quiet?: boolean;
  readonly keepSandboxes?: boolean;
  readonly maxIaes: string;
  readonly accessKey?: string;
  readonly secretKey?: string;
  readonly allowOrigin?: string[];
  readonly iaeIsolation: string;
}

/** The admin key from --access-key/--secret-key, else from the environment, else undefined (the data dir's). */
function adminCredentials(opts: LocalOptions): Credentials | undefined {
  if (opts.accessKey === undefined && opts.secretKey === undefined) return adminCredentialsFromEnv();
  if (opts.accessKey === undefined || opts.secretKey === undefined)
    throw new Error("--access-key and --secret-key go together (or set neither: the data dir's admin key is used)");
  return validateCredentials(
    { accessKeyId: opts.accessKey, secretAccessKey: opts.secretKey },
    "--access-key/--secret-key",
  );
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port: expected an integer 0-65535, got "${text}"`);
  return n;
}

function parseIsolation(text: string): IaeIsolationMode {
  if (!(IAE_ISOLATION_MODES as readonly string[]).includes(text))
    throw new Error(`--iae-isolation: expected one of ${IAE_ISOLATION_MODES.join(", ")}, got "${text}"`);
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

/** The message for a port that cannot be listened on, or undefined for other errors. */
export function listenErrorMessage(err: unknown, host: string, port: number): string | undefined {
  const code = networkErrorCode(err);
  if (code === "EADDRINUSE") {
    return `port ${port} on ${host} is already in use (another \`neurocaas local\`?): pick a free one with --port PORT (e.g. --port ${port === 4566 ? 4567 : port + 1}), or --port 0 for any free port; the endpoint to use is printed when ready`;
  }
  if (code === "EACCES")
    return `not allowed to listen on port ${port} of ${host} (ports below 1024 need privileges): pick another with --port PORT`;
  if (code === "EADDRNOTAVAIL")
    return `${host} is not an address of this machine: pass --host 127.0.0.1 (or another local interface)`;
  return undefined;
}

/** Enough to keep the CPUs busy with analyses that also wait on I/O, without swamping the machine. */
export function defaultMaxIaes(): number {
  return Math.max(4, 2 * os.cpus().length);
}

export function register(program: Command): void {
  program
    .command("local")
    .description(
      "run NeuroCAAS on this machine: S3-compatible endpoint, job manager, monitor and IAEs as local processes",
    )
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--port <port>", "port of the S3 endpoint (0: any free port; the ready line names the endpoint)", "4566")
    .option("--data-dir <dir>", "where buckets and IAE state persist", ".neurocaas")
    .option("--stack-file <files...>", `analysis stack file(s) (default: ${DEFAULT_STACK_FILE} of this checkout)`)
    .option(
      "--seconds-per-minute <n>",
      "real seconds per __duration__ minute (lower it to test time limits quickly)",
      "60",
    )
    .option(
      "--max-iaes <n>",
      "IAE processes running at once; more wait as pending (like capacity)",
      String(defaultMaxIaes()),
    )
    .option("--keep-sandboxes", "keep each IAE's sandbox directory after it terminates (debugging)")
    .option(
      "--access-key <id>",
      `admin access key id (default: $${ADMIN_KEY_ENV.accessKeyId}, else the one generated in the data dir)`,
    )
    .option(
      "--secret-key <secret>",
      `admin secret key (default: $${ADMIN_KEY_ENV.secretAccessKey}, else the data dir's)`,
    )
    .option(
      "--allow-origin <origins...>",
      "browser origins (e.g. http://localhost:3000) allowed to call the endpoint besides its own",
    )
    .option(
      "--iae-isolation <mode>",
      "auto: a bubblewrap sandbox per IAE when it works here, else process groups (with a warning); sandbox: refuse to start without one; process-group: never sandbox",
      "auto",
    )
    .option("--quiet", "no operator log on stderr")
    .action(async (opts: LocalOptions) => {
      const port = parsePort(opts.port);
      const allowedOrigins = parseAllowedOrigins(opts.allowOrigin ?? []);
      if (!isLoopbackHost(opts.host)) {
        process.stderr.write(
          `WARNING: --host ${opts.host} makes the endpoint reachable from other machines. Requests are still signed and authorised, ` +
            "but travel unencrypted (plain HTTP): anyone on the network path can read the data and results they carry. Prefer 127.0.0.1 and an SSH tunnel.\n",
        );
      }
      const local = await startLocal({
        host: opts.host,
        port,
        dataDir: opts.dataDir,
        stackFiles: opts.stackFile ?? [path.join(PROJECT_ROOT, DEFAULT_STACK_FILE)],
        repoRoot: PROJECT_ROOT,
        handlers: protocolHandlers,
        fallbackPrice: fallbackHourlyPrice,
        secondsPerMinute: parsePositive("--seconds-per-minute", opts.secondsPerMinute),
        keepSandboxes: opts.keepSandboxes,
        maxRunningIaes: parsePositiveInteger("--max-iaes", opts.maxIaes),
        iaeIsolation: parseIsolation(opts.iaeIsolation),
        log: opts.quiet ? undefined : (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
        adminCredentials: adminCredentials(opts),
        allowedOrigins,
      }).catch((err: unknown) => {
        const message = listenErrorMessage(err, opts.host, port);
        throw message === undefined ? err : new Error(message, { cause: err });
      });
      for (const id of local.recovered)
        process.stderr.write(`IAE ${id} was running when the server last stopped: reported as interrupted\n`);
      if (!opts.quiet) {
        const users = local.keys.userNames();
        process.stderr.write(
          `Keys: the access-key/secret-key on the ready line is the admin key (full access, bypasses the permission model; profile ${ADMIN_PROFILE}). ` +
            `${users.length > 0 ? `Blueprint users (${users.join(", ")}) have their own keys, with their groups' permissions, in ${local.credentialsFile}: ` : `No blueprint lists users; the key file is ${local.credentialsFile}: `}` +
            `AWS_SHARED_CREDENTIALS_FILE=${local.credentialsFile} aws --profile USER --endpoint-url ${local.endpoint} s3 ls s3://BUCKET/GROUP/\n`,
        );
      }
      if (!opts.quiet) {
        process.stderr.write(
          `Dashboard: open ${local.dashboardUrl} in a browser and sign in with one of these keys (a lab member's key shows only their groups).\n`,
        );
      }
      // Build the dashboard now, so the first page load does not wait for it.
      void buildDashboard().catch((err: unknown) =>
        process.stderr.write(`dashboard: build failed: ${(err as Error).message}\n`),
      );
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
