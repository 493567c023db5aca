import {
  analysisBucketPolicy,
  iaePolicy,
  jobManagerPolicy,
  monitorPolicy,
  postprocessPolicy,
} from "../../components/iam/policies";
import type { PolicyDocument } from "../../components/iam/document";
import { ACCOUNT, runMatrix, type MatrixResult, type MatrixRow } from "./iam-sim";

/**
 * SPEC §10.2 under the IAM simulator: no platform role (IAE, job manager, monitor, post-processing,
 * development instances) writes where users' data or job triggers live, whatever wildcard of its
 * own grants seems to reach there — `*` matches `/`, so `*\/results/*` also matches
 * `g/submissions/results/x_submit.json`. Each role also keeps the writes its job needs.
 */

const R = "us-east-1";
const B = "caiman-ncap-web";
const BYPASS = "lab-archive";
const OWN = "debuggers";
const VICTIM = "debuggers2";
const obj = (key: string, bucket = B) => `arn:aws:s3:::${bucket}/${key}`;
const LOG_GROUP = `arn:aws:logs:${R}:${ACCOUNT}:log-group:/aws/lambda/${B}-x`;
const DLQ = `arn:aws:sqs:${R}:${ACCOUNT}:${B}-failed-invocations`;
const DEV_ROLE = `arn:aws:iam::${ACCOUNT}:role/neurocaas-dev-iae`;
const JOB = `job__${B}_1`;

const roles: Record<string, { identity: PolicyDocument[]; resourcePolicy?: PolicyDocument; principal?: string }> = {
  IAE: { identity: [iaePolicy({ region: R, bucket: B, bypassBuckets: [BYPASS] })] },
  "job manager": {
    identity: [
      jobManagerPolicy({
        region: R,
        bucket: B,
        iaeRoleArn: `arn:aws:iam::${ACCOUNT}:role/${B}-iae`,
        amiIds: ["ami-0849b3d20fe3258e3"],
        keyName: "k",
        securityGroupIds: ["sg-0aaaaaaaaaaaaaaaa"],
        budgetParameterPrefix: "/neurocaas/budgets",
        logGroupArn: LOG_GROUP,
        deadLetterQueueArn: DLQ,
        bypassBuckets: [BYPASS],
      }),
    ],
  },
  monitor: {
    identity: [
      monitorPolicy({
        region: R,
        bucket: B,
        bypassBuckets: [BYPASS],
        logGroupArn: LOG_GROUP,
        deadLetterQueueArn: DLQ,
        iaeRoleArn: `arn:aws:iam::${ACCOUNT}:role/${B}-iae`,
        amiIds: ["ami-0849b3d20fe3258e3"],
        keyName: "k",
        securityGroupIds: ["sg-0aaaaaaaaaaaaaaaa"],
      }),
    ],
  },
  "post-process": {
    identity: [
      postprocessPolicy({
        region: R,
        bucket: B,
        targetBucket: B,
        stepName: "prediction",
        logGroupArn: LOG_GROUP,
        deadLetterQueueArn: DLQ,
      }),
    ],
  },
  "development instance": {
    identity: [],
    resourcePolicy: analysisBucketPolicy({ region: R, bucket: B, devRoleArn: DEV_ROLE }),
    principal: DEV_ROLE,
  },
};

type Case = [label: string, action: string, resource: string, expected: "Allowed" | "Denied"];

/** The attacks every platform role must fail (issue 10), by the wildcard that used to let them through. */
const ATTACKS: Case[] = [
  [
    "another group's submissions via a results/ sub-folder",
    "s3:PutObject",
    obj(`${VICTIM}/submissions/results/evil_submit.json`),
    "Denied",
  ],
  ["another group's submissions, plainly", "s3:PutObject", obj(`${VICTIM}/submissions/evil_submit.json`), "Denied"],
  ["another group's inputs via results/", "s3:PutObject", obj(`${VICTIM}/inputs/results/movie.tif`), "Denied"],
  ["another group's configs via results/", "s3:PutObject", obj(`${VICTIM}/configs/results/config.yaml`), "Denied"],
  ["a group's inputs below a job folder name", "s3:PutObject", obj(`${VICTIM}/inputs/results/${JOB}/x`), "Denied"],
  ["deleting a user's input", "s3:DeleteObject", obj(`${VICTIM}/inputs/movie.tif`), "Denied"],
  [
    "a bypass bucket's submissions",
    "s3:PutObject",
    obj(`${VICTIM}/submissions/results/${JOB}/evil_submit.json`, BYPASS),
    "Denied",
  ],
  [
    "a bypass bucket's inputs via a job folder name",
    "s3:PutObject",
    obj(`${VICTIM}/inputs/${JOB}/x`, BYPASS),
    "Denied",
  ],
  ["a bypass bucket's logs/", "s3:PutObject", obj(`logs/_ledger/${VICTIM}.json`, BYPASS), "Denied"],
];

