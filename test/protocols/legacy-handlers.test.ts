import * as fs from "node:fs";
import * as path from "node:path";
import { isLegacyPostHandler, protocolForLegacyHandler } from "../../model/blueprint/legacy-handlers";
import { LEGACY_BLUEPRINTS } from "../support/paths";

const blueprints = fs
  .readdirSync(LEGACY_BLUEPRINTS)
  .filter((f) => f.endsWith(".json"))
  .map((f) => ({
    file: f,
    lambda:
      (
        JSON.parse(fs.readFileSync(path.join(LEGACY_BLUEPRINTS, f), "utf-8")) as {
          Lambda?: { Handler?: string; PostHandler?: string };
        }
      ).Lambda ?? {},
  }));

describe("legacy handler names", () => {
  it.each(blueprints.map((b) => [b.file, b.lambda.Handler] as const))(
    "%s: Handler %s maps to a protocol",
    (_file, handler) => {
      expect(handler).toBeDefined();
      expect(protocolForLegacyHandler(handler as string)).toBeDefined();
    },
  );

  it("maps the ensemble handler to the ensemble protocol and the others to default", () => {
    expect(protocolForLegacyHandler("submit_start.handler_ensemble")).toBe("ensemble");
    for (const h of [
      "submit_start.handler_develop",
      "submit_start.handler",
      "submit_start.handler_log",
      "submit_start.handler_log_dev",
      "submit_start.handler_log_demo",
      "submit.handler",
      "submit_start_legacy_wfield_preprocess.handler",
    ]) {
      expect(protocolForLegacyHandler(h)).toBe("default");
    }
    expect(protocolForLegacyHandler(" submit_start.handler_develop ")).toBe("default");
    expect(protocolForLegacyHandler("input-checking")).toBe("input-checking");
  });

  it("returns undefined for unknown handlers", () => {
    expect(protocolForLegacyHandler("submit_start.handler_unknown")).toBeUndefined();
    expect(protocolForLegacyHandler("")).toBeUndefined();
  });

  it("recognises every PostHandler of the real blueprints", () => {
    const post = blueprints.map((b) => b.lambda.PostHandler).filter((h): h is string => typeof h === "string");
    expect(post.length).toBeGreaterThan(10);
    for (const h of post) expect(isLegacyPostHandler(h)).toBe(true);
    expect(isLegacyPostHandler("postprocess.unknown")).toBe(false);
  });
});
