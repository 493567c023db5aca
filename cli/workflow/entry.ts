#!/usr/bin/env node
/**
 * A slim `neurocaas` entry for the commands analysis environments call many times per job
 * (`neurocaas workflow ...`, `neurocaas scripting ...`): it loads only those two groups instead of
 * every command group of cli/main.ts, which roughly halves the start-up time of each call.
 * `bin/neurocaas` routes those two groups here; behaviour and output are the same as cli/main.ts.
 */
import { Command } from "commander";
import * as workflowCommand from "../commands/workflow";
import * as scriptingCommand from "../commands/scripting";

export function buildIaeProgram(): Command {
  const program = new Command();
  program.name("neurocaas").description("NeuroCAAS: Neuroscience Cloud Analysis As a Service").showHelpAfterError().enablePositionalOptions();
  workflowCommand.register(program);
  scriptingCommand.register(program);
  return program;
}

if (require.main === module) {
  buildIaeProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`neurocaas: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(typeof (err as { exitCode?: unknown })?.exitCode === "number" ? (err as { exitCode: number }).exitCode : 1);
    });
}
