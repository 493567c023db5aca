import { promises as fsp, realpathSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { iaeEnvironment, SYSTEM_PATH } from "../../local/iae-environment";
import { checkSandboxView, isWithin, planSandbox, sandboxArgv } from "../../local/iae-sandbox";

/** Pairs of (option, path...) from a bubblewrap argument list, for readable assertions. */
function mounts(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--ro-bind" || a === "--bind") out.push(`${a} ${args[++i]} ${args[++i]}`);
    else if (a === "--tmpfs" || a === "--dev" || a === "--proc" || a === "--chdir") out.push(`${a} ${args[++i]}`);
  }
  return out;
}

describe("planSandbox (what an IAE sees of the file system)", () => {
  let root: string;
  beforeEach(async () => {
    root = realpathSync(await fsp.mkdtemp(path.join(os.tmpdir(), "iae-plan-")));
  });
  afterEach(() => fsp.rm(root, { recursive: true, force: true }));

  async function layout(dataDirIn: "checkout" | "elsewhere") {
    const home = path.join(root, "home");
    const checkout = path.join(home, "src", "neurocaas");
    const dataDir = dataDirIn === "checkout" ? path.join(checkout, ".neurocaas") : path.join(root, "data");
    const sandbox = path.join(dataDir, "compute", "iae", "i-1");
    await fsp.mkdir(sandbox, { recursive: true });
    await fsp.mkdir(checkout, { recursive: true });
    return { home, checkout, dataDir, sandbox };
  }

  it("hides the home, re-exposes the checkout in it read-only, then hides the data dir inside the checkout, then binds the sandbox", async () => {
    const { home, checkout, dataDir, sandbox } = await layout("checkout");
    const plan = planSandbox({
      sandbox,
      cwd: checkout,
      view: { forbidden: [dataDir], hidden: [home, path.join(root, "missing"), "/"], readOnly: [checkout] },
      privateWorkdir: path.join(sandbox, "workdir"),
    });
    expect(mounts(plan.args)).toEqual([
      "--ro-bind / /",
      "--dev /dev",
      "--proc /proc",
      `--tmpfs ${home}`,
      `--ro-bind ${checkout} ${checkout}`,
      `--tmpfs ${dataDir}`,
      `--bind ${sandbox} ${sandbox}`,
      `--chdir ${checkout}`,
    ]);
    expect(plan.privateCwd).toBe(false);
  });

  it("mounts only the topmost of nested hidden paths and leaves read-only paths outside hidden ones to the read-only root", async () => {
    const { home, checkout, dataDir, sandbox } = await layout("elsewhere");
    const plan = planSandbox({
      sandbox,
      cwd: sandbox,
      view: { forbidden: [dataDir], hidden: [path.join(home, "src"), home], readOnly: ["/usr"] },
      privateWorkdir: path.join(sandbox, "workdir"),
    });
    expect(mounts(plan.args).filter((m) => m.startsWith("--tmpfs") || m.startsWith("--ro-bind"))).toEqual([
      "--ro-bind / /",
      `--tmpfs ${home}`,
      `--tmpfs ${dataDir}`,
    ]);
    expect(checkout).toContain(home);
  });

  it("gives a working directory the IAE cannot see (hidden, or missing on the host) a private directory from its sandbox", async () => {
    const { home, dataDir, sandbox } = await layout("elsewhere");
    const view = { forbidden: [dataDir], hidden: [home], readOnly: [] };
    const privateWorkdir = path.join(sandbox, "workdir");
    for (const cwd of [path.join(home, "ubuntu"), path.join(root, "not-there"), path.join(dataDir, "s3")]) {
      const plan = planSandbox({ sandbox, cwd, view, privateWorkdir });
      expect(plan.privateCwd).toBe(true);
      expect(mounts(plan.args).slice(-2)).toEqual([`--bind ${privateWorkdir} ${cwd}`, `--chdir ${cwd}`]);
    }
    expect(planSandbox({ sandbox, cwd: "/usr", view, privateWorkdir }).privateCwd).toBe(false);
  });

  it("refuses a data dir that contains the checkout (IAEs could not run it)", async () => {
    const { checkout } = await layout("elsewhere");
    expect(() => checkSandboxView({ forbidden: [path.dirname(checkout)], hidden: [], readOnly: [checkout] })).toThrow(
      `the data dir ${path.dirname(checkout)} contains ${checkout}, which IAEs must be able to read: choose a data dir outside it`,
    );
  });

  it("runs the command under the namespace's PID 1 with no capabilities, dying with the server", () => {
    const argv = sandboxArgv({ args: ["--ro-bind", "/", "/"], privateCwd: false }, "echo hi", 3);
    expect(argv.slice(0, argv.indexOf("--"))).toEqual([
      "--ro-bind",
      "/",
      "/",
      "--unshare-pid",
      "--unshare-ipc",
      "--as-pid-1",
      "--die-with-parent",
      "--cap-drop",
      "ALL",
      "--info-fd",
      "3",
    ]);
    expect(argv.slice(argv.indexOf("--") + 1, argv.indexOf("--") + 3)).toEqual(["/bin/bash", "-c"]);
    expect(argv.at(-1)).toBe("echo hi");
  });

  it("compares paths by component", () => {
    expect(isWithin("/a/b", "/a")).toBe(true);
    expect(isWithin("/a", "/a")).toBe(true);
    expect(isWithin("/ab", "/a")).toBe(false);
    expect(isWithin("/x", "/")).toBe(true);
  });
});

describe("iaeEnvironment", () => {
  const serverEnv = {
    GITHUB_TOKEN: "ghp_x",
    PULUMI_ACCESS_TOKEN: "pul-x",
    AWS_PROFILE: "admin",
    NODE_OPTIONS: "--inspect",
    PATH: "/home/me/.local/bin:/usr/bin",
    LANG: "de_DE.UTF-8",
    TZ: "Europe/Berlin",
    HOME: "/home/me",
  };

  it("is what the server gives plus HOME, TMPDIR, PATH and the locale — nothing else of the server's environment", () => {
    const env = iaeEnvironment({
      given: { AWS_ENDPOINT_URL: "http://127.0.0.1:4566", AWS_REGION: "us-east-1" },
      home: "/d/iae/i-1",
      tmpdir: "/d/iae/i-1/tmp",
      pathPrefix: ["/repo/bin"],
      serverEnv,
      nodePath: "/opt/node/bin/node",
    });
    expect(env).toEqual({
      AWS_ENDPOINT_URL: "http://127.0.0.1:4566",
      AWS_REGION: "us-east-1",
      HOME: "/d/iae/i-1",
      TMPDIR: "/d/iae/i-1/tmp",
      PATH: `/repo/bin:/opt/node/bin:${SYSTEM_PATH}`,
      LANG: "de_DE.UTF-8",
      TZ: "Europe/Berlin",
    });
  });

  it("defaults the locale to C.UTF-8, and HOME/TMPDIR/PATH cannot be overridden by what is given", () => {
    const env = iaeEnvironment({
      given: { HOME: "/elsewhere", PATH: "/evil" },
      home: "/d/i",
      tmpdir: "/d/i/tmp",
      pathPrefix: [],
      serverEnv: {},
      nodePath: "/usr/bin/node",
    });
    expect(env).toEqual({ LANG: "C.UTF-8", HOME: "/d/i", TMPDIR: "/d/i/tmp", PATH: SYSTEM_PATH });
  });
});
