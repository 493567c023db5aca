import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadLocalAnalyses } from "../../local/stack";
import { LocalBudgetSource, LocalPriceSource } from "../../local/sources";
import { writeStackFile } from "./support/stack";

describe("local stack loading and budget/price sources", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "local-stack-"));
  });
  afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

  it("builds one runtime config per analysis, with local stand-ins for the utils outputs", async () => {
    const a = await writeStackFile(dir, { name: "ana-one", command: "echo {}", maxCost: 12 });
    const b = await writeStackFile(dir, { name: "ana-two", command: "echo {} {}", group: "other" });
    const configs = loadLocalAnalyses([a, b]);
    expect([...configs.keys()]).toEqual(["ana-one", "ana-two"]);
    expect(configs.get("ana-one")).toMatchObject({
      maxCost: 12,
      command: "echo {}",
      workingDirectory: "~/neurocaas",
      affiliates: [{ AffiliateName: "lab", UserInput: true }],
    });
    expect(configs.get("ana-two")!.securityGroupIds).toEqual(["sg-local"]);
  });

  it("rejects stack files without a blueprint and duplicate analyses", async () => {
    const empty = path.join(dir, "empty.yaml");
    await fsp.writeFile(empty, "config:\n  aws:region: us-east-1\n");
    expect(() => loadLocalAnalyses([empty])).toThrow(/has no "neurocaas:blueprint"/);
    const a = await writeStackFile(dir, { name: "ana-one", command: "true" });
    expect(() => loadLocalAnalyses([a, a])).toThrow(/appears in two stack files/);
  });

  it("reads budgets from budgets.json by {group}/{bucket}, undefined when absent", async () => {
    const file = path.join(dir, "budgets.json");
    const budgets = new LocalBudgetSource(file);
    expect(await budgets.budgetFor("lab", "ana")).toBeUndefined();
    await fsp.writeFile(file, JSON.stringify({ "lab/ana": 12.5, "lab/str": "7", "lab/bad": -1 }));
    expect(await budgets.budgetFor("lab", "ana")).toBe(12.5);
    expect(await budgets.budgetFor("lab", "str")).toBe(7);
    expect(await budgets.budgetFor("other", "ana")).toBeUndefined();
    await expect(budgets.budgetFor("lab", "bad")).rejects.toThrow(/"lab\/bad" must be a non-negative number/);
    await fsp.writeFile(file, "{oops");
    await expect(budgets.budgetFor("lab", "ana")).rejects.toThrow(/budgets.json is not valid JSON/);
  });

  it("prefers prices.json over the fallback", async () => {
    const file = path.join(dir, "prices.json");
    const prices = new LocalPriceSource(file, async (type) => (type === "t3.micro" ? 0.0104 : 1));
    expect(await prices.hourlyPrice("t3.micro", "us-east-1")).toBe(0.0104);
    await fsp.writeFile(file, JSON.stringify({ "t3.micro": 2 }));
    expect(await prices.hourlyPrice("t3.micro", "us-east-1")).toBe(2);
    expect(await prices.hourlyPrice("m5.large", "us-east-1")).toBe(1);
  });
});
