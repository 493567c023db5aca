import { tryParseS3Uri } from "./s3-uri";
import { JobError, problemsError } from "./errors";

/** A validated submit file (SPEC §2). */
export interface SubmitFile {
  /** One entry per IAE, in the order given. Keys, or `s3://` URIs in bypass mode. */
  readonly datanames: readonly string[];
  readonly configname: string;
  readonly timestamp: string;
  readonly instanceType?: string;
  /** Storage bypass: data and config are `s3://` URIs of one bucket. */
  readonly bypass?: BypassLocation;
}

interface BypassLocation {
  readonly inputBucket: string;
  readonly outputBucket: string;
  /** Result prefix in the output bucket, without leading/trailing slash ("" = bucket root). */
  readonly resultPrefix: string;
}

export const MAX_TIMESTAMP_LENGTH = 128;
const MAX_KEY_LENGTH = 1024;
const CONFIG_EXTENSIONS = [".json", ".yaml", ".yml"] as const;
/**
 * Folders of the submitting group a submission may read, by field. Data: `inputs/`, and the
 * group's own `results/` — post-processing chains (SPEC 4.8) and `UserInput: false` affiliates run
 * the next step on earlier results, which the platform wrote for this group. Configs: `configs/`.
 * Nothing else (another group's folders, `submissions/`, `logs/`) is ever read for a submission.
 */
const READABLE_GROUP_FOLDERS = { dataname: ["inputs", "results"], configname: ["configs"] } as const;
/** Path segments no result folder may contain, in any bucket: users' data and job triggers live there. */
const FORBIDDEN_RESULT_SEGMENTS = ["submissions", "inputs", "configs"] as const;

/** Who submitted, and which buckets a submission may name (SPEC §2, §10). */
export interface SubmitContext {
  /** The group whose `submissions/` folder holds the submit file. */
  readonly group: string;
  /** The analysis bucket (holding the submit file). */
  readonly analysisBucket: string;
  /** Other buckets storage bypass may read and write (`neurocaas:bypassBuckets`). */
  readonly bypassBuckets: readonly string[];
}

/** Parse and validate submit file text. Throws JobError naming every problem found. */
export function parseSubmitFile(text: string, context: SubmitContext): SubmitFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new JobError(`The submit file is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new JobError(
      `The submit file must be a JSON object with fields "dataname", "configname" and "timestamp"; got ${describe(raw)}.`,
    );
  }
  const obj = raw as Record<string, unknown>;
  const problems: string[] = [];

  const timestamp = checkTimestamp(obj.timestamp, problems);
  const datanames = checkDatanames(obj.dataname, problems);
  const configname = checkConfigname(obj.configname, problems);
  let instanceType: string | undefined;
  if (obj.instance_type !== undefined) {
    if (typeof obj.instance_type !== "string" || !/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(obj.instance_type)) {
      problems.push(
        `"instance_type" must be an EC2 instance type such as "m5.xlarge"; got ${describe(obj.instance_type)}.`,
      );
    } else instanceType = obj.instance_type;
  }
  if (obj.resultpath !== undefined && typeof obj.resultpath !== "string") {
    problems.push(`"resultpath" must be a string "s3://bucket/prefix"; got ${describe(obj.resultpath)}.`);
  }
  if (problems.length > 0 || timestamp === undefined || datanames === undefined || configname === undefined) {
    throw problemsError(problems);
  }

  const uris = [...datanames, configname].map((k) => k.startsWith("s3://"));
  const bypass = uris.some(Boolean);
  if (bypass) {
    return {
      datanames,
      configname,
      timestamp,
      instanceType,
      bypass: checkBypass(datanames, configname, obj.resultpath as string | undefined, context),
    };
  }
  if (obj.resultpath !== undefined) {
    throw new JobError(
      `"resultpath" is only allowed with storage bypass (dataname and configname given as s3:// URIs).`,
    );
  }
  const keyProblems: string[] = [];
  for (const key of datanames) checkOwnKey(key, context.group, "dataname", keyProblems);
  checkOwnKey(configname, context.group, "configname", keyProblems);
  if (keyProblems.length > 0) throw problemsError(keyProblems);
  return { datanames, configname, timestamp, instanceType };
}

