/**
 * COMMAND templating (SPEC 4.5): up to four `{}` placeholders filled in order with
 * (1) input bucket, (2) dataset key, (3) result folder, (4) config key.
 * Shared by the job manager, local mode and `neurocaas remote submit-job`.
 */

export const MAX_PLACEHOLDERS = 4;

export function countPlaceholders(command: string): number {
  return command.split("{}").length - 1;
}

export interface CommandArguments {
  readonly bucket: string;
  readonly datasetKey: string;
  readonly resultFolder: string;
  readonly configKey: string;
}

export function fillCommand(command: string, args: CommandArguments): string {
  const n = countPlaceholders(command);
  if (n > MAX_PLACEHOLDERS) {
    throw new Error(
      `COMMAND has ${n} "{}" placeholders; at most ${MAX_PLACEHOLDERS} are allowed (bucket, dataset key, result folder, config key)`,
    );
  }
  const values = [args.bucket, args.datasetKey, args.resultFolder, args.configKey];
  let i = 0;
  // A function replacer keeps `$&`-style sequences in values literal.
  return command.replace(/\{\}/g, () => values[i++]);
}
