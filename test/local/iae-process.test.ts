import { randomUUID } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { IaeProcess } from "../../local/iae-process";
import { defaultSandboxView, DEFAULT_BWRAP, type IaeConfinement } from "../../local/iae-sandbox";
import { describeSandboxed, killProcessesWith, processesWith } from "./support/sandbox";

const REPO = path.resolve(__dirname, "../..");

/** The same behaviour is required of both confinements. */
function behaviours(confinementFor: (dataDir: string) => IaeConfinement): void {
  let dir: string;
  let sandbox: string;
  let outputDir: string;
  let confinement: IaeConfinement;
  const tokens: string[] = [];
  const token = (): string => {
    const t = `iae-proc-${randomUUID()}`;
    tokens.push(t);
    return t;
  };
  const appears = async (file: string): Promise<void> => {
    for (let i = 0; i < 100 && !(await fsp.stat(file).catch(() => undefined)); i++)
      await new Promise((r) => setTimeout(r, 50));
  };
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "iae-proc-"));
    sandbox = path.join(dir, "data", "compute", "iae", "i-0123456789abcdef0");
    outputDir = path.join(dir, "data", "compute", "output", "i-0123456789abcdef0");
    confinement = confinementFor(path.join(dir, "data"));
  });
  afterEach(async () => {
    for (const t of tokens.splice(0)) await killProcessesWith(t);
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("runs the command through bash with its own HOME, TMPDIR, PATH prefix and env, capturing output", async () => {
    const tools = path.join(sandbox, "tools");
    await fsp.mkdir(tools, { recursive: true });
    await fsp.writeFile(path.join(tools, "hello-tool"), "#!/bin/sh\necho tool:$1\n", { mode: 0o755 });
    const p = await IaeProcess.start({
      command:
        'echo "home=$HOME tmp=$TMPDIR" && hello-tool x && echo "ep=$AWS_ENDPOINT_URL" && echo oops >&2 && exit 3',
      sandbox,
      outputDir,
      cwd: path.join(sandbox, "work"),
      env: { AWS_ENDPOINT_URL: "http://127.0.0.1:1" },
      pathPrefix: [tools],
      confinement,
    });
    const exit = await p.exited;
    expect(exit).toMatchObject({ code: 3, timedOut: false, stopped: false });
    expect(await fsp.readFile(exit.stdoutPath, "utf8")).toBe(
      `home=${sandbox} tmp=${path.join(sandbox, "tmp")}\ntool:x\nep=http://127.0.0.1:1\n`,
    );
    expect(await fsp.readFile(exit.stderrPath, "utf8")).toBe("oops\n");
  });

  it("kills the whole process tree at the time limit", async () => {
    const child = token();
    const p = await IaeProcess.start({
      command: `(exec -a ${child} sleep 30) & wait`,
      sandbox,
      outputDir,
      cwd: sandbox,
      env: {},
      pathPrefix: [],
      confinement,
      timeLimitMs: 500,
      killGraceMs: 200,
    });
    const exit = await p.exited;
    expect(exit.timedOut).toBe(true);
    expect(await processesWith(child)).toEqual([]);
  });

  it("stop() ends a running IAE and its background processes", async () => {
    const bg = token();
    const p = await IaeProcess.start({
      command: `((exec -a ${bg} sleep 30) & touch ~/bg-started) ; sleep 30`,
      sandbox,
      outputDir,
      cwd: sandbox,
      env: {},
      pathPrefix: [],
      confinement,
    });
    await appears(path.join(sandbox, "bg-started"));
    const exit = await p.stop();
    expect(exit).toMatchObject({ stopped: true, timedOut: false });
    expect(await processesWith(bg)).toEqual([]);
  });

  it("lets the analysis finish its SIGTERM handling, and kills what ignores SIGTERM after the grace", async () => {
    const stubborn = token();
    const p = await IaeProcess.start({
      // A detached helper that ignores SIGTERM and does not hold the output pipes, and a main
      // process that records its interruption on SIGTERM before exiting.
      command: `(trap "" TERM; exec -a ${stubborn} sleep 60) >/dev/null 2>&1 & trap 'sleep 0.3; echo interrupted > ~/note; exit 143' TERM; touch ~/ready; sleep 60 & wait`,
      sandbox,
      outputDir,
      cwd: sandbox,
      env: {},
      pathPrefix: [],
      confinement,
      killGraceMs: 1500,
    });
    await appears(path.join(sandbox, "ready"));
    const exit = await p.stop();
    expect(exit.stopped).toBe(true);
    expect(await fsp.readFile(path.join(sandbox, "note"), "utf8")).toBe("interrupted\n");
    expect(await processesWith(stubborn)).toEqual([]);
  });

  it("gives a process that records the stop after the main command has died the rest of the grace period (log-command under run-main)", async () => {
    const p = await IaeProcess.start({
      // The main shell dies of SIGTERM at once; its child takes 0.5 s to record the interruption.
      command: `(trap 'sleep 0.5; echo recorded > ~/late; exit 0' TERM; touch ~/ready; while :; do sleep 0.05; done) & sleep 60 & wait`,
      sandbox,
      outputDir,
      cwd: sandbox,
      env: {},
      pathPrefix: [],
      confinement,
      killGraceMs: 5000,
    });
    await appears(path.join(sandbox, "ready"));
    const exit = await p.stop();
    expect(exit.stopped).toBe(true);
    expect(await fsp.readFile(path.join(sandbox, "late"), "utf8")).toBe("recorded\n");
  });
}

describe("IaeProcess in a process group (fallback)", () => {
  behaviours(() => ({ kind: "process-group" }));
});

describeSandboxed("IaeProcess in a bubblewrap sandbox", () => {
  behaviours((dataDir) => ({
    kind: "sandbox",
    bwrap: DEFAULT_BWRAP,
    view: defaultSandboxView({ dataDir, repoRoot: REPO }),
  }));
});
