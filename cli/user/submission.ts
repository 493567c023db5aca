import { promises as fsp } from "node:fs";
import * as path from "node:path";

/** One local file to upload and the key it goes to. */
interface PlannedUpload {
  readonly localPath: string;
  readonly key: string;
  readonly size: number;
}

export interface SubmissionPlan {
  readonly uploads: readonly PlannedUpload[];
  /** Values for the submit file's `dataname` (one IAE each). */
  readonly datanames: readonly string[];
  readonly configname: string;
}

export interface PlanSubmissionArgs {
  readonly group: string;
  /** Local files/folders, keys under `{group}/`, or `s3://` URIs. */
  readonly data: readonly string[];
  readonly config: string;
}

const CONFIG_EXTENSIONS = [".json", ".yaml", ".yml"];

/** A reference that names an object already in storage rather than a local file. */
function isStorageReference(group: string, ref: string): boolean {
  return ref.startsWith("s3://") || ref.startsWith(`${group}/`);
}

function toPosix(p: string): string {
  return p.split(path.sep).join("/");
}

async function statOrUndefined(p: string) {
  try {
    return await fsp.stat(p);
  } catch {
    return undefined;
  }
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

/**
 * Decide what `neurocaas submit` uploads and what the submit file names. A local file goes to
 * `{group}/inputs/{name}` (configs to `{group}/configs/{name}`); a local folder is uploaded
 * recursively under `{group}/inputs/{folder}/` and submitted as that prefix (one IAE for the
 * folder). Existing local paths win over storage references of the same spelling.
 */
export async function planSubmission(args: PlanSubmissionArgs): Promise<SubmissionPlan> {
  const uploads: PlannedUpload[] = [];
  const datanames: string[] = [];
  if (args.data.length === 0) throw new Error("--data: at least one dataset (local path or key) is required");
  for (const ref of args.data) {
    const st = await statOrUndefined(ref);
    if (st?.isFile()) {
      const key = `${args.group}/inputs/${path.basename(ref)}`;
      uploads.push({ localPath: ref, key, size: st.size });
      datanames.push(key);
    } else if (st?.isDirectory()) {
      const folder = path.basename(path.resolve(ref));
      const files = await walk(ref);
      if (files.length === 0) throw new Error(`--data: folder "${ref}" is empty`);
      for (const f of files) {
        const size = (await fsp.stat(f)).size;
        uploads.push({ localPath: f, key: `${args.group}/inputs/${folder}/${toPosix(path.relative(ref, f))}`, size });
      }
      datanames.push(`${args.group}/inputs/${folder}/`);
    } else if (isStorageReference(args.group, ref)) {
      datanames.push(ref);
    } else {
      throw new Error(
        `--data: "${ref}" is neither a local file or folder nor a key under "${args.group}/" or an s3:// URI`,
      );
    }
  }
  const dup = datanames.find((d, i) => datanames.indexOf(d) !== i);
  if (dup)
    throw new Error(
      `--data: dataset "${dup}" is given twice (two local files with the same name would overwrite each other)`,
    );

  let configname: string;
  const cst = await statOrUndefined(args.config);
  if (cst?.isFile()) {
    configname = `${args.group}/configs/${path.basename(args.config)}`;
    uploads.push({ localPath: args.config, key: configname, size: cst.size });
  } else if (isStorageReference(args.group, args.config)) {
    configname = args.config;
  } else {
    throw new Error(
      `--config: "${args.config}" is neither a local file nor a key under "${args.group}/" or an s3:// URI`,
    );
  }
  if (!CONFIG_EXTENSIONS.some((e) => configname.toLowerCase().endsWith(e))) {
    throw new Error(
      `--config: "${args.config}" must end in ${CONFIG_EXTENSIONS.join(", ")} (the job manager parses configs by extension)`,
    );
  }
  return { uploads, datanames, configname };
}

export interface SubmitFileBody {
  readonly dataname: string | readonly string[];
  readonly configname: string;
  readonly timestamp: string;
}

export function submitFileBody(plan: SubmissionPlan, timestamp: string): SubmitFileBody {
  return {
    dataname: plan.datanames.length === 1 ? plan.datanames[0] : plan.datanames,
    configname: plan.configname,
    timestamp,
  };
}

export { submitFileKey } from "../../model/job-id";
