/**
 * Exact questions about the strings IAM resource patterns match: "is there a string that one of
 * the patterns A1..An matches, every pattern T matches, and none of D1..Dm matches — and which?".
 * IAM patterns are globs (`*` any run of characters, `/` included; `?` one character); `{seg}` in
 * a pattern built with `segmentPattern` matches a run without `/` (one key segment or bucket name).
 * `writableObject` asks it of S3 object ARNs.
 *
 * Each pattern is a small automaton over its positions, determinized lazily (state sets interned
 * as numbers); a breadth-first search over the product, on an alphabet of the patterns' own
 * characters plus one neutral filler, finds the shortest witness or proves there is none (the
 * state space is finite).
 */

type Token = { readonly kind: "char"; readonly c: string } | { readonly kind: "any" | "one" | "seg" };

export interface KeyPattern {
  readonly source: string;
  readonly tokens: readonly Token[];
}

/** An IAM resource pattern (glob). */
export function globPattern(source: string): KeyPattern {
  return {
    source,
    tokens: [...source].map((c): Token =>
      c === "*" ? { kind: "any" } : c === "?" ? { kind: "one" } : { kind: "char", c },
    ),
  };
}

/** A glob whose `{seg}` stands for one segment (no `/`); `*` and `?` keep their IAM meaning. */
export function segmentPattern(source: string): KeyPattern {
  const tokens: Token[] = [];
  source.split("{seg}").forEach((part, i) => {
    if (i > 0) tokens.push({ kind: "seg" });
    tokens.push(...globPattern(part).tokens);
  });
  return { source, tokens };
}

/** A pattern's lazily built DFA: state sets interned as ids; id 0 is the dead state. */
class Dfa {
  private readonly ids = new Map<string, number>([["", 0]]);
  private readonly sets: number[][] = [[]];
  private readonly moves = new Map<string, number>();
  readonly start: number;
  private readonly accepting = new Map<number, boolean>();
  private readonly forever = new Map<number, boolean>();

  constructor(readonly pattern: KeyPattern) {
    this.start = this.intern(this.closure([0]));
  }

  private closure(states: Iterable<number>): number[] {
    const out = new Set<number>();
    const stack = [...states];
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (out.has(i)) continue;
      out.add(i);
      const t = this.pattern.tokens[i];
      if (t && (t.kind === "any" || t.kind === "seg")) stack.push(i + 1);
    }
    return [...out].sort((a, b) => a - b);
  }

  private intern(set: number[]): number {
    const key = set.join(",");
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.ids.set(key, id);
      this.sets.push(set);
    }
    return id;
  }

  step(state: number, c: string): number {
    const key = `${state}\u0000${c}`;
    const known = this.moves.get(key);
    if (known !== undefined) return known;
    const next: number[] = [];
    for (const i of this.sets[state]) {
      const t = this.pattern.tokens[i];
      if (!t) continue;
      if (t.kind === "any" || (t.kind === "seg" && c !== "/")) next.push(i);
      else if (t.kind === "one" || (t.kind === "char" && t.c === c)) next.push(i + 1);
    }
    const id = this.intern(this.closure(next));
    this.moves.set(key, id);
    return id;
  }

  accepts(state: number): boolean {
    let a = this.accepting.get(state);
    if (a === undefined) this.accepting.set(state, (a = this.sets[state].includes(this.pattern.tokens.length)));
    return a;
  }

  /** Matches whatever follows (only `*` left at some live position). */
  acceptsForever(state: number): boolean {
    let f = this.forever.get(state);
    if (f === undefined)
      this.forever.set(
        state,
        (f = this.sets[state].some((i) => this.pattern.tokens.slice(i).every((t) => t.kind === "any"))),
      );
    return f;
  }
}

/** Search budget: far above what a policy document's patterns need; reaching it is reported. */
const MAX_STATES = 500_000;

class KeySpaceTooLarge extends Error {}

interface WitnessQuery {
  /** The string must match at least one of these (e.g. the resources of Allow statements). */
  readonly anyOf: readonly KeyPattern[];
  /** ... every one of these ... */
  readonly all?: readonly KeyPattern[];
  /** ... and none of these. */
  readonly none?: readonly KeyPattern[];
}

