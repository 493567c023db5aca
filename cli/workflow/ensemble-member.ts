import * as fs from "node:fs";
import { parseConfigObject } from "../../protocols/job-config";
import { ensembleMemberOf, type EnsembleMember } from "../../model/layout";
import type { RegisteredLocation } from "./state";
import { parseS3Uri } from "../../protocols/s3-uri";

/**
 * The ensemble member this IAE runs (SPEC 4.8): its config is the platform's copy
 * `job__…inst{i}config.json` carrying `"jobnb": i`. Each member reports in its own status file and
 * certificate line. `localConfig`: the fetched config, read for `jobnb` when present.
 */
export function ensembleMemberOfConfig(configKey: string, localConfig?: string): EnsembleMember {
  if (localConfig === undefined || !fs.existsSync(localConfig)) return ensembleMemberOf(configKey);
  try {
    return ensembleMemberOf(configKey, parseConfigObject(fs.readFileSync(localConfig, "utf8"), configKey));
  } catch {
    return ensembleMemberOf(configKey);
  }
}

/** The member of a registered config (`workflow log-command`), undefined when it is not an ensemble copy. */
export function ensembleMemberOfRegistration(config: RegisteredLocation): EnsembleMember {
  const key = config.s3 ? parseS3Uri(config.s3).key : (config.localsource ?? config.local);
  return key === undefined ? undefined : ensembleMemberOfConfig(key, config.local);
}
