/**
 * Cognito sign-in in the browser: the user pool's hosted login (authorization code with PKCE, no
 * client secret), then temporary AWS credentials from the identity pool for the role of the
 * chosen (analysis, group). The browser never holds long-lived keys.
 */
import {
  CognitoIdentityClient,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
} from "@aws-sdk/client-cognito-identity";
import type { CognitoSignIn } from "../../../model/dashboard-config";
import { authorizeUrl, challengeOf, idTokenClaims, loginProvider, newVerifier, tokenRequestBody } from "../lib/cognito";
import type { Credentials } from "./session";

const PENDING = "neurocaas.cognito.pending";

export async function startCognitoLogin(c: CognitoSignIn): Promise<void> {
  const verifier = newVerifier();
  const state = newVerifier();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
  location.assign(authorizeUrl(c, await challengeOf(verifier), state));
}

/** After the hosted login redirected back with `?code=…&state=…`: the ID token, or undefined when this is no such return. */
export async function finishCognitoLogin(c: CognitoSignIn, url: URL): Promise<string | undefined> {
  const code = url.searchParams.get("code");
  const state = url.searchParams.get("state");
  const error = url.searchParams.get("error_description") ?? url.searchParams.get("error");
  if (error) throw new Error(`sign-in failed: ${error}`);
  if (!code || !state) return undefined;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? "null") as { verifier: string; state: string } | null;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", url.pathname + url.hash);
  if (!pending || pending.state !== state)
    throw new Error(
      "sign-in failed: the answer does not belong to this page's request (state mismatch); sign in again",
    );
  const res = await fetch(`${c.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: tokenRequestBody(c, code, pending.verifier),
  });
  if (!res.ok) throw new Error(`sign-in failed: the token endpoint answered ${res.status}`);
  const tokens = (await res.json()) as { id_token?: string };
  if (!tokens.id_token) throw new Error("sign-in failed: no ID token in the answer");
  idTokenClaims(tokens.id_token);
  return tokens.id_token;
}

/** Temporary credentials of one (analysis, group) role for the signed-in user. */
export async function credentialsForRole(c: CognitoSignIn, idToken: string, roleArn: string): Promise<Credentials> {
  const client = new CognitoIdentityClient({ region: c.region });
  const Logins = { [loginProvider(c)]: idToken };
  const { IdentityId } = await client.send(new GetIdCommand({ IdentityPoolId: c.identityPoolId, Logins }));
  const res = await client.send(new GetCredentialsForIdentityCommand({ IdentityId, Logins, CustomRoleArn: roleArn }));
  const cr = res.Credentials;
  if (!cr?.AccessKeyId || !cr.SecretKey) throw new Error("the identity pool returned no credentials");
  return {
    accessKeyId: cr.AccessKeyId,
    secretAccessKey: cr.SecretKey,
    ...(cr.SessionToken ? { sessionToken: cr.SessionToken } : {}),
    ...(cr.Expiration ? { expiration: cr.Expiration.toISOString() } : {}),
  };
}
