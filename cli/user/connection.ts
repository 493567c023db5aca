import { existsSync } from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import type { S3Client } from "@aws-sdk/client-s3";
import { homeDirectory } from "../home";
import { createS3Client, isLoopbackHost, localEndpointFromEnv } from "../../protocols/s3-client";

/** Where the user CLI sends its S3 requests: AWS (default chain) or a local endpoint. */
export interface ConnectionArgs {
  readonly endpointUrl?: string;
  readonly profile?: string;
  readonly region?: string;
}

export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option(
      "--endpoint-url <url>",
      "S3 endpoint (e.g. the URL `neurocaas local` prints); default: AWS or $AWS_ENDPOINT_URL",
    )
    .option(
      "--profile <name>",
      "named AWS profile; for `neurocaas local`, a blueprint user's profile in the user-keys file its ready line names (with AWS_SHARED_CREDENTIALS_FILE=that file)",
    )
    .option("--region <region>", "AWS region");
}

/** True for an endpoint on this machine, i.e. a `neurocaas local` server. */
export function isLoopbackEndpoint(endpoint: string): boolean {
  try {
    return isLoopbackHost(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/** Whether the SDK's default chain has credentials to find (environment, profile, shared files). */
function credentialsConfigured(args: ConnectionArgs, env: NodeJS.ProcessEnv): boolean {
  if (
    args.profile ||
    env.AWS_PROFILE ||
    env.AWS_ACCESS_KEY_ID ||
    env.AWS_SHARED_CREDENTIALS_FILE ||
    env.AWS_CONFIG_FILE
  )
    return true;
  const home = homeDirectory(env);
  return existsSync(path.join(home, ".aws", "credentials")) || existsSync(path.join(home, ".aws", "config"));
}

/**
 * The endpoint a user command talks to (`--endpoint-url`, else `$AWS_ENDPOINT_URL_S3` /
 * `$AWS_ENDPOINT_URL`), checked to be an http(s) URL: without a scheme the SDK would fail with an
 * unrelated-looking error.
 */
export function endpointFromConnection(args: ConnectionArgs, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const endpoint = args.endpointUrl ?? localEndpointFromEnv(env);
  if (endpoint === undefined) return undefined;
  const source =
    args.endpointUrl !== undefined
      ? "--endpoint-url"
      : env.AWS_ENDPOINT_URL_S3
        ? "$AWS_ENDPOINT_URL_S3"
        : "$AWS_ENDPOINT_URL";
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    const hint = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? "" : ` (no scheme: did you mean http://${endpoint}?)`;
    throw new Error(
      `${source} "${endpoint}" is not an http:// or https:// URL${hint}; \`neurocaas local\` prints the endpoint to use, e.g. http://127.0.0.1:4566`,
    );
  }
  return endpoint;
}

/**
 * Build the S3 client for a user command. A `neurocaas local` endpoint checks signatures like S3:
 * sign with a user's key (their profile in the file `neurocaas local` names on its ready line) or
 * the admin key the ready line prints. With no credentials configured at all, say so at once
 * instead of letting the SDK search for them.
 */
export function clientFromConnection(args: ConnectionArgs, env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = endpointFromConnection(args, env);
  if (endpoint !== undefined && isLoopbackEndpoint(endpoint) && !credentialsConfigured(args, env)) {
    throw new Error(
      `no AWS credentials to sign requests to ${endpoint}: \`neurocaas local\` accepts only signed requests. ` +
        "Its ready line prints the admin key (access-key/secret-key: full access) and names the file with each blueprint user's key (user-keys FILE): " +
        "run with AWS_SHARED_CREDENTIALS_FILE=FILE and --profile USER, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    );
  }
  return createS3Client({ endpoint, region: args.region, profile: args.profile });
}
