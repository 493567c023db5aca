import { resolveWorkingDirectory } from "../../local/working-directory";

describe("resolveWorkingDirectory", () => {
  const base = { home: "/sandbox/i-1", repoRoot: "/repo" };
  it("maps ~/neurocaas to the repository checkout", () => {
    expect(resolveWorkingDirectory({ ...base, workingDirectory: "~/neurocaas" })).toBe("/repo");
    expect(resolveWorkingDirectory({ ...base, workingDirectory: "~/neurocaas/examples" })).toBe("/repo/examples");
  });
  it("keeps other home-relative directories inside the IAE sandbox", () => {
    expect(resolveWorkingDirectory({ ...base, workingDirectory: "~/bin" })).toBe("/sandbox/i-1/bin");
    expect(resolveWorkingDirectory({ ...base, workingDirectory: "~/neurocaas-other" })).toBe(
      "/sandbox/i-1/neurocaas-other",
    );
    expect(resolveWorkingDirectory({ ...base, workingDirectory: "~" })).toBe("/sandbox/i-1");
  });
  it("uses absolute paths as given", () => {
    expect(resolveWorkingDirectory({ ...base, workingDirectory: "/opt/analysis" })).toBe("/opt/analysis");
  });
});
