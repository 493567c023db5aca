import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type ScalarTag,
} from "yaml";
import { duplicateKeyNotes } from "../../protocols/yaml-keys";

/**
 * YAML (and JSON) loaded into the values Python's `yaml.full_load` returns, so that
 * `scripting read-yaml` prints what the original neurocaas-contrib printed. PyYAML implements
 * YAML 1.1 with its own implicit resolvers: `yes`/`on` are booleans but `y`/`n` are not, a float
 * needs a dot (`1e3` stays a string, so does `1.0e3`: the exponent needs a sign), `0777` is
 * octal, `1:30` is sexagesimal, dates become `datetime` objects. The regular expressions below
 * are PyYAML's (resolver.py).
 */

/** A Python float (kept apart from ints: `1.0` prints as `1.0`, `1` as `1`). */
export interface PyFloat {
  readonly kind: "float";
  readonly value: number;
}

/** A Python dict: insertion-ordered, keys of any scalar type. */
export interface PyDict {
  readonly kind: "dict";
  readonly entries: readonly (readonly [PyValue, PyValue])[];
}

/** A `datetime.date` (time undefined) or `datetime.datetime`. */
export interface PyTimestamp {
  readonly kind: "timestamp";
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly time?: {
    readonly hour: number;
    readonly minute: number;
    readonly second: number;
    readonly microsecond: number;
    readonly offsetMinutes?: number;
  };
}

export type PyValue = null | boolean | bigint | string | PyFloat | PyDict | PyTimestamp | readonly PyValue[];

const BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const INT =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const NULL = /^(?:~|null|Null|NULL|)$/;
const TIMESTAMP =
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;
const TIMESTAMP_PARTS =
  /^([0-9][0-9][0-9][0-9])-([0-9][0-9]?)-([0-9][0-9]?)(?:(?:[Tt]|[ \t]+)([0-9][0-9]?):([0-9][0-9]):([0-9][0-9])(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9][0-9]?)(?::([0-9][0-9]))?))?)?$/;

/** Base-60 digits `a:b:c` → a·3600 + b·60 + c (PyYAML's sexagesimal numbers). */
function sexagesimal(text: string): { sign: number; digits: string[] } {
  const sign = text.startsWith("-") ? -1 : 1;
  return { sign, digits: text.replace(/^[-+]/, "").split(":") };
}

function resolveInt(source: string): bigint {
  const text = source.replace(/_/g, "");
  if (text.includes(":")) {
    const { sign, digits } = sexagesimal(text);
    return BigInt(sign) * digits.reduce((acc, d) => acc * 60n + BigInt(d), 0n);
  }
  const negative = text.startsWith("-");
  const body = text.replace(/^[-+]/, "");
  let value: bigint;
  if (body === "0") value = 0n;
  else if (body.startsWith("0b")) value = BigInt(`0b${body.slice(2)}`);
  else if (body.startsWith("0x")) value = BigInt(`0x${body.slice(2)}`);
  else if (body.startsWith("0")) value = BigInt(`0o${body.slice(1)}`);
  else value = BigInt(body);
  return negative ? -value : value;
}

function resolveFloat(source: string): PyFloat {
  const text = source.replace(/_/g, "").toLowerCase();
  const sign = text.startsWith("-") ? -1 : 1;
  const body = text.replace(/^[-+]/, "");
  if (body === ".inf") return { kind: "float", value: sign * Infinity };
  if (body === ".nan") return { kind: "float", value: NaN };
  if (body.includes(":")) {
    const digits = body.split(":");
    return { kind: "float", value: sign * digits.reduce((acc, d) => acc * 60 + Number(d), 0) };
  }
  return { kind: "float", value: sign * Number(body) };
}

function resolveTimestamp(source: string): PyTimestamp {
  const m = TIMESTAMP_PARTS.exec(source) as RegExpExecArray;
  const date = { kind: "timestamp" as const, year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  if (m[4] === undefined) return date;
  const microsecond = m[7] ? Number(m[7].slice(0, 6).padEnd(6, "0")) : 0;
  let offsetMinutes: number | undefined;
  if (m[9] !== undefined) offsetMinutes = (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11] ?? 0));
  else if (m[8] === "Z") offsetMinutes = 0;
  return {
    ...date,
    time: {
      hour: Number(m[4]),
      minute: Number(m[5]),
      second: Number(m[6]),
      microsecond,
      ...(offsetMinutes !== undefined ? { offsetMinutes } : {}),
    },
  };
}

