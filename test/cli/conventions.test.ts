/**
 * What every `neurocaas` command does the same way, seen from a terminal: version, help, option
 * errors, and errors that say what is wrong (wrong bucket, endpoint, port) — child processes, except
 * for messages that do not depend on the process (`runHere`: the same program in the jest process).
 */
import { execFile } from "node:child_process";
import { promises as fsp, readFileSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { startLocalS3Server, type LocalS3Server } from "../../local/s3-server";
import { writeStackFile } from "../local/support/stack";
import { runCliInProcess, withoutHostAws } from "../support/cli-in-process";

jest.setTimeout(120_000);

const BIN = path.resolve(__dirname, "../../bin");
const PACKAGE = JSON.parse(readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")) as { version: string };

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: readonly string[], env: NodeJS.ProcessEnv = {}, program = "neurocaas"): Promise<Run> {
  // No AWS settings and no SDK switches from the host: what a user's shell would have.
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_") && k !== "COLUMNS"),
  );
  return new Promise((resolve) => {
    execFile(
      path.join(BIN, program),
      [...args],
      { env: { ...clean, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** `neurocaas ARGS` in the jest process, with `env` and no AWS settings from the host. */
function runHere(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return runCliInProcess(args, { env: withoutHostAws({ COLUMNS: undefined, ...env }) });
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("neurocaas command-line conventions", () => {
  it("--version prints the package version", async () => {
    const r = await run(["--version"]);
    expect(r).toMatchObject({ code: 0, stdout: `${PACKAGE.version}\n` });
  });

  it("wraps help to the terminal width ($COLUMNS when not a terminal) and marks required options", async () => {
    const narrow = await run(["submit", "--help"], { COLUMNS: "60" });
    expect(narrow.code).toBe(0);
    const lines = narrow.stdout.trimEnd().split("\n");
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(60);
    expect(narrow.stdout).toMatch(/--bucket <bucket>\s+analysis bucket \(required\)/);
    expect(narrow.stdout).toMatch(/--timestamp <id>\s+job id \(default: generated\)\n/);

    const wide = await run(["submit", "--help"], { COLUMNS: "200" });
    expect(wide.stdout).toContain(
      "--data <paths...>     local files/folders, keys under {group}/ or s3:// URIs (one IAE each) (required)\n",
    );
  });

  it("names an unknown option even when a required option is missing too", async () => {
    const r = await runHere(["submit", "--buckt", "demo", "--group", "lab"]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")[0]).toBe("error: unknown option '--buckt'");
    expect(r.stderr).toContain("(Did you mean --bucket?)");
    expect(r.stderr).not.toContain("required option");
    const workflow = await runHere(["workflow", "register-file", "--colour", "x"]);
    expect(workflow.stderr.split("\n")[0]).toBe("error: unknown option '--colour'");
    // Help still wins over the error.
    expect((await runHere(["submit", "--bogus", "--help"])).code).toBe(0);
  });

  it("says an endpoint without a scheme has none", async () => {
    const r = await runHere([
      "status",
      "--bucket",
      "b",
      "--group",
      "g",
      "--job",
      "j",
      "--endpoint-url",
      "127.0.0.1:4566",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'neurocaas: --endpoint-url "127.0.0.1:4566" is not an http:// or https:// URL (no scheme: did you mean http://127.0.0.1:4566?); `neurocaas local` prints the endpoint to use, e.g. http://127.0.0.1:4566\n',
    );
    const env = await runHere(["status", "--bucket", "b", "--group", "g", "--job", "j"], {
      AWS_ENDPOINT_URL: "localhost:4566",
    });
    expect(env.stderr).toContain(
      '$AWS_ENDPOINT_URL "localhost:4566" is not an http:// or https:// URL (no scheme: did you mean http://localhost:4566?)',
    );
  });

  it("asks whether `neurocaas local` runs when the connection is refused, without the SDK's Node version warning", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const r = await run(["status", "--bucket", "b", "--group", "g", "--job", "j", "--endpoint-url", endpoint], {
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "secret",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `neurocaas: cannot connect to ${endpoint} (connection refused): is \`neurocaas local\` running at ${endpoint}? Start it with \`npm start\` (or \`neurocaas local --port PORT\`) and pass the endpoint it prints\n`,
    );
    expect(r.stderr).not.toContain("NodeVersionSupportWarning");
  });

  describe("against a local endpoint", () => {
    let s3: LocalS3Server;
    beforeAll(async () => {
      s3 = await startLocalS3Server({ buckets: ["neurocaas-demo", "other-analysis"] });
    });
    afterAll(async () => {
      await s3.close();
    });

    it("names a missing bucket and the buckets that exist", async () => {
      const signed = {
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      };
      const r = await runHere(
        ["status", "--bucket", "neurocaas-dmo", "--group", "lab", "--job", "j1", "--endpoint-url", s3.endpoint],
        signed,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `neurocaas: bucket "neurocaas-dmo" does not exist at ${s3.endpoint}; buckets there: neurocaas-demo, other-analysis`,
      );
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "conv-"));
      await fsp.writeFile(path.join(dir, "c.yaml"), "a: 1\n");
      const submit = await runHere(
        [
          "submit",
          "--bucket",
          "nope",
          "--group",
          "lab",
          "--data",
          path.join(dir, "c.yaml"),
          "--config",
          path.join(dir, "c.yaml"),
          "--endpoint-url",
          s3.endpoint,
        ],
        signed,
      );
      expect(submit.stderr).toContain('bucket "nope" does not exist');
      await fsp.rm(dir, { recursive: true, force: true });
    });

    it("suggests --port when `neurocaas local` finds its port taken", async () => {
      const port = Number(new URL(s3.endpoint).port);
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "conv-port-"));
      const stack = await writeStackFile(dir, { name: "port-test", command: "true" });
      const r = await run([
        "local",
        "--port",
        String(port),
        "--data-dir",
        path.join(dir, "data"),
        "--stack-file",
        stack,
        "--quiet",
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `neurocaas: port ${port} on 127.0.0.1 is already in use (another \`neurocaas local\`?): pick a free one with --port PORT`,
      );
      expect(r.stderr).toContain("or --port 0 for any free port");
      await fsp.rm(dir, { recursive: true, force: true });
    });
  });

  it("answers to neurocaas-contrib, the original's command name", async () => {
    const r = await run(["scripting", "--help"], {}, "neurocaas-contrib");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: neurocaas-contrib scripting [options] [command]");
    const err = await run(["workflow", "get-dataname"], { HOME: os.tmpdir() + "/no-such-home" }, "neurocaas-contrib");
    expect(err.stderr).toMatch(/^neurocaas-contrib: no job initialized/);
  });
});
