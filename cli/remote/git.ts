import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

async function git(cwd: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run("git", [...args], { cwd, maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`git ${args[0]} failed in ${cwd}: ${(e.stderr || e.message).trim()}`, { cause: err });
  }
}

/** The repository that holds `file`; a clear error when it is not inside one. */
export async function repositoryOf(file: string): Promise<string> {
  const dir = path.dirname(path.resolve(file));
  try {
    return await git(dir, ["rev-parse", "--show-toplevel"]);
  } catch (err) {
    throw new Error(`${file} is not inside a git repository: update-blueprint records the change as git commits`, {
      cause: err,
    });
  }
}

/**
 * Commit exactly one file (whatever else is staged stays staged and uncommitted). An unchanged
 * file still gets its commit so the before/after pair always exists. Returns the commit id.
 */
export async function commitFile(file: string, message: string): Promise<string> {
  const abs = path.resolve(file);
  const repo = await repositoryOf(abs);
  const rel = path.relative(repo, abs);
  await git(repo, ["add", "--", rel]);
  await git(repo, ["commit", "--allow-empty", "--only", "-m", message, "--", rel]);
  return git(repo, ["rev-parse", "HEAD"]);
}
