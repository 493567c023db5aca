import * as fs from "node:fs";
import type { Command } from "commander";
import { FieldNotFoundError, readYamlField } from "../workflow/yaml-field";
import { parseZip } from "../workflow/zip";

/** `neurocaas scripting ...` — helpers for analysis scripts (SPEC §5). */
export function register(program: Command): void {
  const sc = program.command("scripting").description("helpers for analysis scripts: read config fields, unpack zip datasets");

  sc.command("read-yaml")
    .description("print one field of a YAML/JSON file: mapping → compact JSON, list → space-separated, scalar → as written")
    .requiredOption("-p, --path <file>", "YAML or JSON file")
    .requiredOption("-f, --field <field>", "field name (a dotted path reaches nested fields)")
    .option("-d, --default <value>", "printed when the field is missing")
    .action((o: { path: string; field: string; default?: string }) => {
      if (!fs.existsSync(o.path)) throw new Error(`${o.path} does not exist`);
      try {
        process.stdout.write(`${readYamlField(fs.readFileSync(o.path, "utf8"), o.field, o.path)}\n`);
      } catch (e) {
        if (e instanceof FieldNotFoundError && o.default !== undefined) process.stdout.write(`${o.default}\n`);
        else throw e;
      }
    });

  sc.command("parse-zip")
    .description("extract a zip holding exactly one top-level folder (ignoring __MACOSX) and print the folder's name")
    .requiredOption("-z, --zippath <zip>", "zip archive")
    .option("-o, --outpath <dir>", "existing directory to extract into (default: the archive's directory)")
    .action((o: { zippath: string; outpath?: string }) => {
      process.stdout.write(`${parseZip(o.zippath, o.outpath)}\n`);
    });
}
