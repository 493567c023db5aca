import * as os from "node:os";

/**
 * The user's home directory: `$HOME` when set (as the shell and the AWS SDK read it; an IAE has
 * its own), else the account's.
 */
export function homeDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME || os.homedir();
}
