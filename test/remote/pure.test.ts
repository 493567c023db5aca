import {
  extendedTimeout,
  formatRemaining,
  parsePositiveInteger,
  remainingMinutes,
  timeoutFromTag,
} from "../../cli/remote/lifetime";
import {
  addInstance,
  emptyRemoteState,
  imageSavedSinceStart,
  jobAt,
  removeInstance,
  remoteStatePath,
  type DevInstanceRecord,
} from "../../cli/remote/state";
import { aliasParameter, isAmiId } from "../../cli/remote/ami";
import { defaultName } from "../../cli/remote/instance-actions";

const rec = (id: string, extra: Partial<DevInstanceRecord> = {}): DevInstanceRecord => ({
  instanceId: id,
  name: id,
  description: "",
  origin: "launched",
  lastStartedAt: "2026-11-23T10:00:00.000Z",
  images: [],
  jobs: [],
  ...extra,
});

describe("lifetime arithmetic", () => {
  it("measures remaining minutes from launch against the Timeout", () => {
    const launch = new Date("2026-11-23T10:00:00Z");
    expect(remainingMinutes(launch, 60, new Date("2026-11-23T10:00:00Z"))).toBe(60);
    expect(remainingMinutes(launch, 60, new Date("2026-11-23T10:45:30Z"))).toBe(14.5);
    expect(remainingMinutes(launch, 60, new Date("2026-11-23T12:00:00Z"))).toBe(-60);
    expect(remainingMinutes(launch, extendedTimeout(60, 120), new Date("2026-11-23T12:00:00Z"))).toBe(60);
    expect(formatRemaining(75.9)).toBe("1 h 15 min left");
    expect(formatRemaining(-3.2)).toBe("expired 3 min ago");
  });

  it("accepts only positive integers", () => {
    expect(parsePositiveInteger("15", "x")).toBe(15);
    expect(parsePositiveInteger(60, "x")).toBe(60);
    for (const bad of ["0", "-1", "2.5", "1e3", "", "abc", "99999999999999999999"]) {
      expect(() => parsePositiveInteger(bad, "--timeout")).toThrow(
        `--timeout must be a positive integer, got "${bad}"`,
      );
    }
    expect(() => timeoutFromTag(undefined, "i-1")).toThrow(/instance i-1 has no Timeout tag/);
    expect(() => timeoutFromTag("soon", "i-1")).toThrow(/Timeout tag of instance i-1 must be a positive integer/);
  });
});

describe("state", () => {
  it("lives beside the blueprint", () => {
    expect(remoteStatePath("stacks/pca.yaml")).toBe("stacks/pca.devinstances.json");
    expect(remoteStatePath("/a/Pulumi.dev.yml")).toBe("/a/Pulumi.dev.devinstances.json");
  });

  it("moves the selection when the selected instance goes", () => {
    let s = addInstance(addInstance(emptyRemoteState("a"), rec("i-1")), rec("i-2"));
    expect(s.selected).toBe("i-2");
    s = removeInstance(s, "i-2");
    expect(s.selected).toBe("i-1");
    s = removeInstance(s, "i-1");
    expect(s).toEqual({ version: 1, analysis: "a", instances: [] });
  });

  it("counts only images saved since the last start", () => {
    const img = (createdAt: string) => ({ imageId: `ami-${createdAt.length}`, name: "n", createdAt });
    expect(imageSavedSinceStart(rec("i", { images: [img("2026-11-23T09:00:00.000Z")] }))).toBeUndefined();
    expect(
      imageSavedSinceStart(rec("i", { images: [img("2026-11-23T09:00:00.000Z"), img("2026-11-23T11:00:00Z")] }))
        ?.createdAt,
    ).toBe("2026-11-23T11:00:00Z");
  });

  it("indexes jobs from the start or, negative, from the end", () => {
    const job = (commandId: string) => ({
      commandId,
      submitFile: "",
      datasetKey: "",
      configKey: "",
      resultFolder: "",
      jobFolder: "",
      statusKey: "",
      command: "",
      startedAt: "",
    });
    const r = rec("i", { jobs: [job("a"), job("b"), job("c")] });
    expect(jobAt(r, -1).commandId).toBe("c");
    expect(jobAt(r, 0).commandId).toBe("a");
    expect(jobAt(r, -3).commandId).toBe("a");
    expect(() => jobAt(r, 3)).toThrow(/out of range/);
    expect(() => jobAt(r, -4)).toThrow(/out of range/);
  });
});

describe("default instance names", () => {
  it("reuse the smallest free number", () => {
    expect(defaultName("pca", [])).toBe("pca-dev-1");
    expect(defaultName("pca", ["pca-dev-2", "gpu"])).toBe("pca-dev-1");
    expect(defaultName("pca", ["pca-dev-1", "pca-dev-2"])).toBe("pca-dev-3");
  });
});

describe("AMI aliases", () => {
  it("map to public SSM parameters; image ids pass through", () => {
    expect(aliasParameter("ubuntu22")).toBe(
      "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
    );
    expect(aliasParameter("dlami")).toMatch(/^\/aws\/service\/deeplearning\/ami\/x86_64\/.+\/latest\/ami-id$/);
    expect(aliasParameter("ami-0123456789abcdef0")).toBeUndefined();
    expect(isAmiId("ami-12345678")).toBe(true);
    expect(isAmiId("ami-123")).toBe(false);
  });
});
