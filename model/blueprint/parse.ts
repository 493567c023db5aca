import Ajv, { type ErrorObject } from "ajv";
import * as fs from "node:fs";
import YAML from "yaml";
import {
  BLUEPRINT_SCHEMA,
  LEGACY_AFFILIATE_KEYS,
  LEGACY_LAMBDA_CONFIG_KEYS,
  NUMERIC_LAMBDA_CONFIG_KEYS,
} from "./schema";
import { BlueprintError, type BlueprintIssue } from "./errors";
import { KNOWN_LEGACY_HANDLERS, protocolForLegacyHandler } from "./legacy-handlers";
import {
  DEFAULT_POST_TRIGGER,
  LAMBDA_CONFIG_DEFAULTS,
  type Affiliate,
  type Blueprint,
  type LambdaConfig,
  type LambdaSettings,
  type PostProcessing,
  type ProtocolName,
  type Stage,
} from "./types";

export { BlueprintError } from "./errors";
export type { BlueprintIssue } from "./errors";

/** Stack config key that holds the blueprint. */
export const BLUEPRINT_CONFIG_KEY = "neurocaas:blueprint";
/** IAM user and group names are limited to these lengths. */
const MAX_IAM_USER_NAME = 64;

type Json = Record<string, unknown>;

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
ajv.addKeyword({ keyword: "expected", schemaType: "string" });
const validateSchema = ajv.compile(BLUEPRINT_SCHEMA);
/** A separate instance to check that a blueprint's ConfigSchema is itself a valid schema. */
const configSchemaAjv = new Ajv({ allErrors: true, strict: false });

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function has(obj: Json, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

const NUMERIC_STRING = /^\s*-?\d+(?:\.\d+)?\s*$/;

/**
 * Legacy and convenience forms → the normalized shape, on a copy: `develop` → `webdev`, numeric
 * strings → numbers, legacy `Handler` → `Protocol`, defaults applied by key presence only.
 * Anything of the wrong shape is left as is for the schema to report.
 */
function normalize(raw: Json): Json {
  // A JSON round trip (not structuredClone): arrays must belong to this realm, since Pulumi
  // serializes values by `instanceof Array` (jest runs tests in a separate vm context).
  const bp = JSON.parse(JSON.stringify(raw)) as Json;
  if (bp.STAGE === "develop") bp.STAGE = "webdev";
  const lambda = bp.Lambda;
  if (!isObject(lambda)) return bp;
  if (!has(lambda, "Protocol")) {
    const handler = lambda.Handler;
    const mapped = typeof handler === "string" ? protocolForLegacyHandler(handler) : undefined;
    if (handler === undefined) lambda.Protocol = "default";
    else if (mapped !== undefined) lambda.Protocol = mapped;
    // An unknown legacy handler is left without Protocol: the schema then reports it missing.
  }
  const cfg = lambda.LambdaConfig;
  if (isObject(cfg)) {
    for (const key of NUMERIC_LAMBDA_CONFIG_KEYS) {
      const v = cfg[key];
      if (typeof v === "string" && NUMERIC_STRING.test(v)) cfg[key] = Number(v);
    }
    for (const [key, value] of Object.entries(LAMBDA_CONFIG_DEFAULTS)) {
      if (!has(cfg, key)) cfg[key] = Array.isArray(value) ? [...value] : value;
    }
  }
  const post = lambda.PostProcessing;
  if (isObject(post) && !has(post, "PostTrigger")) {
    post.PostTrigger = typeof lambda.PostTrigger === "string" ? lambda.PostTrigger : DEFAULT_POST_TRIGGER;
  }
  return bp;
}

/** `/UXData/Affiliates/0/UserInput` → `UXData.Affiliates[0].UserInput`. */
function pointerToPath(pointer: string, extra?: string): string {
  const parts = pointer
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (extra !== undefined) parts.push(extra);
  let out = "";
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === "" ? p : `.${p}`;
  return out === "" ? "(root)" : out;
}

function valueAt(root: unknown, pointer: string): unknown {
  let cur: unknown = root;
  for (const p of pointer.split("/").slice(1)) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Json)[p.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return cur;
}

function issueFromAjv(e: ErrorObject, original: unknown): BlueprintIssue {
  const parent = (e.parentSchema ?? {}) as Json;
  if (e.keyword === "required") {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    const props = (parent.properties ?? {}) as Record<string, Json>;
    const expected = props[missing]?.expected;
    return {
      path: pointerToPath(e.instancePath, missing),
      value: undefined,
      expected: `a required key: ${String(expected ?? missing)}`,
    };
  }
  if (e.keyword === "additionalProperties") {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    const allowed = Object.keys((parent.properties ?? {}) as Json).join(", ");
    return {
      path: pointerToPath(e.instancePath, extra),
      value: valueAt(original, `${e.instancePath}/${extra}`),
      expected: `no such key (allowed here: ${allowed})`,
    };
  }
  const fromOriginal = valueAt(original, e.instancePath);
  const expected = typeof parent.expected === "string" ? parent.expected : (e.message ?? "a valid value");
  return { path: pointerToPath(e.instancePath), value: fromOriginal !== undefined ? fromOriginal : e.data, expected };
}

/** Checks that JSON Schema cannot express (or cannot express with a readable message). */
function semanticIssues(bp: Json): BlueprintIssue[] {
  const issues: BlueprintIssue[] = [];
  const lambda = isObject(bp.Lambda) ? bp.Lambda : {};
  if (lambda.Handler !== undefined && !has(lambda, "Protocol")) {
    issues.push({
      path: "Lambda.Handler",
      value: lambda.Handler,
      expected: `a known legacy handler (${KNOWN_LEGACY_HANDLERS.join(", ")}) or an explicit Lambda.Protocol`,
    });
  }
  if (lambda.Protocol === "input-checking" && !isObject(lambda.ConfigSchema)) {
    issues.push({
      path: "Lambda.ConfigSchema",
      value: lambda.ConfigSchema,
      expected: 'a JSON Schema object (required by Protocol "input-checking")',
    });
  }
  if (isObject(lambda.ConfigSchema)) {
    try {
      configSchemaAjv.compile(lambda.ConfigSchema);
    } catch (err) {
      issues.push({
        path: "Lambda.ConfigSchema",
        value: lambda.ConfigSchema,
        expected: `a valid JSON Schema (${(err as Error).message})`,
      });
    }
  }
  const post = isObject(lambda.PostProcessing) ? lambda.PostProcessing : {};
  if (typeof post.PostTrigger === "string" && post.PostTrigger.endsWith("submit.json")) {
    issues.push({
      path: "Lambda.PostProcessing.PostTrigger",
      value: post.PostTrigger,
      expected: 'a result file name not ending in "submit.json" (its S3 trigger would overlap the job-manager trigger)',
    });
  }
  const region = typeof bp.REGION === "string" ? bp.REGION : "";
  const ux = isObject(bp.UXData) ? bp.UXData : {};
  const affiliates = Array.isArray(ux.Affiliates) ? ux.Affiliates : [];
  const seen = new Map<string, number>();
  affiliates.forEach((a, i) => {
    if (!isObject(a)) return;
    if (typeof a.AffiliateName === "string") {
      const key = a.AffiliateName.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) {
        issues.push({
          path: `UXData.Affiliates[${i}].AffiliateName`,
          value: a.AffiliateName,
          expected: `a name not already used by UXData.Affiliates[${first}] (IAM group names are case-insensitive)`,
        });
      } else seen.set(key, i);
    }
    if (Array.isArray(a.UserNames)) {
      const users = new Set<string>();
      a.UserNames.forEach((u, j) => {
        if (typeof u !== "string") return;
        const path = `UXData.Affiliates[${i}].UserNames[${j}]`;
        if (users.has(u.toLowerCase()))
          issues.push({ path, value: u, expected: "a user name listed once per affiliate" });
        users.add(u.toLowerCase());
        if (u.length + region.length > MAX_IAM_USER_NAME) {
          issues.push({
            path,
            value: u,
            expected: `a name short enough that "${u}${region}" fits the IAM limit of ${MAX_IAM_USER_NAME} chars`,
          });
        }
      });
    }
  });
  return issues;
}

