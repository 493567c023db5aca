import { buildProgram, COMMAND_GROUPS } from "../../cli/main";
import type { Command } from "commander";

/** bin/neurocaas builds the program with only the group being called (lazy loading). */
function describeGroup(program: Command, group: string): string[] {
  const g = program.commands.find((c) => c.name() === group);
  if (!g) throw new Error(`no ${group} group`);
  return g.commands
    .map(
      (c) =>
        `${c.name()} ${c.options.map((o) => o.flags).join(" ")} ${c.registeredArguments.map((a) => a.name()).join(" ")}`,
    )
    .sort();
}

describe("CLI entry", () => {
  it.each(["workflow", "scripting"])("registers the same %s commands alone as with every group", (group) => {
    const full = describeGroup(buildProgram(), group);
    const alone = buildProgram(group);
    expect(alone.commands.map((c) => c.name())).toEqual([group]);
    expect(describeGroup(alone, group)).toEqual(full);
    expect(full.length).toBeGreaterThan(1);
  });

  it("registers every group when called without a known group (help, unknown command)", () => {
    expect(
      buildProgram("--help")
        .commands.map((c) => c.name())
        .sort(),
    ).toEqual(Object.keys(COMMAND_GROUPS).sort());
    expect(buildProgram("no-such-group").commands.length).toBe(Object.keys(COMMAND_GROUPS).length);
  });

  it("has every SPEC §5 workflow command", () => {
    const names = describeGroup(buildProgram("workflow"), "workflow").map((d) => d.split(" ")[0]);
    for (const name of [
      "initialize-job",
      "register-dataset",
      "register-config",
      "register-file",
      "register-resultpath",
      "get-data",
      "get-config",
      "get-file",
      "put-result",
      "get-dataname",
      "get-configname",
      "get-datapath",
      "get-configpath",
      "get-filename",
      "get-filepath",
      "get-group",
      "get-bucket",
      "get-resultpath-tmp",
      "get-resultpath",
      "log-command",
      "log-command-local",
      "cleanup",
      "run-main",
    ]) {
      expect(names).toContain(name);
    }
  });
});