function checkTimestamp(value: unknown, problems: string[], field = "timestamp"): string | undefined {
  if (typeof value !== "string" || value.length === 0) {
    problems.push(`"${field}" is required and must be a non-empty string; got ${describe(value)}.`);
    return undefined;
  }
  if (value.length > MAX_TIMESTAMP_LENGTH) {
    problems.push(`"${field}" is ${value.length} characters long; at most ${MAX_TIMESTAMP_LENGTH} are allowed.`);
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  if (/[/\\\u0000-\u001f\u007f]/.test(value) || value === "." || value === "..") {
    problems.push(
      `"${field}" ${JSON.stringify(value)} must not contain "/", "\\" or control characters (it becomes a folder name).`,
    );
    return undefined;
  }
  return value;
}

/**
 * A cancel request (SPEC §11): a submit file `{"cancel": "<timestamp of the job>"}`. Undefined when
 * the text is not one (no "cancel" field); throws a JobError when it is one but malformed.
 */
export function parseCancelFile(text: string): { readonly timestamp: string } | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (
    typeof raw !== "object" ||
    raw === null ||
    Array.isArray(raw) ||
    !Object.prototype.hasOwnProperty.call(raw, "cancel")
  )
    return undefined;
  const obj = raw as Record<string, unknown>;
  const problems: string[] = [];
  const timestamp = checkTimestamp(obj.cancel, problems, "cancel");
  const extra = Object.keys(obj).filter((k) => k !== "cancel");
  if (extra.length > 0)
    problems.push(
      `A cancel request holds only "cancel" (the timestamp of the job to cancel); remove ${extra.map((k) => JSON.stringify(k)).join(", ")}.`,
    );
  if (problems.length > 0 || timestamp === undefined) throw problemsError(problems);
  return { timestamp };
}

function checkDatanames(value: unknown, problems: string[]): string[] | undefined {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list)) {
    problems.push(`"dataname" is required: a dataset key or a list of dataset keys; got ${describe(value)}.`);
    return undefined;
  }
  if (list.length === 0) {
    problems.push(`"dataname" is an empty list; give at least one dataset key.`);
    return undefined;
  }
  const bad = list.findIndex((k) => typeof k !== "string" || k.length === 0);
  if (bad !== -1) {
    problems.push(`"dataname" entry ${bad} must be a non-empty string; got ${describe(list[bad])}.`);
    return undefined;
  }
  const keys = list as string[];
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) {
      problems.push(`"dataname" lists ${JSON.stringify(k)} more than once; each dataset runs once per job.`);
      return undefined;
    }
    seen.add(k);
  }
  return keys;
}

function checkConfigname(value: unknown, problems: string[]): string | undefined {
  // The web client and the bypass documentation sometimes send a one-element list.
  const v = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (typeof v !== "string" || v.length === 0) {
    problems.push(
      `"configname" is required: the key of one config file (.json, .yaml or .yml); got ${describe(value)}.`,
    );
    return undefined;
  }
  const lower = v.toLowerCase();
  if (!CONFIG_EXTENSIONS.some((e) => lower.endsWith(e))) {
    problems.push(`"configname" ${JSON.stringify(v)} must end in .json, .yaml or .yml.`);
    return undefined;
  }
  return v;
}

/** Key hygiene shared by own-folder keys and bypass keys. */
function keyProblem(key: string): string | undefined {
  if (key.length > MAX_KEY_LENGTH) return `is longer than ${MAX_KEY_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return "contains control characters";
  if (key.startsWith("/")) return `must not start with "/"`;
  const segments = (key.endsWith("/") ? key.slice(0, -1) : key).split("/");
  if (segments.some((s) => s === "." || s === "..")) return `must not contain "." or ".." path segments`;
  if (segments.some((s) => s === "")) return "must not contain empty path segments (//)";
  return undefined;
}

function checkOwnKey(key: string, group: string, field: "dataname" | "configname", problems: string[]): void {
  if (key.startsWith("s3://")) {
    problems.push(
      `"${field}" ${JSON.stringify(key)}: mix of s3:// URIs and bucket keys; storage bypass needs every dataname and the configname as s3:// URIs.`,
    );
    return;
  }
  const p = keyProblem(key);
  if (p) {
    problems.push(`"${field}" ${JSON.stringify(key)} ${p}.`);
    return;
  }
  const outside = ownKeyProblem(key, group, field);
  if (outside) problems.push(`"${field}" ${JSON.stringify(key)} ${outside}.`);
}

/** Why a key in the analysis bucket is not readable for this field of the group's submission, if it is not. */
function ownKeyProblem(key: string, group: string, field: "dataname" | "configname"): string | undefined {
  const folders: readonly string[] = READABLE_GROUP_FOLDERS[field];
  const [owner, folder] = key.split("/");
  if (owner === group && folders.includes(folder ?? "") && key.split("/").length >= 3) return undefined;
  const allowed = folders.map((f) => `"${group}/${f}/"`).join(" or ");
  return `is outside your group's folder: ${field === "dataname" ? "dataset keys" : "config keys"} must start with ${allowed}`;
}

