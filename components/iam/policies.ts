/**
 * The IAM documents of NeuroCAAS as pure functions of plain strings, so they can be evaluated
 * by the IAM simulator in tests and size-checked before deployment.
 */
import { spendSummaryKey } from "../../model/spend-summary";
import { bucketArn, objectArn, partitionOf, policy, type PolicyDocument, type Statement } from "./document";

const ANALYSIS_TAG = "neurocaas:analysis";
const PRICE_TRACKING_TAG = "PriceTracking";
const DATASET_TAG = "neurocaas:dataset";

const MULTIPART = ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];

/**
 * An affiliate's permissions in one analysis bucket (SPEC §1): inputs put/delete (no get),
 * configs put/get/delete, submissions put/delete, results get/delete; listing only inside the
 * group's own folder and the bucket root with delimiter `/`. Nothing under `logs/` or other
 * groups' folders — except reading the group's own spend summary `logs/_spend/{group}.json`.
 */
export function affiliateGroupPolicy(region: string, bucket: string, group: string): PolicyDocument {
  const obj = (folder: string) => objectArn(region, bucket, `${group}/${folder}/*`);
  return policy(
    {
      Sid: "ListOwnGroupFolder",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: bucketArn(region, bucket),
      Condition: { StringLike: { "s3:prefix": [`${group}/*`] } },
    },
    {
      Sid: "ListBucketRoot",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: bucketArn(region, bucket),
      Condition: { StringEquals: { "s3:prefix": [""], "s3:delimiter": ["/"] } },
    },
    { Sid: "BucketLocation", Effect: "Allow", Action: "s3:GetBucketLocation", Resource: bucketArn(region, bucket) },
    {
      Sid: "UploadInputs",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:DeleteObject", ...MULTIPART],
      Resource: obj("inputs"),
    },
    {
      Sid: "ManageConfigs",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", ...MULTIPART],
      Resource: obj("configs"),
    },
    {
      Sid: "Submit",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:DeleteObject", ...MULTIPART],
      Resource: obj("submissions"),
    },
    { Sid: "ReadResults", Effect: "Allow", Action: ["s3:GetObject", "s3:DeleteObject"], Resource: obj("results") },
    // The group's spend summary, written only by the platform (model/spend-summary.ts).
    {
      Sid: "ReadSpendSummary",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: objectArn(region, bucket, spendSummaryKey(group)),
    },
  );
}

/** Object-changing S3 actions: what an explicit Deny keeps platform roles from doing in a folder. */
const OBJECT_WRITES = ["s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject"];

/** The group folders holding what users upload: data, configs and job triggers (SPEC §1). */
const USER_FOLDERS = ["submissions", "inputs", "configs"] as const;
type UserFolder = (typeof USER_FOLDERS)[number];

/**
 * Read anything in the storage-bypass buckets (the submitting group's data and config); write only
 * this analysis' job files there, `{resultpath}/job__{analysis}_{ts}/...` (bucket names have no
 * `_`, so no other analysis' folders match `*job__{analysis}_*`). The Deny of each role keeps even
 * those out of user folders and `logs/` (SPEC §10.1).
 */
function bypassStatements(region: string, analysis: string, buckets: readonly string[]): Statement[] {
  if (buckets.length === 0) return [];
  return [
    { Sid: "BypassList", Effect: "Allow", Action: "s3:ListBucket", Resource: buckets.map((b) => bucketArn(region, b)) },
    {
      Sid: "BypassRead",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: buckets.map((b) => objectArn(region, b, "*")),
    },
    {
      Sid: "BypassWriteJobFiles",
      Effect: "Allow",
      Action: ["s3:PutObject", ...MULTIPART],
      Resource: buckets.map((b) => objectArn(region, b, `*job__${analysis}_*`)),
    },
  ];
}

