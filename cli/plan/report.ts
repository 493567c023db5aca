import type { PolicyResult, Violation } from "./evaluate";
import type { IamDocument } from "./iam-documents";
import type { RecordedResource } from "./record";

/** What `neurocaas plan` reports, in both its human and its `--json` form. */

export interface PlannedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** The name AWS knows the resource by (bucket, function, role, key pair...), when it has one. */
  readonly physicalName?: string;
  /** The properties that matter for review (names, limits, security settings), not every input. */
  readonly properties: Record<string, unknown>;
}

export interface PlanReport {
  readonly stack: string;
  readonly file: string;
  readonly resources: readonly PlannedResource[];
  /** Every IAM policy document the stack grants, with the resource carrying it. */
  readonly iamPolicies: readonly IamDocument[];
  readonly policies: readonly PolicyResult[];
  readonly violations: readonly Violation[];
}

export interface InvalidReport {
  readonly stack: string;
  readonly file: string;
  readonly error: "invalid-blueprint";
  readonly issues: readonly { readonly path: string; readonly value: unknown; readonly expected: string }[];
}

type Props = Record<string, unknown>;

const pick = (p: Props, ...keys: string[]): Props =>
  Object.fromEntries(keys.filter((k) => p[k] !== undefined).map((k) => [k, p[k]]));

function policyJsonSize(doc: unknown): number | undefined {
  try {
    return JSON.stringify(typeof doc === "string" ? JSON.parse(doc) : doc).length;
  } catch {
    return undefined;
  }
}

function runtimeConfigSummary(p: Props): Props | undefined {
  const raw = (p.environment as { variables?: Record<string, unknown> } | undefined)?.variables?.NEUROCAAS_CONFIG;
  if (typeof raw !== "string") return undefined;
  try {
    const rc = JSON.parse(raw) as Props;
    return pick(
      rc,
      "bucketName",
      "analysisName",
      "stage",
      "protocol",
      "instanceType",
      "allowedInstanceTypes",
      "deployLimit",
      "maxCost",
    );
  } catch {
    return { invalid: true };
  }
}

/** Per type, the properties a reviewer wants to see. */
export function keyProperties(type: string, p: Props): Props {
  const short = type.split(":").pop() ?? type;
  switch (short) {
    case "Bucket":
    case "BucketV2":
      return pick(p, "bucket", "forceDestroy", "acl");
    case "BucketPublicAccessBlock":
      return pick(p, "bucket", "blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets");
    case "BucketServerSideEncryptionConfiguration":
    case "BucketServerSideEncryptionConfigurationV2": {
      const rules = (p.rules as { applyServerSideEncryptionByDefault?: { sseAlgorithm?: string } }[] | undefined) ?? [];
      return {
        ...pick(p, "bucket"),
        sseAlgorithm: rules.map((r) => r.applyServerSideEncryptionByDefault?.sseAlgorithm),
      };
    }
    case "BucketOwnershipControls":
      return {
        ...pick(p, "bucket"),
        objectOwnership: (p.rule as { objectOwnership?: string } | undefined)?.objectOwnership,
      };
    case "BucketCorsConfiguration":
    case "BucketCorsConfigurationV2":
      return {
        ...pick(p, "bucket"),
        allowedOrigins: ((p.corsRules as { allowedOrigins?: string[] }[] | undefined) ?? []).flatMap(
          (r) => r.allowedOrigins ?? [],
        ),
      };
    case "BucketNotification":
      return {
        ...pick(p, "bucket"),
        lambdaFunctions: ((p.lambdaFunctions as Props[] | undefined) ?? []).map((f) =>
          pick(f, "events", "filterPrefix", "filterSuffix"),
        ),
      };
    case "BucketObjectv2":
    case "BucketObject":
      return pick(p, "bucket", "key");
    case "Function":
      return {
        ...pick(p, "name", "runtime", "handler", "timeout", "memorySize", "reservedConcurrentExecutions"),
        ...(runtimeConfigSummary(p) ? { config: runtimeConfigSummary(p) } : {}),
        ...(p.deadLetterConfig ? { deadLetter: true } : {}),
      };
    case "FunctionEventInvokeConfig":
      return pick(p, "functionName", "maximumRetryAttempts", "destinationConfig");
    case "LogGroup":
      return pick(p, "name", "retentionInDays");
    case "Role":
      return pick(p, "name", "managedPolicyArns");
    case "Policy":
    case "RolePolicy":
    case "GroupPolicy":
    case "UserPolicy":
      return { ...pick(p, "name", "role", "group", "user"), size: policyJsonSize(p.policy) };
    case "RolePolicyAttachment":
    case "GroupPolicyAttachment":
    case "UserPolicyAttachment":
      return pick(p, "role", "group", "user", "policyArn");
    case "UserGroupMembership":
      return pick(p, "user", "groups");
    case "GroupMembership":
      return pick(p, "group", "users");
    case "EventRule":
      return pick(p, "name", "scheduleExpression", "eventPattern");
    case "Queue":
      return pick(p, "name", "messageRetentionSeconds");
    case "SecurityGroup":
      return { ...pick(p, "name", "vpcId"), ingressRules: Array.isArray(p.ingress) ? p.ingress.length : 0 };
    case "Parameter":
      return pick(p, "name", "type");
    default:
      return pick(p, "name", "bucket", "role", "group", "user", "keyName", "functionName");
  }
}