function pick<T extends object>(obj: Json, keys: readonly (keyof T & string)[]): T {
  const out: Json = {};
  for (const k of keys) if (has(obj, k)) out[k] = obj[k];
  return out as T;
}

/** Drop legacy keys: the returned Blueprint holds exactly the typed keys. */
function toBlueprint(bp: Json): Blueprint {
  const lambda = bp.Lambda as Json;
  const cfg = { ...(lambda.LambdaConfig as Json) };
  for (const k of LEGACY_LAMBDA_CONFIG_KEYS) delete cfg[k];
  const affiliates = ((bp.UXData as Json).Affiliates as Json[]).map((a) => {
    const copy = { ...a };
    for (const k of LEGACY_AFFILIATE_KEYS) delete copy[k];
    return pick<Affiliate>(copy, ["AffiliateName", "UserNames", "UserInput", "ContactEmail"]);
  });
  const settings: Json = { Protocol: lambda.Protocol as ProtocolName, LambdaConfig: cfg as unknown as LambdaConfig };
  if (has(lambda, "PostProcessing")) settings.PostProcessing = lambda.PostProcessing as PostProcessing;
  if (has(lambda, "ConfigSchema")) settings.ConfigSchema = lambda.ConfigSchema;
  return {
    PipelineName: bp.PipelineName as string,
    REGION: bp.REGION as string,
    STAGE: bp.STAGE as Stage,
    Lambda: settings as unknown as LambdaSettings,
    UXData: { Affiliates: affiliates },
  };
}

