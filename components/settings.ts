import { BlueprintError, type BlueprintIssue } from "../model/blueprint/errors";
import { BLUEPRINT_CONFIG_KEY, validateBlueprint } from "../model/blueprint/parse";
import {
  REGION_PATTERN,
  USER_NAME_PATTERN,
  BUCKET_NAME_PATTERN,
  AFFILIATE_NAME_PATTERN,
} from "../model/blueprint/schema";
import type { Blueprint } from "../model/blueprint/types";
import { DEFAULT_BUDGET_PARAMETER_PREFIX } from "../model/runtime-config";

/** Retention values CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export const DEFAULTS = {
  deployUtils: false,
  /** The utils stack an analysis stack reads, in the analysis stack's own organization and project. */
  utilsStackName: "utils",
  forceDestroy: false,
  logRetentionDays: 30,
  guardSchedule: "rate(15 minutes)",
  exemptInstancesParameter: "exempt_instances",
  budgetParameterPrefix: DEFAULT_BUDGET_PARAMETER_PREFIX,
} as const;

/** Which stack the program runs as (Pulumi's organization, project and stack names). */
export interface StackIdentity {
  readonly organization: string;
  readonly project: string;
  readonly stack: string;
}

/** What a self-managed backend reports (its organization is always `organization`). */
export const DEFAULT_IDENTITY: StackIdentity = { organization: "organization", project: "neurocaas", stack: "dev" };

const NAME_PREFIX = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

/**
 * Default account-level name prefix of a stack: `neurocaas-{stack}` in lowercase letters, digits
 * and `-`, so the utils resources of two stacks (e.g. `dev` and `utils`) never share a name.
 */
export function defaultNamePrefix(stack: string): string {
  const slug = stack
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 22)
    .replace(/-+$/, "");
  return slug === "" ? "neurocaas" : `neurocaas-${slug}`;
}

/** Default key pair name of a stack's utils resources. */
export function defaultKeyName(namePrefix: string): string {
  return `${namePrefix}-key`;
}

/**
 * The fully qualified name of the utils stack an analysis stack reads: `org/project/stack` as
 * given, or a bare stack name qualified with this stack's organization and project — which is what
 * both backends expect (Pulumi Cloud: your organization; a self-managed backend: `organization`).
 */
export function qualifiedStackName(name: string, self: StackIdentity): string {
  return name.includes("/") ? name : `${self.organization}/${self.project}/${name}`;
}

/** One (analysis, affiliate) group a user profile belongs to. */
interface GroupMembershipRef {
  readonly Analysis: string;
  readonly Affiliate: string;
}

interface UserProfileSettings {
  /** IAM user name without region suffix; the IAM user is `{UserName}{region}`. */
  readonly UserName: string;
  readonly Groups: readonly GroupMembershipRef[];
  /** Create a console login profile (default true). */
  readonly Console: boolean;
  /** Create an access key (default true). */
  readonly AccessKey: boolean;
}

/** Settings of the utils resources when this program deploys them itself. */
interface UtilsSettings {
  /** CIDR allowed to SSH into development instances (required when utils are deployed). */
  readonly sshCidr?: string;
  readonly keyName: string;
  /** VPC of the security groups; the account's default VPC when omitted. */
  readonly vpcId?: string;
  /** Subnets IAEs launch into; EC2 picks a default subnet when empty. */
  readonly subnetIds: readonly string[];
}

interface GuardSettings {
  readonly enabled: boolean;
  /** EventBridge schedule expression of the sweeper. */
  readonly schedule: string;
  /** SSM parameter listing instance ids the guard leaves alone. */
  readonly exemptInstancesParameter: string;
}

/** Everything `defineStack` needs, as a plain object (no Pulumi types). */
export interface StackSettings {
  /** `aws:region`, else the blueprint REGION. */
  readonly region?: string;
  readonly blueprint?: Blueprint;
  /**
   * `neurocaas:bucketName`: the analysis bucket's name when it cannot be the blueprint's
   * PipelineName (bucket names are global across AWS accounts). Absent: the PipelineName. The
   * PipelineName stays the analysis' name everywhere else (job folders, IAM, Lambdas, budgets).
   */
  readonly bucketName?: string;
  /** Create the utils resources in this program (dev stack) instead of reading a utils stack. */
  readonly deployUtils: boolean;
  /** Fully qualified utils stack name (`org/neurocaas/utils`) for the StackReference (analysis stacks). */
  readonly utilsStack?: string;
  readonly utils: UtilsSettings;
  readonly guard: GuardSettings;
  /** Account-level prefix of the physical names of the utils and guard resources. */
  readonly namePrefix: string;
  /**
   * Web-client origins configured explicitly; undefined means the stage default (the NeuroCAAS
   * web client for websubstack, none for webdev).
   */
  readonly corsOrigins?: readonly string[];
  readonly forceDestroy: boolean;
  readonly logRetentionDays: number;
  readonly budgetParameterPrefix: string;
  /** Buckets (storage bypass) the analysis' IAEs and job manager may read and write besides their own. */
  readonly bypassBuckets: readonly string[];
  readonly userProfiles: readonly UserProfileSettings[];
  /** `neurocaas:dashboard`: deploy the web dashboard for this stack's analysis (WebDashboard). */
  readonly dashboard?: DashboardSettings;
  /** `neurocaas:dashboardOrigin`: a dashboard deployed by another stack, allowed by this bucket's CORS. */
  readonly dashboardOrigin?: string;
}

