/**
 * Local mode and the cloud cannot drift: for a designed matrix of S3 requests (users of one and
 * of several groups and analyses, IAEs, every folder, listing variants, other groups, copies,
 * batch deletes), the local endpoint's verdict — its S3→IAM mapping and its own evaluator on the
 * policies components/iam/policies.ts generates — equals the IAM simulator's verdict on the same
 * documents and requests. A hardened IAE policy with explicit Deny statements (as the IAM
 * documents are getting) checks deny precedence the same way.
 */
import { iaePolicy } from "../../components/iam/policies";
import type { PolicyDocument } from "../../components/iam/document";
import { evaluatePolicies, type Decision } from "../../local/iam-eval";
import {
  authzRequest,
  iaePrincipal,
  LOCAL_ACCOUNT,
  userMemberships,
  userPrincipal,
  type AnalysisIdentities,
  type Principal,
} from "../../local/principals";
import { classifyRequest, type PermissionCheck } from "../../local/s3-operations";
import { ACCOUNT, decide } from "../components/iam-sim";

const A = "caiman-ncap-web";
const B = "dlc-web";
const ARCHIVE = "lab-archive";

const analyses: AnalysisIdentities[] = [
  {
    bucket: A,
    analysis: A,
    region: "us-east-1",
    affiliates: [
      { group: "brunolab", users: ["alice", "carol"] },
      { group: "peterkagroup", users: ["bob", "carol"] },
    ],
    bypassBuckets: [ARCHIVE],
  },
  {
    bucket: B,
    analysis: B,
    region: "us-east-1",
    affiliates: [
      { group: "brunolab", users: ["alice"] },
      { group: "dlclab", users: ["dave"] },
    ],
    bypassBuckets: [],
  },
];
const regionOf = (bucket: string) => analyses.find((a) => a.bucket === bucket)?.region;
const memberships = userMemberships(analyses);
const users = ["alice", "bob", "carol", "dave"].map((u) => userPrincipal(u, memberships.get(u)!));
const iaeA = iaePrincipal(analyses[0], "i-0aaaaaaaaaaaaaaa1");
const iaeB = iaePrincipal(analyses[1], "i-0bbbbbbbbbbbbbbb1");

/** The IAE policy plus explicit denies of writes where users' data and triggers live (SPEC §10.2). */
function hardened(doc: PolicyDocument, bucket: string): PolicyDocument {
  return {
    ...doc,
    Statement: [
      ...doc.Statement,
      {
        Sid: "NeverWriteUserData",
        Effect: "Deny",
        Action: ["s3:PutObject", "s3:DeleteObject"],
        Resource: ["submissions", "inputs", "configs"]
          .map((f) => `arn:aws:s3:::${bucket}/*/${f}/*`)
          .concat(`arn:aws:s3:::${bucket}/logs/*`),
      },
    ],
  };
}
const iaeHardened: Principal = {
  ...iaeA,
  name: "hardened",
  policies: [hardened(iaePolicy({ region: "us-east-1", bucket: A, bypassBuckets: [ARCHIVE] }), A)],
};
const principals: Principal[] = [...users, iaeA, iaeB, iaeHardened];

interface Req {
  readonly method: string;
  readonly bucket: string;
  readonly key?: string;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  /** DeleteObjects body keys. */
  readonly deleteKeys?: readonly string[];
}

const folders = (g: string) => [
  `${g}/inputs/movie.tif`,
  `${g}/configs/config.yaml`,
  `${g}/submissions/submit.json`,
  `${g}/results/job__${A}_1/process_results/out.h5`,
  `${g}/results/job__${A}_1/logs/certificate.txt`,
];
const objectRequests: Req[] = [
  ...["brunolab", "peterkagroup"].flatMap((g) =>
    folders(g).flatMap((key) => [
      { method: "GET", bucket: A, key },
      { method: "PUT", bucket: A, key },
      { method: "DELETE", bucket: A, key },
    ]),
  ),
  { method: "HEAD", bucket: A, key: "brunolab/results/job__x_1/process_results/end.txt" },
  { method: "HEAD", bucket: A, key: "brunolab/inputs/movie.tif" },
  { method: "POST", bucket: A, key: "brunolab/inputs/big.tif", query: { uploads: "" } },
  { method: "PUT", bucket: A, key: "brunolab/inputs/big.tif", query: { partNumber: "1", uploadId: "0".repeat(32) } },
  { method: "DELETE", bucket: A, key: "brunolab/inputs/big.tif", query: { uploadId: "0".repeat(32) } },
  { method: "GET", bucket: A, key: "brunolab/inputs/big.tif", query: { uploadId: "0".repeat(32) } },
  { method: "PUT", bucket: A, key: "peterkagroup/submissions/results/evil_submit.json" },
  { method: "PUT", bucket: A, key: "brunolab/inputs/results/x" },
  { method: "PUT", bucket: A, key: "brunolab/configs/results/x" },
  { method: "PUT", bucket: A, key: "logs/active/i-0123456789abcdef0.json" },
  { method: "PUT", bucket: A, key: "logs/results/x.json" },
  { method: "GET", bucket: A, key: "logs/brunolab/i-0123456789abcdef0.json" },
  // The groups' spend summaries: readable by their own group only, writable by nobody here.
  ...["brunolab", "peterkagroup"].flatMap((g) =>
    ["GET", "PUT", "DELETE", "HEAD"].map((method) => ({ method, bucket: A, key: `logs/_spend/${g}.json` })),
  ),
  { method: "GET", bucket: A, key: "logs/_ledger/brunolab.json" },
  { method: "PUT", bucket: A, key: "brunolab/other/file.txt" },
  { method: "PUT", bucket: A, key: "brunolab/submit.json" },
  { method: "PUT", bucket: A, key: "brunolab/configs/c.yaml", headers: { "x-amz-tagging": "a=b" } },
  { method: "PUT", bucket: A, key: "brunolab/configs/c.yaml", query: { tagging: "" } },
  {
    method: "PUT",
    bucket: A,
    key: "brunolab/configs/c.yaml",
    headers: { "x-amz-copy-source": `/${A}/peterkagroup/configs/config.yaml` },
  },
  {
    method: "PUT",
    bucket: A,
    key: "brunolab/configs/c2.yaml",
    headers: { "x-amz-copy-source": `/${A}/brunolab/configs/config.yaml` },
  },
  {
    method: "PUT",
    bucket: A,
    key: "brunolab/results/job__x_1/process_results/copy.h5",
    headers: { "x-amz-copy-source": `/${A}/brunolab/inputs/movie.tif` },
  },
  { method: "GET", bucket: A, key: "brunolab/configs/config.yaml", query: { versionId: "v1" } },
  {
    method: "POST",
    bucket: A,
    query: { delete: "" },
    deleteKeys: [
      "brunolab/inputs/a.tif",
      "peterkagroup/inputs/b.tif",
      "logs/active/i-1.json",
      "brunolab/results/job__x_1/out.h5",
    ],
  },
  // the user's other analysis, a third group, and a bypass bucket
  ...[
    "brunolab/configs/config.yaml",
    "brunolab/inputs/x.csv",
    "dlclab/configs/config.yaml",
    "dlclab/results/job__dlc_1/out.h5",
  ].flatMap((key) => [
    { method: "GET", bucket: B, key },
    { method: "PUT", bucket: B, key },
  ]),
  { method: "GET", bucket: ARCHIVE, key: "anything/data.h5" },
  { method: "PUT", bucket: ARCHIVE, key: "results/job__x_1/out.h5" },
  { method: "DELETE", bucket: ARCHIVE, key: "results/job__x_1/out.h5" },
];

