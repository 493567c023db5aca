import * as fs from "node:fs";
import * as path from "node:path";
import { convertLegacyBlueprint, summarize, type ImportKind, type ImportOutcome } from "./legacy-import";
import { DEFAULT_UTILS_STACK, renderStackYaml } from "./stack-yaml";

/** One row of the `blueprint import --all` table. */
export interface ImportRow {
  readonly blueprint: string;
  readonly kind: ImportKind;
  readonly result: string;
  readonly notes: string;
  /** The stack file written (converted rows only). */
  readonly output?: string;
  readonly outcome: ImportOutcome;
}

export function readLegacyFile(file: string): ImportOutcome {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    return { kind: "invalid", notes: [], problems: [`cannot read ${file}: ${(err as Error).message}`] };
  }
  try {
    return convertLegacyBlueprint(JSON.parse(text));
  } catch (err) {
    return {
      kind: "invalid",
      notes: [],
      problems: [`${path.basename(file)} is not valid JSON: ${(err as Error).message}`],
    };
  }
}

/** The stack file text of a converted blueprint, with the import notes as header comments. */
export function importedStackText(
  source: string,
  outcome: ImportOutcome,
  utilsStack: string = DEFAULT_UTILS_STACK,
): string {
  if (outcome.kind !== "converted" || !outcome.blueprint) throw new Error(`${source} was not converted`);
  return renderStackYaml({
    header: [
      `NeuroCAAS analysis blueprint imported from ${source} by "neurocaas blueprint import".`,
      ...(outcome.notes.length > 0 ? ["Import notes:", ...outcome.notes.map((n) => `  - ${n.text}`)] : []),
    ],
    blueprint: outcome.blueprint,
    utilsStack,
  });
}

/** Write a new file; an existing one is kept unless `force` (user data is never overwritten silently). */
export function writeNewFile(file: string, text: string, force: boolean): void {
  if (!force && fs.existsSync(file)) throw new Error(`${file} already exists; pass --force to overwrite it`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const RESULT_TEXT: Record<ImportKind, string> = {
  converted: "converted",
  template: "rejected: template",
  protocol: "rejected: protocol",
  invalid: "rejected: invalid",
};

/** `import --all DIR -o OUTDIR`: every `*.json` of DIR, converted ones written as `OUTDIR/{PipelineName}.yaml`. */
export interface ImportDirectoryArgs {
  readonly force: boolean;
  readonly utilsStack?: string;
}

export function importLegacyDirectory(dir: string, outDir: string, args: ImportDirectoryArgs): ImportRow[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
  if (files.length === 0) throw new Error(`${dir} holds no legacy blueprints (*.json)`);
  const byName = new Map<string, string>();
  return files.map((f) => {
    let outcome = readLegacyFile(path.join(dir, f));
    let output: string | undefined;
    if (outcome.kind === "converted") {
      const name = String(outcome.blueprint?.PipelineName);
      const first = byName.get(name);
      if (first) {
        outcome = {
          kind: "invalid",
          notes: outcome.notes,
          problems: [`PipelineName "${name}" is also the analysis of ${first}: one bucket, one blueprint`],
        };
      } else {
        byName.set(name, f);
        output = path.join(outDir, `${name}.yaml`);
        writeNewFile(output, importedStackText(f, outcome, args.utilsStack), args.force);
      }
    }
    return {
      blueprint: f,
      kind: outcome.kind,
      result: RESULT_TEXT[outcome.kind],
      notes: summarize(outcome),
      ...(output ? { output } : {}),
      outcome,
    };
  });
}

/** A plain-text table: blueprint, result, notes; then a count per result. */
export function formatImportTable(rows: readonly ImportRow[]): string {
  const head = ["BLUEPRINT", "RESULT", "NOTES"];
  const cells = rows.map((r) => [
    r.blueprint,
    r.output ? `${r.result} → ${path.basename(r.output)}` : r.result,
    r.notes,
  ]);
  const w = [0, 1].map((c) => Math.max(head[c].length, ...cells.map((r) => r[c].length)));
  const line = (r: readonly string[]) => `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}`.trimEnd();
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.result, (counts.get(r.result) ?? 0) + 1);
  const total = [...counts].map(([k, n]) => `${n} ${k}`).join(", ");
  return [line(head), ...cells.map(line), "", `${rows.length} blueprints: ${total}`].join("\n");
}