/** Per role: its own attacks on `logs/` and the writes its work needs (which must stay allowed). */
const PER_ROLE: Record<string, Case[]> = {
  IAE: [
    ["logs/: the spend ledger", "s3:PutObject", obj(`logs/_ledger/${VICTIM}.json`), "Denied"],
    ["logs/: a finished cost log", "s3:PutObject", obj(`logs/${VICTIM}/i-0123.json`), "Denied"],
    ["logs/: a job claim", "s3:PutObject", obj(`logs/_jobs/${OWN}/${JOB}.json`), "Denied"],
    ["configs directly", "s3:PutObject", obj(`${OWN}/configs/${JOB}inst1config.json`), "Denied"],
    ["writes its results", "s3:PutObject", obj(`${OWN}/results/${JOB}/process_results/out.h5`), "Allowed"],
    ["writes the certificate", "s3:PutObject", obj(`${OWN}/results/${JOB}/logs/certificate.txt`), "Allowed"],
    [
      "writes bypass results in its job folder",
      "s3:PutObject",
      obj(`out/${JOB}/process_results/out.h5`, BYPASS),
      "Allowed",
    ],
    ["writes nothing else in a bypass bucket", "s3:PutObject", obj("out/other.h5", BYPASS), "Denied"],
    ["reads its inputs", "s3:GetObject", obj(`${OWN}/inputs/movie.tif`), "Allowed"],
  ],
  "job manager": [
    ["a config that is no ensemble copy", "s3:PutObject", obj(`${VICTIM}/configs/config.yaml`), "Denied"],
    [
      "an ensemble copy nested below configs/",
      "s3:PutObject",
      obj(`${VICTIM}/configs/results/${JOB}inst1config.json`),
      "Denied",
    ],
    [
      "an ensemble-named file deeper than {group}/configs/",
      "s3:PutObject",
      obj(`${VICTIM}/results/x/configs/${JOB}inst1config.json`),
      "Denied",
    ],
    ["writes the ensemble config copies", "s3:PutObject", obj(`${OWN}/configs/${JOB}inst1config.json`), "Allowed"],
    [
      "no ensemble copies in a bypass bucket's configs/ (SPEC §10.1)",
      "s3:PutObject",
      obj(`${OWN}/configs/${JOB}inst2config.json`, BYPASS),
      "Denied",
    ],
    ["writes the certificate", "s3:PutObject", obj(`${OWN}/results/${JOB}/logs/certificate.txt`), "Allowed"],
    ["writes cost logs", "s3:PutObject", obj("logs/active/i-0123.json"), "Allowed"],
    ["writes a bypass certificate", "s3:PutObject", obj(`out/${JOB}/logs/certificate.txt`, BYPASS), "Allowed"],
  ],
  monitor: [
    ["configs via a job folder", "s3:PutObject", obj(`${VICTIM}/configs/${JOB}inst1config.json`), "Denied"],
    ["writes end markers", "s3:PutObject", obj(`${OWN}/results/${JOB}/process_results/end.txt`), "Allowed"],
    ["writes bypass end markers", "s3:PutObject", obj(`out/${JOB}/process_results/end.txt`, BYPASS), "Allowed"],
    ["moves cost logs", "s3:PutObject", obj(`logs/${OWN}/i-0123.json`), "Allowed"],
  ],
  "post-process": [
    ["logs/: a finished cost log", "s3:PutObject", obj(`logs/${VICTIM}/i-0123.json`), "Denied"],
    ["logs/: the spend ledger", "s3:PutObject", obj(`logs/_ledger/${VICTIM}.json`), "Denied"],
    ["a user's own submit file name", "s3:PutObject", obj(`${VICTIM}/submissions/submit.json`), "Denied"],
    [
      "the step trigger nested in another group's submissions",
      "s3:PutObject",
      obj(`${VICTIM}/submissions/x/submissions/prediction_submit.json`),
      "Denied",
    ],
    [
      "the step trigger below results/",
      "s3:PutObject",
      obj(`${VICTIM}/results/submissions/prediction_submit.json`),
      "Denied",
    ],
    ["writes the next step's trigger", "s3:PutObject", obj(`${OWN}/submissions/prediction_submit.json`), "Allowed"],
    ["copies job logs", "s3:PutObject", obj(`${OWN}/results/${JOB}/logs_pre_prediction/certificate.txt`), "Allowed"],
    [
      "writes its once-per-job marker",
      "s3:PutObject",
      obj(`logs/_post/${OWN}/results/${JOB}/prediction.json`),
      "Allowed",
    ],
  ],
  "development instance": [
    ["logs/: the spend ledger", "s3:PutObject", obj(`logs/_ledger/${VICTIM}.json`), "Denied"],
    ["inputs directly", "s3:PutObject", obj(`${OWN}/inputs/movie.tif`), "Denied"],
    ["writes debug-job results", "s3:PutObject", obj(`${OWN}/results/debugjob1/out.txt`), "Allowed"],
    ["reads inputs for debug jobs", "s3:GetObject", obj(`${OWN}/inputs/movie.tif`), "Allowed"],
  ],
};