interface DashboardSettings {
  /** Cognito hosted-login domain prefix (`{prefix}.auth.{region}.amazoncognito.com`). */
  readonly loginDomain: string;
  /** Offer the "paste access keys" sign-in too (default true). */
  readonly keySignIn: boolean;
  /** Stack files of analyses deployed by other stacks that this dashboard also serves. */
  readonly analysisStacks: readonly string[];
}

/** Thrown by `stackSettingsFromConfig`; lists every problem (config keys are fully qualified). */
export class StackConfigError extends Error {
  readonly issues: readonly BlueprintIssue[];
  constructor(issues: readonly BlueprintIssue[]) {
    super(new BlueprintError(issues).message.replace(/^Invalid blueprint/, "Invalid stack config"));
    this.name = "StackConfigError";
    this.issues = issues;
  }
}

type Getter = (key: string) => unknown;

class Reader {
  readonly issues: BlueprintIssue[] = [];
  constructor(private readonly get: Getter) {}

  private fail(key: string, value: unknown, expected: string): undefined {
    this.issues.push({ path: key, value, expected });
    return undefined;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (typeof v === "boolean") return v;
    if (v === "true" || v === "false") return v === "true";
    this.fail(key, v, "true or false");
    return fallback;
  }

  str(key: string, check?: RegExp | ((s: string) => boolean), expected = "a non-empty string"): string | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const ok = check === undefined ? true : typeof check === "function" ? check : (s: string) => check.test(s);
    if (typeof v === "string" && v.length > 0 && (ok === true || ok(v))) return v;
    return this.fail(key, v, expected);
  }

  strList(
    key: string,
    fallback: readonly string[],
    pattern?: RegExp,
    expected = "a list of non-empty strings",
  ): readonly string[] {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (
      Array.isArray(v) &&
      v.every((s) => typeof s === "string" && s.length > 0 && (pattern === undefined || pattern.test(s)))
    )
      return v as string[];
    this.fail(key, v, expected);
    return fallback;
  }

  raw(key: string): unknown {
    return this.get(key);
  }
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d|[12]\d|3[0-2])$/;
const ORIGIN = /^(\*|https?:\/\/[A-Za-z0-9.*-]+(:\d+)?)$/;
/**
 * EventBridge schedule expressions: `rate(1 minute)` / `rate(N minutes)` (singular only for 1,
 * as EventBridge requires) and `cron(min hour day-of-month month day-of-week year)`, six fields,
 * one of the two day fields `?`.
 */