const scalar = (name: string, test: RegExp, resolve: (s: string) => unknown): ScalarTag => ({
  tag: `tag:yaml.org,2002:${name}`,
  default: true,
  test,
  resolve: (s) => resolve(s),
});

/** PyYAML's implicit scalar types, in its resolver order after the failsafe map/seq/str. */
const PYYAML_TAGS: ScalarTag[] = [
  scalar("bool", BOOL, (s) => /^(?:yes|true|on)$/i.test(s)),
  scalar("float", FLOAT, resolveFloat),
  scalar("int", INT, resolveInt),
  scalar("null", NULL, () => null),
  scalar("timestamp", TIMESTAMP, resolveTimestamp),
];

export interface LoadedYaml {
  readonly value: PyValue;
  /** Notes about the file that do not stop it from loading (repeated keys). */
  readonly notes: readonly string[];
}

/** Load like `yaml.full_load`: repeated keys are accepted, the last value wins (with a note). */
export function loadPyYaml(source: string, fileLabel = "the file"): LoadedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, {
    schema: "failsafe",
    customTags: PYYAML_TAGS,
    uniqueKeys: false,
    lineCounter,
    prettyErrors: false,
  });
  if (doc.errors.length) throw new Error(`${fileLabel} is not valid YAML: ${doc.errors[0].message.split("\n")[0]}`);
  const budget = { aliases: MAX_ALIAS_EXPANSIONS };
  return { value: toPython(doc, doc.contents, 0, budget), notes: duplicateKeyNotes(doc, lineCounter, fileLabel) };
}

/** Equality of dict keys as Python sees it (1, 1.0 and True are one key). */
function keyIdentity(k: PyValue): string {
  if (k === null) return "None";
  if (typeof k === "boolean") return `n:${k ? 1 : 0}`;
  if (typeof k === "bigint") return `n:${k}`;
  if (typeof k === "string") return `s:${k}`;
  if (Array.isArray(k)) throw new Error("a list cannot be a mapping key (unhashable type: 'list')");
  const v = k as Exclude<PyValue, null | boolean | bigint | string | readonly PyValue[]>;
  if (v.kind === "float") return Number.isInteger(v.value) ? `n:${BigInt(v.value)}` : `f:${v.value}`;
  if (v.kind === "dict") throw new Error("a mapping cannot be a mapping key (unhashable type: 'dict')");
  return `t:${JSON.stringify(v)}`;
}

const MAX_DEPTH = 200;
/** Alias expansions allowed per file: an alias bomb ("billion laughs") fails instead of exhausting memory. */
const MAX_ALIAS_EXPANSIONS = 10_000;

function toPython(doc: Document, node: unknown, depth: number, budget: { aliases: number }): PyValue {
  if (depth > MAX_DEPTH) throw new Error("the document nests too deeply");
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    if (--budget.aliases < 0) throw new Error(`the document expands more than ${MAX_ALIAS_EXPANSIONS} aliases`);
    return toPython(doc, node.resolve(doc), depth + 1, budget);
  }
  if (isScalar(node)) return node.value as PyValue;
  if (isSeq(node)) return node.items.map((item) => toPython(doc, item, depth + 1, budget));
  if (isMap(node)) {
    const entries = new Map<string, [PyValue, PyValue]>();
    const set = (k: PyValue, v: PyValue): void => {
      const id = keyIdentity(k);
      const existing = entries.get(id);
      // Like a Python dict: a repeated key keeps its first position and takes the last value.
      entries.set(id, existing ? [existing[0], v] : [k, v]);
    };
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      if (isScalar(keyNode) && keyNode.value === "<<" && keyNode.type === "PLAIN") {
        // Merge keys: the merged mappings' entries come first, the mapping's own ones override.
        const merged = toPython(doc, pair.value, depth + 1, budget);
        const sources = Array.isArray(merged) ? [...merged].reverse() : [merged];
        const own = [...entries.values()];
        entries.clear();
        for (const src of sources) {
          if (src === null || typeof src !== "object" || Array.isArray(src) || (src as PyDict).kind !== "dict") {
            throw new Error("a merge key (<<) needs a mapping or a list of mappings");
          }
          for (const [k, v] of (src as PyDict).entries) set(k, v);
        }
        for (const [k, v] of own) set(k, v);
        continue;
      }
      set(toPython(doc, keyNode, depth + 1, budget), toPython(doc, pair.value, depth + 1, budget));
    }
    return { kind: "dict", entries: [...entries.values()] };
  }
  return null;
}
