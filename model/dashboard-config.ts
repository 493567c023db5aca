/**
 * The web dashboard's `config.json`: what the static page needs to know about the deployment
 * before anyone signs in. Served by `neurocaas local` at `/_dashboard/config.json` and written
 * to the dashboard bucket by the `WebDashboard` component. It never holds a secret: anyone who
 * can load the page can read it. Pure (the dashboard imports only its types).
 */
import type { ProtocolName, Stage } from "./blueprint/types";

/** One analysis as the dashboard shows it. */
export interface DashboardAnalysis {
  /** The analysis bucket (`neurocaas:bucketName`, by default the PipelineName). */
  readonly bucket: string;
  /** The analysis name (PipelineName): job folders in the bucket are `job__{analysis}_{timestamp}`. */
  readonly analysis: string;
  readonly region: string;
  readonly stage: Stage;
  readonly protocol: ProtocolName;
  /** Groups (affiliates) with folders in the bucket; a user sees those their key may list. */
  readonly groups: readonly string[];
  /** The blueprint's INSTANCE_TYPE and the others a submit file may ask for. */
  readonly instanceTypes: { readonly default: string; readonly allowed: readonly string[] };
  /** Estimated on-demand USD per hour of each of those instance types. */
  readonly prices: Readonly<Record<string, number>>;
  /** MAXCOST: the budget of a group that has no budget of its own. */
  readonly defaultBudget: number;
  /** Whether configs that set `__duration__` run as spot ("NeuroCAAS Save") jobs. */
  readonly spot: boolean;
  /** JSON Schema of the analysis' config (input-checking blueprints), for the config form. */
  readonly configSchema?: Record<string, unknown>;
}

/** Sign-in with an access key (local keys, or an IAM user's on AWS). */
interface KeySignIn {
  /** Where the keys come from, shown on the sign-in page. */
  readonly hint: string;
  /**
   * Local mode: the groups of each key, by the SHA-256 (hex) of its access key id ("all" for the
   * admin key), so the page knows them without probing every folder (a probe of a folder that is
   * not the user's is a 403). Without an entry the page probes.
   */
  readonly memberships?: Readonly<
    Record<string, "all" | readonly { readonly bucket: string; readonly group: string }[]>
  >;
}

/** Sign-in through Amazon Cognito: hosted login (authorization code + PKCE), then the identity pool. */
export interface CognitoSignIn {
  readonly region: string;
  readonly userPoolId: string;
  readonly clientId: string;
  /** `https://{domain}.auth.{region}.amazoncognito.com`: the hosted login. */
  readonly domain: string;
  readonly identityPoolId: string;
  /** The page itself (callback and sign-out URL registered with the app client). */
  readonly redirectUri: string;
  /** (analysis, group) → the IAM role of that group; a user's Cognito groups name the roles they may take. */
  readonly roles: readonly { readonly bucket: string; readonly group: string; readonly roleArn: string }[];
}

export interface DashboardConfig {
  readonly version: 1;
  readonly mode: "local" | "aws";
  /** S3 endpoint for the SDK (local mode: the endpoint itself, path-style); absent on AWS. */
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  readonly analyses: readonly DashboardAnalysis[];
  readonly signIn: { readonly keys?: KeySignIn; readonly cognito?: CognitoSignIn };
}

/** What the builder needs of an analysis (a subset of AnalysisRuntimeConfig). */
export interface AnalysisForDashboard {
  readonly bucketName: string;
  readonly analysisName: string;
  readonly region: string;
  readonly stage: Stage;
  readonly protocol: ProtocolName;
  readonly instanceType: string;
  readonly allowedInstanceTypes: readonly string[];
  readonly maxCost: number;
  readonly allowSpot: boolean;
  readonly affiliates: readonly { readonly AffiliateName: string }[];
  readonly configSchema?: Record<string, unknown>;
}

/**
 * The dashboard's view of an analysis; `priceOf` gives the hourly price of an instance type
 * (undefined when unknown: the type is then shown without an estimate).
 */
export function dashboardAnalysis(
  a: AnalysisForDashboard,
  priceOf: (instanceType: string) => number | undefined,
): DashboardAnalysis {
  const types = [a.instanceType, ...a.allowedInstanceTypes.filter((t) => t !== a.instanceType)];
  const prices: Record<string, number> = {};
  for (const t of types) {
    const p = priceOf(t);
    if (p !== undefined && Number.isFinite(p)) prices[t] = p;
  }
  return {
    bucket: a.bucketName,
    analysis: a.analysisName,
    region: a.region,
    stage: a.stage,
    protocol: a.protocol,
    groups: a.affiliates.map((g) => g.AffiliateName),
    instanceTypes: { default: a.instanceType, allowed: types.slice(1) },
    prices,
    defaultBudget: a.maxCost,
    spot: a.allowSpot,
    ...(a.configSchema !== undefined ? { configSchema: a.configSchema } : {}),
  };
}

/** Names that look like credentials never belong in config.json (it is public). */
const SECRET_NAME = /secret|password|token|private/i;

/** Throws when a config carries a field named like a secret (a guard for every writer). */
export function assertNoSecrets(value: unknown, at = "config"): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertNoSecrets(v, `${at}[${i}]`));
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [k, v] of Object.entries(value)) {
    // The config schema describes an analysis' own parameters; its property names are not ours.
    if (k === "configSchema") continue;
    if (SECRET_NAME.test(k))
      throw new Error(`dashboard ${at}.${k}: config.json is public and must not carry a field named like a secret`);
    assertNoSecrets(v, `${at}.${k}`);
  }
}

/**
 * The page's Content-Security-Policy: scripts and styles only from the page's own origin, no
 * inline code or eval, requests only to the page's origin and `connect` (S3 and Cognito
 * endpoints on AWS), images from blob: URLs (previews), no framing.
 */
export function dashboardContentSecurityPolicy(connect: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    `connect-src 'self'${connect.map((c) => ` ${c}`).join("")}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Origins the AWS dashboard talks to: each analysis bucket (virtual-hosted) and Cognito. */
export function awsConnectSources(config: Pick<DashboardConfig, "analyses" | "signIn">): string[] {
  const out = new Set<string>();
  for (const a of config.analyses) out.add(`https://${a.bucket}.s3.${a.region}.amazonaws.com`);
  const c = config.signIn.cognito;
  if (c) {
    out.add(`https://cognito-identity.${c.region}.amazonaws.com`);
    out.add(c.domain);
  }
  return [...out];
}