export function validSchedule(s: string): boolean {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(s);
  if (rate) {
    const n = Number(rate[1]);
    return n >= 1 && (n === 1) === !rate[2].endsWith("s");
  }
  const cron = /^cron\((.+)\)$/.exec(s);
  if (!cron) return false;
  const fields = cron[1].trim().split(/\s+/);
  const field = /^[0-9A-Za-z*?,/#L W-]+$/;
  return fields.length === 6 && fields.every((f) => field.test(f)) && (fields[2] === "?") !== (fields[4] === "?");
}
const PARAMETER_NAME = /^[A-Za-z0-9_./-]+$/;

function validCidr(s: string): boolean {
  const m = CIDR.exec(s);
  return m !== null && m.slice(1, 5).every((o) => Number(o) <= 255);
}

function userProfiles(r: Reader, key: string): UserProfileSettings[] {
  const v = r.raw(key);
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    r.issues.push({
      path: key,
      value: v,
      expected: "a list of {UserName, Groups: [{Analysis, Affiliate}], Console?, AccessKey?}",
    });
    return [];
  }
  const out: UserProfileSettings[] = [];
  const userRe = new RegExp(USER_NAME_PATTERN);
  v.forEach((p: unknown, i) => {
    const at = `${key}[${i}]`;
    if (typeof p !== "object" || p === null || Array.isArray(p)) {
      r.issues.push({ path: at, value: p, expected: "an object {UserName, Groups, Console?, AccessKey?}" });
      return;
    }
    const o = p as Record<string, unknown>;
    let ok = true;
    for (const k of Object.keys(o)) {
      if (!["UserName", "Groups", "Console", "AccessKey"].includes(k)) {
        r.issues.push({
          path: `${at}.${k}`,
          value: o[k],
          expected: "no such key (allowed: UserName, Groups, Console, AccessKey)",
        });
        ok = false;
      }
    }
    if (typeof o.UserName !== "string" || !userRe.test(o.UserName)) {
      r.issues.push({
        path: `${at}.UserName`,
        value: o.UserName,
        expected: 'an IAM user name (letters, digits and "._@+=,-") without region suffix',
      });
      ok = false;
    }
    const groups: GroupMembershipRef[] = [];
    if (!Array.isArray(o.Groups)) {
      r.issues.push({ path: `${at}.Groups`, value: o.Groups, expected: "a list of {Analysis, Affiliate}" });
      ok = false;
    } else {
      o.Groups.forEach((g: unknown, j) => {
        const gg = (typeof g === "object" && g !== null ? g : {}) as Record<string, unknown>;
        const analysisOk = typeof gg.Analysis === "string" && new RegExp(BUCKET_NAME_PATTERN).test(gg.Analysis);
        const affiliateOk = typeof gg.Affiliate === "string" && new RegExp(AFFILIATE_NAME_PATTERN).test(gg.Affiliate);
        if (!analysisOk || !affiliateOk || Object.keys(gg).length !== 2) {
          r.issues.push({
            path: `${at}.Groups[${j}]`,
            value: g,
            expected:
              "an object {Analysis: <analysis name, the blueprint's PipelineName>, Affiliate: <affiliate name>}",
          });
          ok = false;
        } else groups.push({ Analysis: gg.Analysis as string, Affiliate: gg.Affiliate as string });
      });
    }
    for (const flag of ["Console", "AccessKey"] as const) {
      if (o[flag] !== undefined && typeof o[flag] !== "boolean") {
        r.issues.push({ path: `${at}.${flag}`, value: o[flag], expected: "true or false" });
        ok = false;
      }
    }
    if (ok) {
      out.push({
        UserName: o.UserName as string,
        Groups: groups,
        Console: o.Console === undefined ? true : (o.Console as boolean),
        AccessKey: o.AccessKey === undefined ? true : (o.AccessKey as boolean),
      });
    }
  });
  return out;
}

const BUCKET_NAME_KEY = "neurocaas:bucketName";

function readBucketName(r: Reader, hasBlueprint: boolean): string | undefined {
  const name = r.str(
    BUCKET_NAME_KEY,
    new RegExp(BUCKET_NAME_PATTERN),
    'an S3 bucket name for the analysis: 3-63 lowercase letters, digits or "-", starting and ending with a letter or digit (default: the blueprint\'s PipelineName)',
  );
  if (name !== undefined && !hasBlueprint) {
    r.issues.push({
      path: BUCKET_NAME_KEY,
      value: name,
      expected: "no bucket name: this stack has no neurocaas:blueprint (the key names an analysis stack's bucket)",
    });
  }
  return name;
}

/**
 * The bucket of the analysis a stack file describes (`neurocaas:bucketName`, else the blueprint's
 * PipelineName), for readers of stack files other than the program (local mode, the dashboard's
 * `analysisStacks`). Throws a `StackConfigError` naming the key when it is invalid.
 */
export function stackBucketName(config: Readonly<Record<string, unknown>>, blueprint: Blueprint): string {
  const r = new Reader((k) => config[k]);
  const name = readBucketName(r, true);
  if (r.issues.length > 0) throw new StackConfigError(r.issues);
  return name ?? blueprint.PipelineName;
}

/**
 * Pure: build `StackSettings` from config values. `get` receives fully qualified keys
 * (`neurocaas:blueprint`, `aws:region`) and returns the value (objects already parsed, or JSON
 * text as Pulumi delivers it) or undefined. Throws a `StackConfigError` listing every problem.
 */
