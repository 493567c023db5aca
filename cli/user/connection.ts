import type { Command } from "commander";
import type { S3Client } from "@aws-sdk/client-s3";
import { createS3Client, localEndpointFromEnv } from "../../protocols/s3-client";

/** Where the user CLI sends its S3 requests: AWS (default chain) or a local endpoint. */
export interface ConnectionArgs {
  readonly endpointUrl?: string;
  readonly profile?: string;
  readonly region?: string;
}

/** Credentials `neurocaas local` (s3rver) accepts; no others work against it. */
export const LOCAL_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option("--endpoint-url <url>", "S3 endpoint (e.g. the URL `neurocaas local` prints); default: AWS or $AWS_ENDPOINT_URL")
    .option("--profile <name>", "named AWS profile")
    .option("--region <region>", "AWS region");
}

/** True for an endpoint on this machine, i.e. a `neurocaas local` server. */
export function isLoopbackEndpoint(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return false;
  }
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\./.test(host);
}

/**
 * The endpoint a user command talks to (`--endpoint-url`, else `$AWS_ENDPOINT_URL_S3` /
 * `$AWS_ENDPOINT_URL`), checked to be an http(s) URL: without a scheme the SDK would fail with an
 * unrelated-looking error.
 */
export function endpointFromConnection(args: ConnectionArgs, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const endpoint = args.endpointUrl ?? localEndpointFromEnv(env);
  if (endpoint === undefined) return undefined;
  const source = args.endpointUrl !== undefined ? "--endpoint-url" : env.AWS_ENDPOINT_URL_S3 ? "$AWS_ENDPOINT_URL_S3" : "$AWS_ENDPOINT_URL";
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    const hint = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? "" : ` (no scheme: did you mean http://${endpoint}?)`;
    throw new Error(`${source} "${endpoint}" is not an http:// or https:// URL${hint}; \`neurocaas local\` prints the endpoint to use, e.g. http://127.0.0.1:4566`);
  }
  return endpoint;
}

/**
 * Build the S3 client for a user command. Against a loopback endpoint with no credentials in the
 * environment or a profile, the local server's fixed credentials are used so that
 * `neurocaas submit --endpoint-url http://127.0.0.1:4566` works without any AWS setup.
 */
export function clientFromConnection(args: ConnectionArgs, env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = endpointFromConnection(args, env);
  const needsLocalCredentials =
    endpoint !== undefined && isLoopbackEndpoint(endpoint) && !args.profile && !env.AWS_PROFILE && !env.AWS_ACCESS_KEY_ID;
  return createS3Client({
    endpoint,
    region: args.region,
    profile: args.profile,
    ...(needsLocalCredentials ? { credentials: LOCAL_CREDENTIALS } : {}),
  });
}
