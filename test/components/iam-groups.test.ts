import { affiliateGroupPolicy, analysisBucketPolicy } from "../../components/iam/policies";
import { decide, ACCOUNT, type Decision } from "./iam-sim";

const REGION = "us-east-1";
const BUCKET = "caiman-ncap-web";
const OTHER_BUCKET = "dlc-web";
const GROUP = "brunolab";
const policy = affiliateGroupPolicy(REGION, BUCKET, GROUP);
const obj = (key: string, bucket = BUCKET) => `arn:aws:s3:::${bucket}/${key}`;
const bucketArn = (bucket = BUCKET) => `arn:aws:s3:::${bucket}`;

type Row = [string, string, Record<string, string>, Decision];

const allow: Decision = "Allowed";
const deny: Decision = "ImplicitlyDenied";

/** (action, resource, context, expected) for a user in `brunolab` (SPEC §1). */
const matrix: Row[] = [
  // own group: inputs put/delete, never get
  ["s3:PutObject", obj(`${GROUP}/inputs/movie.tif`), {}, allow],
  ["s3:PutObject", obj(`${GROUP}/inputs/sub/dir/movie.tif`), {}, allow],
  ["s3:DeleteObject", obj(`${GROUP}/inputs/movie.tif`), {}, allow],
  ["s3:AbortMultipartUpload", obj(`${GROUP}/inputs/movie.tif`), {}, allow],
  ["s3:GetObject", obj(`${GROUP}/inputs/movie.tif`), {}, deny],
  // configs read/write
  ["s3:PutObject", obj(`${GROUP}/configs/config.yaml`), {}, allow],
  ["s3:GetObject", obj(`${GROUP}/configs/config.yaml`), {}, allow],
  ["s3:DeleteObject", obj(`${GROUP}/configs/config.yaml`), {}, allow],
  // submissions put/delete, no get
  ["s3:PutObject", obj(`${GROUP}/submissions/submit.json`), {}, allow],
  ["s3:PutObject", obj(`${GROUP}/submissions/prediction_submit.json`), {}, allow],
  ["s3:DeleteObject", obj(`${GROUP}/submissions/submit.json`), {}, allow],
  ["s3:GetObject", obj(`${GROUP}/submissions/submit.json`), {}, deny],
  // results get/delete, never put
  ["s3:GetObject", obj(`${GROUP}/results/job__${BUCKET}_1/logs/certificate.txt`), {}, allow],
  ["s3:GetObject", obj(`${GROUP}/results/job__${BUCKET}_1/process_results/end.txt`), {}, allow],
  ["s3:DeleteObject", obj(`${GROUP}/results/job__${BUCKET}_1/process_results/out.h5`), {}, allow],
  ["s3:PutObject", obj(`${GROUP}/results/job__${BUCKET}_1/process_results/end.txt`), {}, deny],
  ["s3:PutObject", obj(`${GROUP}/results/job__${BUCKET}_1/logs/certificate.txt`), {}, deny],
  // listing: own folder and the root with delimiter only
  ["s3:ListBucket", bucketArn(), { "s3:prefix": `${GROUP}/` }, allow],
  ["s3:ListBucket", bucketArn(), { "s3:prefix": `${GROUP}/results/` }, allow],
  ["s3:ListBucket", bucketArn(), { "s3:prefix": "", "s3:delimiter": "/" }, allow],
  ["s3:ListBucket", bucketArn(), { "s3:prefix": "" }, deny],
  ["s3:ListBucket", bucketArn(), {}, deny],
  ["s3:ListBucket", bucketArn(), { "s3:prefix": "logs/" }, deny],
  ["s3:ListBucket", bucketArn(), { "s3:prefix": "peterkagroup/" }, deny],
  ["s3:ListBucket", bucketArn(), { "s3:prefix": `${GROUP}2/` }, deny],
  // other groups' folders
  ["s3:PutObject", obj("peterkagroup/inputs/movie.tif"), {}, deny],
  ["s3:GetObject", obj("peterkagroup/configs/config.yaml"), {}, deny],
  ["s3:GetObject", obj("peterkagroup/results/job__x_1/process_results/out.h5"), {}, deny],
  ["s3:DeleteObject", obj("peterkagroup/results/job__x_1/process_results/out.h5"), {}, deny],
  ["s3:PutObject", obj("peterkagroup/submissions/submit.json"), {}, deny],
  ["s3:PutObject", obj(`${GROUP}2/submissions/submit.json`), {}, deny],
  // platform files
  ["s3:GetObject", obj("logs/active/i-0123456789abcdef0.json"), {}, deny],
  ["s3:GetObject", obj(`logs/${GROUP}/i-0123456789abcdef0.json`), {}, deny],
  ["s3:PutObject", obj(`logs/${GROUP}/i-0123456789abcdef0.json`), {}, deny],
  ["s3:DeleteObject", obj("logs/active/i-0123456789abcdef0.json"), {}, deny],
  // the group's spend summary: read only, only its own (written by the platform alone)
  ["s3:GetObject", obj(`logs/_spend/${GROUP}.json`), {}, allow],
  ["s3:PutObject", obj(`logs/_spend/${GROUP}.json`), {}, deny],
  ["s3:DeleteObject", obj(`logs/_spend/${GROUP}.json`), {}, deny],
  ["s3:AbortMultipartUpload", obj(`logs/_spend/${GROUP}.json`), {}, deny],
  ["s3:GetObject", obj("logs/_spend/peterkagroup.json"), {}, deny],
  ["s3:GetObject", obj(`logs/_spend/${GROUP}2.json`), {}, deny],
  ["s3:GetObject", obj(`logs/_spend/${GROUP}.json.bak`), {}, deny],
  ["s3:GetObject", obj(`logs/_ledger/${GROUP}.json`), {}, deny],
  ["s3:GetObject", obj(`logs/_spend/${GROUP}.json`, OTHER_BUCKET), {}, deny],
  ["s3:ListBucket", bucketArn(), { "s3:prefix": "logs/_spend/" }, deny],
  // folders of the own group other than the four
  ["s3:PutObject", obj(`${GROUP}/other/file.txt`), {}, deny],
  ["s3:PutObject", obj(`${GROUP}/submit.json`), {}, deny],
  // other buckets
  ["s3:PutObject", obj(`${GROUP}/inputs/movie.tif`, OTHER_BUCKET), {}, deny],
  ["s3:GetObject", obj(`${GROUP}/configs/config.yaml`, OTHER_BUCKET), {}, deny],
  ["s3:GetObject", obj(`${GROUP}/results/job__x_1/out.h5`, OTHER_BUCKET), {}, deny],
  ["s3:ListBucket", bucketArn(OTHER_BUCKET), { "s3:prefix": `${GROUP}/` }, deny],
  // bucket administration
  ["s3:PutBucketPolicy", bucketArn(), {}, deny],
  ["s3:DeleteBucket", bucketArn(), {}, deny],
  ["s3:PutBucketNotification", bucketArn(), {}, deny],
];