export function stackSettingsFromConfig(get: Getter, self: StackIdentity = DEFAULT_IDENTITY): StackSettings {
  const r = new Reader(get);
  let blueprint: Blueprint | undefined;
  const rawBlueprint = r.raw(BLUEPRINT_CONFIG_KEY);
  if (rawBlueprint !== undefined) {
    const result = validateBlueprint(rawBlueprint);
    if (result.ok) blueprint = result.blueprint;
    else
      for (const i of result.issues)
        r.issues.push({ ...i, path: i.path === "(root)" ? BLUEPRINT_CONFIG_KEY : `${BLUEPRINT_CONFIG_KEY}.${i.path}` });
  }
  const awsRegion = r.str("aws:region", new RegExp(REGION_PATTERN), 'an AWS region code such as "us-east-1"');
  if (awsRegion !== undefined && blueprint !== undefined && awsRegion !== blueprint.REGION) {
    r.issues.push({
      path: `${BLUEPRINT_CONFIG_KEY}.REGION`,
      value: blueprint.REGION,
      expected: `the stack's aws:region "${awsRegion}"`,
    });
  }
  const bucketName = readBucketName(r, rawBlueprint !== undefined);
  const deployUtils = r.bool("neurocaas:deployUtils", DEFAULTS.deployUtils);
  const givenUtilsStack = r.str(
    "neurocaas:utilsStack",
    /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)?$/,
    'a stack name ("utils") or a fully qualified one ("myorg/neurocaas/utils"; on a self-managed backend "organization/neurocaas/utils")',
  );
  const utilsStack =
    rawBlueprint !== undefined && !deployUtils
      ? qualifiedStackName(givenUtilsStack ?? DEFAULTS.utilsStackName, self)
      : undefined;
  const namePrefix =
    r.str(
      "neurocaas:namePrefix",
      NAME_PREFIX,
      'a name prefix of 2-32 lowercase letters, digits or "-", such as "neurocaas-utils"',
    ) ?? defaultNamePrefix(self.stack);
  const sshCidr = r.str("neurocaas:sshCidr", validCidr, 'an IPv4 CIDR such as "203.0.113.0/24"');
  if (deployUtils && sshCidr === undefined && r.raw("neurocaas:sshCidr") === undefined) {
    r.issues.push({
      path: "neurocaas:sshCidr",
      value: undefined,
      expected: "the CIDR allowed to SSH into development instances (required when neurocaas:deployUtils is true)",
    });
  }
  const keyName =
    r.str("neurocaas:keyName", /^[A-Za-z0-9_.-]{1,255}$/, "a key pair name") ?? defaultKeyName(namePrefix);
  const vpcId = r.str("neurocaas:vpcId", /^vpc-[0-9a-f]{8,17}$/, 'a VPC id such as "vpc-0123abcd"');
  const subnetIds = r.strList(
    "neurocaas:subnetIds",
    [],
    /^subnet-[0-9a-f]{8,17}$/,
    'a list of subnet ids such as "subnet-0123abcd"',
  );
  // The security groups go into vpcId and IAEs launch into subnetIds: one without the other puts
  // them in different VPCs (or fails in an account without a default VPC).
  if (vpcId !== undefined && subnetIds.length === 0 && r.raw("neurocaas:subnetIds") === undefined) {
    r.issues.push({
      path: "neurocaas:subnetIds",
      value: undefined,
      expected: "the subnets of neurocaas:vpcId that IAEs launch into (vpcId and subnetIds go together)",
    });
  }
  if (vpcId === undefined && subnetIds.length > 0 && r.raw("neurocaas:vpcId") === undefined) {
    r.issues.push({
      path: "neurocaas:vpcId",
      value: undefined,
      expected:
        "the VPC of neurocaas:subnetIds, where the security groups are created (vpcId and subnetIds go together)",
    });
  }
  const guardEnabled = r.bool("neurocaas:deployGuard", deployUtils);
  const schedule =
    r.str(
      "neurocaas:guardSchedule",
      validSchedule,
      'an EventBridge schedule: "rate(1 minute)", "rate(15 minutes)" (singular only for 1) or "cron(0/15 * * * ? *)" (six fields)',
    ) ?? DEFAULTS.guardSchedule;
  const exempt =
    r.str("neurocaas:exemptInstancesParameter", PARAMETER_NAME, "an SSM parameter name") ??
    DEFAULTS.exemptInstancesParameter;
  const corsOrigins =
    r.raw("neurocaas:corsOrigins") === undefined
      ? undefined
      : r.strList("neurocaas:corsOrigins", [], ORIGIN, 'a list of origins such as "https://neurocaas.org"');
  const forceDestroy = r.bool("neurocaas:forceDestroy", DEFAULTS.forceDestroy);
  let logRetentionDays: number = DEFAULTS.logRetentionDays;
  const retention = r.raw("neurocaas:logRetentionDays");
  if (retention !== undefined) {
    const n = typeof retention === "string" && /^\d+$/.test(retention) ? Number(retention) : retention;
    if (typeof n === "number" && (LOG_RETENTION_DAYS as readonly number[]).includes(n)) logRetentionDays = n;
    else
      r.issues.push({
        path: "neurocaas:logRetentionDays",
        value: retention,
        expected: `one of ${LOG_RETENTION_DAYS.join(", ")}`,
      });
  }
  const budgetParameterPrefix =
    r.str(
      "neurocaas:budgetParameterPrefix",
      /^\/[A-Za-z0-9_./-]*[A-Za-z0-9_.-]$/,
      'a parameter path such as "/neurocaas/budgets"',
    ) ?? DEFAULTS.budgetParameterPrefix;
  const bypassBuckets = r.strList(
    "neurocaas:bypassBuckets",
    [],
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    "a list of S3 bucket names",
  );
  const profiles = userProfiles(r, "neurocaas:userProfiles");
  const dashboard = dashboardSettings(r);
  const dashboardOrigin = r.str(
    "neurocaas:dashboardOrigin",
    /^https:\/\/[A-Za-z0-9.-]+(:\d+)?$/,
    'the dashboard\'s origin such as "https://d1234abcd.cloudfront.net" (https, no path)',
  );
  const region = awsRegion ?? blueprint?.REGION;
  if (profiles.length > 0 && region === undefined) {
    r.issues.push({ path: "aws:region", value: undefined, expected: "the region (user names are {UserName}{region})" });
  }

  if (r.issues.length > 0) throw new StackConfigError(r.issues);
  return {
    ...(region !== undefined ? { region } : {}),
    ...(blueprint !== undefined ? { blueprint } : {}),
    ...(bucketName !== undefined ? { bucketName } : {}),
    deployUtils,
    ...(utilsStack !== undefined ? { utilsStack } : {}),
    utils: {
      ...(sshCidr !== undefined ? { sshCidr } : {}),
      keyName,
      ...(vpcId !== undefined ? { vpcId } : {}),
      subnetIds,
    },
    guard: { enabled: guardEnabled, schedule, exemptInstancesParameter: exempt },
    namePrefix,
    ...(corsOrigins !== undefined ? { corsOrigins } : {}),
    forceDestroy,
    logRetentionDays,
    budgetParameterPrefix,
    bypassBuckets,
    userProfiles: profiles,
    ...(dashboard !== undefined ? { dashboard } : {}),
    ...(dashboardOrigin !== undefined ? { dashboardOrigin } : {}),
  };
}