/**
 * A stack whose bucket is named apart from its analysis (`neurocaas:bucketName`): ARNs name the
 * bucket, job folders (`job__{analysis}_…`) the analysis. The same attacks fail in its bucket.
 */
const B2 = "caiman-ncap-web-lab2";
const JOB2 = `job__${B}_2`;
const obj2 = (key: string) => obj(key, B2);
const LOG_GROUP2 = `arn:aws:logs:${R}:${ACCOUNT}:log-group:/aws/lambda/${B}-y`;
const namedApart: typeof roles = {
  "IAE (bucket named apart)": {
    identity: [iaePolicy({ region: R, bucket: B2, analysis: B, bypassBuckets: [BYPASS] })],
  },
  "job manager (bucket named apart)": {
    identity: [
      jobManagerPolicy({
        region: R,
        bucket: B2,
        analysis: B,
        iaeRoleArn: `arn:aws:iam::${ACCOUNT}:role/${B}-iae`,
        amiIds: ["ami-0849b3d20fe3258e3"],
        keyName: "k",
        securityGroupIds: ["sg-0aaaaaaaaaaaaaaaa"],
        budgetParameterPrefix: "/neurocaas/budgets",
        logGroupArn: LOG_GROUP2,
        deadLetterQueueArn: DLQ,
        bypassBuckets: [BYPASS],
      }),
    ],
  },
  "monitor (bucket named apart)": {
    identity: [
      monitorPolicy({
        region: R,
        bucket: B2,
        analysis: B,
        bypassBuckets: [BYPASS],
        logGroupArn: LOG_GROUP2,
        deadLetterQueueArn: DLQ,
        iaeRoleArn: `arn:aws:iam::${ACCOUNT}:role/${B}-iae`,
        amiIds: ["ami-0849b3d20fe3258e3"],
        keyName: "k",
        securityGroupIds: ["sg-0aaaaaaaaaaaaaaaa"],
      }),
    ],
  },
};
const ATTACKS_APART: Case[] = ATTACKS.map(([label, action, resource, expected]) => [
  label,
  action,
  resource.replace(`:::${B}/`, `:::${B2}/`).replaceAll(JOB, JOB2),
  expected,
]);
const PER_ROLE_APART: Record<string, Case[]> = {
  "IAE (bucket named apart)": [
    [
      "writes its results in its bucket",
      "s3:PutObject",
      obj2(`${OWN}/results/${JOB2}/process_results/out.h5`),
      "Allowed",
    ],
    ["logs/ of its bucket", "s3:PutObject", obj2(`logs/_ledger/${VICTIM}.json`), "Denied"],
    [
      "writes bypass results in a job folder of its analysis",
      "s3:PutObject",
      obj(`out/${JOB2}/process_results/out.h5`, BYPASS),
      "Allowed",
    ],
    [
      "no bypass writes in folders named after the bucket",
      "s3:PutObject",
      obj(`out/job__${B2}_2/process_results/out.h5`, BYPASS),
      "Denied",
    ],
    [
      "nothing in the analysis-named bucket of another deployment",
      "s3:PutObject",
      obj(`${OWN}/results/${JOB2}/process_results/out.h5`),
      "Denied",
    ],
  ],
  "job manager (bucket named apart)": [
    [
      "writes ensemble config copies named after the analysis",
      "s3:PutObject",
      obj2(`${OWN}/configs/${JOB2}inst1config.json`),
      "Allowed",
    ],
    ["no config named after the bucket", "s3:PutObject", obj2(`${OWN}/configs/job__${B2}_2inst1config.json`), "Denied"],
    ["writes the certificate", "s3:PutObject", obj2(`${OWN}/results/${JOB2}/logs/certificate.txt`), "Allowed"],
    ["writes cost logs", "s3:PutObject", obj2("logs/active/i-0123.json"), "Allowed"],
    ["writes a bypass certificate", "s3:PutObject", obj(`out/${JOB2}/logs/certificate.txt`, BYPASS), "Allowed"],
  ],
  "monitor (bucket named apart)": [
    ["writes end markers", "s3:PutObject", obj2(`${OWN}/results/${JOB2}/process_results/end.txt`), "Allowed"],
    [
      "writes bypass end markers of its analysis",
      "s3:PutObject",
      obj(`out/${JOB2}/process_results/end.txt`, BYPASS),
      "Allowed",
    ],
    ["configs via a job folder", "s3:PutObject", obj2(`${VICTIM}/configs/${JOB2}inst1config.json`), "Denied"],
  ],
};