/** Why a result prefix may not hold job folders, if it may not (SPEC §10: never where user data, triggers or platform logs live). */
function resultPrefixProblem(bucket: string, prefix: string, context: SubmitContext): string | undefined {
  const segments = prefix === "" ? [] : prefix.split("/");
  if (segments[0] === "logs") return `lies under logs/, where the platform keeps its own records`;
  const bad = segments.find((s) => (FORBIDDEN_RESULT_SEGMENTS as readonly string[]).includes(s));
  if (bad !== undefined)
    return `lies under a ${bad}/ folder; results never go where user data, configs or job triggers live`;
  if (bucket === context.analysisBucket) {
    const own = `${context.group}/results`;
    if (prefix !== own && !prefix.startsWith(`${own}/`))
      return `is in the analysis bucket but outside your group's results folder; use s3://${bucket}/${own}/...`;
  }
  return undefined;
}

/** Why a bypass bucket may not be used, if it may not. */
function bucketProblem(bucket: string, context: SubmitContext): string | undefined {
  if (bucket === context.analysisBucket || context.bypassBuckets.includes(bucket)) return undefined;
  const listed =
    context.bypassBuckets.length > 0
      ? `the buckets this analysis may use are ${context.bypassBuckets.join(", ")}`
      : "this analysis allows no other bucket";
  return `bucket ${bucket} is not a storage-bypass bucket of this analysis (${listed}; an administrator lists them in neurocaas:bypassBuckets)`;
}

function checkBypass(
  datanames: readonly string[],
  configname: string,
  resultpath: string | undefined,
  context: SubmitContext,
): BypassLocation {
  const problems: string[] = [];
  const buckets = new Set<string>();
  const parsedKeys: { field: "dataname" | "configname"; uri: string; bucket: string; key: string }[] = [];
  for (const [field, uri] of [...datanames.map((d) => ["dataname", d] as const), ["configname", configname] as const]) {
    const parsed = tryParseS3Uri(uri);
    if (!parsed || parsed.key === "") {
      problems.push(`"${field}" ${JSON.stringify(uri)} must be a full s3://bucket/key URI in storage bypass mode.`);
      continue;
    }
    const p = keyProblem(parsed.key);
    if (p) problems.push(`"${field}" ${JSON.stringify(uri)}: the key ${p}.`);
    else parsedKeys.push({ field, uri, ...parsed });
    buckets.add(parsed.bucket);
  }
  if (problems.length === 0 && buckets.size !== 1) {
    problems.push(
      `In storage bypass mode data and config must come from the same bucket; got ${[...buckets].join(", ")}.`,
    );
  }
  const inputBucket = [...buckets][0] ?? "";
  if (problems.length === 0) {
    const denied = bucketProblem(inputBucket, context);
    if (denied) problems.push(`"dataname"/"configname" in s3://${inputBucket}/: ${denied}.`);
    for (const { field, uri, bucket, key } of parsedKeys) {
      if (key === "logs" || key.startsWith("logs/"))
        problems.push(
          `"${field}" ${JSON.stringify(uri)} lies under logs/, the platform's own records; it cannot be read by a job.`,
        );
      else if (bucket === context.analysisBucket) {
        // Into the analysis bucket itself, a URI obeys the rules of a plain key.
        const outside = ownKeyProblem(key, context.group, field);
        if (outside) problems.push(`"${field}" ${JSON.stringify(uri)} ${outside}.`);
      }
    }
  }
  let outputBucket = inputBucket;
  let resultPrefix = inputBucket === context.analysisBucket ? `${context.group}/results` : "results";
  if (resultpath !== undefined) {
    const parsed = tryParseS3Uri(resultpath);
    if (!parsed) problems.push(`"resultpath" ${JSON.stringify(resultpath)} must be an s3://bucket/prefix URI.`);
    else {
      outputBucket = parsed.bucket;
      resultPrefix = parsed.key.replace(/^\/+|\/+$/g, "");
      const p = resultPrefix === "" ? undefined : keyProblem(resultPrefix);
      if (p) problems.push(`"resultpath" ${JSON.stringify(resultpath)}: the prefix ${p}.`);
      else {
        const denied = bucketProblem(outputBucket, context);
        if (denied) problems.push(`"resultpath" ${JSON.stringify(resultpath)}: ${denied}.`);
      }
    }
  }
  if (problems.length === 0) {
    const p = resultPrefixProblem(outputBucket, resultPrefix, context);
    if (p) problems.push(`"resultpath" ${JSON.stringify(resultpath ?? `s3://${outputBucket}/${resultPrefix}`)} ${p}.`);
  }
  if (problems.length > 0) throw problemsError(problems);
  return { inputBucket, outputBucket, resultPrefix };
}

export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === "string")
    return value.length > 60 ? `the string "${value.slice(0, 60)}…"` : `the string ${JSON.stringify(value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}
