/** The dashboard's pure logic (no browser): routes, job folders, re-runs, previews, trees, config forms, Cognito. */
import { webcrypto } from "node:crypto";
import { certificateDatasetLines, jobPhase } from "../../protocols/job-view";
import { renderCertificate } from "../../protocols/certificate";
import {
  checkConfig,
  configText,
  fieldsOfSchema,
  valuesFromForm,
  RESERVED_FIELDS,
} from "../../dashboard/src/lib/config-form";
import {
  authorizeUrl,
  challengeOf,
  idTokenClaims,
  membershipsOfClaims,
  tokenRequestBody,
} from "../../dashboard/src/lib/cognito";
import { iaeCountOf, jobFolders, jobIdOf, rerunPlan } from "../../dashboard/src/lib/jobs";
import { parseDelimited, previewKind } from "../../dashboard/src/lib/preview";
import { formatRoute, parseRoute } from "../../dashboard/src/lib/route";
import { buildTree, filesOf } from "../../dashboard/src/lib/tree";
import type { CognitoSignIn } from "../../model/dashboard-config";

describe("routes", () => {
  it("round-trips a job route and defaults to the job list", () => {
    const r = { bucket: "b", group: "lab A", view: "jobs" as const, job: "job__b_1" };
    expect(parseRoute(formatRoute(r))).toEqual(r);
    expect(parseRoute("#/b/g/nonsense")).toEqual({ bucket: "b", group: "g", view: "jobs" });
    expect(parseRoute("")).toEqual({ view: "jobs" });
    expect(parseRoute("#/b/g/inputs/extra")).toEqual({ bucket: "b", group: "g", view: "inputs" });
  });
});

describe("jobs", () => {
  it("lists job folders newest first and ignores other folders", () => {
    expect(
      jobFolders("b", [
        "g/results/job__b_20260101-1/",
        "g/results/other/",
        "g/results/job__b_20260102-1/",
        "g/results/job__b_/",
      ]),
    ).toEqual(["job__b_20260102-1", "job__b_20260101-1"]);
    expect(jobIdOf("b", "job__b_20260102-1")).toBe("20260102-1");
  });

  it("takes a re-run's datasets, config and requested instance type from the certificate", () => {
    const cert = renderCertificate(
      [
        { dataname: "g/inputs/a.csv", status: "SUCCESS", time: "t", lastCommand: "x | y" },
        { dataname: "g/inputs/b.csv", status: "FAILED", time: "t", lastCommand: "z" },
      ],
      [
        "Using requested instance type m5.xlarge.\t [+0:00:00.01]",
        "Found 2 dataset(s) and the config g/configs/c.yaml.\t [+0:00:00.02]",
      ],
    );
    expect(rerunPlan(cert)).toEqual({
      datasets: ["g/inputs/a.csv", "g/inputs/b.csv"],
      config: "g/configs/c.yaml",
      instanceType: "m5.xlarge",
    });
    expect(rerunPlan(undefined)).toEqual({ datasets: [] });
  });

  it("counts an ensemble's members as its IAEs", () => {
    expect(iaeCountOf("ensemble", 1, { ensemble_size: 5 })).toBe(5);
    expect(iaeCountOf("ensemble", 1, { ensemble_size: 5, mode: "predict" })).toBe(1);
    expect(iaeCountOf("default", 3, { ensemble_size: 5 })).toBe(3);
  });

  it("derives the phase a user sees", () => {
    expect(jobPhase({ datasets: [], finished: false })).toBe("submitted");
    expect(jobPhase({ certificate: "x", datasets: [{ status: "IN PROGRESS" }], finished: false })).toBe("running");
    expect(jobPhase({ certificate: "x", datasets: [{ status: "SUCCESS" }], finished: true })).toBe("succeeded");
    expect(
      jobPhase({ certificate: "x", datasets: [{ status: "SUCCESS" }, { status: "FAILED" }], finished: true }),
    ).toBe("failed");
    expect(
      jobPhase({ certificate: "a\n[Job Manager] Shutting down job.\t [+0:00:00.01]\n", datasets: [], finished: false }),
    ).toBe("rejected");
  });

  it("parses certificate dataset lines, with CPU when the IAE added it", () => {
    const lines = certificateDatasetLines(
      "DATANAME: g/inputs/a | STATUS: IN PROGRESS | TIME: 2026-01-01 00:00:00 | LAST COMMAND: echo a/b | CPU_USAGE: 12.5 %\nDATANAME: g/inputs/b | STATUS: INITIALIZING | TIME: t | LAST COMMAND: None",
    );
    expect(lines).toEqual([
      {
        dataname: "g/inputs/a",
        status: "IN PROGRESS",
        time: "2026-01-01 00:00:00",
        lastCommand: "echo a/b",
        cpuUsage: "12.5",
      },
      { dataname: "g/inputs/b", status: "INITIALIZING", time: "t", lastCommand: "None" },
    ]);
  });
});

