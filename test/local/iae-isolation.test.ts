/**
 * Attacks by an analysis on the machine that runs local NeuroCAAS (issue 10, SPEC §10.5): what an
 * IAE process can read, write, see and leave behind. Each test names the attack; all of them
 * succeeded before IAEs were sandboxed.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { CommandStatus, IaeLaunchRequest } from "../../protocols/compute";
import { LocalCompute, type LocalComputeArgs } from "../../local/compute";
import type { Ec2StateChangeEvent } from "../../local/events";
import { createLocalS3Client, startLocalS3Server, type LocalS3Server } from "../../local/s3-server";
import { daemonCommand, describeSandboxed, killProcessesWith, processesWith } from "./support/sandbox";

const BUCKET = "demo";
const JOB = "lab/results/job__demo_t1";
const REPO = path.resolve(__dirname, "../..");

function request(timeoutMinutes = 60): IaeLaunchRequest {
  return {
    imageId: "ami-local",
    instanceType: "t3.micro",
    count: 1,
    volumeSizeGb: 10,
    spot: false,
    tags: {
      PriceTracking: "On",
      Timeout: String(timeoutMinutes),
      "neurocaas:analysis": BUCKET,
      "neurocaas:group": "lab",
      "neurocaas:job": JOB,
      "neurocaas:dataset": "lab/inputs/d.csv",
    },
    securityGroupIds: [],
    shutdownBehavior: "terminate",
    clientToken: randomUUID(),
  };
}

interface Run {
  readonly id: string;
  readonly commandId: string;
}

/** Shared fixture: an endpoint, a data dir with other labs' files, and opened LocalComputes. */
function useWorld() {
  const world = {} as {
    s3: LocalS3Server;
    client: S3Client;
    dir: string;
    dataDir: string;
    events: Ec2StateChangeEvent[];
    opened: LocalCompute[];
    tokens: string[];
  };
  beforeEach(async () => {
    world.dir = await fsp.mkdtemp(path.join(os.tmpdir(), "iae-isolation-"));
    world.dataDir = path.join(world.dir, "data");
    // What lies in a real data dir besides the IAE's own sandbox.
    await fsp.mkdir(path.join(world.dataDir, "s3", "other-analysis", "otherlab", "inputs"), { recursive: true });
    await fsp.writeFile(
      path.join(world.dataDir, "s3", "other-analysis", "otherlab", "inputs", "secret.csv"),
      "OTHER-LAB-SECRET\n",
    );
    await fsp.writeFile(
      path.join(world.dataDir, "budgets.json"),
      JSON.stringify({ "otherlab/other-analysis": 12345.67 }),
    );
    world.s3 = await startLocalS3Server({ buckets: [BUCKET] });
    world.client = createLocalS3Client(world.s3);
    world.events = [];
    world.opened = [];
    world.tokens = [];
  });
  afterEach(async () => {
    for (const c of world.opened.splice(0)) await c.close();
    for (const t of world.tokens.splice(0)) await killProcessesWith(t);
    world.client.destroy();
    await world.s3.close();
    await fsp.rm(world.dir, { recursive: true, force: true });
  });

  const open = async (overrides: Partial<LocalComputeArgs> = {}): Promise<LocalCompute> => {
    const c = await LocalCompute.open({
      directory: path.join(world.dataDir, "compute"),
      dataDir: world.dataDir,
      client: world.client,
      region: "us-east-1",
      iaeEnv: { AWS_ENDPOINT_URL: world.s3.endpoint },
      pathPrefix: [path.join(REPO, "bin")],
      repoRoot: REPO,
      onStateChange: async (e) => {
        world.events.push(e);
      },
      killGraceMs: 300,
      log: () => undefined,
      ...overrides,
    });
    world.opened.push(c);
    return c;
  };

  const token = (): string => {
    const t = `neurocaas-attack-${randomUUID()}`;
    world.tokens.push(t);
    return t;
  };

  /** Launch and boot one IAE and deliver `command` (it runs in the background). */
  const start = async (
    compute: LocalCompute,
    command: string,
    opts: { timeoutMinutes?: number; workingDirectory?: string } = {},
  ): Promise<Run> => {
    const [iae] = await compute.launch(request(opts.timeoutMinutes), false);
    await compute.boot([iae.instanceId]);
    const info = await compute.sendCommand({
      instanceId: iae.instanceId,
      commands: [command],
      workingDirectory: opts.workingDirectory ?? "~/neurocaas",
      executionTimeoutSeconds: 600,
      outputBucket: BUCKET,
      outputPrefix: `${JOB}/internal_ec2_logs`,
    });
    return { id: iae.instanceId, commandId: info.commandId };
  };

  const output = async (run: Run, stream: "stdout" | "stderr" = "stdout"): Promise<string> => {
    const key = `${JOB}/internal_ec2_logs/${run.commandId}/${run.id}/awsrunShellScript/0.awsrunShellScript/${stream}`;
    try {
      return await (
        await world.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
      ).Body!.transformToString();
    } catch {
      return "";
    }
  };

  const states = (id: string) => world.events.filter((e) => e.detail["instance-id"] === id).map((e) => e.detail.state);

  /** Run `command` on a new IAE until it has terminated (other IAEs may go on); its stdout, stderr and command status. */
  const run = async (
    compute: LocalCompute,
    command: string,
    opts: { workingDirectory?: string } = {},
  ): Promise<{ stdout: string; stderr: string; status: CommandStatus }> => {
    const r = await start(compute, command, opts);
    while (!states(r.id).includes("terminated")) await new Promise((resolve) => setTimeout(resolve, 20));
    return {
      stdout: await output(r),
      stderr: await output(r, "stderr"),
      status: (await compute.commandStatus(r.id, r.commandId)).status,
    };
  };

  /** Wait until `file` exists on the host (an IAE has reached a point of its command). */
  const appears = async (file: string): Promise<void> => {
    for (let i = 0; i < 200 && !(await fsp.stat(file).catch(() => undefined)); i++)
      await new Promise((r) => setTimeout(r, 50));
  };

  /** Wait until a process whose command line carries `token` runs. */
  const running = async (token: string): Promise<void> => {
    for (let i = 0; i < 200 && (await processesWith(token)).length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
  };

  return { world, open, token, start, run, output, states, appears, running };
}

describe("local IAE environment", () => {
  const t = useWorld();
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const k of ["GITHUB_TOKEN", "PULUMI_ACCESS_TOKEN", "NPM_TOKEN"]) {
      saved[k] = process.env[k];
      process.env[k] = `server-secret-${k}`;
    }
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("attack: an analysis reads the server's GITHUB_TOKEN / PULUMI_ACCESS_TOKEN from its environment — it gets only the minimal IAE environment", async () => {
    const compute = await t.open();
    const { stdout } = await t.run(compute, "env");
    expect(stdout).not.toContain("server-secret-");
    const names = stdout
      .split("\n")
      .filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l))
      .map((l) => l.slice(0, l.indexOf("=")))
      .sort();
    // What the server gives (here only the endpoint), the basics, and what bash itself sets.
    const allowed = [
      "AWS_ENDPOINT_URL",
      "HOME",
      "LANG",
      "LC_ALL",
      "OLDPWD",
      "PATH",
      "PWD",
      "SHLVL",
      "TMPDIR",
      "TZ",
      "_",
    ];
    expect(names.filter((n) => !allowed.includes(n))).toEqual([]);
    const env = Object.fromEntries(
      stdout
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    expect(env.HOME).toMatch(/\/compute\/iae\/i-[0-9a-f]{17}$/);
    expect(env.TMPDIR).toBe(path.join(env.HOME, "tmp"));
    expect(env.PATH.split(":")[0]).toBe(path.join(REPO, "bin"));
  });
});

