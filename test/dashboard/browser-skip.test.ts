/** Without Chromium the browser tests skip loudly on a developer machine, and fail where CI requires them. */
function load(env: Record<string, string>): typeof import("./support/browser") {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    let mod: typeof import("./support/browser") | undefined;
    jest.isolateModules(() => {
      mod = jest.requireActual("./support/browser");
    });
    return mod!;
  } finally {
    process.env = saved;
  }
}

describe("browser test gate", () => {
  it("skips with a loud message when Chromium is missing", () => {
    const write = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const gate = load({ CHROMIUM_PATH: "/nonexistent/chromium", NEUROCAAS_REQUIRE_BROWSER: "" });
      expect(gate.browserAvailable()).toBe(false);
      expect(write.mock.calls.map((c) => String(c[0])).join("")).toMatch(
        /SKIPPING the dashboard browser tests: Chromium not found at \/nonexistent\/chromium/,
      );
    } finally {
      write.mockRestore();
    }
  });

  it("fails instead when NEUROCAAS_REQUIRE_BROWSER=1 (CI)", () => {
    const gate = load({ CHROMIUM_PATH: "/nonexistent/chromium", NEUROCAAS_REQUIRE_BROWSER: "1" });
    expect(() => gate.browserAvailable()).toThrow(/NEUROCAAS_REQUIRE_BROWSER=1 but Chromium not found/);
  });
});
