/**
 * JSON Schema of the normalized blueprint (SPEC.md §6) as it lives in stack config under
 * `neurocaas:blueprint`. `parse.ts` converts numeric strings, maps legacy names and applies the
 * defaults of `types.ts` before validating against this schema, so the schema describes exactly
 * the shape of `Blueprint` plus the legacy keys that are accepted and ignored.
 *
 * Every property carries an `expected` annotation: the human description used in error messages.
 */

import { JOB_FOLDER_PREFIX, RESERVED_GROUP_NAMES } from "../layout";

/** Lowercase letters, digits and `-`, 3–63 chars, starting and ending with a letter or digit. */
export const BUCKET_NAME_PATTERN = "^(?!xn--)(?!sthree-)(?!.*-s3alias$)(?!.*--ol-s3$)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$";
const AMI_PATTERN = "^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$";
const INSTANCE_TYPE_PATTERN = "^[a-z][a-z0-9-]*\\.[a-z0-9-]+$";
export const REGION_PATTERN = "^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]$";
/** Group folder and part of the IAM group name: no `/`, no wildcards, no spaces. */
/**
 * Group folder names. Never a name the bucket layout uses for something else (`logs`, the four
 * group folders) nor one starting `job__` (job folders): the platform roles' IAM Denies rely on it
 * (components/iam/policies.ts, platformWriteDenies).
 */
export const AFFILIATE_NAME_PATTERN = `^(?!(${RESERVED_GROUP_NAMES.join("|")})$)(?!${JOB_FOLDER_PREFIX})[A-Za-z0-9][A-Za-z0-9._-]*$`;
const MAX_AFFILIATE_NAME_LENGTH = 48;
/** IAM user-name characters; the region suffix is added to form the IAM user name. */
export const USER_NAME_PATTERN = "^[A-Za-z0-9._@+=,-]+$";
/** At most four `{}` (SPEC 4.5), filled with bucket, dataset key, result folder, config key. */
const COMMAND_PATTERN = "^(?:(?!\\{\\})[\\s\\S])*(?:\\{\\}(?:(?!\\{\\})[\\s\\S])*){0,4}$";
const STEP_NAME_PATTERN = "^[A-Za-z0-9_-]+$";
/** A file name (no `/`) whose creation under `process_results/` triggers post-processing. */
const POST_TRIGGER_PATTERN = "^[^/]+$";

/** Legacy keys of `stack_config_template.json` that are accepted and ignored (SPEC §6). */
export const LEGACY_TOP_LEVEL_KEYS = ["PipelineVersion"] as const;
const LEGACY_LAMBDA_KEYS = [
  "Handler",
  "CodeUri",
  "PostHandler",
  "PostCodeUri",
  "PostTrigger",
  "Launch",
  "Requirements",
] as const;
export const LEGACY_LAMBDA_CONFIG_KEYS = [
  "CONFIG",
  "MISSING_CONFIG_ERROR",
  "LOGFILE",
  "INDIR",
  "OUTDIR",
  "LOGDIR",
  "REGION",
  "IAM_ROLE",
  "KEY_NAME",
  "SECURITY_GROUPS",
] as const;
export const LEGACY_AFFILIATE_KEYS = ["PipelinePath", "PipelineDir"] as const;

type SchemaNode = Record<string, unknown>;

function legacy(keys: readonly string[]): Record<string, SchemaNode> {
  return Object.fromEntries(keys.map((k) => [k, { expected: "legacy key (accepted and ignored)" }]));
}

const instanceType = (what: string): SchemaNode => ({
  type: "string",
  pattern: INSTANCE_TYPE_PATTERN,
  expected: `${what}: an EC2 instance type such as "m5.xlarge"`,
});

const bucketName = (what: string): SchemaNode => ({
  type: "string",
  pattern: BUCKET_NAME_PATTERN,
  expected: `${what}: 3-63 lowercase letters, digits or "-", starting and ending with a letter or digit`,
});

const LAMBDA_CONFIG_SCHEMA: SchemaNode = {
  type: "object",
  expected: "an object with AMI, INSTANCE_TYPE and COMMAND",
  required: ["AMI", "INSTANCE_TYPE", "COMMAND"],
  additionalProperties: false,
  properties: {
    AMI: { type: "string", pattern: AMI_PATTERN, expected: 'a machine image id such as "ami-0123456789abcdef0"' },
    INSTANCE_TYPE: instanceType("the default instance type"),
    COMMAND: {
      type: "string",
      minLength: 1,
      pattern: COMMAND_PATTERN,
      expected:
        'a non-empty shell command with at most 4 "{}" to fill (bucket, dataset key, result folder, config key)',
    },
    WORKING_DIRECTORY: { type: "string", minLength: 1, expected: "a non-empty directory path" },
    SHUTDOWN_BEHAVIOR: { enum: ["terminate", "stop"], expected: '"terminate" or "stop"' },
    EXECUTION_TIMEOUT: {
      type: "integer",
      minimum: 1,
      maximum: 900,
      expected: "an integer number of seconds, 1..900 (Lambda limit)",
    },
    SSM_TIMEOUT: {
      type: "integer",
      minimum: 30,
      maximum: 172800,
      expected: "an integer number of seconds, 30..172800 (SSM limit)",
    },
    LAUNCH: { type: "boolean", expected: "true or false" },
    DEPLOY_LIMIT: { type: "integer", minimum: 0, expected: "a non-negative integer" },
    MAXCOST: { type: "number", minimum: 0, expected: "a non-negative number of USD (a numeric string is accepted)" },
    MONITOR: { type: "boolean", expected: "true or false" },
    ALLOWED_INSTANCE_TYPES: {
      type: "array",
      uniqueItems: true,
      items: instanceType("each allowed instance type"),
      expected: "a list of distinct EC2 instance types",
    },
    ALLOW_SPOT: { type: "boolean", expected: "true or false" },
    IMAGE_VOLUME_SIZE: { type: "integer", minimum: 8, maximum: 16384, expected: "an integer number of GB, 8..16384" },
    MAX_QUEUE_LENGTH: {
      type: "integer",
      minimum: 0,
      maximum: 10000,
      expected: "an integer number of queued jobs, 0..10000 (0: no queue, jobs over DEPLOY_LIMIT are rejected)",
    },
    MAX_QUEUE_WAIT: {
      type: "integer",
      minimum: 1,
      maximum: 10080,
      expected: "an integer number of minutes a job may wait in the queue, 1..10080 (7 days)",
    },
    MAX_ATTEMPTS: {
      type: "integer",
      minimum: 1,
      maximum: 5,
      expected:
        "an integer number of runs of a dataset whose analysis fails, 1..5 (1: a failed analysis is never run again)",
    },
    ...legacy(LEGACY_LAMBDA_CONFIG_KEYS),
  },
};

