import { validateBlueprint, type BlueprintIssue } from "../../model/blueprint/parse";
import {
  LEGACY_AFFILIATE_KEYS,
  LEGACY_LAMBDA_CONFIG_KEYS,
  LEGACY_TOP_LEVEL_KEYS,
  NUMERIC_LAMBDA_CONFIG_KEYS,
} from "../../model/blueprint/schema";
import { countPlaceholders, MAX_PLACEHOLDERS } from "../../protocols/command-template";
import { isLegacyPostHandler, protocolForLegacyHandler } from "../../model/blueprint/legacy-handlers";

/**
 * Conversion of an original `stack_config_template.json` into the blueprint object of a stack
 * config. Pure: returns the converted object or why it cannot be converted, plus notes on every
 * change made, so a developer can review the result.
 */

export type ImportKind = "converted" | "template" | "protocol" | "invalid";

export interface ImportOutcome {
  readonly kind: ImportKind;
  /** The blueprint object for `neurocaas:blueprint` (only when converted). */
  readonly blueprint?: Record<string, unknown>;
  /** What the conversion changed, mapped or dropped. */
  readonly notes: readonly ImportNote[];
  /** Why the blueprint was rejected: key paths and their values. */
  readonly problems: readonly string[];
}

interface ImportNote {
  /** Full sentence, written into the stack file's header. */
  readonly text: string;
  /** A few words for the `--all` table. */
  readonly brief: string;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const NUMERIC = /^\s*-?\d+(?:\.\d+)?\s*$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function show(value: unknown): string {
  const text = value === undefined ? "(missing)" : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}

/** A template value: prose where a name, id or number belongs, or an empty string. */
function isPlaceholder(issue: BlueprintIssue): boolean {
  return typeof issue.value === "string" && (issue.value.trim() === "" || /\s/.test(issue.value.trim()));
}

const LAMBDA_DROPPED = ["CodeUri", "Launch", "Requirements"] as const;
const POST_KEYS = ["PostHandler", "PostCodeUri", "PostTrigger"] as const;

export function convertLegacyBlueprint(raw: unknown): ImportOutcome {
  if (!isObject(raw))
    return { kind: "invalid", notes: [], problems: ["(root): expected a JSON object (stack_config_template.json)"] };
  const notes: ImportNote[] = [];
  const note = (text: string, brief: string) => notes.push({ text, brief });
  const protocolProblems: string[] = [];
  const dropped: string[] = [];
  const out: Json = {};
  const known = new Set(["PipelineName", "REGION", "STAGE", "Lambda", "UXData", ...LEGACY_TOP_LEVEL_KEYS]);

  for (const k of ["PipelineName", "REGION"]) if (k in raw) out[k] = raw[k];
  if (!("STAGE" in raw)) {
    out.STAGE = "webdev";
    note("STAGE missing → webdev (only the listed affiliates may use it)", "no STAGE→webdev");
  } else if (raw.STAGE === "develop") {
    out.STAGE = "webdev";
    note('STAGE "develop" → webdev', "develop→webdev");
  } else out.STAGE = raw.STAGE;
  for (const k of LEGACY_TOP_LEVEL_KEYS) if (k in raw) dropped.push(k);
  for (const k of Object.keys(raw)) if (!known.has(k)) out[k] = raw[k];

  const lambdaIn = raw.Lambda;
  if (isObject(lambdaIn)) {
    const lambda: Json = {};
    if ("Protocol" in lambdaIn) lambda.Protocol = lambdaIn.Protocol;
    else if (typeof lambdaIn.Handler === "string") {
      const protocol = protocolForLegacyHandler(lambdaIn.Handler);
      if (protocol) {
        lambda.Protocol = protocol;
        note(`Lambda.Handler "${lambdaIn.Handler}" → Protocol ${protocol}`, `${lambdaIn.Handler}→${protocol}`);
      } else {
        protocolProblems.push(
          `Lambda.Handler = ${show(lambdaIn.Handler)}: no protocol of this project implements this job manager`,
        );
      }
    } else if (!("Handler" in lambdaIn)) {
      lambda.Protocol = "default";
      note("Lambda.Handler missing → Protocol default", "no Handler→default");
    }
    const cfgIn = lambdaIn.LambdaConfig;
    if (isObject(cfgIn)) {
      const cfg: Json = {};
      for (const [k, v] of Object.entries(cfgIn)) {
        if ((LEGACY_LAMBDA_CONFIG_KEYS as readonly string[]).includes(k)) {
          dropped.push(`Lambda.LambdaConfig.${k}`);
        } else if (
          (NUMERIC_LAMBDA_CONFIG_KEYS as readonly string[]).includes(k) &&
          typeof v === "string" &&
          NUMERIC.test(v)
        ) {
          cfg[k] = Number(v);
          note(`Lambda.LambdaConfig.${k} "${v}" → ${Number(v)}`, `${k} "${v}"→${Number(v)}`);
        } else cfg[k] = v;
      }
      if (typeof cfg.COMMAND === "string" && countPlaceholders(cfg.COMMAND) > MAX_PLACEHOLDERS) {
        protocolProblems.push(
          `Lambda.LambdaConfig.COMMAND has ${countPlaceholders(cfg.COMMAND)} "{}" placeholders: the protocols here fill at most ${MAX_PLACEHOLDERS} (bucket, dataset key, result folder, config key)`,
        );
      }
      lambda.LambdaConfig = cfg;
    } else if ("LambdaConfig" in lambdaIn) lambda.LambdaConfig = cfgIn;
    for (const k of LAMBDA_DROPPED) if (k in lambdaIn) dropped.push(`Lambda.${k}`);
    if ("Handler" in lambdaIn && "Protocol" in lambdaIn) dropped.push("Lambda.Handler");
    if (typeof lambdaIn.PostHandler === "string") {
      const post = lambdaIn.PostHandler;
      if (!isLegacyPostHandler(post)) {
        protocolProblems.push(
          `Lambda.PostHandler = ${show(post)}: no post-processing protocol of this project implements it`,
        );
      } else {
        // The legacy file does not say which step follows; chaining blindly would resubmit into this bucket.
        note(
          `Lambda.PostHandler "${post}" not carried over: to chain a next step add Lambda.PostProcessing {StepName, PostTrigger${
            typeof lambdaIn.PostTrigger === "string" ? ` (was "${lambdaIn.PostTrigger}")` : ""
          }, TargetBucket}`,
          `PostHandler ${post} not carried (add PostProcessing)`,
        );
      }
    }
    for (const k of POST_KEYS) if (k in lambdaIn) dropped.push(`Lambda.${k}`);
    for (const [k, v] of Object.entries(lambdaIn)) {
      if (!["Protocol", "Handler", "LambdaConfig", ...LAMBDA_DROPPED, ...POST_KEYS].includes(k)) lambda[k] = v;
    }
    out.Lambda = lambda;
  } else if ("Lambda" in raw) out.Lambda = lambdaIn;

  const ux = raw.UXData;
  if (isObject(ux) && Array.isArray(ux.Affiliates)) {
    let legacyAffiliateKeys = 0;
    const notEmails: string[] = [];
    const affiliates = ux.Affiliates.map((a, i) => {
      if (!isObject(a)) return a;
      const copy: Json = {};
      for (const [k, v] of Object.entries(a)) {
        if ((LEGACY_AFFILIATE_KEYS as readonly string[]).includes(k)) legacyAffiliateKeys++;
        else if (k === "ContactEmail" && typeof v === "string" && !EMAIL.test(v.trim()))
          notEmails.push(`UXData.Affiliates[${i}]`);
        else copy[k] = v;
      }
      return copy;
    });
    if (legacyAffiliateKeys > 0)
      dropped.push(`UXData.Affiliates[].{${LEGACY_AFFILIATE_KEYS.join(",")}} (${legacyAffiliateKeys}x)`);
    if (notEmails.length > 0) {
      note(
        `ContactEmail dropped where it is not an e-mail address: ${notEmails.join(", ")}`,
        `${notEmails.length} non-e-mail ContactEmail dropped`,
      );
    }
    out.UXData = { ...ux, Affiliates: affiliates };
  } else if ("UXData" in raw) out.UXData = ux;

  if (dropped.length > 0)
    note(
      `legacy keys dropped (the utils stack or this project provides them): ${dropped.join(", ")}`,
      `${dropped.length} legacy keys dropped`,
    );
  const ordered = orderKeys(out);
  const result = validateBlueprint(ordered);
  const issues = result.ok
    ? []
    : result.issues.filter(
        (i) =>
          !(protocolProblems.length > 0 && (i.path === "Lambda.Protocol" || i.path === "Lambda.LambdaConfig.COMMAND")),
      );
  const placeholders = issues.filter(isPlaceholder);
  const describe = (i: BlueprintIssue) => `${i.path} = ${show(i.value)} (expected ${i.expected})`;
  if (placeholders.length > 0) {
    return {
      kind: "template",
      notes,
      problems: [
        ...placeholders.map((i) => `${i.path} = ${show(i.value)} is a placeholder`),
        ...issues.filter((i) => !isPlaceholder(i)).map(describe),
        ...protocolProblems,
      ],
    };
  }
  if (protocolProblems.length > 0)
    return { kind: "protocol", notes, problems: [...protocolProblems, ...issues.map(describe)] };
  if (issues.length > 0) return { kind: "invalid", notes, problems: issues.map(describe) };
  return { kind: "converted", blueprint: ordered, notes, problems: [] };
}

const TOP_ORDER = ["PipelineName", "REGION", "STAGE", "Lambda", "UXData"];

function orderKeys(bp: Json): Json {
  const out: Json = {};
  for (const k of TOP_ORDER) if (k in bp) out[k] = bp[k];
  for (const [k, v] of Object.entries(bp)) if (!(k in out)) out[k] = v;
  return out;
}

/** One line for the `--all` table. */
export function summarize(outcome: ImportOutcome): string {
  switch (outcome.kind) {
    case "converted":
      return outcome.notes.map((n) => n.brief).join("; ");
    case "template":
      return `template with placeholder values: ${outcome.problems
        .filter((p) => p.endsWith("is a placeholder"))
        .map((p) => p.split(" = ")[0])
        .join(", ")}`;
    case "protocol":
      return `needs a protocol this project does not carry: ${outcome.problems.join("; ")}`;
    case "invalid":
      return outcome.problems.join("; ");
  }
}