describeSandboxed("local IAE sandbox: processes", () => {
  const t = useWorld();

  it("attack: a setsid + double-forked daemon outlives its IAE — it dies when the command ends", async () => {
    const compute = await t.open();
    const daemon = t.token();
    const { stdout } = await t.run(compute, `${daemonCommand(daemon, false)}; echo started`);
    expect(stdout).toBe("started\n");
    expect(await processesWith(daemon)).toEqual([]);
  });

  it("attack: a daemon holding the output open keeps its IAE running past the __duration__ limit — killed at the limit, IAE terminated", async () => {
    const compute = await t.open({ secondsPerMinute: 0.5 });
    const daemon = t.token();
    const run = await t.start(compute, `${daemonCommand(daemon, true)}; sleep 300`, { timeoutMinutes: 1 });
    await compute.settle();
    expect(t.states(run.id)).toEqual(["running", "shutting-down", "terminated"]);
    expect((await compute.commandStatus(run.id, run.commandId)).status).toBe("Failed");
    expect(await processesWith(daemon)).toEqual([]);
  }, 30_000);

  it("attack: a daemon holding the output open blocks the server's shutdown — close() ends it", async () => {
    const compute = await t.open();
    const daemon = t.token();
    const main = t.token();
    const run = await t.start(compute, `${daemonCommand(daemon, true)}; exec -a ${main} sleep 300`);
    await t.running(daemon);
    await t.running(main);
    await compute.close();
    expect(await processesWith(daemon)).toEqual([]);
    expect(await processesWith(main)).toEqual([]);
    // Left "running" on disk: the next start reports it as interrupted.
    expect(await compute.describe([run.id])).toMatchObject([{ state: "running" }]);
  }, 30_000);

  it("attack: the server crashes (SIGKILL) and its IAEs run on unsupervised — they die with it", async () => {
    const iae = t.token();
    const script = path.join(t.world.dir, "crashing-server.ts");
    const sandbox = path.join(t.world.dataDir, "compute", "iae", "i-crash");
    await fsp.writeFile(
      script,
      `import { IaeProcess } from ${JSON.stringify(path.join(REPO, "local", "iae-process"))};
       import { defaultSandboxView } from ${JSON.stringify(path.join(REPO, "local", "iae-sandbox"))};
       void IaeProcess.start({ command: "exec -a ${iae} sleep 300", sandbox: ${JSON.stringify(sandbox)}, outputDir: ${JSON.stringify(`${sandbox}-output`)}, cwd: ${JSON.stringify(sandbox)}, env: {}, pathPrefix: [],
         confinement: { kind: "sandbox", bwrap: "bwrap", view: defaultSandboxView({ dataDir: ${JSON.stringify(t.world.dataDir)}, repoRoot: ${JSON.stringify(REPO)} }) } });
       setInterval(() => undefined, 1000);\n`,
    );
    const server = spawn(
      process.execPath,
      ["--import", pathToFileURL(path.join(REPO, "node_modules", "tsx", "dist", "loader.mjs")).href, script],
      { stdio: "ignore" },
    );
    const gone = new Promise((r) => server.once("exit", r));
    await t.running(iae);
    expect(await processesWith(iae)).toHaveLength(1);
    server.kill("SIGKILL");
    await gone;
    for (let i = 0; i < 100 && (await processesWith(iae)).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await processesWith(iae)).toEqual([]);
  });

  it("attack: an analysis lists other IAEs' processes (ps, /proc) — it sees only its own", async () => {
    const compute = await t.open();
    const other = t.token();
    const a = await t.start(compute, `exec -a ${other} sleep 300`);
    await t.running(other);
    const { stdout } = await t.run(
      compute,
      `for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < "$f"; echo; done; echo "count $(ls -d /proc/[0-9]* | wc -l)"`,
    );
    expect(stdout).not.toContain(other);
    // Neither the server (node) nor any other process of the machine.
    expect(stdout).not.toContain("jest");
    expect(stdout).toContain("count ");
    await compute.terminate([a.id]);
  });
});

