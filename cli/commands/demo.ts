import * as path from "node:path";
import type { Command } from "commander";
import { runDemo } from "../user/demo";
import { DEFAULT_STACK_FILE } from "../../local/stack";
import { fallbackHourlyPrice, protocolHandlers } from "../../local/protocol-handlers";
import { PROJECT_ROOT } from "../../components/project-root";

interface DemoOptions {
  readonly dir?: string;
  readonly timeout: string;
}

export function register(program: Command): void {
  program
    .command("demo")
    .description("run one PCA job end to end on local NeuroCAAS in a temp directory and show the results")
    .option("--dir <dir>", "work directory (default: a new temp directory)")
    .option("--timeout <seconds>", "give up when the job takes longer", "300")
    .action(async (opts: DemoOptions) => {
      const timeout = Number(opts.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0)
        throw new Error(`--timeout: expected a positive number of seconds, got "${opts.timeout}"`);
      const result = await runDemo({
        repoRoot: PROJECT_ROOT,
        handlers: protocolHandlers,
        fallbackPrice: fallbackHourlyPrice,
        stackFiles: [path.join(PROJECT_ROOT, DEFAULT_STACK_FILE)],
        data: path.join(PROJECT_ROOT, "examples/pca/data.csv"),
        config: path.join(PROJECT_ROOT, "examples/pca/config.yaml"),
        workDir: opts.dir,
        timeoutMs: timeout * 1000,
        out: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(`\nresults of job ${result.jobId} in ${result.resultsDir}:\n`);
      for (const f of result.files) process.stdout.write(`  ${path.relative(result.resultsDir, f)}\n`);
      process.stdout.write(`\ncertificate.txt:\n${result.state.certificate?.trimEnd() ?? "(missing)"}\n`);
      if (!result.ok) {
        process.stderr.write(`demo failed: ${result.reason}\n`);
        process.exitCode = 1;
      } else {
        process.stdout.write("\ndemo succeeded\n");
      }
    });
}
