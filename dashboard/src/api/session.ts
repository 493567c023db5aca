/**
 * Who is signed in and the S3 clients signing with their credentials. Credentials live in
 * sessionStorage (this tab only, gone when it closes) so a reload keeps the user signed in;
 * nothing is sent anywhere but to S3 (and Cognito for Cognito sign-ins).
 */
import { S3Client } from "@aws-sdk/client-s3";
import type { DashboardConfig } from "../../../model/dashboard-config";

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** ISO time the temporary credentials expire (Cognito). */
  readonly expiration?: string;
}

export interface Session {
  readonly method: "keys" | "cognito";
  /** Shown in the header: the access key id, or the Cognito user name. */
  readonly label: string;
  readonly credentials: Credentials;
  /** Cognito: the ID token (to get credentials for another group's role) and the role of `credentials`. */
  readonly idToken?: string;
  readonly roleArn?: string;
}

const STORAGE_KEY = "neurocaas.session";

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as Session;
    if (typeof s?.credentials?.accessKeyId !== "string" || typeof s.credentials.secretAccessKey !== "string")
      return undefined;
    if (s.credentials.expiration && Date.parse(s.credentials.expiration) < Date.now()) return undefined;
    return s;
  } catch {
    return undefined;
  }
}

export function saveSession(s: Session | undefined): void {
  if (s === undefined) sessionStorage.removeItem(STORAGE_KEY);
  else sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
}

const clients = new Map<string, S3Client>();

/** One client per (credentials, region); local mode uses the endpoint path-style. */
export function s3Client(config: DashboardConfig, session: Session, region: string): S3Client {
  const id = `${session.credentials.accessKeyId}|${session.credentials.sessionToken ?? ""}|${region}`;
  let c = clients.get(id);
  if (!c) {
    c = new S3Client({
      region,
      credentials: {
        accessKeyId: session.credentials.accessKeyId,
        secretAccessKey: session.credentials.secretAccessKey,
        ...(session.credentials.sessionToken ? { sessionToken: session.credentials.sessionToken } : {}),
        ...(session.credentials.expiration ? { expiration: new Date(session.credentials.expiration) } : {}),
      },
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      forcePathStyle: config.forcePathStyle,
      // Checksums only where S3 requires them (the local endpoint stores streamed checksummed uploads wrongly).
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 3,
    });
    clients.set(id, c);
  }
  return c;
}

export function forgetClients(): void {
  for (const c of clients.values()) c.destroy();
  clients.clear();
}