/** Where a platform role's Deny closes the user folders, and what it keeps open there. */
interface DenyScope {
  /** A bucket name, or `*` for every bucket (bucket names have no `/`, so the key patterns hold). */
  readonly bucket: string;
  /**
   * A user folder in which one-level files `{group}/{folder}/{file}` stay writable where an Allow
   * names them: the job manager's ensemble config copies, the post-processor's next-step trigger.
   */
  readonly keep?: UserFolder;
}

/**
 * SPEC §10.2: no platform role writes under `*\/submissions/*`, `*\/inputs/*`, `*\/configs/*` or (IAEs;
 * bypass buckets) `logs/`. IAM's `*` matches `/`, so an Allow on `*\/results/*` also matches
 * `g/submissions/results/x_submit.json`; only an explicit Deny closes that. In a `keep` folder only
 * nested keys (`{x}/{folder}/{y}/{z}`), keys whose folder is not the second level
 * (`{x}/{y}/{folder}/{z}`), folders inside job folders (`…job__…/{folder}/…`) and `logs/{folder}/`
 * are denied: group names have no `/` and are never `logs` nor start with `job__` (blueprint
 * schema), so the one-level files an Allow names stay writable and nothing else there is. `logsIn`: buckets whose `logs/` is closed too.
 */
function platformWriteDenies(region: string, scopes: readonly DenyScope[], logsIn: readonly string[]): Statement {
  // A folder an every-bucket scope closes whole needs no per-bucket pattern.
  const closedEverywhere = new Set(
    USER_FOLDERS.filter((f) => scopes.some((t) => t.bucket === EVERY_BUCKET && t.keep !== f)),
  );
  const resources = [
    ...scopes.flatMap((t) =>
      USER_FOLDERS.filter((f) => t.bucket === EVERY_BUCKET || !closedEverywhere.has(f))
        .flatMap((f) => (f === t.keep ? [`*/${f}/*/*`, `*/*/${f}/*`, `*job__*/${f}/*`, `logs/${f}/*`] : [`*/${f}/*`]))
        .map((k) => objectArn(region, t.bucket, k)),
    ),
    ...logsIn.map((b) => objectArn(region, b, "logs/*")),
  ];
  return { Sid: "DenyWritesWhereUsersDataAndTriggersLive", Effect: "Deny", Action: OBJECT_WRITES, Resource: resources };
}

/** Every bucket: a platform role never writes a user folder anywhere (bypass buckets included). */
const EVERY_BUCKET = "*";

export interface IaePolicyArgs {
  readonly region: string;
  readonly bucket: string;
  /**
   * The analysis name (blueprint PipelineName) in job folder names and IAE tags, when the bucket is
   * named apart from it (`neurocaas:bucketName`); default: the bucket's name.
   */
  readonly analysis?: string;
  readonly bypassBuckets: readonly string[];
}

/**
 * S3 access of the IAEs of one analysis: read its users' inputs, configs and results, write
 * results; nothing in other analyses' buckets (SSM core access comes from the AWS managed policy).
 * Never a write under users' folders or `logs/` (the Deny is last, so statement indexes stay put).
 */
export function iaePolicy(a: IaePolicyArgs): PolicyDocument {
  const obj = (folder: string) => objectArn(a.region, a.bucket, `*/${folder}/*`);
  return policy(
    { Sid: "ListAnalysisBucket", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn(a.region, a.bucket) },
    {
      Sid: "ReadJobInputs",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: [obj("inputs"), obj("configs"), obj("results")],
    },
    { Sid: "WriteResults", Effect: "Allow", Action: ["s3:PutObject", ...MULTIPART], Resource: obj("results") },
    ...bypassStatements(a.region, a.analysis ?? a.bucket, a.bypassBuckets),
    platformWriteDenies(a.region, [{ bucket: EVERY_BUCKET }], [a.bucket, ...a.bypassBuckets]),
  );
}

