import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { FALLBACK_HOURLY_PRICES } from "../model/price-table";
import { buildDashboardSync, contentTypeOf } from "./dashboard-bundle";
import {
  assertNoSecrets,
  awsConnectSources,
  dashboardAnalysis,
  dashboardContentSecurityPolicy,
  type AnalysisForDashboard,
  type DashboardConfig,
} from "../model/dashboard-config";
import { affiliateGroupPolicy } from "./iam/policies";
import { checkPolicySize } from "./limits";
import { affiliateGroupName } from "./names";
import { neurocaasTags, SHARED_ANALYSIS, SHARED_STAGE } from "./tags";

/** AWS managed CloudFront cache policies. */
export const CACHE_POLICY = {
  optimized: "658327ea-f89d-4fab-a63d-7e88639e58f6",
  disabled: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
} as const;
const DASHBOARD_COMPONENT_TAG = "web-dashboard";

export interface WebDashboardArgs {
  readonly region: string;
  /** Physical-name prefix of the account-wide resources (e.g. `neurocaas`). */
  readonly namePrefix: string;
  /** The analyses the dashboard serves (plain data: bucket, region, stage, groups, instance types, …). */
  readonly analyses: readonly AnalysisForDashboard[];
  /** Prefix of the Cognito hosted-login domain `https://{prefix}.auth.{region}.amazoncognito.com` (unique per region). */
  readonly cognitoDomainPrefix: string;
  /** Offer the "paste access keys" sign-in for existing IAM users (default true). */
  readonly keySignIn?: boolean;
  /** USD per hour of an instance type, for the cost estimates (default: the bundled on-demand table). */
  readonly priceOf?: (instanceType: string) => number | undefined;
  /** CloudFront price class (default PriceClass_100). */
  readonly priceClass?: string;
  /** Let `pulumi destroy` empty the site bucket (it holds only the built app). Default true. */
  readonly forceDestroy?: boolean;
}

/** The trust policy of an (analysis, group) role: only authenticated identities of this identity pool. */
function cognitoTrustPolicy(identityPoolId: string): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: "cognito-identity.amazonaws.com" },
        Action: ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
        Condition: {
          StringEquals: { "cognito-identity.amazonaws.com:aud": identityPoolId },
          "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" },
        },
      },
    ],
  };
}

/** The site bucket policy: CloudFront (this distribution only, through origin access control) reads; TLS only. */
function siteBucketPolicy(bucketArn: string, distributionArn: string): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "CloudFrontReadsTheSite",
        Effect: "Allow",
        Principal: { Service: "cloudfront.amazonaws.com" },
        Action: "s3:GetObject",
        Resource: `${bucketArn}/*`,
        Condition: { StringEquals: { "AWS:SourceArn": distributionArn } },
      },
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

/**
 * The web dashboard on AWS: the built single-page app in a private bucket behind CloudFront (origin
 * access control; HTTPS; security headers), its `config.json` written from the stack's outputs,
 * and sign-in through Amazon Cognito — a user pool with its hosted login and an identity pool
 * whose credentials take one IAM role per (analysis, group). Each such role carries the very
 * document of the affiliate's IAM group (`affiliateGroupPolicy`), and a user's Cognito groups name
 * the roles they may take, so the browser only ever holds temporary credentials of one group.
 * Analysis buckets must allow `origin` in their CORS rules (AnalysisPipeline `dashboardOrigin`).
 */