function dashboardSettings(r: Reader): DashboardSettings | undefined {
  const raw = r.raw("neurocaas:dashboard");
  if (raw === undefined) return undefined;
  const expected =
    '{loginDomain: "a Cognito domain prefix (lowercase letters, digits, -)", keySignIn?: boolean, analysisStacks?: ["stacks/analysis.yaml", ...]}';
  const v = raw as { loginDomain?: unknown; keySignIn?: unknown; analysisStacks?: unknown };
  if (
    typeof raw !== "object" ||
    raw === null ||
    Array.isArray(raw) ||
    Object.keys(raw).some((k) => k !== "loginDomain" && k !== "keySignIn" && k !== "analysisStacks")
  ) {
    r.issues.push({ path: "neurocaas:dashboard", value: raw, expected });
    return undefined;
  }
  if (
    typeof v.loginDomain !== "string" ||
    !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(v.loginDomain) ||
    /aws|amazon|cognito/.test(v.loginDomain)
  ) {
    r.issues.push({
      path: "neurocaas:dashboard.loginDomain",
      value: v.loginDomain,
      expected: "a Cognito domain prefix: 1-63 lowercase letters, digits and -, without aws, amazon or cognito",
    });
    return undefined;
  }
  if (v.keySignIn !== undefined && typeof v.keySignIn !== "boolean") {
    r.issues.push({ path: "neurocaas:dashboard.keySignIn", value: v.keySignIn, expected: "true or false" });
    return undefined;
  }
  const stacks = v.analysisStacks ?? [];
  if (!Array.isArray(stacks) || !stacks.every((f) => typeof f === "string" && f.length > 0)) {
    r.issues.push({
      path: "neurocaas:dashboard.analysisStacks",
      value: v.analysisStacks,
      expected: 'a list of analysis stack files such as "stacks/caiman-ncap-web.yaml"',
    });
    return undefined;
  }
  return { loginDomain: v.loginDomain, keySignIn: v.keySignIn ?? true, analysisStacks: stacks as string[] };
}
