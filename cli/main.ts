#!/usr/bin/env node
/**
 * The `neurocaas` command-line tool. Each command group lives in its own module under
 * cli/commands/ and exports `register(program)`. Groups are loaded lazily: a call such as
 * `neurocaas workflow get-data` (made many times per job inside an analysis environment) loads
 * only the workflow group, not the EC2/Pulumi-heavy ones.
 */
import { Command } from "commander";

type Register = (program: Command) => void;

/* eslint-disable @typescript-eslint/no-require-imports -- synchronous lazy loading is the point */
/** Command group name → loader of its module. */
export const COMMAND_GROUPS: Readonly<Record<string, () => Register>> = {
  workflow: () => require("./commands/workflow").register,
  scripting: () => require("./commands/scripting").register,
  submit: () => require("./commands/submit").register,
  status: () => require("./commands/status").register,
  results: () => require("./commands/results").register,
  local: () => require("./commands/local").register,
  demo: () => require("./commands/demo").register,
  remote: () => require("./commands/remote").register,
  plan: () => require("./commands/plan").register,
  blueprint: () => require("./commands/blueprint").register,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Build the program with every group, or only `only` when given (unknown names fall back to
 * every group so commander can print its usual "unknown command" help).
 */
export function buildProgram(only?: string): Command {
  const program = new Command();
  program
    .name("neurocaas")
    .description("NeuroCAAS: Neuroscience Cloud Analysis As a Service")
    .showHelpAfterError()
    .enablePositionalOptions();
  const names = only !== undefined && only in COMMAND_GROUPS ? [only] : Object.keys(COMMAND_GROUPS);
  for (const name of names) COMMAND_GROUPS[name]()(program);
  return program;
}

if (require.main === module) {
  buildProgram(process.argv[2])
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`neurocaas: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(typeof (err as { exitCode?: unknown })?.exitCode === "number" ? (err as { exitCode: number }).exitCode : 1);
    });
}