/** The shortest string the query describes, or undefined when there is none. */
function findWitness(q: WitnessQuery): string | undefined {
  const any = q.anyOf.map((p) => new Dfa(p));
  const all = (q.all ?? []).map((p) => new Dfa(p));
  const none = (q.none ?? []).map((p) => new Dfa(p));
  if (any.length === 0) return undefined;
  const chars = new Set<string>(["/"]);
  for (const d of [...any, ...all, ...none]) for (const t of d.pattern.tokens) if (t.kind === "char") chars.add(t.c);
  const filler = [..."x0#~"].find((c) => !chars.has(c)) ?? "\u0001";
  const alphabet = [...chars, filler];
  const nA = any.length;
  const nT = all.length;
  const start = [...any, ...all, ...none].map((d) => d.start);
  const seen = new Set<string>([start.join(",")]);
  let frontier: { states: number[]; text: string }[] = [{ states: start, text: "" }];
  while (frontier.length > 0) {
    const next: typeof frontier = [];
    for (const { states, text } of frontier) {
      const ok =
        any.some((d, i) => d.accepts(states[i])) &&
        all.every((d, i) => d.accepts(states[nA + i])) &&
        none.every((d, i) => !d.accepts(states[nA + nT + i]));
      if (ok) return text;
      for (const c of alphabet) {
        const moved = states.map((s, i) =>
          (i < nA ? any[i] : i < nA + nT ? all[i - nA] : none[i - nA - nT]).step(s, c),
        );
        // Dead ends: no alternative can match any more, a required pattern can never match again,
        // or an excluded one matches whatever follows.
        if (moved.slice(0, nA).every((s) => s === 0)) continue;
        if (moved.slice(nA, nA + nT).some((s) => s === 0)) continue;
        if (none.some((d, i) => d.acceptsForever(moved[nA + nT + i]))) continue;
        const k = moved.join(",");
        if (seen.has(k)) continue;
        seen.add(k);
        if (seen.size > MAX_STATES)
          throw new KeySpaceTooLarge(
            `patterns too complex to analyse: ${[...any, ...all, ...none].map((d) => d.pattern.source).join(", ")}`,
          );
        next.push({ states: moved, text: text + c });
      }
    }
    frontier = next;
  }
  return undefined;
}

/** The shortest string every pattern of `all` matches and no pattern of `none` matches. */
export function witness(all: readonly KeyPattern[], none: readonly KeyPattern[]): string | undefined {
  return all.length === 0 ? "" : findWitness({ anyOf: [all[0]], all: all.slice(1), none });
}

const S3_ARN = /^arn:[^:]*:s3:::(.*)$/s;

/** IAM wildcard match of one string against a glob. */
function globMatches(glob: string, value: string): boolean {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, "s").test(value);
}

/**
 * The S3 objects an IAM resource pattern covers, as a pattern over `{bucket}/{key}`, or undefined
 * when it covers none (another service's ARN, a bucket ARN). Bucket names have no `/`, so in the
 * bucket part `*` is one segment; a pattern with wildcards before `:s3:::` (`*`, `arn:aws:*`) or
 * ending in the bucket part with `*` (`arn:aws:s3:::*`) covers every object of the buckets it names.
 */
function objectPattern(resource: string): KeyPattern | undefined {
  const m = S3_ARN.exec(resource);
  if (!m) return globMatches(resource, "arn:aws:s3:::bucket/key") ? globPattern("*") : undefined;
  const rest = m[1];
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const segmented = bucket.replace(/\*/g, "{seg}");
  if (slash >= 0)
    return { source: rest, tokens: [...segmentPattern(segmented).tokens, ...globPattern(rest.slice(slash)).tokens] };
  return bucket.endsWith("*")
    ? { source: rest, tokens: [...segmentPattern(segmented).tokens, ...globPattern("/*").tokens] }
    : undefined;
}

/**
 * An object `arn:aws:s3:::{bucket}/{key}` that one of `allow` covers, whose key matches `key`, and
 * that neither `deny` (resource patterns) nor `exempt` (patterns over `{bucket}/{key}`) covers;
 * with the Allow resource that reaches it. Undefined when there is none.
 */
export function writableObject(
  allow: readonly string[],
  deny: readonly string[],
  key: KeyPattern,
  exempt: readonly KeyPattern[] = [],
): { arn: string; resource: string } | undefined {
  const granted = allow
    .map((r) => [r, objectPattern(r)] as const)
    .filter((x): x is readonly [string, KeyPattern] => x[1] !== undefined);
  const denied = deny.map(objectPattern).filter((d): d is KeyPattern => d !== undefined);
  const target: KeyPattern = {
    source: `{seg}/${key.source}`,
    tokens: [{ kind: "seg" }, { kind: "char", c: "/" }, ...key.tokens],
  };
  const found = findWitness({ anyOf: granted.map((g) => g[1]), all: [target], none: [...denied, ...exempt] });
  if (found === undefined) return undefined;
  const bucket = found.slice(0, found.indexOf("/")) || "unnamed-bucket";
  const arn = `arn:aws:s3:::${bucket}${found.slice(found.indexOf("/"))}`;
  const via =
    granted.find((g) => findWitness({ anyOf: [g[1]], all: [globPattern(found)] }) !== undefined)?.[0] ?? granted[0][0];
  return { arn, resource: via };
}
