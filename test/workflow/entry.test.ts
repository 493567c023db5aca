import { buildProgram } from "../../cli/main";
import { buildIaeProgram } from "../../cli/workflow/entry";
import type { Command } from "commander";

/** The slim IAE entry (bin/neurocaas routes `workflow` and `scripting` to it) must match cli/main.ts. */
function describeGroup(program: Command, group: string): string[] {
  const g = program.commands.find((c) => c.name() === group);
  if (!g) throw new Error(`no ${group} group`);
  return g.commands.map((c) => `${c.name()} ${c.options.map((o) => o.flags).join(" ")} ${c.registeredArguments.map((a) => a.name()).join(" ")}`).sort();
}

describe("IAE entry", () => {
  it.each(["workflow", "scripting"])("registers the same %s commands as cli/main.ts", (group) => {
    const full = describeGroup(buildProgram(), group);
    expect(describeGroup(buildIaeProgram(), group)).toEqual(full);
    expect(full.length).toBeGreaterThan(1);
  });

  it("has every SPEC §5 workflow command", () => {
    const names = describeGroup(buildIaeProgram(), "workflow").map((d) => d.split(" ")[0]);
    for (const name of [
      "initialize-job", "register-dataset", "register-config", "register-file", "register-resultpath", "get-data", "get-config", "get-file", "put-result",
      "get-dataname", "get-configname", "get-datapath", "get-configpath", "get-filename", "get-filepath", "get-group", "get-bucket", "get-resultpath-tmp",
      "get-resultpath", "log-command", "log-command-local", "cleanup", "run-main",
    ]) {
      expect(names).toContain(name);
    }
  });
});