/** Types whose `name` is only a label inside another resource, not an account-wide name. */
const SCOPED_NAMES = new Set([
  "aws:iam/rolePolicy:RolePolicy",
  "aws:iam/userPolicy:UserPolicy",
  "aws:iam/groupPolicy:GroupPolicy",
]);

function physicalNameOf(type: string, outputs: Props): string | undefined {
  const value =
    type.startsWith("aws:s3/bucket:") || type.startsWith("aws:s3/bucketV2:")
      ? outputs.bucket
      : type === "aws:ec2/keyPair:KeyPair"
        ? outputs.keyName
        : SCOPED_NAMES.has(type)
          ? undefined
          : outputs.name;
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function plannedResources(resources: readonly RecordedResource[]): PlannedResource[] {
  return resources
    .filter((r) => r.custom)
    .map((r) => {
      const physicalName = physicalNameOf(r.type, r.outputs);
      return {
        type: r.type,
        name: r.name,
        urn: r.urn,
        ...(physicalName ? { physicalName } : {}),
        properties: keyProperties(r.type, r.outputs),
      };
    });
}

function compact(value: unknown): string {
  if (typeof value === "string") return value.length > 60 ? `${value.slice(0, 57)}...` : value;
  const s = JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function formatHuman(report: PlanReport): string {
  const lines: string[] = [];
  lines.push(`Stack ${report.stack} (${report.file}): ${report.resources.length} resources would be created`, "");
  const rows = [["TYPE", "NAME", "PROPERTIES"]];
  for (const r of report.resources) {
    const props = Object.entries(r.properties)
      .map(([k, v]) => `${k}=${compact(v)}`)
      .join(" ");
    rows.push([r.type, r.name, props]);
  }
  lines.push(table(rows), "");
  lines.push(`IAM policy documents: ${report.iamPolicies.length} (listed with --json)`, "");
  const mandatory = report.violations.filter((v) => v.enforcementLevel === "mandatory").length;
  const advisory = report.violations.length - mandatory;
  lines.push(`Policies (${report.policies.length}):`);
  const prows = [["RESULT", "POLICY", "LEVEL"]];
  for (const p of report.policies) {
    const result =
      p.enforcementLevel === "disabled" ? "skipped" : p.violations === 0 ? "pass" : `FAIL (${p.violations})`;
    prows.push([result, p.policy, p.enforcementLevel]);
  }
  lines.push(table(prows), "");
  if (report.violations.length > 0) {
    lines.push("Violations:");
    for (const v of report.violations) {
      lines.push(`  [${v.enforcementLevel}] ${v.policy}: ${v.message}${v.name ? ` (resource ${v.name})` : ""}`);
    }
    lines.push("");
  }
  lines.push(`${mandatory} mandatory and ${advisory} advisory violation(s).`);
  return `${lines.join("\n")}\n`;
}

export function formatInvalid(report: InvalidReport): string {
  const lines = [`Stack ${report.stack} (${report.file}): invalid configuration, ${report.issues.length} problem(s):`];
  for (const i of report.issues)
    lines.push(`  ${i.path}: got ${JSON.stringify(i.value) ?? "nothing"}, expected ${i.expected}`);
  return `${lines.join("\n")}\n`;
}
