/**
 * Browser tests drive Debian's Chromium with playwright-core (nothing can download a browser
 * here). Without Chromium they skip with a loud message, unless NEUROCAAS_REQUIRE_BROWSER=1
 * (set by .ci/run), which turns the skip into a failure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type ConsoleMessage, type Page } from "playwright-core";
import { parseReadyLine, type ReadyLineInfo } from "../../../local/server";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/lib/chromium/chromium";
export const REQUIRE_BROWSER = process.env.NEUROCAAS_REQUIRE_BROWSER === "1";
/** Screenshots of the main views (git-ignored). */
export const SCREENSHOTS = path.resolve(__dirname, "../../../screenshots");

/** Whether the browser tests can run; throws when they must run but cannot. */
export function browserAvailable(): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  const why = `Chromium not found at ${CHROMIUM} (install it: apt-get install -y --no-install-recommends chromium fonts-liberation, or set CHROMIUM_PATH)`;
  if (REQUIRE_BROWSER) throw new Error(`NEUROCAAS_REQUIRE_BROWSER=1 but ${why}`);
  const bar = "!".repeat(100);
  process.stderr.write(
    `\n${bar}\n!!! SKIPPING the dashboard browser tests: ${why}.\n!!! CI (.ci/run) installs Chromium and requires them.\n${bar}\n\n`,
  );
  return false;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}

/** Console errors and page errors of a page, to assert that a flow produced none. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m: ConsoleMessage) => {
    if (m.type() === "error") errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  return errors;
}

export interface LocalProcess {
  readonly child: ChildProcess;
  readonly ready: ReadyLineInfo;
  readonly stderr: () => string;
  stop(): Promise<void>;
}

const CLI = path.resolve(__dirname, "../../../bin/neurocaas");

/** `neurocaas local` as users start it (the CLI, a child process) on a free port. */
export function startNeurocaasLocal(args: readonly string[]): Promise<LocalProcess> {
  const child = spawn(CLI, ["local", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      const ready = stdout
        .split("\n")
        .map(parseReadyLine)
        .find((r) => r !== undefined);
      if (ready) resolve({ child, ready, stderr: () => stderr, stop });
    });
    void exited.then((code) => reject(new Error(`neurocaas local exited (${code}) before it was ready:\n${stderr}`)));
  });
}

/** A profile's key from the AWS shared-credentials file `neurocaas local` writes. */
export function keyOfProfile(
  credentialsFile: string,
  profile: string,
): { accessKeyId: string; secretAccessKey: string } {
  const text = fs.readFileSync(credentialsFile, "utf8");
  const m = new RegExp(`^\\[${profile}\\]\\naws_access_key_id = (\\S+)\\naws_secret_access_key = (\\S+)`, "m").exec(
    text,
  );
  if (!m) throw new Error(`no profile ${profile} in ${credentialsFile}`);
  return { accessKeyId: m[1], secretAccessKey: m[2] };
}

/**
 * Wait (bounded) until `read()` returns `expected` (deep-equal by JSON), for values a page
 * updates asynchronously; fails with the last value seen.
 */
export async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (JSON.stringify(last) === JSON.stringify(expected)) return;
    if (Date.now() > deadline)
      throw new Error(`still ${JSON.stringify(last)} after ${timeoutMs} ms; expected ${JSON.stringify(expected)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