const rowsOf = (set: typeof roles, attacks: Case[], perRole: Record<string, Case[]>): MatrixRow[] =>
  Object.entries(set).flatMap(([role, r]) =>
    [...attacks, ...perRole[role]].map(([label, action, resource, expected]) => ({
      role,
      label,
      expected,
      identity: r.identity,
      ...(r.resourcePolicy ? { resourcePolicy: r.resourcePolicy } : {}),
      request: {
        action,
        resource,
        ...(r.principal ? { principal: r.principal, context: { "aws:SecureTransport": "true" } } : {}),
      },
    })),
  );

/** Roles without a bypass grant: the bypass attacks are denied all the same (nothing allows them). */
const rows: MatrixRow[] = [...rowsOf(roles, ATTACKS, PER_ROLE), ...rowsOf(namedApart, ATTACKS_APART, PER_ROLE_APART)];

const describeResult = (r: MatrixResult) =>
  `${r.row.role}: ${r.row.label} (${r.row.request.action} ${r.row.request.resource}) → ${r.decision}`;

describe("platform roles never write where users' data or triggers live (SPEC §10.2)", () => {
  let outcome: Awaited<ReturnType<typeof runMatrix>>;
  beforeAll(async () => {
    outcome = await runMatrix(rows);
  }, 120_000);

  it("covers every platform role with the attacks and its own needs", () => {
    expect(Object.keys(roles)).toEqual(["IAE", "job manager", "monitor", "post-process", "development instance"]);
    expect(Object.keys(namedApart)).toHaveLength(3);
    expect(rows.length).toBeGreaterThanOrEqual(75 + 3 * ATTACKS.length + 13);
  });

  it("has 0 unexpected allows over the whole matrix", () => {
    expect(outcome.unexpectedAllows.map(describeResult)).toEqual([]);
  });

  it("keeps every write the roles need", () => {
    expect(outcome.unexpectedDenials.map(describeResult)).toEqual([]);
  });

  it.each(rows.map((r) => [`${r.role}: ${r.label}`, r] as const))("%s", (_name, row) => {
    const result = outcome.results.find((r) => r.row === row)!;
    expect(result.decision === "Allowed" ? "Allowed" : "Denied").toBe(row.expected);
  });
});
