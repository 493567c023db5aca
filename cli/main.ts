#!/usr/bin/env node
/**
 * The `neurocaas` command-line tool. Each command group lives in its own module under
 * cli/commands/ and exports `register(program)`. Groups are loaded lazily: a call such as
 * `neurocaas workflow get-data` (made many times per job inside an analysis environment) loads
 * only the workflow group, not the EC2/Pulumi-heavy ones.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { PROJECT_ROOT } from "../components/project-root";
import { configureCommandLine, NeurocaasCommand } from "./program";

// The AWS SDK warns on every command under Node < 22 (nine lines on stderr). Inside an IAE that
// text would become the analysis' output in its status file and certificate; the SDK's own switch
// turns it off (here and in the processes a command starts). README "Node.js" says what is needed.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

type Register = (program: Command) => void;

/* eslint-disable @typescript-eslint/no-require-imports -- synchronous lazy loading is the point */
/** Command group name → loader of its module. */
export const COMMAND_GROUPS: Readonly<Record<string, () => Register>> = {
  workflow: () => require("./commands/workflow").register,
  scripting: () => require("./commands/scripting").register,
  submit: () => require("./commands/submit").register,
  status: () => require("./commands/status").register,
  cancel: () => require("./commands/cancel").register,
  results: () => require("./commands/results").register,
  local: () => require("./commands/local").register,
  demo: () => require("./commands/demo").register,
  remote: () => require("./commands/remote").register,
  plan: () => require("./commands/plan").register,
  blueprint: () => require("./commands/blueprint").register,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** The version in this checkout's package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "unknown";
}

/**
 * The name the tool was called by: `neurocaas`, or `neurocaas-contrib` (the original's command
 * name, which analysis images call). bin/ passes it as argv[0].
 */
export function programName(argv0: string = process.argv0): string {
  return path.basename(argv0) === "neurocaas-contrib" ? "neurocaas-contrib" : "neurocaas";
}

/**
 * Build the program with every group, or only `only` when given (unknown names fall back to
 * every group so commander can print its usual "unknown command" help).
 */
export function buildProgram(only?: string, name: string = programName()): Command {
  const program = new NeurocaasCommand();
  program
    .name(name)
    .description("NeuroCAAS: Neuroscience Cloud Analysis As a Service")
    .version(packageVersion(), "-V, --version", "print the version of neurocaas")
    .enablePositionalOptions();
  configureCommandLine(program);
  const names = only !== undefined && only in COMMAND_GROUPS ? [only] : Object.keys(COMMAND_GROUPS);
  for (const group of names) COMMAND_GROUPS[group]()(program);
  return program;
}

/** Print a failed command's error as `name: message` and return its exit status (`exitCode`, else 1). */
export function reportFailure(err: unknown, name: string): number {
  process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
  return typeof (err as { exitCode?: unknown })?.exitCode === "number" ? (err as { exitCode: number }).exitCode : 1;
}

if (require.main === module) {
  const name = programName();
  buildProgram(process.argv[2], name)
    .parseAsync(process.argv)
    .catch((err: unknown) => process.exit(reportFailure(err, name)));
}
