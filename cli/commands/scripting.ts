import * as fs from "node:fs";
import type { Command } from "commander";
import { FieldNotFoundError, readYamlField } from "../workflow/yaml-field";
import { parseZip } from "../workflow/zip";

/** `neurocaas scripting ...` — helpers for analysis scripts (SPEC §5). */
export function register(program: Command): void {
  const sc = program
    .command("scripting")
    .description("helpers for analysis scripts: read config fields, unpack zip datasets");

  sc.command("read-yaml")
    .description(
      "print one field of a YAML/JSON file as the original neurocaas-contrib did: mapping → Python json.dumps, list → items each followed by a space, other values → Python str() (True, None, 2.5)",
    )
    .requiredOption("-p, --path <file>", "YAML or JSON file")
    .requiredOption("-f, --field <field>", "field name (a dotted path reaches nested fields)")
    .option("-d, --default <value>", "printed when the field is missing")
    .action((o: { path: string; field: string; default?: string }) => {
      if (!fs.existsSync(o.path)) throw new Error(`${o.path} does not exist`);
      try {
        const { text, notes } = readYamlField(fs.readFileSync(o.path, "utf8"), o.field, o.path);
        for (const n of notes) process.stderr.write(`note: ${n}\n`);
        process.stdout.write(`${text}\n`);
      } catch (e) {
        if (e instanceof FieldNotFoundError && o.default !== undefined) process.stdout.write(`${o.default}\n`);
        else throw e;
      }
    });

  sc.command("parse-zip")
    .description("extract a zip holding exactly one top-level folder or file (ignoring __MACOSX) and print its name")
    .requiredOption("-z, --zippath <zip>", "zip archive")
    .option("-o, --outpath <dir>", "existing directory to extract into (default: the archive's directory)")
    .action(async (o: { zippath: string; outpath?: string }) => {
      process.stdout.write(`${await parseZip(o.zippath, o.outpath)}\n`);
    });
}