describe("previews and trees", () => {
  it("picks a preview by file name (status files are JSON)", () => {
    expect(previewKind("a/plot.SVG")).toBe("image");
    expect(previewKind("a/logs/DATASET_NAME:x.csv_STATUS.txt")).toBe("json");
    expect(previewKind("a/out.h5")).toBe("binary");
    expect(previewKind("a/table.tsv")).toBe("csv");
  });

  it("parses quoted CSV fields and CRLF rows", () => {
    expect(parseDelimited('a,"b,c","say ""hi"""\r\n1,2,3')).toEqual([
      ["a", "b,c", 'say "hi"'],
      ["1", "2", "3"],
    ]);
    expect(parseDelimited("x\ty", "\t")).toEqual([["x", "y"]]);
  });

  it("builds a folder tree and collects a folder's files", () => {
    const o = (key: string) => ({ key, size: 1, etag: "" });
    const tree = buildTree("g/results/j/", [
      o("g/results/j/"),
      o("g/results/j/logs/c.txt"),
      o("g/results/j/a.txt"),
      o("g/results/j/logs/s/x"),
    ]);
    expect(tree.children.map((c) => c.name)).toEqual(["logs", "a.txt"]);
    // Folders before files at every level.
    expect(filesOf(tree.children[0]).map((f) => f.key)).toEqual(["g/results/j/logs/s/x", "g/results/j/logs/c.txt"]);
  });
});

describe("config forms", () => {
  const schema = {
    type: "object",
    required: ["n"],
    properties: {
      n: { type: "integer", minimum: 1 },
      mode: { enum: ["a", "b"] },
      flag: { type: "boolean" },
      __duration__: { type: "integer" },
    },
  };

  it("makes fields of the schema's properties (reserved keys come from the platform)", () => {
    expect(fieldsOfSchema(schema).map((f) => [f.name, f.type, f.required])).toEqual([
      ["n", "integer", true],
      ["mode", "enum", false],
      ["flag", "boolean", false],
    ]);
  });

  it("reports every problem and converts values", () => {
    const fields = [...fieldsOfSchema(schema), ...RESERVED_FIELDS];
    expect(valuesFromForm(fields, { n: "", mode: "c", __duration__: "2.5" }).problems).toEqual([
      "n is required.",
      'mode must be one of "a", "b".',
      '__duration__ must be a whole number; got "2.5".',
    ]);
    expect(valuesFromForm(fields, { n: "3", mode: "b", flag: true, __duration__: "30" })).toEqual({
      values: { n: 3, mode: "b", flag: true, __duration__: 30 },
      problems: [],
    });
  });

  it("checks a config as the job manager will, in JSON or YAML", () => {
    expect(checkConfig("c.yaml", configText("c.yaml", { n: 3, __duration__: 30 }))).toMatchObject({
      ok: true,
      durationMinutes: 30,
    });
    expect(checkConfig("c.json", configText("c.json", { __duration__: 0 }))).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/__duration__ must be between 1/)],
    });
    expect(checkConfig("c.txt", "a: 1")).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/must end in .json, .yaml or .yml/)],
    });
  });
});

describe("Cognito sign-in (pure parts)", () => {
  const c: CognitoSignIn = {
    region: "us-east-1",
    userPoolId: "us-east-1_abc",
    clientId: "client1",
    domain: "https://login.auth.us-east-1.amazoncognito.com",
    identityPoolId: "us-east-1:pool",
    redirectUri: "https://d1.cloudfront.net/",
    roles: [
      { bucket: "b", group: "g1", roleArn: "arn:aws:iam::1:role/r1" },
      { bucket: "b", group: "g2", roleArn: "arn:aws:iam::1:role/r2" },
    ],
  };

  beforeAll(() => {
    if (!globalThis.crypto) (globalThis as { crypto?: unknown }).crypto = webcrypto;
  });

  it("computes the RFC 7636 S256 challenge", async () => {
    // RFC 7636 appendix B.
    expect(await challengeOf("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe(
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    );
  });

  it("builds the authorize URL and the token request", () => {
    const u = new URL(authorizeUrl(c, "CH", "ST"));
    expect(`${u.origin}${u.pathname}`).toBe("https://login.auth.us-east-1.amazoncognito.com/oauth2/authorize");
    expect(Object.fromEntries(u.searchParams)).toMatchObject({
      response_type: "code",
      client_id: "client1",
      code_challenge: "CH",
      code_challenge_method: "S256",
      state: "ST",
      redirect_uri: c.redirectUri,
    });
    expect(Object.fromEntries(new URLSearchParams(tokenRequestBody(c, "CODE", "VER")))).toEqual({
      grant_type: "authorization_code",
      client_id: "client1",
      code: "CODE",
      redirect_uri: c.redirectUri,
      code_verifier: "VER",
    });
  });

  it("maps the ID token's roles to the groups the user may switch between", () => {
    const payload = Buffer.from(
      JSON.stringify({
        "cognito:username": "alice",
        "cognito:groups": ["b.g2"],
        "cognito:roles": ["arn:aws:iam::1:role/r2", "arn:aws:iam::1:role/other"],
        exp: 5,
      }),
    ).toString("base64url");
    const claims = idTokenClaims(`h.${payload}.s`);
    expect(claims).toEqual({
      username: "alice",
      groups: ["b.g2"],
      roles: ["arn:aws:iam::1:role/r2", "arn:aws:iam::1:role/other"],
      exp: 5,
    });
    expect(membershipsOfClaims(c, claims)).toEqual([{ bucket: "b", group: "g2", roleArn: "arn:aws:iam::1:role/r2" }]);
    expect(() => idTokenClaims("garbage")).toThrow(/not a JSON web token/);
  });
});