describeSandboxed("local IAE sandbox: file system", () => {
  const t = useWorld();

  it("attack: an analysis reads another IAE's sandbox — it cannot see it", async () => {
    const compute = await t.open();
    const a = await t.start(compute, "echo OTHER-IAE-SECRET > ~/private.txt; sleep 300");
    const aSandbox = path.join(t.world.dataDir, "compute", "iae", a.id);
    await t.appears(path.join(aSandbox, "private.txt"));
    const { stdout } = await t.run(compute, `cat ${aSandbox}/private.txt; ls ${path.dirname(aSandbox)}; echo done`);
    expect(stdout).not.toContain("OTHER-IAE-SECRET");
    expect(stdout).not.toContain(a.id);
    expect(stdout).toContain("done");
    await compute.terminate([a.id]);
  });

  it("attack: an analysis reads other labs' files under {data-dir}/s3 and budgets.json — the data dir is empty to it", async () => {
    const compute = await t.open();
    const d = t.world.dataDir;
    const { stdout } = await t.run(
      compute,
      `cat ${d}/s3/other-analysis/otherlab/inputs/secret.csv; cat ${d}/budgets.json; ls -A ${d}; echo done`,
    );
    expect(stdout).not.toContain("OTHER-LAB-SECRET");
    expect(stdout).not.toContain("12345.67");
    // Only the path down to its own sandbox exists in the data dir.
    expect(stdout).toBe("compute\ndone\n");
  });

  it("attack: with the default data dir inside the checkout (.neurocaas), an analysis reads it through ~/neurocaas — still hidden", async () => {
    const dataDir = await fsp.mkdtemp(path.join(REPO, ".neurocaas-test-"));
    try {
      await fsp.writeFile(path.join(dataDir, "budgets.json"), JSON.stringify({ "otherlab/other-analysis": 777.5 }));
      const compute = await t.open({ dataDir, directory: path.join(dataDir, "compute") });
      const rel = path.relative(REPO, dataDir);
      // The working directory ~/neurocaas is the checkout.
      const { stdout } = await t.run(
        compute,
        `cat ${rel}/budgets.json; cat ${dataDir}/budgets.json; test -x bin/neurocaas && echo checkout-readable`,
      );
      expect(stdout).not.toContain("777.5");
      expect(stdout).toBe("checkout-readable\n");
    } finally {
      for (const c of t.world.opened.splice(0)) await c.close();
      await fsp.rm(dataDir, { recursive: true, force: true });
    }
  });

  it("attack: an analysis writes into the checkout (its working directory ~/neurocaas) — read-only", async () => {
    const compute = await t.open();
    const name = `.iae-write-probe-${randomUUID()}`;
    try {
      const { stdout, stderr } = await t.run(
        compute,
        `touch ${name} && echo WROTE; touch ${REPO}/${name} && echo WROTE; echo ok > ~/mine.txt && cat ~/mine.txt`,
      );
      expect(stdout).toBe("ok\n");
      expect(stderr).toContain("Read-only file system");
      await expect(fsp.stat(path.join(REPO, name))).rejects.toThrow();
    } finally {
      await fsp.rm(path.join(REPO, name), { force: true });
    }
  });

  it("attack: an analysis reads the server user's home (~/.aws, ~/.pulumi credentials) or talks to system services' sockets under /run — hidden", async () => {
    const compute = await t.open();
    const { stdout } = await t.run(compute, `ls -A ${os.homedir()} /run; echo "home=$HOME"; echo done`);
    const [listing] = stdout.split("home=");
    // Only what an IAE needs shows through: the checkout and node (if they lie there), the resolver.
    const shown = listing.split("\n").filter((l) => l !== "" && !l.endsWith(":"));
    const allowed = new Set([
      "systemd",
      ...[REPO, process.execPath]
        .filter((p) => p.startsWith(`${os.homedir()}/`))
        .map((p) => p.slice(os.homedir().length + 1).split("/")[0]),
    ]);
    expect(shown.filter((name) => !allowed.has(name))).toEqual([]);
    expect(stdout).toContain("done");
  });

  it("attack: an analysis swaps its stdout/stderr files for links to budgets.json so the server uploads it — its output is captured out of its reach", async () => {
    const compute = await t.open();
    const budgets = path.join(t.world.dataDir, "budgets.json");
    const { stdout, stderr } = await t.run(
      compute,
      `echo visible; for f in ~/stdout.txt ~/stderr.txt; do rm -f "$f"; ln -s ${budgets} "$f"; done`,
    );
    expect(stdout).toBe("visible\n");
    expect(stdout + stderr).not.toContain("12345.67");
  });

  it("attack: a blueprint WORKING_DIRECTORY outside the sandbox (/home/ubuntu style) makes the server create it on the host — it is private to the IAE", async () => {
    const compute = await t.open();
    const wd = path.join(os.tmpdir(), `neurocaas-wd-${randomUUID()}`);
    try {
      const { stdout, status } = await t.run(compute, "pwd; echo x > here.txt && cat here.txt", {
        workingDirectory: wd,
      });
      expect(status).toBe("Success");
      expect(stdout).toBe(`${wd}\nx\n`);
      await expect(fsp.stat(wd)).rejects.toThrow();
    } finally {
      await fsp.rm(wd, { recursive: true, force: true });
    }
  });
});

