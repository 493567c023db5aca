import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadStackFile } from "../../model/blueprint/parse";
import { isInvalid, planStack } from "../../cli/plan/run";
import { runCliInProcess as neurocaas } from "../support/cli-in-process";
import { withoutStackTraces } from "../support/stack-traces";
import { LEGACY_BLUEPRINTS as LEGACY_DIR } from "../support/paths";

/** The four fixtures that cannot be deployed, and why (checked against the table). */
const REJECTED: Record<string, { result: string; notes: RegExp }> = {
  "sam_abstraction_stack.json": {
    result: "rejected: template",
    notes:
      /^template with placeholder values: PipelineName, Lambda\.LambdaConfig\.AMI, Lambda\.LambdaConfig\.INSTANCE_TYPE, UXData\.Affiliates\[0\]\.AffiliateName/,
  },
  "testuseersubstack.json": {
    result: "rejected: template",
    notes: /^template with placeholder values: Lambda\.LambdaConfig\.AMI, Lambda\.LambdaConfig\.MAXCOST$/,
  },
  "widefield_dev_stack.json": {
    result: "rejected: template",
    notes:
      /^template with placeholder values: PipelineName, REGION, STAGE, Lambda\.LambdaConfig\.INSTANCE_TYPE, Lambda\.LambdaConfig\.MAXCOST, UXData\.Affiliates\[1\]\.AffiliateName$/,
  },
  "sam_locanmf_stack.json": {
    result: "rejected: protocol",
    notes: /needs a protocol this project does not carry: .*COMMAND has 8 "\{\}" placeholders/,
  },
};

/** The conversions planned in process (see the plan test below). */
const PLANNED = [
  "ensemble-dgp.yaml",
  "dlc-ncap-web.yaml",
  "dlc-ncap-stable.yaml",
  "yass-ncap.yaml",
  "cianalysispermastack.yaml",
];

interface Row {
  readonly blueprint: string;
  readonly result: string;
  readonly output?: string;
  readonly notes: string;
}

function parseTable(stdout: string): Row[] {
  const lines = stdout.split("\n");
  expect(lines[0]).toMatch(/^BLUEPRINT\s+RESULT\s+NOTES$/);
  const rows: Row[] = [];
  for (const line of lines.slice(1)) {
    if (line.trim() === "") break;
    const m = /^(\S+)\s+(converted → (\S+)|rejected: \w+)\s{2,}(.*)$/.exec(line);
    if (!m) throw new Error(`unparsable table line: ${line}`);
    rows.push({ blueprint: m[1], result: m[3] ? "converted" : m[2], output: m[3], notes: m[4] });
  }
  return rows;
}

describe("neurocaas blueprint import --all over the 41 original blueprints", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "ncap-import-"));
  let rows: Row[] = [];
  let stdout = "";

  beforeAll(async () => {
    const run = await neurocaas(["blueprint", "import", "--all", LEGACY_DIR, "-o", out]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    stdout = run.stdout;
    rows = parseTable(stdout);
  }, 600_000);

  it("lists every fixture once with its result and notes", () => {
    const fixtures = fs
      .readdirSync(LEGACY_DIR)
      .filter((f) => f.endsWith(".json"))
      .sort();
    expect(rows.map((r) => r.blueprint)).toEqual(fixtures);
    for (const r of rows) {
      const rejected = REJECTED[r.blueprint];
      if (rejected) {
        expect(r.result).toBe(rejected.result);
        expect(r.notes).toMatch(rejected.notes);
      } else {
        expect(r.result).toBe("converted");
        expect(r.notes).toMatch(/→(default|ensemble)/);
      }
    }
    expect(stdout.trimEnd().split("\n").at(-1)).toBe(
      "41 blueprints: 37 converted, 3 rejected: template, 1 rejected: protocol",
    );
  });

  it("records the conversions the table notes", () => {
    const note = (f: string) => rows.find((r) => r.blueprint === f)?.notes ?? "";
    expect(note("caiman_dev_stack.json")).toMatch(
      /^develop→webdev; submit_start\.handler_develop→default; PostHandler postprocess\.epipostprocess not carried/,
    );
    expect(note("sam_cnmf_stack.json")).toMatch(/^no STAGE→webdev; submit_start\.handler→default;/);
    expect(note("ensemble_dgp_web_stack.json")).toMatch(/submit_start\.handler_ensemble→ensemble; MAXCOST "300"→300;/);
    const ens = loadStackFile(path.join(out, "ensemble-dgp.yaml")).blueprint;
    expect(ens?.Lambda.Protocol).toBe("ensemble");
    expect(ens?.Lambda.LambdaConfig.MAXCOST).toBe(300);
    const text = fs.readFileSync(path.join(out, "ensemble-dgp.yaml"), "utf8");
    expect(text).toContain("# NeuroCAAS analysis blueprint imported from ensemble_dgp_web_stack.json");
    // Legacy keys are named in the header notes only, never in the config itself.
    expect(text.slice(text.indexOf("\nconfig:"))).not.toMatch(
      /IAM_ROLE|KEY_NAME|CodeUri|Handler|PipelineDir|CONFIG:|LOGFILE/,
    );
  });

  it("writes a stack config that validates for every deployable blueprint", async () => {
    const converted = rows.filter((r) => r.result === "converted");
    expect(converted).toHaveLength(37);
    expect(fs.readdirSync(out).sort()).toEqual(converted.map((r) => r.output).sort());
    for (const r of converted) {
      const { blueprint, config } = loadStackFile(path.join(out, r.output ?? ""));
      expect(blueprint?.PipelineName).toBe(r.output?.replace(/\.yaml$/, ""));
      expect(config["neurocaas:utilsStack"]).toBe("utils");
    }
    const check = await neurocaas(["blueprint", "validate", path.join(out, "caiman-ncap-web.yaml")]);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(
      /^OK: .*caiman-ncap-web\.yaml \(caiman-ncap-web, websubstack, protocol default, m5\.16xlarge, ami-0849b3d20fe3258e3\)/,
    );
  }, 300_000);

  // In process, one stack of each shape (ensemble; websubstack and webdev with the most
  // affiliates; a GPU type; the CI analysis). .ci/run plans all 37 conversions, each with bin/neurocaas.
  it("plans a converted blueprint of each shape without a mandatory policy violation", async () => {
    const failures: string[] = [];
    for (const f of PLANNED) {
      const report = await withoutStackTraces(() =>
        planStack({ file: path.join(out, f), stack: f.replace(/\.yaml$/, "") }),
      ).catch((err: Error) => err);
      if (report instanceof Error) failures.push(`${f}: ${report.message}`);
      else if (isInvalid(report))
        failures.push(`${f}: invalid: ${report.issues.map((i) => `${i.path}: expected ${i.expected}`).join("; ")}`);
      else {
        const mandatory = report.violations.filter((v) => v.enforcementLevel === "mandatory");
        if (mandatory.length > 0 || report.resources.length === 0)
          failures.push(
            `${f}: ${report.resources.length} resources; ${mandatory.map((v) => `${v.policy}: ${v.message}`).join("; ")}`,
          );
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it("refuses to overwrite earlier output without --force", async () => {
    const again = await neurocaas(["blueprint", "import", "--all", LEGACY_DIR, "-o", out]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/attention-ensemble\.yaml already exists; pass --force/);
  }, 600_000);
});