describe("affiliate group policy under the IAM simulator", () => {
  it("has a matrix of at least 40 requests", () => {
    expect(matrix.length).toBeGreaterThanOrEqual(40);
  });

  it.each(matrix)("%s %s %j → %s", async (action, resource, context, expected) => {
    expect(await decide([policy], { action, resource, context })).toBe(expected);
  });

  it("keeps its decisions under the analysis bucket policy (TLS only)", async () => {
    const bucketPolicy = analysisBucketPolicy({
      region: REGION,
      bucket: BUCKET,
      devRoleArn: `arn:aws:iam::${ACCOUNT}:role/neurocaas-dev-iae`,
    });
    const put = { action: "s3:PutObject", resource: obj(`${GROUP}/inputs/a.tif`) };
    expect(await decide([policy], { ...put, context: { "aws:SecureTransport": "true" } }, bucketPolicy)).toBe(
      "Allowed",
    );
    expect(await decide([policy], { ...put, context: { "aws:SecureTransport": "false" } }, bucketPolicy)).toBe(
      "ExplicitlyDenied",
    );
    const getInput = {
      action: "s3:GetObject",
      resource: obj(`${GROUP}/inputs/a.tif`),
      context: { "aws:SecureTransport": "true" },
    };
    expect(await decide([policy], getInput, bucketPolicy)).toBe("ImplicitlyDenied");
  });
});
