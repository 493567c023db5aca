import { BUCKET_NAME_PATTERN } from "../../model/blueprint/schema";

const BUCKET_NAME = new RegExp(BUCKET_NAME_PATTERN);

/**
 * Check a new analysis name (it becomes the bucket and stack name): lowercase letters, digits and
 * `-`, 3-63 characters, starting and ending with a letter or digit. Returns the problem, if any.
 */
export function blueprintNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `"${name}" has ${name.length} characters; an analysis name has 3-63`;
  if (/[^a-z0-9-]/.test(name)) {
    const bad = [...new Set(name.replace(/[a-z0-9-]/g, ""))].map((c) => JSON.stringify(c)).join(" ");
    return `"${name}" contains ${bad}; use lowercase letters, digits and "-" only`;
  }
  if (!BUCKET_NAME.test(name))
    return `"${name}" must start and end with a letter or digit (and not use an S3-reserved prefix or suffix)`;
  return undefined;
}

export function assertBlueprintName(name: string): string {
  const problem = blueprintNameProblem(name);
  if (problem) throw new Error(`invalid analysis name: ${problem}`);
  return name;
}