export class WebDashboard extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly distribution: aws.cloudfront.Distribution;
  readonly userPool: aws.cognito.UserPool;
  readonly userPoolClient: aws.cognito.UserPoolClient;
  readonly identityPool: aws.cognito.IdentityPool;
  /** `{bucket}/{group}` → the role of that group. */
  readonly roles: Readonly<Record<string, aws.iam.Role>>;
  /** `https://{distribution}` (no trailing slash): the origin analysis buckets allow. */
  readonly origin: pulumi.Output<string>;
  /** `https://{distribution}/`: where users open the dashboard. */
  readonly url: pulumi.Output<string>;
  readonly config: pulumi.Output<DashboardConfig>;

  constructor(name: string, args: WebDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neurocaas:dashboard:WebDashboard", name, {}, opts);
    const parent = { parent: this };
    const tags = (component: string) => neurocaasTags(SHARED_ANALYSIS, SHARED_STAGE, component);
    const siteTags = tags(DASHBOARD_COMPONENT_TAG);
    const priceOf = args.priceOf ?? ((t: string) => FALLBACK_HOURLY_PRICES[t]);
    const analyses = args.analyses.map((a) => dashboardAnalysis(a, priceOf));

    // --- Site bucket (private) -------------------------------------------------------------
    this.bucket = new aws.s3.Bucket(
      `${name}-site`,
      { forceDestroy: args.forceDestroy ?? true, tags: siteTags },
      parent,
    );
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-site-public-access`,
      {
        bucket: this.bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      parent,
    );
    new aws.s3.BucketOwnershipControls(
      `${name}-site-ownership`,
      { bucket: this.bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      parent,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-site-encryption`,
      {
        bucket: this.bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
      },
      parent,
    );

    // --- Cognito: user pool, hosted login, identity pool ----------------------------------
    this.userPool = new aws.cognito.UserPool(
      `${name}-users`,
      {
        name: `${args.namePrefix}-dashboard-users`,
        adminCreateUserConfig: { allowAdminCreateUserOnly: true },
        autoVerifiedAttributes: ["email"],
        accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
        passwordPolicy: {
          minimumLength: 12,
          requireLowercase: true,
          requireUppercase: true,
          requireNumbers: true,
          requireSymbols: false,
          temporaryPasswordValidityDays: 7,
        },
        mfaConfiguration: "OPTIONAL",
        softwareTokenMfaConfiguration: { enabled: true },
        deletionProtection: "ACTIVE",
        tags: tags("dashboard-users"),
      },
      parent,
    );
    const domain = new aws.cognito.UserPoolDomain(
      `${name}-login`,
      { domain: args.cognitoDomainPrefix, userPoolId: this.userPool.id },
      parent,
    );

    const objects = buildDashboardSync();
    // What the page may connect to: the analysis buckets (virtual-hosted), the identity pool, the hosted login.
    const cspConnect = awsConnectSources({ analyses, signIn: {} });
    const oac = new aws.cloudfront.OriginAccessControl(
      `${name}-oac`,
      {
        name: `${args.namePrefix}-dashboard`,
        description: "NeuroCAAS dashboard: CloudFront signs its reads of the private site bucket",
        originAccessControlOriginType: "s3",
        signingBehavior: "always",
        signingProtocol: "sigv4",
      },
      parent,
    );
    const loginOrigin = pulumi.interpolate`https://${domain.domain}.auth.${args.region}.amazoncognito.com`;
    const headers = new aws.cloudfront.ResponseHeadersPolicy(
      `${name}-headers`,
      {
        name: `${args.namePrefix}-dashboard-headers`,
        securityHeadersConfig: {
          contentSecurityPolicy: {
            override: true,
            contentSecurityPolicy: loginOrigin.apply((login) =>
              dashboardContentSecurityPolicy([
                ...cspConnect,
                `https://cognito-identity.${args.region}.amazonaws.com`,
                login,
              ]),
            ),
          },
          contentTypeOptions: { override: true },
          frameOptions: { frameOption: "DENY", override: true },
          referrerPolicy: { referrerPolicy: "no-referrer", override: true },
          strictTransportSecurity: { accessControlMaxAgeSec: 31536000, includeSubdomains: true, override: true },
        },
      },
      parent,
    );
    const behavior = {
      targetOriginId: "site",
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: ["GET", "HEAD"],
      cachedMethods: ["GET", "HEAD"],
      compress: true,
      responseHeadersPolicyId: headers.id,
    };
    this.distribution = new aws.cloudfront.Distribution(
      `${name}-cdn`,
      {
        enabled: true,
        comment: "NeuroCAAS web dashboard",
        defaultRootObject: "index.html",
        httpVersion: "http2and3",
        priceClass: args.priceClass ?? "PriceClass_100",
        origins: [
          { originId: "site", domainName: this.bucket.bucketRegionalDomainName, originAccessControlId: oac.id },
        ],
        defaultCacheBehavior: { ...behavior, cachePolicyId: CACHE_POLICY.optimized },
        // Unhashed files change with a deployment and config.json with the stack: never stale.
        orderedCacheBehaviors: ["config.json", "index.html", "style.css", "favicon.svg"].map((pathPattern) => ({
          ...behavior,
          pathPattern,
          cachePolicyId: CACHE_POLICY.disabled,
        })),
        restrictions: { geoRestriction: { restrictionType: "none" } },
        viewerCertificate: { cloudfrontDefaultCertificate: true, minimumProtocolVersion: "TLSv1.2_2021" },
        tags: siteTags,
      },
      parent,
    );
    this.origin = pulumi.interpolate`https://${this.distribution.domainName}`;
    this.url = pulumi.interpolate`${this.origin}/`;
    new aws.s3.BucketPolicy(
      `${name}-site-policy`,
      {
        bucket: this.bucket.id,
        policy: pulumi
          .all([this.bucket.arn, this.distribution.arn])
          .apply(([b, d]) => JSON.stringify(siteBucketPolicy(b, d))),
      },
      { parent: this, dependsOn: [publicAccess] },
    );

    this.userPoolClient = new aws.cognito.UserPoolClient(
      `${name}-client`,
      {
        name: `${args.namePrefix}-dashboard`,
        userPoolId: this.userPool.id,
        generateSecret: false,
        allowedOauthFlowsUserPoolClient: true,
        allowedOauthFlows: ["code"],
        allowedOauthScopes: ["openid", "email", "profile"],
        callbackUrls: [this.url],
        logoutUrls: [this.url],
        supportedIdentityProviders: ["COGNITO"],
        explicitAuthFlows: ["ALLOW_REFRESH_TOKEN_AUTH"],
        preventUserExistenceErrors: "ENABLED",
        idTokenValidity: 60,
        accessTokenValidity: 60,
        refreshTokenValidity: 12,
        tokenValidityUnits: { idToken: "minutes", accessToken: "minutes", refreshToken: "hours" },
      },
      parent,
    );
    this.identityPool = new aws.cognito.IdentityPool(
      `${name}-identities`,
      {
        identityPoolName: `${args.namePrefix}_dashboard`,
        allowUnauthenticatedIdentities: false,
        allowClassicFlow: false,
        cognitoIdentityProviders: [
          { clientId: this.userPoolClient.id, providerName: this.userPool.endpoint, serverSideTokenCheck: true },
        ],
        tags: tags("dashboard-identities"),
      },
      parent,
    );

    // --- One role per (analysis, group), with the affiliate group's own policy -------------
    const trust = this.identityPool.id.apply((id) => JSON.stringify(cognitoTrustPolicy(id)));
    const roles: Record<string, aws.iam.Role> = {};
    const roleEntries: pulumi.Output<{ bucket: string; group: string; roleArn: string }>[] = [];
    let precedence = 1;
    for (const a of analyses) {
      for (const group of a.groups) {
        // Named after the analysis (PipelineName), like the affiliate's IAM group; the policy names its bucket.
        const id = `${name}-${a.analysis}-${group}`;
        const role = new aws.iam.Role(
          `${id}-role`,
          {
            description: `NeuroCAAS dashboard users of group ${group} in ${a.analysis} (Cognito)`,
            assumeRolePolicy: trust,
            maxSessionDuration: 3600,
            tags: neurocaasTags(a.analysis, a.stage, "dashboard-group-role"),
          },
          parent,
        );
        new aws.iam.RolePolicy(
          `${id}-policy`,
          {
            role: role.id,
            policy: JSON.stringify(
              checkPolicySize(
                "role inline policy",
                `dashboard role of ${a.analysis}/${group}`,
                affiliateGroupPolicy(a.region, a.bucket, group),
              ),
            ),
          },
          parent,
        );
        new aws.cognito.UserGroup(
          `${id}-group`,
          {
            name: affiliateGroupName(a.analysis, group),
            description: `Members of ${group} in ${a.analysis}`,
            userPoolId: this.userPool.id,
            roleArn: role.arn,
            precedence: precedence++,
          },
          parent,
        );
        roles[`${a.bucket}/${group}`] = role;
        roleEntries.push(role.arn.apply((roleArn) => ({ bucket: a.bucket, group, roleArn })));
      }
    }
    this.roles = roles;
    // Required by the attachment; with Token mapping and Deny, no identity ever gets it. It may do nothing.
    const noAccess = new aws.iam.Role(
      `${name}-no-access-role`,
      {
        description: "NeuroCAAS dashboard: default authenticated role (never used: roles come from Cognito groups)",
        assumeRolePolicy: trust,
        maxSessionDuration: 3600,
        tags: tags("dashboard-no-access"),
      },
      parent,
    );
    new aws.cognito.IdentityPoolRoleAttachment(
      `${name}-role-mapping`,
      {
        identityPoolId: this.identityPool.id,
        roles: { authenticated: noAccess.arn },
        roleMappings: [
          {
            identityProvider: pulumi.interpolate`${this.userPool.endpoint}:${this.userPoolClient.id}`,
            type: "Token",
            ambiguousRoleResolution: "Deny",
          },
        ],
      },
      parent,
    );

    // --- The app's files and config.json --------------------------------------------------
    for (const [file, body] of objects) {
      new aws.s3.BucketObjectv2(
        `${name}-file-${file}`,
        {
          bucket: this.bucket.id,
          key: file,
          content: body.body.toString("utf8"),
          contentType: contentTypeOf(file),
          // Scripts are named by their content hash; the rest is small and re-read on each visit.
          cacheControl: /-[A-Z0-9]{8,}\.js$/.test(file) ? "public, max-age=31536000, immutable" : "no-cache",
          tags: siteTags,
        },
        parent,
      );
    }
    this.config = pulumi
      .all([
        this.userPool.id,
        this.userPoolClient.id,
        this.identityPool.id,
        loginOrigin,
        this.url,
        pulumi.all(roleEntries),
      ])
      .apply(([userPoolId, clientId, identityPoolId, login, url, roleList]) => {
        const config: DashboardConfig = {
          version: 1,
          mode: "aws",
          forcePathStyle: false,
          analyses,
          signIn: {
            cognito: {
              region: args.region,
              userPoolId,
              clientId,
              domain: login,
              identityPoolId,
              redirectUri: url,
              roles: roleList,
            },
            ...(args.keySignIn === false
              ? {}
              : {
                  keys: {
                    hint: "Existing IAM users: paste the access key your NeuroCAAS administrator gave you (temporary keys are not supported here).",
                  },
                }),
          },
        };
        assertNoSecrets(config);
        return config;
      });
    new aws.s3.BucketObjectv2(
      `${name}-file-config.json`,
      {
        bucket: this.bucket.id,
        key: "config.json",
        content: this.config.apply((c) => `${JSON.stringify(c, null, 2)}\n`),
        contentType: "application/json",
        cacheControl: "no-cache",
        tags: siteTags,
      },
      parent,
    );

    this.registerOutputs({
      url: this.url,
      origin: this.origin,
      userPoolId: this.userPool.id,
      identityPoolId: this.identityPool.id,
    });
  }
}