const listing = (bucket: string, query: Record<string, string>): Req => ({
  method: "GET",
  bucket,
  query: { "list-type": "2", ...query },
});
const listRequests: Req[] = [
  listing(A, {}),
  listing(A, { prefix: "" }),
  listing(A, { prefix: "", delimiter: "/" }),
  listing(A, { delimiter: "/" }),
  listing(A, { prefix: "brunolab/" }),
  listing(A, { prefix: "brunolab/results/", delimiter: "/" }),
  listing(A, { prefix: "brunolab/results/job__x_1/", "max-keys": "10" }),
  listing(A, { prefix: "brunolab" }),
  listing(A, { prefix: "peterkagroup/" }),
  listing(A, { prefix: "brunolab2/" }),
  listing(A, { prefix: "logs/" }),
  listing(A, { prefix: "/", delimiter: "/" }),
  { method: "GET", bucket: A, query: { prefix: "brunolab/inputs/", marker: "brunolab/inputs/a" } },
  { method: "GET", bucket: A, query: { prefix: "", delimiter: "/" } },
  listing(B, { prefix: "brunolab/" }),
  listing(B, { prefix: "dlclab/" }),
  listing(B, { prefix: "", delimiter: "/" }),
  listing(ARCHIVE, { prefix: "results/" }),
  { method: "HEAD", bucket: A },
  { method: "GET", bucket: A, query: { location: "" } },
  { method: "GET", bucket: "" },
  { method: "PUT", bucket: A, query: { policy: "" } },
  { method: "DELETE", bucket: A },
  { method: "GET", bucket: A, query: { uploads: "" } },
];

/** The IAM checks of one request, as the endpoint derives them. */
function checksOf(r: Req): PermissionCheck[] {
  const op = classifyRequest(r.method, r.bucket, r.key ?? "", r.query ?? {}, r.headers ?? {});
  if (!op) throw new Error(`the endpoint does not know ${r.method} ${r.bucket}/${r.key ?? ""}`);
  if (op.name === "DeleteObjects")
    return (r.deleteKeys ?? []).map((key) => ({ action: "s3:DeleteObject", bucket: r.bucket, key, context: {} }));
  return [...op.checks];
}

const cases = principals.flatMap((p) =>
  [...objectRequests, ...listRequests].flatMap((r) =>
    checksOf(r).map((check) => ({ principal: p, request: r, check })),
  ),
);

describe("local IAM verdicts equal the IAM simulator's", () => {
  it(`covers at least 100 requests (${cases.length} checks), with allows, implicit and explicit denies`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
    const verdicts = cases.map((c) => evaluatePolicies(c.principal.policies!, authzRequest(c.check, regionOf)));
    for (const d of ["Allowed", "ImplicitlyDenied", "ExplicitlyDenied"] as Decision[])
      expect(verdicts.filter((v) => v === d).length).toBeGreaterThan(5);
  });

  it("agrees on every request of the matrix", async () => {
    const mismatches: string[] = [];
    for (const c of cases) {
      const req = authzRequest(c.check, regionOf);
      const local = evaluatePolicies(c.principal.policies!, req);
      const simulated = await decide(c.principal.policies as PolicyDocument[], {
        ...req,
        principal: c.principal.arn.replace(LOCAL_ACCOUNT, ACCOUNT),
        context: { ...req.context } as Record<string, string>,
      });
      if (local !== simulated)
        mismatches.push(
          `${c.principal.name} ${c.request.method} ${c.request.bucket}/${c.request.key ?? ""}?${new URLSearchParams(c.request.query).toString()} → ${req.action} ${req.resource} ${JSON.stringify(req.context)}: local ${local}, simulator ${simulated}`,
        );
    }
    expect(mismatches).toEqual([]);
  });
});