function ec2Arn(region: string, type: string, id: string): string {
  return `arn:${partitionOf(region)}:ec2:${region}:*:${type}/${id}`;
}

function ssmParameterArn(region: string, name: string): string {
  return `arn:${partitionOf(region)}:ssm:${region}:*:parameter/${name.replace(/^\//, "")}`;
}

function logStatements(logGroupArn: string, deadLetterQueueArn: string): Statement[] {
  return [
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${logGroupArn}:*`,
    },
    { Sid: "DeadLetterQueue", Effect: "Allow", Action: "sqs:SendMessage", Resource: deadLetterQueueArn },
  ];
}

/** Terminate (and send commands to) only instances tagged as this analysis' IAEs. */
function ownInstanceStatements(region: string, analysis: string): Statement[] {
  const instances = ec2Arn(region, "instance", "*");
  return [
    { Sid: "DescribeEc2", Effect: "Allow", Action: "ec2:Describe*", Resource: "*" },
    {
      Sid: "TerminateOwnIaes",
      Effect: "Allow",
      Action: "ec2:TerminateInstances",
      Resource: instances,
      Condition: { StringEquals: { [`ec2:ResourceTag/${ANALYSIS_TAG}`]: analysis } },
    },
    {
      Sid: "RunShellScriptDocument",
      Effect: "Allow",
      Action: "ssm:SendCommand",
      Resource: `arn:${partitionOf(region)}:ssm:${region}:*:document/AWS-RunShellScript`,
    },
    {
      Sid: "SendCommandToOwnIaes",
      Effect: "Allow",
      Action: "ssm:SendCommand",
      Resource: instances,
      Condition: { StringEquals: { [`aws:ResourceTag/${ANALYSIS_TAG}`]: analysis } },
    },
    {
      Sid: "ReadCommandResults",
      Effect: "Allow",
      Action: ["ssm:GetCommandInvocation", "ssm:ListCommandInvocations", "ssm:DescribeInstanceInformation"],
      Resource: "*",
    },
  ];
}

/**
 * File names of the ensemble protocol's member config copies, `job__{analysis}_{ts}inst{i}config.json`
 * (protocols/ensemble.ts), in `{group}/configs/` of the analysis bucket: the only files the job
 * manager writes in a user folder.
 */
export function ensembleConfigCopyName(analysis: string): string {
  return `job__${analysis}_*inst*config.json`;
}

/** What launching a job's IAEs needs (shared by the job manager and the monitor, whose queue drain launches). */
interface LaunchPolicyArgs {
  readonly bucket: string;
  /**
   * The analysis name (blueprint PipelineName) in job folder names and IAE tags, when the bucket is
   * named apart from it (`neurocaas:bucketName`); default: the bucket's name.
   */
  readonly analysis?: string;
  /** The only role the launcher may pass (to EC2). */
  readonly iaeRoleArn: string;
  readonly amiIds: readonly string[];
  readonly keyName: string;
  readonly securityGroupIds: readonly string[];
}

/** Launch IAEs from the analysis image, tagged as this analysis' at launch, with the IAE role only. */
function launchStatements(r: string, a: LaunchPolicyArgs): Statement[] {
  const analysis = a.analysis ?? a.bucket;
  return [
    {
      Sid: "LaunchFromAnalysisImage",
      Effect: "Allow",
      Action: "ec2:RunInstances",
      Resource: [
        ...a.amiIds.map((ami) => `arn:${partitionOf(r)}:ec2:${r}::image/${ami}`),
        ec2Arn(r, "key-pair", a.keyName),
        ...a.securityGroupIds.map((sg) => ec2Arn(r, "security-group", sg)),
        ec2Arn(r, "subnet", "*"),
        ec2Arn(r, "network-interface", "*"),
        ec2Arn(r, "volume", "*"),
        ec2Arn(r, "spot-instances-request", "*"),
      ],
    },
    {
      Sid: "LaunchOnlyTaggedIaes",
      Effect: "Allow",
      Action: "ec2:RunInstances",
      Resource: ec2Arn(r, "instance", "*"),
      Condition: {
        StringEquals: { [`aws:RequestTag/${ANALYSIS_TAG}`]: analysis, [`aws:RequestTag/${PRICE_TRACKING_TAG}`]: "On" },
      },
    },
    {
      Sid: "TagAtLaunchOnly",
      Effect: "Allow",
      Action: "ec2:CreateTags",
      Resource: [ec2Arn(r, "instance", "*"), ec2Arn(r, "volume", "*"), ec2Arn(r, "spot-instances-request", "*")],
      Condition: { StringEquals: { "ec2:CreateAction": "RunInstances" } },
    },
    {
      // A job's IAEs start in one RunInstances call with the common tags; each then gets its own
      // dataset tag (instance + root volume). Only that key, only on this analysis' resources.
      Sid: "TagOwnIaesWithTheirDataset",
      Effect: "Allow",
      Action: "ec2:CreateTags",
      Resource: [ec2Arn(r, "instance", "*"), ec2Arn(r, "volume", "*")],
      Condition: {
        StringEquals: { [`aws:ResourceTag/${ANALYSIS_TAG}`]: analysis },
        "ForAllValues:StringEquals": { "aws:TagKeys": [DATASET_TAG] },
      },
    },
    {
      Sid: "PassOnlyTheIaeRole",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: a.iaeRoleArn,
      Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } },
    },
    {
      // Spot launches ("NeuroCAAS Save" jobs) create EC2's spot service-linked role on first use.
      Sid: "SpotServiceLinkedRole",
      Effect: "Allow",
      Action: "iam:CreateServiceLinkedRole",
      Resource: `arn:${partitionOf(r)}:iam::*:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot`,
      Condition: { StringEquals: { "iam:AWSServiceName": "spot.amazonaws.com" } },
    },
  ];
}

export interface JobManagerPolicyArgs extends LaunchPolicyArgs {
  readonly region: string;
  readonly budgetParameterPrefix: string;
  readonly logGroupArn: string;
  readonly deadLetterQueueArn: string;
  readonly bypassBuckets: readonly string[];
}

/** The job manager (submit handler): validate, account budgets, launch tagged IAEs, deliver commands. */
export function jobManagerPolicy(a: JobManagerPolicyArgs): PolicyDocument {
  const r = a.region;
  const analysis = a.analysis ?? a.bucket;
  return policy(
    { Sid: "ListAnalysisBucket", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn(r, a.bucket) },
    { Sid: "ReadAnalysisBucket", Effect: "Allow", Action: "s3:GetObject", Resource: objectArn(r, a.bucket, "*") },
    {
      Sid: "WriteJobFilesAndCostLogs",
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: [
        objectArn(r, a.bucket, "*/results/*"),
        objectArn(r, a.bucket, `*/configs/${ensembleConfigCopyName(analysis)}`),
        objectArn(r, a.bucket, "logs/*"),
      ],
    },
    {
      Sid: "RollBackActiveCostLogsAndClaims",
      Effect: "Allow",
      Action: "s3:DeleteObject",
      Resource: [objectArn(r, a.bucket, "logs/active/*"), objectArn(r, a.bucket, "logs/_jobs/*")],
    },
    ...bypassStatements(r, analysis, a.bypassBuckets),
    {
      Sid: "ReadBudgets",
      Effect: "Allow",
      Action: "ssm:GetParameter",
      Resource: ssmParameterArn(r, `${a.budgetParameterPrefix}/*/${analysis}`),
    },
    ...launchStatements(r, a),
    ...ownInstanceStatements(r, analysis),
    { Sid: "Prices", Effect: "Allow", Action: "pricing:GetProducts", Resource: "*" },
    ...logStatements(a.logGroupArn, a.deadLetterQueueArn),
    // Ensemble copies only in the analysis bucket: a bypass bucket's configs/ stays closed (SPEC §10.1).
    platformWriteDenies(
      r,
      [{ bucket: EVERY_BUCKET, keep: "configs" }, ...a.bypassBuckets.map((bucket) => ({ bucket }))],
      a.bypassBuckets,
    ),
  );
}

export interface MonitorPolicyArgs extends LaunchPolicyArgs {
  readonly region: string;
  /** Storage-bypass buckets, where bypass jobs keep their status files and end markers. */
  readonly bypassBuckets: readonly string[];
  readonly logGroupArn: string;
  readonly deadLetterQueueArn: string;
}

/**
 * The monitor: cost-log bookkeeping, end markers, command delivery on `running`, clean-up; and the
 * queue's drain (SPEC §11), which launches queued jobs exactly as the job manager would.
 */
export function monitorPolicy(a: MonitorPolicyArgs): PolicyDocument {
  const r = a.region;
  const analysis = a.analysis ?? a.bucket;
  return policy(
    { Sid: "ListAnalysisBucket", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn(r, a.bucket) },
    {
      Sid: "CostLogsAndJobFolders",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject"],
      Resource: [objectArn(r, a.bucket, "logs/*"), objectArn(r, a.bucket, "*/results/*")],
    },
    {
      Sid: "MoveActiveCostLogs",
      Effect: "Allow",
      Action: "s3:DeleteObject",
      Resource: objectArn(r, a.bucket, "logs/active/*"),
    },
    ...bypassStatements(r, analysis, a.bypassBuckets),
    ...launchStatements(r, a),
    ...ownInstanceStatements(r, analysis),
    { Sid: "Prices", Effect: "Allow", Action: "pricing:GetProducts", Resource: "*" },
    ...logStatements(a.logGroupArn, a.deadLetterQueueArn),
    platformWriteDenies(r, [{ bucket: EVERY_BUCKET }], a.bypassBuckets),
  );
}

export interface PostprocessPolicyArgs {
  readonly region: string;
  readonly bucket: string;
  /** Bucket receiving the next step's submit file (this bucket when the same). */
  readonly targetBucket: string;
  /** Blueprint `PostProcessing.StepName`: the next step's trigger is `{group}/submissions/{step}_submit.json`. */
  readonly stepName: string;
  readonly logGroupArn: string;
  readonly deadLetterQueueArn: string;
}

/** Post-processing chain: copy job logs, write a once-per-job marker and the next step's submit file. */
export function postprocessPolicy(a: PostprocessPolicyArgs): PolicyDocument {
  const r = a.region;
  return policy(
    { Sid: "ListAnalysisBucket", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn(r, a.bucket) },
    {
      Sid: "ReadJobFolders",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: [objectArn(r, a.bucket, "*/results/*"), objectArn(r, a.bucket, "logs/*")],
    },
    { Sid: "CopyJobLogs", Effect: "Allow", Action: "s3:PutObject", Resource: objectArn(r, a.bucket, "*/results/*") },
    {
      Sid: "OncePerJobMarkers",
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: objectArn(r, a.bucket, "logs/_post/*"),
    },
    // The one write into a user folder SPEC 4.8 needs; the Deny below keeps it to `{group}/submissions/{file}`.
    {
      Sid: "SubmitNextStep",
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: objectArn(r, a.targetBucket, `*/submissions/${a.stepName}_submit.json`),
    },
    ...logStatements(a.logGroupArn, a.deadLetterQueueArn),
    platformWriteDenies(
      r,
      [{ bucket: EVERY_BUCKET, keep: "submissions" }],
      a.targetBucket === a.bucket ? [] : [a.targetBucket],
    ),
  );
}

export interface GuardPolicyArgs {
  readonly region: string;
  readonly exemptInstancesParameter: string;
  readonly logGroupArn: string;
  readonly deadLetterQueueArn: string;
}

/** The account guard: find price-tracked instances past their Timeout and stop/terminate them. */
export function guardPolicy(a: GuardPolicyArgs): PolicyDocument {
  const r = a.region;
  return policy(
    { Sid: "DescribeEc2", Effect: "Allow", Action: "ec2:Describe*", Resource: "*" },
    {
      Sid: "StopPriceTrackedInstances",
      Effect: "Allow",
      Action: ["ec2:StopInstances", "ec2:TerminateInstances"],
      Resource: ec2Arn(r, "instance", "*"),
      Condition: { StringEquals: { [`ec2:ResourceTag/${PRICE_TRACKING_TAG}`]: "On" } },
    },
    {
      Sid: "ReadExemptions",
      Effect: "Allow",
      Action: "ssm:GetParameter",
      Resource: ssmParameterArn(r, a.exemptInstancesParameter),
    },
    { Sid: "SeeCommands", Effect: "Allow", Action: ["ssm:ListCommandInvocations", "ssm:ListCommands"], Resource: "*" },
    {
      Sid: "ReadUtilization",
      Effect: "Allow",
      Action: ["cloudwatch:GetMetricStatistics", "cloudwatch:GetMetricData"],
      Resource: "*",
    },
    ...logStatements(a.logGroupArn, a.deadLetterQueueArn),
  );
}

export interface BucketPolicyArgs {
  readonly region: string;
  readonly bucket: string;
  /** Development-instance role of the utils stack, granted job-like access for debugging. */
  readonly devRoleArn?: string;
}

/** Analysis bucket policy: TLS only; the utils dev-instance role may run debug jobs (IAE-like reach). Constant size. */
export function analysisBucketPolicy(a: BucketPolicyArgs): PolicyDocument {
  const statements: Statement[] = [
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: [bucketArn(a.region, a.bucket), objectArn(a.region, a.bucket, "*")],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
  ];
  if (a.devRoleArn !== undefined) {
    // Development instances run analysis code like IAEs do, so they get an IAE's reach: read the
    // users' data, write results, never a user folder or `logs/`.
    const dev = { AWS: a.devRoleArn };
    // A bucket policy may only name its own bucket.
    const deny = platformWriteDenies(a.region, [{ bucket: a.bucket }], [a.bucket]);
    statements.push(
      {
        Sid: "DevInstancesList",
        Effect: "Allow",
        Principal: dev,
        Action: "s3:ListBucket",
        Resource: bucketArn(a.region, a.bucket),
      },
      {
        Sid: "DevInstancesReadJobInputs",
        Effect: "Allow",
        Principal: dev,
        Action: "s3:GetObject",
        Resource: [
          objectArn(a.region, a.bucket, "*/inputs/*"),
          objectArn(a.region, a.bucket, "*/configs/*"),
          objectArn(a.region, a.bucket, "*/results/*"),
        ],
      },
      {
        Sid: "DevInstancesDebugResults",
        Effect: "Allow",
        Principal: dev,
        Action: ["s3:PutObject", ...MULTIPART],
        Resource: objectArn(a.region, a.bucket, "*/results/*"),
      },
      { ...deny, Sid: "DevInstancesNoUserFolderWrites", Principal: dev },
    );
  }
  return policy(...statements);
}

/**
 * A console user's own password: change it (required when the initial one must be reset) and read
 * the account's password rules. `${aws:username}` limits it to the signed-in user.
 */
export function changeOwnPasswordPolicy(region: string): PolicyDocument {
  return policy(
    {
      Sid: "ChangeOwnPassword",
      Effect: "Allow",
      Action: "iam:ChangePassword",
      Resource: `arn:${partitionOf(region)}:iam::*:user/neurocaas/\${aws:username}`,
    },
    { Sid: "ReadPasswordRules", Effect: "Allow", Action: "iam:GetAccountPasswordPolicy", Resource: "*" },
  );
}
