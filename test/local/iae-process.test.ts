import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { IaeProcess } from "../../local/iae-process";

/** Running (a zombie counts as dead: in containers PID 1 may never reap orphans). */
async function alive(pid: number): Promise<boolean> {
  const stat = await fsp.readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return stat !== undefined && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

describe("IaeProcess", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "iae-proc-"));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("runs the command through bash with its own HOME, PATH prefix and env, capturing output", async () => {
    const bin = path.join(dir, "bin");
    await fsp.mkdir(bin);
    await fsp.writeFile(path.join(bin, "hello-tool"), "#!/bin/sh\necho tool:$1\n", { mode: 0o755 });
    const p = await IaeProcess.start({
      command: 'echo "home=$HOME" && hello-tool x && echo "ep=$AWS_ENDPOINT_URL" && echo oops >&2 && exit 3',
      sandbox: path.join(dir, "sb"),
      cwd: path.join(dir, "sb", "work"),
      env: { AWS_ENDPOINT_URL: "http://127.0.0.1:1" },
      pathPrefix: [bin],
    });
    const exit = await p.exited;
    expect(exit).toMatchObject({ code: 3, timedOut: false, stopped: false });
    expect(await fsp.readFile(exit.stdoutPath, "utf8")).toBe(`home=${path.join(dir, "sb")}\ntool:x\nep=http://127.0.0.1:1\n`);
    expect(await fsp.readFile(exit.stderrPath, "utf8")).toBe("oops\n");
  });

  it("kills the whole process tree at the time limit", async () => {
    const pidFile = path.join(dir, "child.pid");
    const p = await IaeProcess.start({
      command: `sleep 30 & echo $! > ${pidFile}; wait`,
      sandbox: path.join(dir, "sb"),
      cwd: path.join(dir, "sb"),
      env: {},
      pathPrefix: [],
      timeLimitMs: 500,
      killGraceMs: 200,
    });
    const exit = await p.exited;
    expect(exit.timedOut).toBe(true);
    const childPid = Number(await fsp.readFile(pidFile, "utf8"));
    expect(await alive(childPid)).toBe(false);
  });

  it("stop() ends a running IAE and its background processes", async () => {
    const pidFile = path.join(dir, "bg.pid");
    const p = await IaeProcess.start({
      command: `(sleep 30 & echo $! > ${pidFile}) ; sleep 30`,
      sandbox: path.join(dir, "sb"),
      cwd: path.join(dir, "sb"),
      env: {},
      pathPrefix: [],
    });
    for (let i = 0; i < 50 && !(await fsp.stat(pidFile).catch(() => undefined)); i++) await new Promise((r) => setTimeout(r, 50));
    const exit = await p.stop();
    expect(exit).toMatchObject({ stopped: true, timedOut: false });
    expect(await alive(Number(await fsp.readFile(pidFile, "utf8")))).toBe(false);
  });
});

describe("IaeProcess grace period", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "iae-grace-"));
  });
  afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

  it("lets the analysis finish its SIGTERM handling, and kills what ignores SIGTERM after the grace", async () => {
    const note = path.join(dir, "note");
    const stubborn = path.join(dir, "stubborn.pid");
    const p = await IaeProcess.start({
      // A detached helper that ignores SIGTERM and does not hold the output pipes, and a main
      // process that records its interruption on SIGTERM before exiting.
      command: `(trap "" TERM; exec sleep 60) >/dev/null 2>&1 & echo $! > ${stubborn}; trap 'sleep 0.3; echo interrupted > ${note}; exit 143' TERM; sleep 60 & wait`,
      sandbox: path.join(dir, "sb"),
      cwd: path.join(dir, "sb"),
      env: {},
      pathPrefix: [],
      killGraceMs: 1500,
    });
    for (let i = 0; i < 50 && !(await fsp.stat(stubborn).catch(() => undefined)); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    const exit = await p.stop();
    expect(exit.stopped).toBe(true);
    expect(await fsp.readFile(note, "utf8")).toBe("interrupted\n");
    expect(await alive(Number(await fsp.readFile(stubborn, "utf8")))).toBe(false);
  });
});
