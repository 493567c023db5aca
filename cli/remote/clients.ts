import { EC2Client } from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import { STSClient } from "@aws-sdk/client-sts";
import type { S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "../../protocols/s3-client";

/** The AWS SDK v3 clients the `remote` commands use. Tests inject aws-sdk-client-mock mocks. */
export interface RemoteClients {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  readonly sts: STSClient;
  readonly s3: S3Client;
}

export interface RemoteClientArgs {
  /** Named profile from the shared AWS config files (`--profile`). */
  readonly profile?: string;
  /** Region (`--region`); the blueprint's REGION when not given. */
  readonly region: string;
}

export type RemoteClientFactory = (args: RemoteClientArgs) => RemoteClients;

export const createRemoteClients: RemoteClientFactory = (args) => {
  const config = { region: args.region, ...(args.profile ? { profile: args.profile } : {}) };
  return {
    ec2: new EC2Client(config),
    ssm: new SSMClient(config),
    sts: new STSClient(config),
    s3: createS3Client({ region: args.region, profile: args.profile }),
  };
};
