import type * as aws from "@pulumi/aws";

/**
 * The resource property names the policies read, checked against the @pulumi/aws input types:
 * if a provider upgrade renames one, the pack stops compiling instead of silently passing.
 */
export const P = {
  bucketName: "bucket" satisfies keyof aws.s3.BucketArgs,
  bucketAcl: "acl" satisfies keyof aws.s3.BucketArgs,
  bucketGrants: "grants" satisfies keyof aws.s3.BucketArgs,
  bucketCorsRules: "corsRules" satisfies keyof aws.s3.BucketArgs,
  bucketInlineEncryption: "serverSideEncryptionConfiguration" satisfies keyof aws.s3.BucketArgs,
  subresourceBucket: "bucket" satisfies keyof aws.s3.BucketPublicAccessBlockArgs &
    keyof aws.s3.BucketNotificationArgs &
    keyof aws.s3.BucketCorsConfigurationArgs,
  encryptionRules: "rules" satisfies keyof aws.s3.BucketServerSideEncryptionConfigurationArgs,
  ownershipRule: "rule" satisfies keyof aws.s3.BucketOwnershipControlsArgs,
  corsRules: "corsRules" satisfies keyof aws.s3.BucketCorsConfigurationArgs,
  lambdaTimeout: "timeout" satisfies keyof aws.lambda.FunctionArgs,
  lambdaRuntime: "runtime" satisfies keyof aws.lambda.FunctionArgs,
  lambdaEnvironment: "environment" satisfies keyof aws.lambda.FunctionArgs,
  lambdaDeadLetter: "deadLetterConfig" satisfies keyof aws.lambda.FunctionArgs,
  lambdaLogging: "loggingConfig" satisfies keyof aws.lambda.FunctionArgs,
  invokeConfigDestination: "destinationConfig" satisfies keyof aws.lambda.FunctionEventInvokeConfigArgs,
  invokeConfigFunction: "functionName" satisfies keyof aws.lambda.FunctionEventInvokeConfigArgs,
  logRetention: "retentionInDays" satisfies keyof aws.cloudwatch.LogGroupArgs,
  policyDocument: "policy" satisfies keyof aws.iam.PolicyArgs &
    keyof aws.iam.RolePolicyArgs &
    keyof aws.iam.GroupPolicyArgs &
    keyof aws.s3.BucketPolicyArgs,
  policyArn: "policyArn" satisfies keyof aws.iam.RolePolicyAttachmentArgs & keyof aws.iam.GroupPolicyAttachmentArgs,
  roleManagedPolicies: "managedPolicyArns" satisfies keyof aws.iam.RoleArgs,
  roleInlinePolicies: "inlinePolicies" satisfies keyof aws.iam.RoleArgs,
  roleTrustPolicy: "assumeRolePolicy" satisfies keyof aws.iam.RoleArgs,
  instanceProfileRole: "role" satisfies keyof aws.iam.InstanceProfileArgs,
  membershipGroups: "groups" satisfies keyof aws.iam.UserGroupMembershipArgs,
  membershipUsers: "users" satisfies keyof aws.iam.GroupMembershipArgs,
  instanceType: "instanceType" satisfies keyof aws.ec2.InstanceArgs & keyof aws.ec2.LaunchTemplateArgs,
} as const;

/** The four switches of a public access block. */
export const PUBLIC_ACCESS_FLAGS = [
  "blockPublicAcls",
  "blockPublicPolicy",
  "ignorePublicAcls",
  "restrictPublicBuckets",
] as const satisfies readonly (keyof aws.s3.BucketPublicAccessBlockArgs)[];