const POST_PROCESSING_SCHEMA: SchemaNode = {
  type: "object",
  expected: "an object with StepName (and optionally PostTrigger, TargetBucket)",
  required: ["PostTrigger", "StepName"],
  additionalProperties: false,
  properties: {
    PostTrigger: {
      type: "string",
      minLength: 1,
      maxLength: 255,
      pattern: POST_TRIGGER_PATTERN,
      expected: 'a result file name without "/" (default "end.txt")',
    },
    StepName: {
      type: "string",
      minLength: 1,
      maxLength: 64,
      pattern: STEP_NAME_PATTERN,
      expected: 'a step name of letters, digits, "_" or "-"',
    },
    TargetBucket: bucketName("the bucket that receives the next step's submit file"),
  },
};

const AFFILIATE_SCHEMA: SchemaNode = {
  type: "object",
  expected: "an affiliate object with AffiliateName, UserNames and UserInput",
  required: ["AffiliateName", "UserNames", "UserInput"],
  additionalProperties: false,
  properties: {
    AffiliateName: {
      type: "string",
      minLength: 1,
      maxLength: MAX_AFFILIATE_NAME_LENGTH,
      pattern: AFFILIATE_NAME_PATTERN,
      expected: `a group name of letters, digits, ".", "_" or "-" (at most ${MAX_AFFILIATE_NAME_LENGTH} chars, no spaces or "/"; not logs, inputs, configs, submissions or results, not starting with job__)`,
    },
    UserNames: {
      type: "array",
      items: {
        type: "string",
        minLength: 1,
        pattern: USER_NAME_PATTERN,
        expected: 'an IAM user name (letters, digits and "._@+=,-") without region suffix',
      },
      expected: "a list of IAM user names without region suffix",
    },
    UserInput: { type: "boolean", expected: "true (jobs start from submissions/) or false (from results/)" },
    ContactEmail: { type: "string", maxLength: 254, expected: "a contact e-mail address (string)" },
    ...legacy(LEGACY_AFFILIATE_KEYS),
  },
};

export const BLUEPRINT_SCHEMA: SchemaNode = {
  $id: "https://neurocaas.org/schemas/blueprint.json",
  type: "object",
  expected: "a blueprint object with PipelineName, REGION, STAGE, Lambda and UXData",
  required: ["PipelineName", "REGION", "STAGE", "Lambda", "UXData"],
  additionalProperties: false,
  properties: {
    PipelineName: bucketName("the analysis bucket name"),
    REGION: { type: "string", pattern: REGION_PATTERN, expected: 'an AWS region code such as "us-east-1"' },
    STAGE: { enum: ["webdev", "websubstack"], expected: '"webdev" or "websubstack" (legacy "develop" means webdev)' },
    Lambda: {
      type: "object",
      expected: "an object with LambdaConfig (and optionally Protocol, PostProcessing, ConfigSchema)",
      required: ["Protocol", "LambdaConfig"],
      additionalProperties: false,
      properties: {
        Protocol: {
          enum: ["default", "ensemble", "input-checking"],
          expected: '"default", "ensemble" or "input-checking"',
        },
        LambdaConfig: LAMBDA_CONFIG_SCHEMA,
        PostProcessing: POST_PROCESSING_SCHEMA,
        ConfigSchema: { type: "object", expected: "a JSON Schema object that configs must satisfy" },
        ...legacy(LEGACY_LAMBDA_KEYS),
      },
    },
    UXData: {
      type: "object",
      expected: "an object with Affiliates",
      required: ["Affiliates"],
      additionalProperties: false,
      properties: {
        Affiliates: { type: "array", minItems: 1, items: AFFILIATE_SCHEMA, expected: "a non-empty list of affiliates" },
      },
    },
    ...legacy(LEGACY_TOP_LEVEL_KEYS),
  },
};

/** Paths (dot form) of numeric keys where a numeric string like `"300"` is converted. */
export const NUMERIC_LAMBDA_CONFIG_KEYS = [
  "EXECUTION_TIMEOUT",
  "SSM_TIMEOUT",
  "DEPLOY_LIMIT",
  "MAXCOST",
  "IMAGE_VOLUME_SIZE",
  "MAX_QUEUE_LENGTH",
  "MAX_QUEUE_WAIT",
  "MAX_ATTEMPTS",
] as const;
