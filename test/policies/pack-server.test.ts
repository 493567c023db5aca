import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import type { AnalyzerInfo } from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { allPolicies } from "../../policies/all";

/**
 * The real pack entry (`policies/index.ts`) as the Pulumi CLI starts it: it serves the analyzer
 * protocol on the port it prints, and describes every policy with its level and config schema.
 */

const root = path.resolve(__dirname, "../..");
let child: ChildProcess;
let info: AnalyzerInfo;

beforeAll(async () => {
  child = spawn(path.join(root, "node_modules/.bin/tsx"), [path.join(root, "policies/index.ts")], {
    cwd: path.join(root, "policies"),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\s*$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${err}`)));
  });
  const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  info = await new Promise<AnalyzerInfo>((resolve, reject) =>
    client.getAnalyzerInfo(new Empty(), (e, r) => (e ? reject(e) : resolve(r))),
  );
  client.close();
}, 120_000);

afterAll(() => {
  child?.kill();
});

describe("policies/index.ts", () => {
  it("serves the neurocaas pack with every policy of all.ts", () => {
    expect(info.getName()).toBe("neurocaas");
    expect(
      info
        .getPoliciesList()
        .map((p) => p.getName())
        .sort(),
    ).toEqual(allPolicies.map((p) => p.name).sort());
  });

  it("publishes the config schema with defaults", () => {
    const types = info.getPoliciesList().find((p) => p.getName() === "neurocaas-instance-types");
    const schema = types?.getConfigschema()?.getProperties()?.toJavaScript() as
      Record<string, { default?: unknown }> | undefined;
    expect(schema?.allowedInstanceTypes?.default).toEqual(expect.arrayContaining(["t3.*", "p3.2xlarge"]));
  });
});
