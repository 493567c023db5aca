/** One problem found in a blueprint: where, what was there, what was expected. */
export interface BlueprintIssue {
  /** Key path in dot/bracket form, e.g. `UXData.Affiliates[2].UserInput` (`(root)` for the whole). */
  readonly path: string;
  readonly value: unknown;
  readonly expected: string;
}

function show(value: unknown): string {
  if (value === undefined) return "(missing)";
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function formatIssue(issue: BlueprintIssue): string {
  return `${issue.path}: got ${show(issue.value)}, expected ${issue.expected}`;
}

/** Thrown by `parseBlueprint`; the message lists every issue, one per line. */
export class BlueprintError extends Error {
  readonly issues: readonly BlueprintIssue[];

  constructor(issues: readonly BlueprintIssue[], source?: string) {
    const where = source ? ` in ${source}` : "";
    const head = `Invalid blueprint${where}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`;
    super([head, ...issues.map((i) => `  - ${formatIssue(i)}`)].join("\n"));
    this.name = "BlueprintError";
    this.issues = issues;
  }
}
