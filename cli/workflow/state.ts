import * as fs from "node:fs";
import * as path from "node:path";
import { homeDirectory } from "../home";

/**
 * Workflow CLI state (SPEC §5): `~/.neurocaas_contrib_storageloc.json` holds `{"path": JOBDIR}`,
 * and `JOBDIR/registration.json` records where the data, config, extra files and result path are.
 * Each IAE has its own HOME, so concurrent IAEs never share this state.
 */

const STORAGE_FILE_NAME = ".neurocaas_contrib_storageloc.json";
const REGISTRATION_FILE_NAME = "registration.json";

/** Where one registered item lives: an S3 URI, a local source, and where it was fetched to. */
export interface RegisteredLocation {
  s3?: string;
  localsource?: string;
  local?: string;
}

export interface Registration {
  data: RegisteredLocation;
  config: RegisteredLocation;
  additional_files: Record<string, RegisteredLocation>;
  resultpath: RegisteredLocation;
}

/** Sub-folders of a job directory (same names as the original neurocaas_contrib). */
export const JOB_SUBDIRS = { data: "inputs", config: "configs", results: "results", logs: "logs" } as const;

function emptyRegistration(): Registration {
  return { data: {}, config: {}, additional_files: {}, resultpath: {} };
}

export function storageFilePath(home: string = homeDirectory()): string {
  return path.join(home, STORAGE_FILE_NAME);
}

/** Create (or reset) a job directory and point the state file at it. Returns the absolute path. */
export function initializeJob(dir: string, home: string = homeDirectory()): string {
  const abs = path.resolve(dir);
  if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory()) {
    throw new Error(`initialize-job: "${abs}" exists and is not a directory`);
  }
  fs.mkdirSync(abs, { recursive: true });
  writeRegistration(abs, emptyRegistration());
  writeFileAtomic(storageFilePath(home), JSON.stringify({ path: abs }));
  return abs;
}

/** The current job directory from the state file, with a clear error when there is none. */
export function currentJobDir(home: string = homeDirectory()): string {
  const file = storageFilePath(home);
  let raw: string;
  try {
    raw = fs.readFileSync(file, "utf8");
  } catch {
    throw new Error(`no job initialized (${file} not found): run \`neurocaas workflow initialize-job -p DIR\` first`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${file} is not valid JSON: run \`neurocaas workflow initialize-job -p DIR\` again`);
  }
  const p = (parsed as { path?: unknown } | null)?.path;
  if (typeof p !== "string" || !p) {
    throw new Error(`${file} has no "path": run \`neurocaas workflow initialize-job -p DIR\` again`);
  }
  if (!fs.existsSync(path.join(p, REGISTRATION_FILE_NAME))) {
    throw new Error(
      `job directory ${p} has no ${REGISTRATION_FILE_NAME}: run \`neurocaas workflow initialize-job -p DIR\` again`,
    );
  }
  return p;
}

export function readRegistration(jobDir: string): Registration {
  const file = path.join(jobDir, REGISTRATION_FILE_NAME);
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<Registration>;
  return {
    data: parsed.data ?? {},
    config: parsed.config ?? {},
    additional_files: parsed.additional_files ?? {},
    resultpath: parsed.resultpath ?? {},
  };
}

export function writeRegistration(jobDir: string, registration: Registration): void {
  writeFileAtomic(path.join(jobDir, REGISTRATION_FILE_NAME), JSON.stringify(registration, null, 2));
}

/** Write via a temporary file and rename, so a reader never sees a half-written file. */
export function writeFileAtomic(file: string, content: string | Buffer): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}
