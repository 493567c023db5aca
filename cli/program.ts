import { Command, type Help, type Option } from "commander";

/**
 * Command-line conventions shared by every `neurocaas` command: help wrapped to the terminal,
 * required options marked, and an unknown option reported before a missing required one (a typo
 * such as `--buckt` otherwise surfaces as "required option '--bucket' not specified").
 */
export class NeurocaasCommand extends Command {
  override createCommand(name?: string): Command {
    return new NeurocaasCommand(name);
  }

  override parseOptions(argv: string[]): { operands: string[]; unknown: string[] } {
    const parsed = super.parseOptions(argv);
    // Only a command without subcommands knows all of its options; help requests win.
    if (this.commands.length === 0) {
      const flag = parsed.unknown.find((a) => a.startsWith("-") && a !== "-");
      const helpAsked = parsed.unknown.some((a) => a === "-h" || a === "--help");
      if (flag !== undefined && flag !== "--" && !helpAsked) {
        // commander's own report, with its "Did you mean ...?" suggestion (not part of its typings).
        (this as unknown as { unknownOption(flag: string): void }).unknownOption(flag);
      }
    }
    return parsed;
  }
}

/** Narrowest help width at which descriptions are still wrapped (commander's default is 40). */
const MIN_WIDTH_TO_WRAP = 20;

/** The width help is wrapped to: the terminal's, else `$COLUMNS`, else 80. */
function helpWidth(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (stream.isTTY && stream.columns > 0) return stream.columns;
  const columns = Number(env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : undefined;
}

/** Apply the conventions to the root program; subcommands created afterwards inherit them. */
export function configureCommandLine(program: Command): Command {
  return program
    .showHelpAfterError()
    .configureOutput({
      getOutHelpWidth: () => helpWidth(process.stdout) ?? 80,
      getErrHelpWidth: () => helpWidth(process.stderr) ?? 80,
    })
    .configureHelp({
      minWidthToWrap: MIN_WIDTH_TO_WRAP,
      optionDescription(this: Help, option: Option): string {
        const text = Object.getPrototypeOf(this).optionDescription.call(this, option) as string;
        return option.mandatory ? `${text} (required)` : text;
      },
    });
}
