/**
 * Pure parts of the Cognito sign-in: PKCE (RFC 7636), the hosted-login URLs, the ID token's
 * claims, and which (analysis, group) roles a user may take. No network, no DOM.
 */
import type { CognitoSignIn } from "../../../model/dashboard-config";

function base64Url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A PKCE code verifier: 32 random bytes, base64url (43 characters). */
export function newVerifier(
  random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n)),
): string {
  return base64Url(random(32));
}

/** `code_challenge` for method S256. */
export async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

export function authorizeUrl(c: CognitoSignIn, challenge: string, state: string): string {
  const q = new URLSearchParams({
    response_type: "code",
    client_id: c.clientId,
    redirect_uri: c.redirectUri,
    scope: "openid email profile",
    code_challenge_method: "S256",
    code_challenge: challenge,
    state,
  });
  return `${c.domain}/oauth2/authorize?${q.toString()}`;
}

export function tokenRequestBody(c: CognitoSignIn, code: string, verifier: string): string {
  return new URLSearchParams({
    grant_type: "authorization_code",
    client_id: c.clientId,
    code,
    redirect_uri: c.redirectUri,
    code_verifier: verifier,
  }).toString();
}

export function logoutUrl(c: CognitoSignIn): string {
  return `${c.domain}/logout?${new URLSearchParams({ client_id: c.clientId, logout_uri: c.redirectUri }).toString()}`;
}

export interface IdClaims {
  readonly username: string;
  readonly groups: readonly string[];
  readonly roles: readonly string[];
  readonly exp: number;
}

/** The claims of an ID token (the identity pool verifies its signature; the page only reads it). */
export function idTokenClaims(token: string): IdClaims {
  const part = token.split(".")[1];
  if (!part) throw new Error("not a JSON web token");
  const json = atob(
    part
      .replace(/-/g, "+")
      .replace(/_/g, "/")
      .padEnd(Math.ceil(part.length / 4) * 4, "="),
  );
  const raw = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (ch) => ch.charCodeAt(0)))) as Record<
    string,
    unknown
  >;
  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  return {
    username: String(raw["cognito:username"] ?? raw.email ?? raw.sub ?? "user"),
    groups: strings(raw["cognito:groups"]),
    roles: strings(raw["cognito:roles"]),
    exp: typeof raw.exp === "number" ? raw.exp : 0,
  };
}

/** The (analysis, group) pairs whose role the token lets the user take. */
export function membershipsOfClaims(
  c: CognitoSignIn,
  claims: IdClaims,
): { bucket: string; group: string; roleArn: string }[] {
  const allowed = new Set(claims.roles);
  return c.roles.filter((r) => allowed.has(r.roleArn)).map((r) => ({ ...r }));
}

/** The identity pool's login key of the user pool. */
export function loginProvider(c: CognitoSignIn): string {
  return `cognito-idp.${c.region}.amazonaws.com/${c.userPoolId}`;
}
