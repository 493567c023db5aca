import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { isKind, knownOrUndefined, list, record, runtimeConfigOf, str, tagsOf, type Kind } from "./resources";
import { P, PUBLIC_ACCESS_FLAGS } from "./props";
import { configSchemaFor, resolveConfig } from "./config";
import { onlyDashboardCors } from "./dashboard";

/**
 * S3 hardening, checked per bucket over the whole stack: with @pulumi/aws v7 the public access
 * block, encryption, ownership and CORS are separate resources that point at the bucket by name.
 */

export interface BucketView {
  readonly resource: PolicyResource;
  /** Names the bucket is referenced by (its `bucket` name and its id). */
  readonly refs: ReadonlySet<string>;
  readonly name: string;
}

export function bucketsOf(resources: readonly PolicyResource[]): BucketView[] {
  return resources
    .filter((r) => isKind(r.type, "bucket"))
    .map((r) => {
      const refs = new Set(
        [str(r.props, P.bucketName), knownOrUndefined(() => str(r.props, "id"))].filter((x): x is string => !!x),
      );
      return { resource: r, refs, name: str(r.props, P.bucketName) ?? r.name };
    });
}

/** Whether sub-resource `r` points at `bucket`: by name, or (name unknown during preview) by dependency. */
export function pointsAt(r: PolicyResource, bucket: BucketView): boolean {
  const ref = knownOrUndefined(() => str(r.props, P.subresourceBucket));
  if (ref !== undefined) return bucket.refs.has(ref);
  return (r.propertyDependencies[P.subresourceBucket] ?? []).some((d) => d.urn === bucket.resource.urn);
}

/** Sub-resources of `kind` that point at `bucket`. */
function attachedTo(resources: readonly PolicyResource[], kind: Kind, bucket: BucketView): PolicyResource[] {
  return resources.filter((r) => isKind(r.type, kind) && pointsAt(r, bucket));
}

export const publicAccessBlock: StackValidationPolicy = {
  name: "neurocaas-s3-public-access-block",
  description: "Every bucket has a public access block with all four settings on.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const b of bucketsOf(args.resources)) {
      const blocks = attachedTo(args.resources, "publicAccessBlock", b);
      if (blocks.length === 0) report(`Bucket '${b.name}' has no public access block.`, b.resource.urn);
      for (const pab of blocks) {
        const off = PUBLIC_ACCESS_FLAGS.filter((f) => pab.props[f] !== true);
        if (off.length > 0) report(`Bucket '${b.name}': public access block leaves ${off.join(", ")} off.`, pab.urn);
      }
    }
  },
};

const SSE_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"];

function encryptionRulesOk(rules: unknown): boolean {
  const all = list(rules);
  return (
    all.length > 0 &&
    all.every((rule) => {
      const byDefault = record(record(rule)?.applyServerSideEncryptionByDefault);
      const algorithm = byDefault ? str(byDefault, "sseAlgorithm") : undefined;
      return algorithm !== undefined && SSE_ALGORITHMS.includes(algorithm);
    })
  );
}

export const encryption: StackValidationPolicy = {
  name: "neurocaas-s3-encryption",
  description: "Every bucket declares default server-side encryption (SSE-S3 or SSE-KMS).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const b of bucketsOf(args.resources)) {
      const configs = attachedTo(args.resources, "encryption", b);
      const inline = record(b.resource.props[P.bucketInlineEncryption]);
      const inlineOk =
        inline !== undefined && encryptionRulesOk(list(inline.rules).length > 0 ? inline.rules : [inline.rule]);
      if (configs.length === 0 && !inlineOk)
        report(`Bucket '${b.name}' declares no server-side encryption.`, b.resource.urn);
      for (const c of configs) {
        if (!encryptionRulesOk(c.props[P.encryptionRules])) {
          report(
            `Bucket '${b.name}': encryption configuration has no rule with an SSE algorithm (${SSE_ALGORITHMS.join(", ")}).`,
            c.urn,
          );
        }
      }
    }
  },
};

export const aclsDisabled: StackValidationPolicy = {
  name: "neurocaas-s3-acls-disabled",
  description: "Buckets enforce bucket-owner object ownership (ACLs disabled) and declare no ACLs.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const b of bucketsOf(args.resources)) {
      const controls = attachedTo(args.resources, "ownershipControls", b);
      const enforced = controls.some(
        (c) => str(record(c.props[P.ownershipRule]) ?? {}, "objectOwnership") === "BucketOwnerEnforced",
      );
      if (!enforced) {
        report(
          `Bucket '${b.name}' does not set object ownership to BucketOwnerEnforced, so ACLs stay enabled.`,
          controls[0]?.urn ?? b.resource.urn,
        );
      }
      const acl = str(b.resource.props, P.bucketAcl);
      if ((acl !== undefined && acl !== "private") || list(b.resource.props[P.bucketGrants]).length > 0) {
        report(`Bucket '${b.name}' sets an ACL (${acl ?? "grants"}).`, b.resource.urn);
      }
      for (const a of attachedTo(args.resources, "bucketAcl", b))
        report(`Bucket '${b.name}' has a BucketAcl resource '${a.name}'.`, a.urn);
    }
  },
};

/** The stage of a bucket: its `neurocaas:stage` tag, else the stage of the analysis whose bucket it is. */
function stageOf(b: BucketView, resources: readonly PolicyResource[]): string | undefined {
  const tagged = tagsOf(b.resource.props)["neurocaas:stage"];
  if (tagged) return tagged;
  for (const r of resources) {
    if (!isKind(r.type, "lambda")) continue;
    const rc = runtimeConfigOf(r.props);
    if (rc && !(rc instanceof Error) && rc.bucketName !== undefined && b.refs.has(rc.bucketName)) return rc.stage;
  }
  return undefined;
}

export const webdevNoCors: StackValidationPolicy = {
  name: "neurocaas-s3-webdev-no-cors",
  description:
    "Only websubstack buckets (served to the web client) may have CORS rules; a webdev bucket allows at most the NeuroCAAS web dashboard's origin, and nothing else.",
  enforcementLevel: "mandatory",
  configSchema: configSchemaFor("dashboardOrigins"),
  validateStack: (args, report) => {
    const { dashboardOrigins } = resolveConfig(args);
    for (const b of bucketsOf(args.resources)) {
      const stage = stageOf(b, args.resources);
      if (stage !== "webdev" && stage !== "develop") continue;
      for (const c of attachedTo(args.resources, "cors", b)) {
        if (onlyDashboardCors(c, args.resources, dashboardOrigins)) continue;
        const origins = list(knownOrUndefined(() => c.props[P.corsRules])).flatMap((rule) =>
          list(record(rule)?.allowedOrigins),
        );
        report(
          `Webdev bucket '${b.name}' has CORS rules (origins: ${origins.join(", ") || "none listed"}); only websubstack analyses serve the web client, and a webdev bucket may allow only the web dashboard's origin (its rule "neurocaas-dashboard").`,
          c.urn,
        );
      }
      if (list(b.resource.props[P.bucketCorsRules]).length > 0)
        report(`Webdev bucket '${b.name}' has inline CORS rules.`, b.resource.urn);
    }
  },
};

export const s3Policies = [publicAccessBlock, encryption, aclsDisabled, webdevNoCors];