describe("local IAE isolation fallback (process groups)", () => {
  const t = useWorld();

  it("forced with isolation process-group: says so once at start, however many IAEs run, and still gives the minimal environment", async () => {
    const lines: string[] = [];
    process.env.GITHUB_TOKEN = "server-secret-fallback";
    try {
      const compute = await t.open({
        isolation: "process-group",
        log: (l) => lines.push(l),
        warn: (l) => lines.push(l),
      });
      const first = await t.run(compute, "env");
      await t.run(compute, "true");
      expect(lines.filter((l) => /isolation/i.test(l))).toEqual([
        expect.stringMatching(
          /^WARNING: IAE isolation forced off \(--iae-isolation process-group\): local IAEs run as plain process groups/,
        ),
      ]);
      expect(first.stdout).not.toContain("server-secret-fallback");
    } finally {
      delete process.env.GITHUB_TOKEN;
    }
  });

  it("auto without a working bubblewrap: falls back to process groups with one warning naming the cause; `sandbox` refuses to start", async () => {
    const lines: string[] = [];
    const bwrap = path.join(t.world.dir, "no-such-bwrap");
    const compute = await t.open({ bwrap, log: (l) => lines.push(l), warn: (l) => lines.push(l) });
    const { stdout } = await t.run(compute, "echo ran");
    expect(stdout).toBe("ran\n");
    const notices = lines.filter((l) => /isolation/i.test(l));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(
      /^WARNING: IAE isolation unavailable \(bubblewrap \(.*no-such-bwrap\) is not installed\): local IAEs run as plain process groups: they can read the data dir/,
    );
    expect(notices[0]).toContain("apt-get install bubblewrap");
    await expect(t.open({ bwrap, isolation: "sandbox", warn: (l) => lines.push(l) })).rejects.toThrow(
      `--iae-isolation sandbox: bubblewrap (${bwrap}) is not installed`,
    );
  });

  it("kills the command's process group when the command ends (a daemon that leaves the group is the documented limit)", async () => {
    const compute = await t.open({ isolation: "process-group", warn: () => undefined });
    const child = t.token();
    await t.run(compute, `(exec -a ${child} sleep 300) & echo started`);
    expect(await processesWith(child)).toEqual([]);
  });
});
