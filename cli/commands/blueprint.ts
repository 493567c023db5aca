import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { BlueprintError, loadStackFile } from "../../model/blueprint/parse";
import { formatIssue, type BlueprintIssue } from "../../model/blueprint/errors";
import { StackConfigError, stackSettingsFromConfig } from "../../components/settings";
import {
  formatImportTable,
  importedStackText,
  importLegacyDirectory,
  readLegacyFile,
  writeNewFile,
} from "../blueprint/import-files";
import { blueprintNameProblem } from "../blueprint/name";
import { scaffoldFiles } from "../blueprint/scaffold";
import { DEFAULT_UTILS_STACK } from "../blueprint/stack-yaml";
import { resolveAmi } from "../remote/ami";
import { createRemoteClients, type RemoteClientFactory } from "../remote/clients";

export interface BlueprintDeps {
  readonly clientFactory?: RemoteClientFactory;
  readonly out?: (text: string) => void;
}

interface NewOptions {
  readonly dir: string;
  readonly ami: string;
  readonly instanceType?: string;
  readonly region?: string;
  readonly user: string[];
  readonly command?: string;
  readonly profile?: string;
  readonly utilsStack: string;
}

function problems(file: string, issues: readonly BlueprintIssue[]): { ok: false; lines: string[] } {
  return {
    ok: false,
    lines: [
      `${file}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`,
      ...issues.map((i) => `  ${formatIssue(i)}`),
    ],
  };
}

/**
 * Outcome of `blueprint validate`: the blueprint's problems (key paths inside the blueprint),
 * then, once it is valid, those of the other stack config keys (`neurocaas:utilsStack`, ...).
 */
export function validateStackFile(file: string): { ok: boolean; lines: string[] } {
  try {
    const { blueprint, config } = loadStackFile(file);
    if (!blueprint) return { ok: false, lines: [`${file}: no "neurocaas:blueprint" key in its config`] };
    stackSettingsFromConfig((key) => config[key]);
    const l = blueprint.Lambda;
    return {
      ok: true,
      lines: [
        `OK: ${file} (${blueprint.PipelineName}, ${blueprint.STAGE}, protocol ${l.Protocol}, ${l.LambdaConfig.INSTANCE_TYPE}, ${l.LambdaConfig.AMI})`,
      ],
    };
  } catch (err) {
    if (err instanceof BlueprintError || err instanceof StackConfigError) return problems(file, err.issues);
    return { ok: false, lines: [(err as Error).message] };
  }
}

export function register(program: Command, deps: BlueprintDeps = {}): void {
  const out = deps.out ?? ((text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`));
  const factory = deps.clientFactory ?? createRemoteClients;
  const blueprint = program
    .command("blueprint")
    .description("create, check and import analysis blueprints (stack configs)");

  blueprint
    .command("new")
    .description("write a new blueprint NAME.yaml (affiliate debuggers) and example submit/config files")
    .argument("<name>", "analysis name: lowercase letters, digits and -, 3-63 chars (it becomes the bucket name)")
    .option("--dir <dir>", "directory of stack configs", "stacks")
    .option(
      "-a, --ami <ami>",
      "machine image id, or an alias resolved now through AWS's public SSM parameters (ubuntu22, ubuntu24, dlami)",
      "ubuntu22",
    )
    .option("-t, --instance-type <type>", "default instance type", "m5.xlarge")
    .option("--region <region>", "AWS region", "us-east-1")
    .option(
      "-u, --user <name>",
      "IAM user (without region suffix) of the debuggers affiliate; repeatable",
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option(
      "--command <command>",
      "the COMMAND (default: neurocaas workflow run-main with /home/ubuntu/NAME/run_analysis.sh)",
    )
    .option("--utils-stack <stack>", "utils stack the analysis uses (neurocaas:utilsStack)", DEFAULT_UTILS_STACK)
    .option("--profile <name>", "AWS profile for resolving an AMI alias")
    .action(async (name: string, opts: NewOptions) => {
      const problem = blueprintNameProblem(name);
      if (problem) throw new Error(`invalid analysis name: ${problem}`);
      let ami: string;
      try {
        ami = await resolveAmi(factory({ region: opts.region ?? "us-east-1", profile: opts.profile }).ssm, opts.ami);
      } catch (err) {
        throw new Error(
          `cannot resolve --ami ${opts.ami}: ${(err as Error).message} (an alias needs AWS access; pass --ami ami-... to use a known image)`,
          { cause: err },
        );
      }
      const files = scaffoldFiles(opts.dir, {
        name,
        ami,
        instanceType: opts.instanceType,
        region: opts.region,
        users: opts.user,
        command: opts.command,
        utilsStack: opts.utilsStack,
      });
      const existing = files.filter((f) => fs.existsSync(f.path)).map((f) => f.path);
      if (existing.length > 0) throw new Error(`not overwriting ${existing.join(", ")}: choose another name or --dir`);
      for (const f of files) writeNewFile(f.path, f.text, false);
      const check = validateStackFile(files[0].path);
      if (!check.ok) throw new Error(`the new blueprint does not validate:\n${check.lines.join("\n")}`);
      for (const f of files) out(`wrote ${f.path}`);
    });

  blueprint
    .command("validate")
    .description("check a stack config's blueprint: every problem with its key path, or OK")
    .argument("<file>", "stack config YAML")
    .action((file: string) => {
      const res = validateStackFile(file);
      if (!res.ok) throw Object.assign(new Error(res.lines.join("\n")), { exitCode: 1 });
      out(res.lines.join("\n"));
    });

  blueprint
    .command("import")
    .description("convert original stack_config_template.json blueprints into stack configs")
    .argument("[legacy]", "one legacy blueprint JSON file")
    .option("--all <dir>", "convert every *.json in DIR (then -o is the output directory)")
    .option("-o, --output <path>", "output stack file (one blueprint; default: print it) or directory (--all)")
    .option("--utils-stack <stack>", "utils stack the analyses use (neurocaas:utilsStack)", DEFAULT_UTILS_STACK)
    .option("--force", "overwrite existing output files")
    .action(
      (legacy: string | undefined, opts: { all?: string; output?: string; force?: boolean; utilsStack: string }) => {
        if (opts.all !== undefined) {
          if (legacy !== undefined) throw new Error("give either one legacy file or --all DIR, not both");
          if (!opts.output) throw new Error("--all needs -o OUTDIR for the converted stack configs");
          const rows = importLegacyDirectory(opts.all, opts.output, {
            force: opts.force === true,
            utilsStack: opts.utilsStack,
          });
          out(formatImportTable(rows));
          if (rows.some((r) => r.kind === "invalid"))
            throw Object.assign(new Error("some blueprints are invalid (see the table)"), { exitCode: 1 });
          return;
        }
        if (legacy === undefined) throw new Error("which blueprint? give a legacy JSON file or --all DIR");
        const outcome = readLegacyFile(legacy);
        if (outcome.kind !== "converted") {
          const why =
            outcome.kind === "template"
              ? "a template with placeholder values"
              : outcome.kind === "protocol"
                ? "needs a protocol this project does not carry"
                : "invalid";
          throw new Error([`${legacy}: not converted (${why}):`, ...outcome.problems.map((p) => `  ${p}`)].join("\n"));
        }
        const text = importedStackText(path.basename(legacy), outcome, opts.utilsStack);
        if (opts.output) {
          writeNewFile(opts.output, text, opts.force === true);
          out(`wrote ${opts.output}`);
          for (const n of outcome.notes) out(`  note: ${n.text}`);
        } else out(text);
      },
    );
}