export type BlueprintValidation =
  | { readonly ok: true; readonly blueprint: Blueprint }
  | { readonly ok: false; readonly issues: readonly BlueprintIssue[] };

/**
 * Validate a blueprint as found in stack config (an object, or its JSON text as Pulumi config
 * delivers it) and return the normalized form or every issue found.
 */
export function validateBlueprint(raw: unknown): BlueprintValidation {
  let input = raw;
  if (typeof raw === "string") {
    try {
      input = JSON.parse(raw);
    } catch (err) {
      return {
        ok: false,
        issues: [
          { path: "(root)", value: raw, expected: `a blueprint object or its JSON text (${(err as Error).message})` },
        ],
      };
    }
  }
  if (!isObject(input)) {
    return {
      ok: false,
      issues: [
        {
          path: "(root)",
          value: input,
          expected: "a blueprint object with PipelineName, REGION, STAGE, Lambda and UXData",
        },
      ],
    };
  }
  const normalized = normalize(input);
  const issues: BlueprintIssue[] = [];
  const seenPaths = new Set<string>();
  if (!validateSchema(normalized)) {
    for (const e of validateSchema.errors ?? []) {
      const issue = issueFromAjv(e, input);
      // One issue per key path: `enum`/`type`/`pattern` on the same value repeat the same fact.
      if (seenPaths.has(issue.path)) continue;
      seenPaths.add(issue.path);
      issues.push(issue);
    }
  }
  for (const issue of semanticIssues(normalized)) {
    if (seenPaths.has(issue.path) && issue.path !== "Lambda.ConfigSchema") continue;
    seenPaths.add(issue.path);
    issues.push(issue);
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, blueprint: toBlueprint(normalized) };
}

/** Like `validateBlueprint`, but throws a `BlueprintError` listing every issue. */
export function parseBlueprint(raw: unknown, source?: string): Blueprint {
  const result = validateBlueprint(raw);
  if (!result.ok) throw new BlueprintError(result.issues, source);
  return result.blueprint;
}

export interface StackFile {
  /** The parsed blueprint when the stack config has `neurocaas:blueprint`. */
  readonly blueprint?: Blueprint;
  /** The whole `config:` map of the stack file, keys as written (`neurocaas:...`, `aws:region`). */
  readonly config: Record<string, unknown>;
}

/**
 * Read a Pulumi stack YAML file (`Pulumi.dev.yaml`, `stacks/<analysis>.yaml`). Throws with the
 * file name when the file cannot be read or parsed, and a `BlueprintError` naming the file when
 * its blueprint is invalid.
 */
export function loadStackFile(file: string): StackFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`Cannot read stack file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new Error(`Stack file ${file} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || doc === undefined) return { config: {} };
  if (!isObject(doc)) throw new Error(`Stack file ${file}: expected a YAML mapping with a "config:" key`);
  const config = doc.config === undefined || doc.config === null ? {} : doc.config;
  if (!isObject(config)) throw new Error(`Stack file ${file}: "config" must be a mapping of "namespace:key" to values`);
  if (!has(config, BLUEPRINT_CONFIG_KEY)) return { config };
  return { blueprint: parseBlueprint(config[BLUEPRINT_CONFIG_KEY], file), config };
}
