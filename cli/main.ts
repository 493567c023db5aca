#!/usr/bin/env node
/**
 * The `neurocaas` command-line tool. Each command group lives in its own module under
 * cli/commands/ and exports `register(program)`; add one import + call here per group.
 */
import { Command } from "commander";
import * as workflowCommand from "./commands/workflow";
import * as scriptingCommand from "./commands/scripting";
import * as submitCommand from "./commands/submit";
import * as statusCommand from "./commands/status";
import * as resultsCommand from "./commands/results";
import * as localCommand from "./commands/local";
import * as demoCommand from "./commands/demo";
import * as remoteCommand from "./commands/remote";
import * as planCommand from "./commands/plan";
import * as blueprintCommand from "./commands/blueprint";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("neurocaas")
    .description("NeuroCAAS: Neuroscience Cloud Analysis As a Service")
    .showHelpAfterError()
    .enablePositionalOptions();
  // Command groups register themselves below.
  workflowCommand.register(program);
  scriptingCommand.register(program);
  submitCommand.register(program);
  statusCommand.register(program);
  resultsCommand.register(program);
  localCommand.register(program);
  demoCommand.register(program);
  remoteCommand.register(program);
  planCommand.register(program);
  blueprintCommand.register(program);
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`neurocaas: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(typeof (err as { exitCode?: unknown })?.exitCode === "number" ? (err as { exitCode: number }).exitCode : 1);
    });
}
